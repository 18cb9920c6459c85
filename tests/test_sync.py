"""The way back from app/ to the lessons: `workshop where`, `workshop sync`, file headers, and
commands that refuse to run outside a workspace."""

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.test_workshop import workshop
from workshop import build, paths
from workshop.notebooks import header_for

KIT = paths.KIT_ROOT


@pytest.fixture
def kit_copy(tmp_path: Path) -> Path:
    """A workspace holding a copy of the kit's lessons and the files they build."""
    root = tmp_path / "kit"
    shutil.copytree(KIT / "notebooks", root / "notebooks")
    build.write(build.replay(paths.lessons(root)), root)
    return root


def test_where_names_every_cell_that_writes_a_file() -> None:
    result = workshop("where", "app/main.py", cwd=KIT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) >= 2  # main.py is rewritten as the app grows
    assert all(" cell #" in line for line in lines)
    # Earlier versions, then the final one: its full write and the cells that append to it.
    final = [line for line in lines if line.endswith("the final version")]
    earlier = lines[: len(lines) - len(final)]
    assert final and all(line.endswith("an earlier version") for line in earlier)
    assert all("writes app/main.py" in line or "appends to app/main.py" in line for line in lines)
    assert "writes app/main.py" in lines[0] and "writes app/main.py" in final[0]
    assert all("appends to app/main.py" in line for line in final[1:])
    assert workshop("where", "app/nothing.py", cwd=KIT).returncode == 1


def test_sync_copies_an_edit_into_the_last_cell_and_lists_stale_earlier_versions(
    kit_copy: Path,
) -> None:
    main = kit_copy / "app" / "main.py"
    original = main.read_text()
    line = next(text for text in original.splitlines() if "def create_app(" in text)
    edited = original.replace(line, line + "  # edited by a maintainer", 1)
    main.write_text(edited)
    assert workshop("build", "--check", cwd=kit_copy).returncode == 1

    result = workshop("sync", cwd=kit_copy)
    assert result.returncode == 0, result.stderr
    final = workshop("where", "app/main.py", cwd=kit_copy).stdout.splitlines()[-1]
    assert f"updated {final}" in result.stdout
    # Earlier lessons write create_app too, with the line as it was: they are listed.
    assert "Earlier versions that still contain lines you changed" in result.stdout
    assert "an earlier version; it still has: def create_app(" in result.stdout
    assert workshop("build", "--check", cwd=kit_copy).returncode == 0
    assert build.replay(paths.lessons(kit_copy))["app/main.py"] == edited
    assert workshop("sync", cwd=kit_copy).stdout.startswith("Nothing to sync")


def test_sync_of_one_path_leaves_other_edits_alone(kit_copy: Path) -> None:
    (kit_copy / "app" / "config.py").write_text(
        (kit_copy / "app" / "config.py").read_text() + "# one\n"
    )
    (kit_copy / "app" / "cache.py").write_text(
        (kit_copy / "app" / "cache.py").read_text() + "# two\n"
    )
    assert workshop("sync", "app/config.py", cwd=kit_copy).returncode == 0
    files = build.replay(paths.lessons(kit_copy))
    assert files["app/config.py"].endswith("# one\n")
    assert not files["app/cache.py"].endswith("# two\n")
    assert workshop("sync", "app/nowhere.py", cwd=kit_copy).returncode == 1


def test_sync_refreshes_the_diffs_lessons_show_of_the_edited_file(kit_copy: Path) -> None:
    """Lesson 09 shows what it changed in app/dependencies.py (a stored output nbval compares):
    an edit synced into the lesson must update that diff too, or the lesson test fails."""
    from workshop import changes

    assert changes.stale_outputs(paths.lessons(kit_copy)) == []
    deps = kit_copy / "app" / "dependencies.py"
    text = deps.read_text()
    anchor = "async def get_mailer("
    assert anchor in text
    deps.write_text(text.replace(anchor, "# A maintainer's note.\n" + anchor, 1))

    result = workshop("sync", cwd=kit_copy)
    assert result.returncode == 0, result.stderr
    assert "updated notebooks/09_background_tasks.ipynb" in result.stdout
    assert "refreshed notebooks/09_background_tasks.ipynb" in result.stdout
    assert changes.stale_outputs(paths.lessons(kit_copy)) == []
    lesson = next(found for found in paths.lessons(kit_copy) if found.number == 9)
    shown = next(iter(changes.expected_outputs(paths.lessons(kit_copy), lesson).values()))
    assert "+# A maintainer's note." in repr(shown)
    assert workshop("build", "--check", cwd=kit_copy).returncode == 0


