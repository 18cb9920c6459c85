"""What an exercise notebook calls: `setup(N)` first, `check("06.2")` after each answer.

Each exercise notebook works in its own copy of the reference app as lessons <= N build it, in
`exercise_apps/NN/` of the workspace (or under KIT_WORKSPACE, as the test suite runs it), never
in the lesson workspace: an exercise cannot break the lessons, a lesson cannot overwrite it.
"""

import os
import sys
from pathlib import Path

from workshop import build, exercises, lesson, paths, runner
from workshop.notebooks import WRITEFILE

APPS_DIR = "exercise_apps"
_copy: Path | None = None
_root: Path | None = None
_lesson: int = 0


class ExerciseFailed(AssertionError):
    """Raised after the report is printed, so a notebook run (nbval) fails on a broken answer."""


def app_copy(root: Path, number: int) -> Path:
    if os.environ.get(lesson.WORKSPACE_ENV):
        return Path(os.environ[lesson.WORKSPACE_ENV]) / f"exercise_{number:02d}"
    return root / APPS_DIR / f"{number:02d}"


def setup(number: int) -> None:
    """Prepare this notebook's copy of the app (lessons <= number) and work inside it.

    Files still missing or at an older lesson's version are restored; your answers are kept.
    """
    global _copy, _root, _lesson
    root = paths.find_root()
    target = app_copy(root, number)
    target.mkdir(parents=True, exist_ok=True)
    lessons = paths.lessons(root)
    restored = lesson.restore_stages(lessons, target, number)
    for found in exercises.catalog(root):
        if found.lesson == number:
            for relative in found.files:
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
    os.chdir(target)
    sys.path[:] = [p for p in sys.path if p != str(target)]
    sys.path.insert(0, str(target))
    _copy, _root, _lesson = target, root, number
    lesson._root = target
    lesson._forget_app_modules()
    lesson._watch_for_changes()
    _watch_appends()
    where = "a scratch folder (KIT_WORKSPACE)" if os.environ.get(lesson.WORKSPACE_ENV) else target
    print(f"Exercises of lesson {number:02d}: your app copy is in {where}")
    count = len(restored)
    print(
        f"The app as lessons 01-{number:02d} build it is in place"
        + (f" ({count} file{'s' if count != 1 else ''} written)." if restored else ".")
    )


TIMEOUT_ENV = "KIT_EXERCISE_TIMEOUT"  # seconds; a slow or shared machine may need more than 30


def check(ident: str, *, timeout: float | None = None) -> None:
    """Run exercise `ident`'s checks against this notebook's app copy; raise if not all pass.

    A hang costs at most `timeout` seconds (default 30, or KIT_EXERCISE_TIMEOUT).
    """
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV, "30"))
    if _copy is None or _root is None:
        raise RuntimeError("run the notebook's first cell (exercise.setup) first")
    found = exercises.find(_root, ident)
    outcome = runner.run_checks(_copy, found, timeout=timeout)
    print(runner.format_outcome(outcome, found.title))
    if outcome.status == "passed" and not outcome.regressions:
        return
    raise ExerciseFailed(f"exercise {ident}: {outcome.status}") from None


def _reference(path: str) -> str | None:
    if _root is None:
        return None
    return build.replay(paths.lessons(_root), _lesson).get(path)


def _before_append(info: object) -> None:
    """Before a `%%writefile -a PATH` cell runs, put PATH back to the reference version.

    So running the cell again replaces your appended code instead of adding a second copy.
    """
    raw = str(getattr(info, "raw_cell", "") or "")
    match = WRITEFILE.match(raw.partition("\n")[0])
    if not match or not match["append"] or _copy is None:
        return
    original = _reference(match["path"])
    if original is not None:
        target = _copy / match["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(original, encoding="utf-8")


def _watch_appends() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    if _before_append not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _before_append)
