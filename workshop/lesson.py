"""What a lesson notebook calls: `setup(N)` first, `check(N)` last, `AppClient` in between."""

import importlib
import os
import shutil
import sys
from pathlib import Path

from workshop import build, paths, stages
from workshop.appclient import AppClient as AppClient  # lessons call lesson.AppClient
from workshop.changes import Changes
from workshop.changes import changes as _changes
from workshop.notebooks import Lesson, writefile_cells

WORKSPACE_ENV = "KIT_WORKSPACE"
_fingerprint: tuple[tuple[str, int, int], ...] = ()
_root: Path | None = None
_number: int | None = None


def setup(number: int) -> None:
    """Prepare the workspace for lesson `number` and make it the current directory.

    Files written by earlier lessons are restored when missing (or still at an older
    lesson's version); your own edits are kept. With KIT_WORKSPACE set, the lesson runs in
    a fresh folder under it instead (the test suite does this to keep the checkout clean).
    """
    global _root, _number
    source = paths.find_root()
    root = source
    if os.environ.get(WORKSPACE_ENV):
        root = Path(os.environ[WORKSPACE_ENV]) / f"lesson_{number:02d}"
        root.mkdir(parents=True, exist_ok=True)
        # A workspace of its own, as `workshop start` makes: the workshop commands work there.
        (root / "notebooks").mkdir(exist_ok=True)
        for kit_lesson in paths.lessons(source):
            shutil.copy2(kit_lesson.path, root / "notebooks" / kit_lesson.path.name)
    lessons = paths.lessons(source)
    restored = restore_stages(lessons, root, number - 1)
    for current in (lesson for lesson in lessons if lesson.number == number):
        # %%writefile does not create folders: make the ones this lesson writes into.
        for write in writefile_cells(current):
            (root / write.path).parent.mkdir(parents=True, exist_ok=True)
    os.chdir(root)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    _root, _number = root, number
    _forget_app_modules()
    _watch_for_changes()
    # The same words wherever the lesson runs (a learner's workspace, or the test suite's
    # scratch folder): the outputs stored in the notebooks are what a learner sees.
    earlier = [lesson for lesson in lessons if lesson.number < number]
    if not earlier:
        print(f"Lesson {number:02d} is set up.")
        return
    first, last = earlier[0].number, earlier[-1].number
    span = f"stage {first:02d} is" if first == last else f"stages {first:02d}-{last:02d} are"
    count = len(restored)
    noun = "file" if count == 1 else "files"
    detail = f" ({count} {noun} restored from the earlier lessons)." if restored else "."
    print(f"Lesson {number:02d} is set up: {span} in place{detail}")


def changes(path: str) -> Changes:
    """What this lesson changed so far in `path`, a file an earlier lesson wrote (a diff)."""
    if _number is None:
        raise RuntimeError("Run this lesson's first cell (lesson.setup) first.")
    return _changes(path, _number, _root)


def restore_stages(lessons: list[Lesson], root: Path, upto: int) -> list[str]:
    """Bring lessons <= upto into root: files missing, or still at an older lesson's version."""
    if upto < 0:
        return []
    wanted = build.replay(lessons, upto)
    versions = build.history(lessons)
    stale = {}
    for relative, content in wanted.items():
        target = root / relative
        if not target.exists():
            stale[relative] = content
        else:
            current = target.read_text(encoding="utf-8")
            older = versions.get(relative, [])
            if (
                current != content
                and current in older
                and older.index(current) < older.index(content)
            ):
                stale[relative] = content
    return build.write(stale, root)


class StageCheckFailed(AssertionError):
    """Raised after the report is printed, so running a lesson whose stage fails fails too."""


