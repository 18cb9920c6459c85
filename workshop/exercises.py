"""Exercises: the catalog (from solutions/ and tests/exercises/) and exercises/ built from it.

A solution notebook `solutions/NN_<name>.ipynb` holds the exercises of lesson NN. Every cell of
an exercise carries `{"exercise": {"id": "06.2"}}` in its metadata; its answers are
`%%writefile` cells with the answer between `### BEGIN SOLUTION` and `### END SOLUTION`. The
learner's notebook `exercises/NN_<name>.ipynb` is generated: each marked region becomes
`# YOUR CODE HERE` and `raise NotImplementedError` (or the stub the marker names:
`### BEGIN SOLUTION (stub: ...)`), outputs are cleared.

Checks are plain pytest files `tests/exercises/checks_NN_<name>.py` whose tests carry
`@pytest.mark.exercise("06.2", points=2)`. They are named checks_*, not test_*, so the kit's own
suite (whose app has no answers) never collects them; the runner passes them explicitly.
"""

import ast
import copy
import difflib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workshop.notebooks import LESSON_FILE, WRITEFILE, cell_body, cell_source, file_content

SOLUTIONS = "solutions"
EXERCISES = "exercises"
CHECKS = Path("tests") / "exercises"
STUB_MARKER = "# YOUR CODE HERE"
BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?:\s*\(stub:\s*(?P<stub>.*)\))?\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
TITLE = re.compile(r"^#+\s*Exercise\s+(?P<id>\d{2}\.\d+)\s*[:.—-]*\s*(?P<title>.*)$")
EXERCISE_ID = re.compile(r"^\d{2}\.\d+$")


@dataclass(frozen=True)
class Check:
    """One check as its file declares it (read without importing anything)."""

    name: str
    exercise: str
    points: int
    expects: str


@dataclass(frozen=True)
class Exercise:
    id: str
    lesson: int
    title: str
    points: int
    checks: int
    notebook: str
    files: tuple[str, ...] = ()
    check_file: Path | None = None
    stage_file: Path | None = None
    # (path, how many `# YOUR CODE HERE` stubs the learner's starting code has in it)
    stubs: tuple[tuple[str, int], ...] = ()

    @property
    def index(self) -> int:
        return int(self.id.split(".")[1])


class ExerciseError(ValueError):
    """A solution notebook or a check file breaks the conventions above."""


# ---------------------------------------------------------------- reading notebooks


def exercise_id(cell: dict[str, Any]) -> str | None:
    meta = cell.get("metadata", {}).get("exercise")
    if isinstance(meta, dict) and isinstance(meta.get("id"), str):
        return str(meta["id"])
    return None


