"""Running one exercise's checks against an app copy, in a subprocess with a time limit.

The checks always come from the kit (the instructor's copy), never from the submission. The
subprocess runs in a session of its own: at the time limit the whole process group is killed,
so a `time.sleep` in a route (which pytest's own timeouts cannot stop) costs at most `timeout`.
"""

import contextlib
import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from workshop import build, paths
from workshop.exercise_plugin import APP_ENV, EXERCISE_ENV, REPORT_ENV
from workshop.exercises import STUB_MARKER, Exercise, answer_cells, checks_of

# The stage tests and the checks need one plugin, pytest-asyncio. Left to itself, pytest loads
# every plugin installed beside it (schemathesis with Hypothesis, nbval, xdist, coverage...):
# measured here, 2.9 s to start instead of 1.2 s, more than most checks take to run.
LEAN_PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def pytest_command(*args: str) -> list[str]:
    """`python -m pytest` with only the plugins the kit's tests use (env: LEAN_PYTEST_ENV)."""
    plugins = ["-p", "asyncio", "-p", "no:cacheprovider", "-p", "workshop.light_hashing"]
    return [*PYTEST, *plugins, *args]


PYTEST = (sys.executable, "-m", "pytest")

# Set by the grading fork server (workshop/grading_zygote.py) in the jobs it forks: the
# interpreter's own sys.path (what `python -m pytest` would start with after its folder and
# PYTHONPATH). While set, `run_limited` runs a pytest command in a forked copy of this process,
# whose libraries are already imported, instead of starting a fresh interpreter.
FORKED_PYTEST_PATH: tuple[str, ...] | None = None
# What a forked pytest must import afresh: the app under test, the tests, the checks.
FRESH_MODULES = ("app", "tests", "conftest")
FRESH_PREFIXES = ("test_", "checks_", "hidden_")


STATUSES = ("passed", "partial", "failed", "not attempted", "does not run", "timed out")


@dataclass
class CheckResult:
    name: str
    passed: bool
    points: int
    max_points: int
    expects: str
    failure: str = ""


@dataclass
class Outcome:
    exercise: str
    status: str
    checks: list[CheckResult] = field(default_factory=list)
    points: int = 0
    max_points: int = 0
    detail: str = ""
    regressions: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "passed" and not self.regressions

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "status": self.status,
            "points": self.points,
            "max_points": self.max_points,
            "detail": self.detail,
            "regressions": list(self.regressions),
            "seconds": round(self.seconds, 2),
            "checks": [dict(vars(c)) for c in self.checks],
        }


# ---------------------------------------------------------------- preparing an app copy


def prepare_app(kit_root: Path, exercise: Exercise, dest: Path) -> None:
    """Write the reference app of lessons <= exercise.lesson into dest (nothing is executed)."""
    files = build.replay(paths.lessons(kit_root), exercise.lesson)
    dest.mkdir(parents=True, exist_ok=True)
    build.write(files, dest)


def apply_answers(notebook: Path, exercise_id: str, dest: Path) -> bool:
    """Replay the notebook's %%writefile cells of the exercise into dest, in order.

    Returns False when the notebook has no such cell, or when every file written still holds
    the stub: the learner has not attempted the exercise.
    """
    cells = answer_cells(notebook, exercise_id)
    attempted = False
    for relative, append, content in cells:
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        before = target.read_text(encoding="utf-8") if append and target.exists() else ""
        target.write_text(before + content, encoding="utf-8")
        attempted = attempted or STUB_MARKER not in content
    return attempted


def untouched(dest: Path, exercise: Exercise) -> bool:
    """No stub of the exercise was replaced: each file still holds all its `# YOUR CODE HERE`."""
    wanted = [(path, count) for path, count in exercise.stubs if count]
    if not wanted:
        return False
    for relative, count in wanted:
        target = dest / relative
        if not target.exists():
            continue
        lines = target.read_text(encoding="utf-8").splitlines()
        if sum(1 for line in lines if line.strip() == STUB_MARKER) < count:
            return False
    return True


# ---------------------------------------------------------------- running the checks


