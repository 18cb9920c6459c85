"""A pytest plugin for exercise checks: selects one exercise's checks, writes a JSON-lines report.

Loaded by workshop/runner.py in its subprocess (`-p workshop.exercise_plugin`). Each line of the
report is one event: a check starting, a check's result, or a file that could not be collected.
A line is flushed as soon as it is known, so a run killed for taking too long still tells which
check was running. What a failure says is its first line only, never the test's code.
"""

import json
import os
import sys
from collections.abc import Generator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

REPORT_ENV = "KIT_EXERCISE_REPORT"
EXERCISE_ENV = "KIT_EXERCISE_ID"
APP_ENV = "KIT_EXERCISE_APP"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "exercise(id, points=1): a check of exercise `id`, worth `points`"
    )


def _emit(event: dict[str, Any]) -> None:
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as report:
        report.write(json.dumps(event) + "\n")
        report.flush()


def _marker(item: pytest.Item) -> tuple[str | None, int]:
    mark = item.get_closest_marker("exercise")
    if mark is None:
        return None, 0
    ident = str(mark.args[0]) if mark.args else None
    return ident, int(mark.kwargs.get("points", 1))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = os.environ.get(EXERCISE_ENV)
    if not wanted:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        ident, _ = _marker(item)
        (keep if ident in (None, wanted) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _doc(item: pytest.Item) -> str:
    function = getattr(item, "function", None)
    text = (getattr(function, "__doc__", None) or "").strip()
    return " ".join(text.split()) or item.name.replace("_", " ")


def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    ident, points = _marker(item)
    name = getattr(item, "originalname", item.name)  # parametrized cases make one check
    start = {"event": "start", "nodeid": item.nodeid, "name": name, "exercise": ident}
    _emit(start | {"points": points, "expects": _doc(item), "file": Path(str(item.path)).name})


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    ident, points = _marker(item)
    if report.when == "setup" or report.failed:
        event: dict[str, Any] = {
            "event": "phase",
            "nodeid": item.nodeid,
            "name": item.name,
            "file": Path(str(item.path)).name,
            "exercise": ident,
            "points": points,
            "expects": _doc(item),
            "when": report.when,
            "outcome": report.outcome,
        }
        if report.failed and call.excinfo is not None:
            event["failure"], event["broken"] = describe(call.excinfo)
        _emit(event)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _emit({"event": "done", "nodeid": item.nodeid})
    return report


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        text = str(report.longrepr)
        line = next((x for x in reversed(text.splitlines()) if x.startswith("E ")), text)
        _emit({"event": "collect_error", "nodeid": report.nodeid, "failure": line[2:].strip()})


# ---------------------------------------------------------------- describing a failure


def _app_root() -> Path | None:
    value = os.environ.get(APP_ENV)
    return Path(value).resolve() if value else None


def _inside(filename: str, root: Path | None) -> str | None:
    if root is None:
        return None
    try:
        return Path(filename).resolve().relative_to(root).as_posix()
    except (ValueError, OSError):
        return None


def _frames(tb: TracebackType | None) -> list[tuple[str, int, str]]:
    found = []
    while tb is not None:
        code = tb.tb_frame.f_code
        found.append((code.co_filename, tb.tb_lineno, code.co_name))
        tb = tb.tb_next
    return found


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def describe(excinfo: pytest.ExceptionInfo[BaseException]) -> tuple[str, str]:
    """(first line of what went wrong, "file, line N" when the app does not even import)."""
    root = _app_root()
    for error in _chain(excinfo.value):
        if isinstance(error, SyntaxError) and error.filename:
            where = _inside(error.filename, root) or Path(error.filename).name
            message = f"{type(error).__name__}: {error.msg}"
            return f"{where}, line {error.lineno}: {message}", f"{where}, line {error.lineno}"
        frames = _frames(error.__traceback__)
        module_level = [(f, n) for f, n, name in frames if name == "<module>" and _inside(f, root)]
        if module_level:
            filename, number = module_level[-1]
            where = f"{_inside(filename, root)}, line {number}"
            return f"{where}: {_first_line(error)}", where
    error = excinfo.value
    message = _first_line(error)
    app_frames = [(f, n) for f, n, _ in _frames(excinfo.tb) if _inside(f, root)]
    if not isinstance(error, AssertionError) and app_frames:
        filename, number = app_frames[-1]
        message += f" ({_inside(filename, root)}, line {number})"
    return message, ""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(error, AssertionError):
        return first or "a check's condition did not hold"
    name = type(error).__name__
    return f"{name}: {first}" if first else name


if __name__ == "__main__":  # pragma: no cover - a plugin, not a program
    sys.exit("load with: python -m pytest -p workshop.exercise_plugin")