def read_notebook(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def exercise_ids(notebook: Path) -> list[str]:
    """The exercise ids a notebook holds, in order (from cell metadata, not the file name)."""
    seen: list[str] = []
    for cell in read_notebook(notebook).get("cells", []):
        found = exercise_id(cell)
        if found and found not in seen:
            seen.append(found)
    return seen


def answer_cells(notebook: Path, wanted: str) -> list[tuple[str, bool, str]]:
    """(path, append, content) of the notebook's %%writefile cells of exercise `wanted`."""
    found = []
    for cell in read_notebook(notebook).get("cells", []):
        if cell.get("cell_type") != "code" or exercise_id(cell) != wanted:
            continue
        first, _, body = cell_source(cell).partition("\n")
        match = WRITEFILE.match(first)
        if match:
            found.append((match["path"], bool(match["append"]), file_content(body)))
    return found


def _title(cells: list[dict[str, Any]], wanted: str) -> str:
    for cell in cells:
        if cell.get("cell_type") == "markdown" and exercise_id(cell) == wanted:
            for line in cell_source(cell).splitlines():
                match = TITLE.match(line.strip())
                if match and match["id"] == wanted:
                    return match["title"].strip()
    return wanted


# ---------------------------------------------------------------- checks


# CPython 3.11's ast module keeps its recursion counter in state shared by every thread: two
# threads parsing at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (seen when graders' threads read check files together). One parse at a time.
_PARSING = threading.Lock()


def read_checks(check_file: Path) -> list[Check]:
    """Every test in a check file with its exercise marker, in file order."""
    source = check_file.read_text(encoding="utf-8")
    with _PARSING:
        tree = ast.parse(source, filename=str(check_file))
    checks = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test"):
            continue
        marker = _exercise_marker(node)
        if marker is None:
            raise ExerciseError(
                f"{check_file.name}: {node.name} has no @pytest.mark.exercise(ID, points=N)"
            )
        ident, points = marker
        expects = " ".join((ast.get_docstring(node) or node.name).split())
        checks.append(Check(node.name, ident, points, expects))
    return checks


def _exercise_marker(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, int] | None:
    for decorator in node.decorator_list:
        if not isinstance(decorator, ast.Call):
            continue
        target = ast.unparse(decorator.func)
        if target not in {"pytest.mark.exercise", "mark.exercise"}:
            continue
        if not decorator.args or not isinstance(decorator.args[0], ast.Constant):
            continue
        points = 1
        for keyword in decorator.keywords:
            if keyword.arg == "points" and isinstance(keyword.value, ast.Constant):
                points = int(str(keyword.value.value))
        return str(decorator.args[0].value), points
    return None


def check_file_for(kit_root: Path, notebook: str) -> Path:
    return kit_root / CHECKS / f"checks_{Path(notebook).stem}.py"


def stage_file_for(kit_root: Path, lesson: int) -> Path | None:
    from workshop.paths import stage_tests_dir

    found = sorted(stage_tests_dir(kit_root).glob(f"test_stage_{lesson:02d}_*.py"))
    return found[0].resolve() if found else None


# ---------------------------------------------------------------- the catalog


def source_notebooks(kit_root: Path) -> list[Path]:
    """solutions/ in the kit; exercises/ in a learner's workspace (it has no solutions)."""
    for folder in (SOLUTIONS, EXERCISES):
        found = sorted(p for p in (kit_root / folder).glob("*.ipynb") if LESSON_FILE.match(p.name))
        if found:
            return found
    return []


def catalog(kit_root: Path) -> list[Exercise]:
    """Every exercise, by lesson and number, with its points and checks."""
    kit_root = kit_root.resolve()
    found: list[Exercise] = []
    for notebook in source_notebooks(kit_root):
        lesson = int(notebook.name[:2])
        cells = read_notebook(notebook).get("cells", [])
        check_file = check_file_for(kit_root, notebook.name)
        checks = read_checks(check_file) if check_file.exists() else []
        for ident in exercise_ids(notebook):
            if not EXERCISE_ID.match(ident) or int(ident[:2]) != lesson:
                raise ExerciseError(f"{notebook.name}: exercise id {ident!r} is not {lesson:02d}.N")
            mine = [c for c in checks if c.exercise == ident]
            answers = answer_cells(notebook, ident)
            files = tuple(dict.fromkeys(path for path, _, _ in answers))
            stubs = tuple((f, sum(stub_count(c) for p, _, c in answers if p == f)) for f in files)
            found.append(
                Exercise(
                    id=ident,
                    lesson=lesson,
                    title=_title(cells, ident),
                    points=sum(c.points for c in mine),
                    checks=len(mine),
                    notebook=notebook.name,
                    files=files,
                    check_file=check_file if check_file.exists() else None,
                    stage_file=stage_file_for(kit_root, lesson),
                    stubs=stubs,
                )
            )
    return sorted(found, key=lambda e: (e.lesson, e.index))


def find(kit_root: Path, ident: str) -> Exercise:
    for exercise in catalog(kit_root):
        if exercise.id == ident:
            return exercise
    raise KeyError(f"no exercise {ident!r} (see `python -m workshop exercises list`)")


def checks_of(exercise: Exercise) -> list[Check]:
    if exercise.check_file is None or not exercise.check_file.exists():
        return []
    return [c for c in read_checks(exercise.check_file) if c.exercise == exercise.id]


# ---------------------------------------------------------------- stubs and build


def stub(text: str) -> str:
    """The text with every solution region replaced by its stub."""
    out: list[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        begin = BEGIN.match(line.rstrip("\n"))
        if begin and not inside:
            inside = True
            indent = begin["indent"]
            replacement = begin["stub"] or "raise NotImplementedError"
            out.append(f"{indent}{STUB_MARKER}\n{indent}{replacement}\n")
            continue
        if END.match(line.rstrip("\n")):
            if not inside:
                raise ExerciseError("### END SOLUTION without ### BEGIN SOLUTION")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise ExerciseError("### BEGIN SOLUTION without ### END SOLUTION")
    result = "".join(out)
    return result if text.endswith("\n") or not result.endswith("\n") else result[:-1]


def stub_count(text: str) -> int:
    """How many stubs the learner's version of this text has (solution or stubbed text)."""
    stubbed = stub(text)
    return sum(1 for line in stubbed.splitlines() if line.strip() == STUB_MARKER)


def solution_regions(text: str) -> list[str]:
    """The answers: what lies between each BEGIN and END SOLUTION marker."""
    regions: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if BEGIN.match(line) and current is None:
            current = []
        elif END.match(line) and current is not None:
            regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions


def exercise_notebook(solution: dict[str, Any]) -> dict[str, Any]:
    """The learner's notebook for a solution notebook: stubs, no outputs, no solution metadata."""
    notebook = copy.deepcopy(solution)
    for cell in notebook.get("cells", []):
        source = cell_source(cell)
        if cell.get("cell_type") == "code":
            source = stub(source)
            cell["outputs"] = []
            cell["execution_count"] = None
        cell["source"] = source.splitlines(keepends=True)
        cell.pop("attachments", None)
        ident = exercise_id(cell)
        cell["metadata"] = {"exercise": {"id": ident}} if ident else {}
    metadata = notebook.get("metadata", {})
    kept = ("kernelspec", "language_info")
    notebook["metadata"] = {k: metadata[k] for k in kept if k in metadata}
    return notebook


def dumps(notebook: dict[str, Any]) -> str:
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- keeping solutions current


def scaffold(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Split a solution file into the lines around the answers and the answers themselves.

    Returns (lines outside every region, [(index in those lines it precedes, region lines)]),
    the region lines including their BEGIN and END markers.
    """
    outside: list[str] = []
    regions: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    for line in text.splitlines(keepends=True):
        if current is None and BEGIN.match(line.rstrip("\n")):
            current = [line]
        elif current is not None:
            current.append(line)
            if END.match(line.rstrip("\n")):
                regions.append((len(outside), current))
                current = None
        else:
            outside.append(line)
    return outside, regions


class StaleSolution(ExerciseError):
    """A solution's copy of a lesson file cannot be brought up to date automatically."""


def rebase(text: str, reference: str) -> str:
    """The solution file `text` with its answers placed into the current `reference` file.

    The lines around the answers must be the lesson's file; when the lesson changed, each
    answer moves with the line before it (or after it) to its place in the new version.
    """
    outside, regions = scaffold(text)
    if "".join(outside) == reference:
        return text
    new = reference.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, outside, new, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]

    def mapped(index: int) -> int | None:
        for block in blocks:
            if block.a <= index < block.a + block.size:
                return block.b + index - block.a
        return None

    placed: list[tuple[int, list[str]]] = []
    for at, region in regions:
        before = mapped(at - 1) if at > 0 else -1
        after = mapped(at) if at < len(outside) else len(new)
        if before is not None:
            placed.append((before + 1, region))
        elif after is not None:
            placed.append((after, region))
        else:
            first = region[0].strip()
            raise StaleSolution(f"the lines around the answer starting {first!r} changed")
    out: list[str] = []
    cursor = 0
    for at, region in placed:
        out.extend(new[cursor:at])
        out.extend(region)
        cursor = max(cursor, at)
    out.extend(new[cursor:])
    return "".join(out)


def refresh_notebook(notebook: dict[str, Any], references: dict[str, str]) -> list[str]:
    """Rebase every answer cell that copies a lesson file; return the paths that moved."""
    moved = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or not exercise_id(cell):
            continue
        first, _, body = cell_source(cell).partition("\n")
        match = WRITEFILE.match(first)
        if not match or match["append"] or match["path"] not in references:
            continue
        content = file_content(body)
        rebased = rebase(content, references[match["path"]])
        if rebased != content:
            source = f"{first}\n{cell_body(rebased)}"
            cell["source"] = source.splitlines(keepends=True)
            moved.append(match["path"])
    return moved


def refresh(kit_root: Path, *, check: bool = False) -> list[str]:
    """Bring each solution's copies of lesson files up to the current lessons."""
    from workshop import build as lesson_build
    from workshop.paths import lessons

    found = lessons(kit_root)
    changed = []
    for path in sorted((kit_root / SOLUTIONS).glob("*.ipynb")):
        if not LESSON_FILE.match(path.name):
            continue
        references = lesson_build.replay(found, int(path.name[:2]))
        notebook = read_notebook(path)
        try:
            moved = refresh_notebook(notebook, references)
        except StaleSolution as error:
            raise StaleSolution(f"{SOLUTIONS}/{path.name}: {error}; edit it by hand") from None
        if moved:
            changed.append(f"{SOLUTIONS}/{path.name} ({', '.join(sorted(set(moved)))})")
            if not check:
                path.write_text(dumps(notebook), encoding="utf-8")
    return changed


def build(kit_root: Path, *, check: bool = False) -> list[str]:
    """Write exercises/ from solutions/; return the notebooks that changed (or would change).

    First the solutions' copies of lesson files are rebased on the current lessons.
    """
    stale = refresh(kit_root, check=check)
    source = kit_root / SOLUTIONS
    target = kit_root / EXERCISES
    wanted = {}
    for path in sorted(source.glob("*.ipynb")):
        if LESSON_FILE.match(path.name):
            wanted[path.name] = dumps(exercise_notebook(read_notebook(path)))
    differing = [f"{name}: its copy of a lesson file is out of date" for name in stale]
    for name, text in wanted.items():
        existing = target / name
        if not existing.exists() or existing.read_text(encoding="utf-8") != text:
            differing.append(f"{EXERCISES}/{name}")
            if not check:
                target.mkdir(exist_ok=True)
                existing.write_text(text, encoding="utf-8")
    for extra in sorted(target.glob("*.ipynb")) if target.is_dir() else []:
        if extra.name not in wanted:
            differing.append(f"{EXERCISES}/{extra.name} (no solution notebook)")
            if not check:
                extra.unlink()
    return differing
