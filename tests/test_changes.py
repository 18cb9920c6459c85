"""`lesson.changes(path)`: the diff a learner sees under a cell that rewrites a file."""

from collections import Counter
from pathlib import Path

import pytest

from tests.test_workshop import LESSONS, workshop
from workshop import build
from workshop.changes import changes


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("changes") / "ws"
    assert workshop("start", str(root)).returncode == 0
    return root


def _write(root: Path, upto: int) -> None:
    build.write(build.replay(LESSONS, upto), root)


def test_the_diff_is_what_the_lesson_changed_since_the_earlier_lessons(workspace: Path) -> None:
    _write(workspace, 7)
    before = build.replay(LESSONS, 6)["app/main.py"].splitlines()[1:]
    after = build.replay(LESSONS, 7)["app/main.py"].splitlines()[1:]
    shown = changes("app/main.py", 7, workspace)
    body = repr(shown).splitlines()[1:]
    added = [line[1:] for line in body if line.startswith("+")]
    removed = [line[1:] for line in body if line.startswith("-")]
    # Net of the diff, each line appears as often as it gained between the two versions.
    net = Counter(added)
    net.subtract(removed)
    gained = Counter(after)
    gained.subtract(before)
    assert {k: v for k, v in net.items() if v} == {k: v for k, v in gained.items() if v}
    assert added and removed
    assert repr(shown).splitlines()[0] == (
        f"app/main.py: {len(added)} lines added, {len(removed)} removed since lesson 06 "
        f"({len(after)} lines now)."
    )
    # The generated header only names the writing lesson: it is not shown as a change.
    assert not any("Written by" in line for line in body)


def test_the_html_view_colours_additions_and_removals(workspace: Path) -> None:
    _write(workspace, 7)
    page = changes("app/main.py", 7, workspace)._repr_html_()
    assert page.count("background:#dafbe1") == repr(changes("app/main.py", 7, workspace)).count(
        "\n+"
    )
    assert "background:#ffebe9" in page
    assert "<script" not in page


def test_no_change_yet_and_a_learners_own_edit(workspace: Path) -> None:
    _write(workspace, 6)
    assert repr(changes("app/main.py", 7, workspace)) == ("app/main.py: no change since lesson 06.")
    main = workspace / "app" / "main.py"
    main.write_text(main.read_text() + "print('mine')\n")
    shown = repr(changes("app/main.py", 7, workspace))
    assert shown.startswith("app/main.py: 1 line added, 0 removed since lesson 06")
    assert "+print('mine')" in shown.splitlines()
