"""Running the stage tests against a workspace's app and summarizing them per stage."""

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workshop.paths import stage_tests_dir

if TYPE_CHECKING:
    from workshop.notebooks import Lesson

STAGE_FILE = re.compile(r"test_stage_(\d{2})_\w+")


@dataclass
class StageResult:
    stage: int
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timed_out: bool = False
    # Failed test -> what its assertion says, in one line ("expected 204, got 200").
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.passed) and not self.failed and not self.timed_out


# A stage's tests take seconds; a hung app (a blocking sleep in a route...) is stopped here.
DEFAULT_TIMEOUT = 120.0


def stage_files(root: Path) -> dict[int, Path]:
    files = {}
    for path in sorted(stage_tests_dir(root).glob("test_stage_*.py")):
        match = STAGE_FILE.match(path.stem)
        if match:
            files[int(match.group(1))] = path
    return files


def run_stages(
    root: Path, stages: list[int], *, timeout: float = DEFAULT_TIMEOUT
) -> tuple[dict[int, StageResult], str]:
    """Run the given stages' tests with root's `app` first on the path; return results, output.

    The tests run in a session of their own: after `timeout` seconds the whole process group is
    killed and every stage that had not finished is marked timed out (never an exception).
    """
    from workshop.runner import LEAN_PYTEST_ENV, pytest_command, run_limited

    files = stage_files(root)
    missing = [n for n in stages if n not in files]
    if missing:
        raise ValueError(f"no stage tests for stage(s) {missing}")
    results = {n: StageResult(n) for n in stages}
    tests_dir = stage_tests_dir(root)
    with tempfile.TemporaryDirectory(prefix="kit-check-") as scratch:
        report = Path(scratch) / "report.xml"
        command = pytest_command(
            "-q", "--import-mode=importlib", "-c", str(tests_dir / "pytest.ini"),
            "--rootdir", str(tests_dir), f"--junitxml={report}",
            *(str(files[n]) for n in stages),
        )  # fmt: skip
        python_path = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
        # A workspace's check runs on SQLite only (the kit's own tests/stages run covers
        # PostgreSQL): its result, and the counts a lesson prints, never depend on the machine.
        env = {k: v for k, v in os.environ.items() if k != "TEST_DATABASE_URL"}
        env["PYTHONPATH"] = python_path
        env |= LEAN_PYTEST_ENV
        timed_out, output = run_limited(command, root, env, timeout)
        if report.exists():
            _read_report(report, results)
    for result in results.values():
        if timed_out:
            result.timed_out = True
            result.failed.append(
                f"timed out: stopped after {timeout:g} s (something in the app hangs, such as "
                "a blocking time.sleep at import or in a route, or an endless loop)"
            )
        elif not (result.passed or result.failed or result.skipped):
            result.failed.append("tests could not run (see the output)")
    return results, output


def _read_report(report: Path, results: dict[int, StageResult]) -> None:
    # The report is the one our own pytest run just wrote, not untrusted input.
    for case in ET.parse(report).iter("testcase"):  # noqa: S314
        where = f"{case.get('classname', '')}.{case.get('name', '')}"
        match = STAGE_FILE.search(where)
        if not match or int(match.group(1)) not in results:
            continue
        result = results[int(match.group(1))]
        name = case.get("name", "?")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            result.failed.append(name)
            result.reasons[name] = reason(problem.get("message", "") or problem.text or "")
        elif case.find("skipped") is not None:
            result.skipped.append(name)
        else:
            result.passed.append(name)


ASSERT_EQUAL = re.compile(r"^assert (.+?) == (.+?)$")


def reason(message: str) -> str:
    """The first line of a failure in words: the assertion's own message when it has one,
    else `expected B, got A` for a bare `assert A == B`."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    first = lines[0].removeprefix("AssertionError: ")
    bare = ASSERT_EQUAL.match(first)
    if bare:
        return f"expected {bare.group(2)}, got {bare.group(1)}"
    return first[:200]


def not_started(root: Path, lessons: "list[Lesson]") -> set[int]:
    """Stages whose lesson has not begun in root: none of the files it is the first to write
    exists (for a lesson that only rewrites files: none holds its version)."""
    from workshop.build import replay
    from workshop.notebooks import writefile_cells

    idle, seen = set(), set()
    for lesson in sorted(lessons, key=lambda found: found.number):
        cells = writefile_cells(lesson)
        new = {cell.path for cell in cells if cell.path not in seen}
        seen |= {cell.path for cell in cells}
        if new:
            started = any((root / path).exists() for path in new)
        else:
            built = replay(lessons, lesson.number)
            started = any(_holds(root / cell.path, built[cell.path]) for cell in cells)
        if cells and not started:
            idle.add(lesson.number)
    return idle


def _holds(path: Path, text: str) -> bool:
    try:
        return path.read_text(encoding="utf-8") == text
    except OSError:
        return False