def run_checks(
    dest: Path,
    exercise: Exercise,
    *,
    timeout: float = 30,
    extra_checks: Path | None = None,
    env: Mapping[str, str] | None = None,
    preexec_fn: Callable[[], None] | None = None,
    regressions: bool = True,
    stage_timeout: float = 120,
) -> Outcome:
    """Run the exercise's checks against the app in dest, then its stage's tests.

    `timeout` bounds the checks (a hang: "timed out"); the stage's tests run afterwards with
    a limit of their own (`stage_timeout`), and what they find goes to `regressions`.
    """
    started = time.monotonic()
    dest = dest.resolve()
    declared = checks_of(exercise)
    max_points = sum(c.points for c in declared)
    if untouched(dest, exercise):
        results = [
            CheckResult(c.name, False, 0, c.points, c.expects, "not attempted") for c in declared
        ]
        return Outcome(
            exercise.id,
            "not attempted",
            results,
            0,
            max_points,
            "the starting code is untouched: replace each `# YOUR CODE HERE` stub",
            [],
            time.monotonic() - started,
        )
    if exercise.check_file is None:
        raise FileNotFoundError(f"exercise {exercise.id} has no check file")
    with tempfile.TemporaryDirectory(prefix=f"kit-exercise-{exercise.id}-") as scratch_name:
        scratch = Path(scratch_name)
        files, stage_tests = _stage_scratch(scratch, exercise, extra_checks)
        python_path = os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")]))
        run_env = dict(env if env is not None else os.environ)
        run_env |= {"PYTHONPATH": python_path, APP_ENV: str(dest), "PYTHONDONTWRITEBYTECODE": "1"}
        run_env |= LEAN_PYTEST_ENV
        run_env.pop("KIT_WORKSPACE", None)
        if env is None:
            # A learner's checks run on SQLite files of their own; never on a shared PostgreSQL
            # that the stage fixtures would wipe under another run.
            run_env.pop("TEST_DATABASE_URL", None)
        report = scratch / "checks.jsonl"
        run_env |= {REPORT_ENV: str(report), EXERCISE_ENV: exercise.id}
        timed_out, output = run_limited(_pytest(scratch, files), dest, run_env, timeout, preexec_fn)
        outcome = _outcome(exercise, declared, _read_events(report), timed_out, output, timeout,
                           started)  # fmt: skip
        if regressions and stage_tests and outcome.status not in {"does not run", "timed out"}:
            # The stage's own tests, with a limit of their own: the exercise's time is its checks'.
            report = scratch / "stage.jsonl"
            run_env |= {REPORT_ENV: str(report)}
            run_env.pop(EXERCISE_ENV, None)
            limit = max(timeout, stage_timeout)
            stage_hung, _ = run_limited(_pytest(scratch, stage_tests), dest, run_env, limit,
                                       preexec_fn)  # fmt: skip
            outcome.regressions = _regressions(_read_events(report), stage_hung, limit)
    outcome.seconds = time.monotonic() - started
    return outcome


def _pytest(scratch: Path, files: list[Path]) -> list[str]:
    return pytest_command(
        "-q", "-p", "workshop.exercise_plugin", "--import-mode=importlib",
        "-c", str(scratch / "pytest.ini"), "--rootdir", str(scratch),
        "-o", "console_output_style=classic", "--tb=no", "--no-header",
        *(str(f) for f in files),
    )  # fmt: skip


def _regressions(events: list[dict[str, Any]], timed_out: bool, limit: float) -> list[str]:
    """What the stage's tests say about the changed app, one sentence per failing test."""
    found = []
    seen: set[str] = set()
    for event in events:
        if event["event"] == "phase" and event["outcome"] == "failed":
            if event["nodeid"] in seen:
                continue
            seen.add(event["nodeid"])
            stage = event["file"][len("test_stage_") : len("test_stage_") + 2]
            found.append(f"stage {stage}: {event['expects']}: {event['failure']}")
        elif event["event"] == "collect_error":
            found.append(f"the stage tests could not load: {event['failure']}")
    if timed_out:
        found.append(f"the stage tests were stopped after {limit:g} s (something hangs)")
    return found