def test_sync_fills_a_new_changes_cell_so_nbval_accepts_it(kit_copy: Path) -> None:
    """A maintainer adds `lesson.changes(...)` after a rewrite: sync stores its diff and gives
    the cell an execution count (nbval refuses stored output in a cell it thinks never ran)."""
    from workshop import changes

    path = kit_copy / "notebooks" / "09_background_tasks.ipynb"
    notebook = nbformat.read(path, as_version=4)
    shown = [i for i, c in enumerate(notebook.cells) if "lesson.changes(" in c.source]
    fresh = nbformat.v4.new_code_cell(notebook.cells[shown[0]].source, id="new-diff")
    notebook.cells.insert(shown[0] + 1, fresh)
    nbformat.write(notebook, path)

    assert changes.stale_outputs(paths.lessons(kit_copy), fix=True)
    cell = next(c for c in nbformat.read(path, as_version=4).cells if c.get("id") == "new-diff")
    assert cell.outputs and cell.outputs[0]["output_type"] == "execute_result"
    assert isinstance(cell.execution_count, int) and cell.execution_count > 0
    assert cell.outputs[0]["execution_count"] == cell.execution_count


def test_build_check_names_a_stored_diff_that_is_out_of_date(kit_copy: Path) -> None:
    lesson = kit_copy / "notebooks" / "09_background_tasks.ipynb"
    notebook = nbformat.read(lesson, as_version=4)
    cell = next(c for c in notebook.cells if c.source.startswith("lesson.changes("))
    cell.outputs[0].data["text/plain"] = "an old diff"
    lesson.write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")
    result = workshop("build", "--check", cwd=kit_copy)
    assert result.returncode == 1
    assert "notebooks/09_background_tasks.ipynb cell #" in result.stdout
    assert "its stored output is out of date" in result.stdout


def _tiny_workspace(root: Path, parts: list[tuple[str, str]]) -> None:
    """A workspace whose one lesson writes app/grown.py in several cells (a write, appends)."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Lesson 01 — tiny")] + [
        nbformat.v4.new_code_cell(f"{magic}\n{body}") for magic, body in parts
    ]
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(notebook, root / "notebooks" / "01_tiny.ipynb")
    build.write(build.replay(paths.lessons(root)), root)


def test_sync_puts_an_edit_into_the_append_cell_it_belongs_to(tmp_path: Path) -> None:
    header = header_for("app/grown.py", "notebooks/01_tiny.ipynb")
    _tiny_workspace(
        tmp_path,
        [
            ("%%writefile app/grown.py", f"{header}\nA = 1"),
            ("%%writefile -a app/grown.py", "\nB = 2"),
            ("%%writefile -a app/grown.py", "\nC = 3"),
        ],
    )
    grown = tmp_path / "app" / "grown.py"
    assert grown.read_text() == f"{header}\nA = 1\n\nB = 2\n\nC = 3\n"
    grown.write_text(f"{header}\nA = 1\n\nB = 20\nB2 = 4\n\nC = 3\n")
    assert workshop("sync", cwd=tmp_path).returncode == 0
    cells = nbformat.read(tmp_path / "notebooks" / "01_tiny.ipynb", as_version=4).cells
    assert cells[1].source == f"%%writefile app/grown.py\n{header}\nA = 1"
    assert cells[2].source == "%%writefile -a app/grown.py\n\nB = 20\nB2 = 4"
    assert cells[3].source == "%%writefile -a app/grown.py\n\nC = 3"

    grown.write_text(f"{header}\nA = 10\n\nB = 20\nB2 = 4\n\nC = 30\n")  # the first and last cells
    refused = workshop("sync", cwd=tmp_path)
    assert refused.returncode == 1
    assert "spans 3 of the cells" in refused.stderr


def test_every_file_says_which_lesson_writes_it() -> None:
    files = build.replay(paths.lessons(KIT))
    assert build.header_problems(paths.lessons(KIT)) == []
    main = files["app/main.py"].splitlines()[0]
    assert main.startswith("# Written by notebooks/") and "workshop sync" in main


def test_build_check_names_a_cell_without_its_header(kit_copy: Path) -> None:
    notebook_path = kit_copy / "notebooks" / "01_config.ipynb"
    notebook = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in notebook.cells if c.source.startswith("%%writefile app/config.py"))
    first, _, body = cell.source.partition("\n")
    cell.source = first + "\n" + body.partition("\n")[2]  # drop the header line
    nbformat.write(notebook, notebook_path)
    build.write(build.replay(paths.lessons(kit_copy)), kit_copy)
    result = workshop("build", "--check", cwd=kit_copy)
    assert result.returncode == 1
    assert "app/config.py: notebooks/01_config.ipynb cell #" in result.stdout
    assert "must start with the line: # Written by notebooks/01_config.ipynb" in result.stdout


def test_commands_refuse_to_run_outside_a_workspace(tmp_path: Path) -> None:
    before = sorted(p.as_posix() for p in (KIT / "app").rglob("*.py"))
    for args in (("build",), ("build", "--check"), ("sync",), ("where", "app/main.py")):
        result = workshop(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert "is not inside a workspace" in result.stderr
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.as_posix() for p in (KIT / "app").rglob("*.py")) == before


def test_the_workshop_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "workshop"
    assert script.exists(), "pip install -e . installs the `workshop` command"
    result = subprocess.run(
        [str(script), "where", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("usage: workshop where")