def check(number: int, *, timeout: float = stages.DEFAULT_TIMEOUT) -> None:
    """Run stage `number`'s tests against the workspace's app, say how it went; raise on failure.

    A hung app costs at most `timeout` seconds: the tests are stopped and reported timed out.
    """
    if number == 0:
        _check_environment()
        return
    root = _root or paths.find_root()
    if number not in stages.stage_files(root):
        print(f"Stage {number:02d} has no tests of its own: nothing to check.")
        return
    results, output = stages.run_stages(root, [number], timeout=timeout)
    result = results[number]
    total = len(result.passed) + len(result.failed)
    if result.ok:
        print(f"Stage {number:02d} passed: {len(result.passed)} of {total} checks.")
        if number == max(lesson.number for lesson in paths.lessons(root)):
            print("That was the last lesson: your app is complete.")
        else:
            print("Your app is ready for the next lesson.")
        return
    if result.timed_out:
        print(f"Stage {number:02d} timed out: the tests were stopped after {timeout:g} s.")
        print("Something in your app hangs: a blocking call (time.sleep, a sync network call)")
        print("at import or in a route, or an endless loop. Fix it, then run this cell again.")
    else:
        print(
            f"Stage {number:02d} is not there yet: {len(result.failed)} of {total} checks failed:"
        )
        for name in result.failed:
            print(f"  - {name}")
            if result.reasons.get(name):
                print(f"      {result.reasons[name]}")
        print("Re-run this lesson's %%writefile cells, or restore the reference files with")
        print(f"    python -m workshop build --upto {number}")
        print("then run this cell again.")
        tail = "\n".join(output.strip().splitlines()[-15:])
        print("\nLast lines of the test output:\n" + tail)
    raise StageCheckFailed(f"stage {number:02d} does not pass") from None


# What the lessons import (tests/test_lessons.py keeps this complete), and what the app needs
# behind them: import name -> distribution. A few are only imported by a library (passlib loads
# argon2 and bcrypt, FastAPI loads email_validator and python-multipart, SQLAlchemy asyncpg).
REQUIRED = {
    "fastapi": "fastapi",
    "fastapi_offline": "fastapi-offline",
    "starlette": "starlette",
    "uvicorn": "uvicorn",
    "h11": "h11",
    "uvicorn_worker": "uvicorn-worker",
    "gunicorn": "gunicorn",
    "websockets": "websockets",
    "pydantic": "pydantic",
    "pydantic_settings": "pydantic-settings",
    "email_validator": "email-validator",
    "multipart": "python-multipart",
    "sqlalchemy": "sqlalchemy",
    "aiosqlite": "aiosqlite",
    "asyncpg": "asyncpg",
    "passlib": "passlib",
    "argon2": "argon2-cffi",
    "bcrypt": "bcrypt",
    "jose": "python-jose",
    "limits": "limits",
    "redis": "redis",
    "alembic": "alembic",
    "httpx": "httpx",
    "aiosmtpd": "aiosmtpd",
    "matplotlib": "matplotlib",
    "pytest": "pytest",
    "pytest_asyncio": "pytest-asyncio",
    "pytest_cov": "pytest-cov",
    "hypothesis": "hypothesis",
    "schemathesis": "schemathesis",
}


def _check_environment() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    ok = sys.version_info >= (3, 11)
    print(f"Python {sys.version.split()[0]}: {'ok' if ok else 'too old, 3.11+ needed'}")
    for module, distribution in REQUIRED.items():
        try:
            importlib.import_module(module)
            print(f"{distribution} {version(distribution)}: ok")
        except (ImportError, PackageNotFoundError):
            print(f"{distribution}: missing (pip install -e '.[dev]')")
            ok = False
    print("Environment ready." if ok else "Environment incomplete: fix the lines above.")
    return ok


def _app_files() -> tuple[tuple[str, int, int], ...]:
    if _root is None:
        return ()
    found = []
    for path in sorted((_root / "app").rglob("*.py")):
        stat = path.stat()
        found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _forget_app_modules() -> None:
    """Drop imported app.* modules so the next import reads the files as they are now.

    All of them at once: SQLAlchemy models must be defined again on a fresh Base, never
    twice on the same one (which is why autoreload and models do not mix).
    """
    global _fingerprint
    for name in [m for m in sys.modules if m == "app" or m.startswith("app.")]:
        del sys.modules[name]
    importlib.invalidate_caches()
    _fingerprint = _app_files()


def _before_cell(*_: object) -> None:
    if _app_files() != _fingerprint:
        _forget_app_modules()


def _watch_for_changes() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    if _before_cell not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _before_cell)