def _stage_scratch(
    scratch: Path, exercise: Exercise, extra: Path | None
) -> tuple[list[Path], list[Path]]:
    """Copy the stage fixtures, the checks and the stage tests into a folder of their own."""
    assert exercise.check_file is not None
    stages_dir = exercise.stage_file.parent if exercise.stage_file else None
    if stages_dir is None:
        stages_dir = exercise.check_file.parents[1] / "stages"
    for name in ("conftest.py", "pytest.ini"):
        if (stages_dir / name).exists():
            shutil.copy2(stages_dir / name, scratch / name)
    if not (scratch / "pytest.ini").exists():
        (scratch / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n", encoding="utf-8")
    files = [scratch / exercise.check_file.name]
    shutil.copy2(exercise.check_file, files[0])
    if extra is not None:
        files.append(scratch / f"hidden_{extra.name}")
        shutil.copy2(extra, files[-1])
    stage_tests = []
    if exercise.stage_file is not None and exercise.stage_file.exists():
        stage_tests.append(scratch / exercise.stage_file.name)
        shutil.copy2(exercise.stage_file, stage_tests[0])
    return files, stage_tests


def run_limited(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[bool, str]:
    """Run command in its own session; kill the whole group at the limit. (timed out?, output)"""
    if _forks_pytest(command):
        return _run_forked(command[len(PYTEST) :], cwd, env, timeout, preexec_fn)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        preexec_fn=preexec_fn,  # the caller's resource limits, if any
    )
    try:
        output, _ = process.communicate(timeout=timeout)
        return False, output or ""
    except subprocess.TimeoutExpired:
        kill_group(process)
        output, _ = process.communicate()
        return True, output or ""


def _forks_pytest(command: list[str]) -> bool:
    """A pytest command, in a fork server's job, which has no thread but this one to fork."""
    return (
        FORKED_PYTEST_PATH is not None
        and tuple(command[: len(PYTEST)]) == PYTEST
        and threading.active_count() == 1
        and len(os.listdir("/proc/self/task")) == 1
    )


def _run_forked(
    args: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    preexec_fn: Callable[[], None] | None,
) -> tuple[bool, str]:
    """`python -m pytest ARGS` as run_limited runs it, in a forked copy of this process."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    gc.freeze()  # what this job made so far: the child's collections need not look at it
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child ends in os._exit
        os.close(reader)
        _pytest_child(args, cwd, env, writer, preexec_fn)
    os.close(writer)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    timed_out = _read_until(reader, chunks, deadline)
    if timed_out:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        _read_until(reader, chunks, time.monotonic() + 10)  # what it wrote before the kill
    os.close(reader)
    os.waitpid(pid, 0)
    return timed_out, b"".join(chunks).decode("utf-8", "replace")


def _read_until(fd: int, chunks: list[bytes], deadline: float) -> bool:
    """Read fd into chunks until EOF (False) or the deadline (True)."""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return True
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            chunks.append(chunk)


def _pytest_child(
    args: list[str],
    cwd: Path,
    env: Mapping[str, str],
    output: int,
    preexec_fn: Callable[[], None] | None,
) -> NoReturn:  # pragma: no cover - runs in the forked child
    """What `python -m pytest ARGS` with cwd, env and stdout+stderr to `output` would do."""
    code = 1
    try:
        os.setsid()  # its own session and process group, as start_new_session=True gives
        stdin = os.open(os.devnull, os.O_RDONLY)
        os.dup2(stdin, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(stdin)
        os.close(output)
        if preexec_fn is not None:
            preexec_fn()
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        tempfile.tempdir = None  # TMPDIR is read again: the job's, not the fork server's
        assert FORKED_PYTEST_PATH is not None
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [str(cwd), *extra, *FORKED_PYTEST_PATH]
        for name in list(sys.modules):
            if name.split(".")[0] in FRESH_MODULES or name.startswith(FRESH_PREFIXES):
                del sys.modules[name]
        importlib.invalidate_caches()
        import pytest

        sys.argv = [str(Path(pytest.__file__).with_name("__main__.py")), *args]
        code = int(pytest.main(args))
    except SystemExit as stop:  # sys.exit() in the code under test, outside a test
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if not isinstance(stop.code, int | None):
            print(stop.code, file=sys.stderr)
    except BaseException:  # what a fresh interpreter would print before exiting with 1
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def kill_group(process: "subprocess.Popen[str]") -> None:
    """Kill the process and everything it started (its session's group)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _read_events(report: Path) -> list[dict[str, Any]]:
    if not report.exists():
        return []
    events = []
    for line in report.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the last line of a killed run may be cut
    return events


def _outcome(
    exercise: Exercise,
    declared: list[Any],
    events: list[dict[str, Any]],
    timed_out: bool,
    output: str,
    timeout: float,
    started: float,
) -> Outcome:
    phases: dict[str, dict[str, Any]] = {}
    failures: dict[str, dict[str, Any]] = {}
    done: set[str] = set()
    running: str | None = None
    starts: dict[str, dict[str, Any]] = {}
    collect_errors = [e for e in events if e["event"] == "collect_error"]
    for event in events:
        nodeid = event["nodeid"]
        if event["event"] == "start":
            running = nodeid
            starts[nodeid] = event
        elif event["event"] == "phase":
            phases.setdefault(nodeid, event)
            if event["outcome"] == "failed" and nodeid not in failures:
                failures[nodeid] = event
        elif event["event"] == "done":
            done.add(nodeid)
            running = None
    hung = starts.get(running, {}) if running else {}
    by_name: dict[str, list[str]] = {}
    for nodeid, start in starts.items():
        if start.get("exercise") == exercise.id:
            by_name.setdefault(start["name"], []).append(nodeid)

    results: list[CheckResult] = []
    broken = ""
    for check in declared:
        nodeids = by_name.get(check.name, [])
        failure = next((failures[n] for n in nodeids if n in failures), None)
        text = ""
        if not nodeids:
            text = "did not run (the run was stopped)" if timed_out else "did not run"
        elif timed_out and running in nodeids:
            text = f"still running after {timeout:g} s (a hang: endless loop, blocking sleep, ...)"
        elif failure is not None:
            if failure.get("broken") and not broken:
                broken = failure["failure"]
            text = failure["failure"]
        elif not all(n in done for n in nodeids):
            text = "did not finish (the run was stopped)"
        if text:
            results.append(CheckResult(check.name, False, 0, check.points, check.expects, text))
        else:
            results.append(CheckResult(check.name, True, check.points, check.points, check.expects))

    regressions: list[str] = []
    points = sum(r.points for r in results)
    max_points = sum(r.max_points for r in results)
    seconds = time.monotonic() - started

    if timed_out:
        what = f"the check '{hung['expects']}'" if hung else "pytest (before any check)"
        if hung and hung.get("exercise") is None:
            what = f"the stage test '{hung['expects']}'"
        detail = (
            f"stopped after {timeout:g} s while running {what}: something hangs "
            "(a blocking call such as time.sleep at import or in a route, or an endless loop)"
        )
        return Outcome(exercise.id, "timed out", results, points, max_points, detail,
                       regressions, seconds)  # fmt: skip
    if broken or (collect_errors and not starts) or (not starts and declared):
        where = broken or (collect_errors[0]["failure"] if collect_errors else "")
        if not where:
            where = _last_line(output) or "pytest could not run the checks"
        detail = f"your app does not run: {where}"
        return Outcome(exercise.id, "does not run", results, 0, max_points, detail,
                       [], seconds)  # fmt: skip
    passed = sum(1 for r in results if r.passed)
    if results and passed == len(results):
        status, detail = "passed", f"all {len(results)} checks pass"
    elif passed:
        status, detail = "partial", f"{passed} of {len(results)} checks pass"
    else:
        status, detail = "failed", f"none of the {len(results)} checks pass"
    return Outcome(exercise.id, status, results, points, max_points, detail, regressions, seconds)


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def format_outcome(outcome: Outcome, title: str = "") -> str:
    """What a learner reads: one line per check, the outcome in words, regressions."""
    name = f"Exercise {outcome.exercise}" + (f" ({title})" if title else "")
    lines = [f"{name}: {outcome.status}, {outcome.points} of {outcome.max_points} points"]
    for check in outcome.checks:
        mark = "✓" if check.passed else "✗"
        lines.append(f"  {mark} {check.expects}")
        if not check.passed and check.failure:
            lines.append(f"      {check.failure}")
    if outcome.status != "passed":
        lines.append(f"  {outcome.detail}")
    for regression in outcome.regressions:
        lines.append(f"  Your change broke {regression}")
    if outcome.status in {"failed", "partial"}:
        lines.append("  Stuck? Open the hints under the exercise's statement.")
    return "\n".join(lines)
