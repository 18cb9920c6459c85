"""What the lessons say about themselves holds: file map, environment check, times, README."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from workshop import diagrams, paths
from workshop.lesson import REQUIRED
from workshop.notebooks import Lesson

KIT = Path(__file__).parents[1]
LESSONS = paths.lessons(KIT)
# Imported by a lesson on purpose to show it fails (lesson 07: the dead aioredis package).
SHOWN_MISSING = {"aioredis"}
OWN = {"app", "workshop"}


def cells(lesson_path: Path) -> list[nbformat.NotebookNode]:
    return list(nbformat.read(lesson_path, as_version=4).cells)


def lesson_imports() -> dict[str, str]:
    """Top-level names of third-party modules the lessons import -> the first lesson doing so."""
    found: dict[str, str] = {}
    for lesson in LESSONS:
        for cell in cells(lesson.path):
            if cell.cell_type != "code":
                continue
            for line in cell.source.splitlines():
                match = re.match(r"\s*(?:from|import)\s+([A-Za-z_]\w*)", line)
                if match and match.group(1) not in sys.stdlib_module_names:
                    found.setdefault(match.group(1), lesson.path.name)
    return found


def test_the_environment_check_covers_every_package_the_lessons_import() -> None:
    imported = lesson_imports()
    unchecked = {
        name: where
        for name, where in imported.items()
        if name not in REQUIRED and name not in SHOWN_MISSING | OWN
    }
    assert not unchecked, f"add these to workshop.lesson.REQUIRED: {unchecked}"
    assert {"passlib", "jose", "redis", "limits", "alembic", "matplotlib"} <= set(imported)


def test_lesson_00_file_map_is_what_the_lessons_write_today(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stored output of lesson 00's file map lists every lesson, as generated now."""
    welcome = cells(LESSONS[0].path)
    [cell] = [c for c in welcome if "writefile_cells(kit_lesson)" in c.source]
    monkeypatch.chdir(KIT)
    monkeypatch.delenv("KIT_WORKSPACE", raising=False)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(cell.source, {})  # noqa: S102 (the lesson's own cell, as the learner runs it)
    stored = "".join(output.get("text", "") for output in cell.outputs)
    assert stored == printed.getvalue(), (
        "lesson 00's file map is stale: refresh notebooks/00_welcome.ipynb's outputs"
    )
    for lesson in LESSONS:
        assert lesson.title in stored


