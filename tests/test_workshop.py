"""The kit's machinery: lessons build app/ exactly, every stage passes on its own snapshot,
and the workshop commands do what their manuals say."""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from workshop import build, paths, stages
from workshop.lesson import restore_stages

KIT = paths.KIT_ROOT
LESSONS = paths.lessons(KIT)
STAGES = sorted(stages.stage_files(KIT))


def workshop(*args: str, cwd: Path = KIT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workshop", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_lessons_build_app_byte_for_byte() -> None:
    files = build.replay(LESSONS)
    assert build.compare(files, KIT) == []
    written = {path for path in files if path.startswith("app/") and path.endswith(".py")}
    assert {p.relative_to(KIT).as_posix() for p in (KIT / "app").rglob("*.py")} == written


def test_build_check_names_every_difference(tmp_path: Path) -> None:
    assert workshop("build", "--into", str(tmp_path)).returncode == 0
    assert workshop("build", "--check", "--into", str(tmp_path)).returncode == 0
    (tmp_path / "app" / "config.py").write_text("# edited\n")
    (tmp_path / "app" / "models" / "item.py").unlink()
    (tmp_path / "app" / "stray.py").write_text("")
    result = workshop("build", "--check", "--into", str(tmp_path))
    assert result.returncode == 1
    assert "app/config.py: differs from what the lessons write" in result.stdout
    assert "app/models/item.py: missing" in result.stdout
    assert "app/stray.py: no lesson writes this file" in result.stdout


def test_build_rewrites_from_the_lessons(tmp_path: Path) -> None:
    result = workshop("build", "--upto", "2", "--into", str(tmp_path))
    assert result.returncode == 0
    assert (tmp_path / "app" / "models" / "user.py").exists()
    assert not (tmp_path / "app" / "schemas").exists()  # lesson 03 is not included
    assert workshop("build", "--upto", "2", "--into", str(tmp_path)).stdout.endswith(
        f"0 written in {tmp_path}.\n"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_passes_on_the_app_its_lessons_build(stage: int, tmp_path: Path) -> None:
    """Stage N's tests on the app lessons <= N build (what lesson.check(N) runs)."""
    build.write(build.replay(LESSONS, stage), tmp_path)
    results, output = stages.run_stages(tmp_path, [stage])
    assert results[stage].ok, output[-3000:]


def test_every_stage_passes_on_the_finished_app(tmp_path: Path) -> None:
    """Later lessons keep what earlier ones promised: every stage on the last lesson's app."""
    build.write(build.replay(LESSONS), tmp_path)
    results, output = stages.run_stages(tmp_path, STAGES)
    failing = {n: r.failed for n, r in results.items() if not r.ok}
    assert not failing, output[-3000:]


def test_a_stage_fails_when_its_lessons_are_missing(tmp_path: Path) -> None:
    build.write(build.replay(LESSONS, 0), tmp_path)  # nothing built yet
    results, _ = stages.run_stages(tmp_path, [STAGES[0]])
    assert not results[STAGES[0]].ok


def test_start_then_build_and_check_a_learner_workspace(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    started = workshop("start", str(workspace))
    assert started.returncode == 0, started.stderr
    assert sorted(p.name for p in (workspace / "notebooks").glob("*.ipynb")) == [
        lesson.path.name for lesson in LESSONS
    ]
    assert list((workspace / "notebooks" / "figures").glob("*.svg"))  # the diagrams' images
    lab_config = (workspace / "jupyter_lab_config.py").read_text()
    assert 'c.LabApp.extension_manager = "readonly"' in lab_config
    assert list((workspace / "app").iterdir()) == []
    assert (workspace / "tests" / "stages" / "conftest.py").exists()
    assert workshop("start", str(workspace)).returncode == 1  # never over an existing folder

    empty = workshop("check", "1", cwd=workspace)
    assert empty.returncode == 1
    assert "not started" in empty.stdout
    assert workshop("build", "--upto", "1", cwd=workspace).returncode == 0
    checked = workshop("check", "1", cwd=workspace)
    assert checked.returncode == 0, checked.stdout
    assert "pass" in checked.stdout


def test_check_says_what_is_wrong_and_which_lessons_are_not_started(tmp_path: Path) -> None:
    """A DELETE that answers 200 instead of 204 fails check 6 with the contract in words;
    lessons not begun are "not started", with no partial credit."""
    workspace = tmp_path / "ws"
    assert workshop("start", str(workspace)).returncode == 0
    assert workshop("build", "--upto", "6", cwd=workspace).returncode == 0
    items = workspace / "app" / "routers" / "items.py"
    source = items.read_text()
    assert source.count("status.HTTP_204_NO_CONTENT") == 1
    items.write_text(source.replace("status.HTTP_204_NO_CONTENT", "status.HTTP_200_OK"))
    checked = workshop("check", "7", cwd=workspace)
    assert checked.returncode == 1
    rows = {line[:2]: line for line in checked.stdout.splitlines() if line[:2].isdigit()}
    assert "pass" in rows["05"] and "FAIL" in rows["06"], checked.stdout
    assert "not started" in rows["07"] and " - " in rows["07"], checked.stdout
    assert "test_each_item_route_answers_its_documented_status_code" in checked.stdout
    assert "DELETE /api/v1/items/{id} answered 200, the API contract says 204" in checked.stdout


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("assert 200 == 204\n +  where 200 = <Response [200 OK]>.status_code",
         "expected 204, got 200"),
        ("AssertionError: DELETE /x answered 200, the API contract says 204\nassert 200 == 204",
         "DELETE /x answered 200, the API contract says 204"),
        ("httpx.ConnectError: All connection attempts failed",
         "httpx.ConnectError: All connection attempts failed"),
        ("", ""),
    ],
)  # fmt: skip
def test_a_failure_is_said_in_one_line_of_words(message: str, said: str) -> None:
    assert stages.reason(message) == said


def test_every_command_has_a_manual() -> None:
    for command in ("build", "start", "check", "where", "sync"):
        result = workshop(command, "--help")
        assert result.returncode == 0
        assert "usage: python -m workshop " + command in result.stdout


def test_restore_brings_missing_and_stale_files_and_keeps_edits(tmp_path: Path) -> None:
    last = LESSONS[-1].number
    older, final = build.history(LESSONS)["app/main.py"][0], build.replay(LESSONS)["app/main.py"]
    assert older != final
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text(older)  # left at an earlier lesson's version
    (tmp_path / "app" / "config.py").write_text("# my own experiment\n")  # a learner's edit
    restored = restore_stages(LESSONS, tmp_path, last)
    assert "app/main.py" in restored and "app/config.py" not in restored
    assert (tmp_path / "app" / "main.py").read_text() == final
    assert (tmp_path / "app" / "config.py").read_text() == "# my own experiment\n"
    assert (tmp_path / "app" / "models" / "user.py").exists()


def _run_notebook(sources: list[str], workspace: Path) -> list[str]:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    old = os.environ.get("KIT_WORKSPACE")
    os.environ["KIT_WORKSPACE"] = str(workspace)
    try:
        client = NotebookClient(notebook, timeout=120, kernel_name="python3")
        client.execute(cwd=str(KIT / "notebooks"))
    finally:
        if old is None:
            del os.environ["KIT_WORKSPACE"]
        else:
            os.environ["KIT_WORKSPACE"] = old
    return ["".join(o.get("text", "") for o in cell.outputs) for cell in notebook.cells]


def test_open_any_lesson_first_and_rerun_writefile_cells(tmp_path: Path) -> None:
    outputs = _run_notebook(
        [
            "from workshop import lesson\nlesson.setup(3)",
            "from app.models import User\nfirst = User\nprint(User.__tablename__)",
            "%%writefile app/probe.py\nVALUE = 1",
            "import app.probe\nprint(app.probe.VALUE)",
            "%%writefile app/probe.py\nVALUE = 2",
            "import app.probe\nprint(app.probe.VALUE)",
            # Models written again (here: touched) import cleanly on a fresh Base.
            "import pathlib, time\ntime.sleep(0.01)\npathlib.Path('app/models/user.py').touch()",
            "from app.models import User\nprint(User is not first, User.__tablename__)",
        ],
        tmp_path,
    )
    workspace = tmp_path / "lesson_03"
    assert "stages 00-02 are in place" in outputs[0]
    assert outputs[1] == "users\n"
    assert outputs[3] == "1\n" and outputs[5] == "2\n"
    assert outputs[7] == "True users\n"
    for relative, content in build.replay(LESSONS, 2).items():
        assert (workspace / relative).read_text() == content


def test_lessons_and_commands_start_without_importing_nbformat() -> None:
    """nbformat imports jsonschema, whose format checkers take about 2 s to import: every
    lesson's first cell and every `workshop` command paid it. Only the commands that write
    notebooks import it, when they do."""
    script = (
        "import sys\nimport workshop.lesson, workshop.__main__, workshop.exercise\n"
        "print(sorted(m for m in ('nbformat', 'jsonschema') if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=KIT
    )
    assert run.stdout.strip() == "[]"
