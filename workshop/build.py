"""Replaying lessons: the files their `%%writefile` cells produce, compared or written out."""

from dataclasses import dataclass
from pathlib import Path

from workshop.notebooks import Lesson, WriteFile, header_for, writefile_cells

# Python files under these folders must all come from some lesson.
OWNED_TREES = ("app", "alembic")


def replay(lessons: list[Lesson], upto: int | None = None) -> dict[str, str]:
    """Path -> content after running every writefile cell of the lessons <= upto, in order."""
    files: dict[str, str] = {}
    for write in writes(lessons, upto):
        before = files.get(write.path, "") if write.append else ""
        files[write.path] = before + write.content
    return files


def writes(lessons: list[Lesson], upto: int | None = None) -> list[WriteFile]:
    """Every writefile cell of the lessons <= upto, in the order a learner runs them."""
    found: list[WriteFile] = []
    for lesson in lessons:
        if upto is not None and lesson.number > upto:
            break
        found.extend(writefile_cells(lesson))
    return found


def history(lessons: list[Lesson]) -> dict[str, list[str]]:
    """Every version each file had at the end of some lesson, oldest first."""
    versions: dict[str, list[str]] = {}
    for lesson in lessons:
        for path, content in replay(lessons, lesson.number).items():
            seen = versions.setdefault(path, [])
            if not seen or seen[-1] != content:
                seen.append(content)
    return versions


def write(files: dict[str, str], root: Path) -> list[str]:
    """Write the files under root; return the paths whose content changed."""
    changed = []
    for relative, content in files.items():
        target = root / relative
        if target.exists() and target.read_bytes() == content.encode():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode())
        changed.append(relative)
    return changed


@dataclass(frozen=True)
class Difference:
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


def compare(files: dict[str, str], root: Path, *, complete: bool = True) -> list[Difference]:
    """How root differs from the replayed files (and, when complete, files no lesson writes)."""
    differences = []
    for relative, content in sorted(files.items()):
        target = root / relative
        if not target.exists():
            differences.append(Difference(relative, "missing (a lesson writes it)"))
        elif target.read_bytes() != content.encode():
            differences.append(Difference(relative, "differs from what the lessons write"))
    if complete:
        for tree in OWNED_TREES:
            for path in sorted((root / tree).rglob("*.py")):
                relative = path.relative_to(root).as_posix()
                if relative not in files and "__pycache__" not in relative:
                    differences.append(Difference(relative, "no lesson writes this file"))
    return differences


def header_problems(lessons: list[Lesson]) -> list[Difference]:
    """Writefile cells whose file does not start by naming the lesson that writes it."""
    problems = []
    for write in writes(lessons):
        if write.append or write.lesson is None:
            continue
        expected = header_for(write.path, write.lesson.relative)
        first = write.content.partition("\n")[0]
        if first != expected:
            where = f"{write.lesson.relative} cell #{write.index}"
            problems.append(Difference(write.path, f"{where} must start with the line: {expected}"))
    return problems