def test_every_stored_file_map_is_what_the_lessons_write_today(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lesson 12 lists the files again (where each came from): that list is generated too."""
    monkeypatch.chdir(KIT)
    monkeypatch.delenv("KIT_WORKSPACE", raising=False)
    found = 0
    for lesson in LESSONS[1:]:
        for cell in cells(lesson.path):
            if cell.cell_type != "code" or "writefile_cells(kit_lesson)" not in cell.source:
                continue
            found += 1
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(cell.source, {})  # noqa: S102 (the lesson's own cell)
            stored = "".join(output.get("text", "") for output in cell.outputs)
            assert stored == printed.getvalue(), f"{lesson.path.name}: its file map is stale"
    assert found >= 1


TIME = re.compile(r"\*\*Time:\*\* about ((?:(\d+) h)? ?(?:(\d+) min)?)\.")


def lesson_minutes(lesson_path: Path) -> tuple[str, int]:
    match = TIME.search(cells(lesson_path)[0].source)
    assert match, f"{lesson_path.name}: the first cell says '**Time:** about 1 h 10 min.'"
    return match.group(1).strip(), int(match.group(2) or 0) * 60 + int(match.group(3) or 0)


def test_each_lesson_states_its_time_and_the_readme_map_agrees() -> None:
    readme = (KIT / "README.md").read_text()
    total = 0
    for lesson in LESSONS:
        text, minutes = lesson_minutes(lesson.path)
        assert minutes >= 30, f"{lesson.path.name}: {text} is too short for a newcomer"
        total += minutes
        row = re.search(rf"^\| `{lesson.path.stem}` \| ([^|]+) \|", readme, re.M)
        assert row, f"README's course map has no row for {lesson.path.stem}"
        assert row.group(1).strip() == text, f"README says {row.group(1)} for {lesson.path.stem}"
    hours = re.search(r"about (\d+) hours\s+in all", readme)
    assert hours and int(hours.group(1)) == round(total / 60), f"lessons total {total} min"


def test_readme_tables_are_not_split_by_blank_lines() -> None:
    """A blank line inside a table ends it on GitHub: the rows after it render as text."""
    lines = (KIT / "README.md").read_text().splitlines()
    triples = zip(lines, lines[1:], lines[2:], strict=False)
    for number, (before, blank, after) in enumerate(triples, start=2):
        split = before.startswith("|") and not blank.strip() and after.startswith("|")
        assert not split, f"README.md line {number}: a blank line splits a table"


def test_every_diagram_has_an_up_to_date_image() -> None:
    """GitHub and nbviewer show mermaid as code: each block has its committed SVG beside it."""
    found = [diagram for lesson in LESSONS for diagram in diagrams.diagrams(lesson)]
    assert len(found) >= 14
    assert diagrams.problems(KIT) == [], "re-render: python -m workshop.diagrams (see --help)"
    for diagram in found:
        svg = (KIT / "notebooks" / diagram.expected_image).read_text()
        assert "<foreignObject" not in svg  # labels as SVG text, readable by any SVG viewer


def test_a_changed_diagram_is_reported_stale(tmp_path: Path) -> None:
    shutil.copytree(KIT / "notebooks", tmp_path / "notebooks")
    lesson = paths.lessons(tmp_path)[0]
    text = lesson.path.read_text()
    lesson.path.write_text(text.replace("flowchart TB", "flowchart LR", 1))
    assert diagrams.problems(tmp_path) == [
        "notebooks/00_welcome.ipynb, cell 4, diagram 1: "
        "figures/00_welcome_1.svg is older than its source"
    ]


def test_a_diagrams_alt_text_names_the_section_it_sits_in(tmp_path: Path) -> None:
    """The alt text is the heading above the diagram (in its cell, or the cells before), not
    a heading that comes after it."""
    shutil.copytree(KIT / "notebooks", tmp_path / "notebooks")
    lesson = next(p for p in paths.lessons(tmp_path) if p.number == 10)
    text = lesson.path.read_text()
    wrong = "Diagram: The seed's alembic init, on an async app"
    lesson.path.write_text(
        text.replace("Diagram: Why migrations: create_all never changes a table", wrong, 1)
    )
    assert diagrams.problems(tmp_path) == [
        "notebooks/10_migrations.ipynb, cell 4, diagram 1: its alt text is "
        f"{wrong!r}, not 'Diagram: Why migrations: create_all never changes a table'"
    ]


CHECK_TAG = "nbval-check-output"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.path.stem)
def test_output_checks_are_cell_tags_not_comments_in_the_code(lesson: Lesson) -> None:
    """A learner reads the code, not the harness: cells whose stored output nbval compares
    carry the `nbval-check-output` tag in their metadata, and no cell shows an nbval comment."""
    notebook = nbformat.read(lesson.path, as_version=4)  # type: ignore[no-untyped-call]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    shown = [cell.source.splitlines()[0] for cell in code if "NBVAL_" in cell.source]
    assert not shown, f"{lesson.path.name}: nbval comments in the code: {shown}"
    tagged = [cell for cell in code if CHECK_TAG in cell.metadata.get("tags", [])]
    assert tagged, f"{lesson.path.name}: no output is checked"
    for cell in tagged:
        assert cell.outputs, f"{lesson.path.name}: a checked cell has no stored output"


def test_stored_outputs_say_what_a_learner_sees_not_the_harness(tmp_path: Path) -> None:
    """Each lesson's first cell stores what `lesson.setup` prints today (no trace of the test
    suite's scratch folder), and no stage check stores a pass the learner has not earned."""
    script = (
        "import sys\nfrom workshop import lesson\n"
        "for number in map(int, sys.argv[1:]):\n"
        "    lesson.setup(number)\n    print('\\x00', end='')\n"
    )
    numbers = [str(lesson.number) for lesson in LESSONS]
    run = subprocess.run(
        [sys.executable, "-c", script, *numbers],
        env=os.environ | {"KIT_WORKSPACE": str(tmp_path)},
        capture_output=True, text=True, timeout=300, check=True, cwd=KIT,
    )  # fmt: skip
    printed = run.stdout.split("\x00")[:-1]
    for lesson, expected in zip(LESSONS, printed, strict=True):
        notebook = nbformat.read(lesson.path, as_version=4)  # type: ignore[no-untyped-call]
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        [setup] = [cell for cell in code if "lesson.setup(" in cell.source]
        stored = "".join(o.get("text", "") for o in setup.outputs)
        assert stored == expected, f"{lesson.path.name}: the first cell's stored output is stale"
        assert "KIT_WORKSPACE" not in json.dumps(notebook.cells)
        for cell in code:
            if cell.source.strip().startswith("lesson.check("):
                assert not cell.outputs, f"{lesson.path.name}: the check cell stores a result"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.path.stem)
def test_stored_execution_counts_run_in_order_like_a_learners_run(lesson: Lesson) -> None:
    """A lesson read on GitHub shows In [1], In [2]... as if one learner ran it top to bottom
    (a split or inserted cell must not leave In [7] after In [8])."""
    notebook = nbformat.read(lesson.path, as_version=4)  # type: ignore[no-untyped-call]
    counts = [c.get("execution_count") for c in notebook.cells if c.cell_type == "code"]
    numbered = [count for count in counts if count is not None]
    assert numbered == list(range(1, len(numbered) + 1))
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "execute_result":
                assert output["execution_count"] == cell["execution_count"]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.path.stem)
def test_no_code_cell_is_over_a_hundred_lines(lesson: Lesson) -> None:
    """Each cell teaches one idea: a long file comes in parts (`%%writefile -a`), each after
    the words about it."""
    notebook = nbformat.read(lesson.path, as_version=4)  # type: ignore[no-untyped-call]
    long = [
        f"cell {index} ({cell.source.count(chr(10)) + 1} lines)"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and cell.source.count("\n") + 1 > 100
    ]
    assert long == []
