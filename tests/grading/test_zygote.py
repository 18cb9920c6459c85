"""The fork server (workshop/grading_zygote.py): as safe as exec'd jobs, the same outcomes.

As root every job of a grading run is forked from it; these tests also run the exec path (the
trampoline alone) on the same submissions and compare.
"""

import json
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.grading.conftest import EXERCISE, Graded, notebook, with_code
from workshop import grading, grading_zygote
from workshop.grading_sandbox import FIRST_UID
from workshop.paths import KIT_ROOT

ROOT = os.geteuid() == 0
as_root = pytest.mark.skipif(not ROOT, reason="jobs are forked as root only")


def probe(name: str) -> str:
    """At import: what of other jobs this one sees (modules, the fork server's socket, /tmp)."""
    workshop_dir = str(KIT_ROOT / "workshop")
    return f"""
import os as _os, socket as _socket, sys as _sys
_home = _os.environ["HOME"]
_others = sorted(m for m in _sys.modules if m.startswith("kit_probe_") and m != "kit_probe_{name}")
_sys.modules["kit_probe_{name}"] = type(_sys)("kit_probe_{name}")
_allowed = (_home, _sys.prefix, _sys.base_prefix, {workshop_dir!r})
_foreign = sorted(n for n, m in list(_sys.modules.items())
                  if isinstance(getattr(m, "__file__", None), str)
                  and not m.__file__.startswith(_allowed))
_control = []
for _fd in map(int, _os.listdir("/proc/self/fd")):
    try:
        _sock = _socket.socket(fileno=_os.dup(_fd))
    except OSError:
        continue
    if _sock.family == _socket.AF_UNIX and _sock.type == _socket.SOCK_SEQPACKET:
        _control.append(_fd)
    _sock.close()
_tmp = []
if _os.getuid() >= {FIRST_UID}:  # as root: /tmp is the job's own
    _tmp = sorted(n for n in _os.listdir("/tmp") if n.startswith("kit-probe-"))
    open("/tmp/kit-probe-{name}", "w").close()
_raise = RuntimeError
raise _raise(f"PROBE {name} others={{_others}} foreign={{_foreign}} control={{_control}} "
             f"tmp={{_tmp}}")
"""


def write(submissions: Path, learner: str, data: dict[str, Any]) -> None:
    (submissions / learner).mkdir(parents=True, exist_ok=True)
    (submissions / learner / "06_auth.ipynb").write_text(json.dumps(data), encoding="utf-8")


def summary(result: grading.Grading) -> list[Any]:
    """Everything a grade says, but its time."""
    grades = [
        (g.learner, g.exercise, g.status, g.points, g.max_points, g.detail, g.regressions,
         [(c.name, c.passed, c.points, c.failure, c.private) for c in g.checks])
        for g in result.results
    ]  # fmt: skip
    stages = {learner: [vars(s) for s in signals] for learner, signals in result.stages.items()}
    return [grades, stages, result.notes]


@pytest.mark.parametrize("fork_server", [True, False], ids=["forked", "execed"])
def test_a_job_sees_no_other_job_s_modules_files_or_the_fork_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fork_server: bool
) -> None:
    """ann and ben are graded one after the other; each looks for the other at import."""
    monkeypatch.setattr(grading, "FORK_SERVER", fork_server)
    for learner in ("ann", "ben"):
        write(tmp_path / "in", learner, with_code(probe(learner)))
    result = grading.grade(KIT_ROOT, tmp_path / "in", tmp_path / "out", jobs=1,
                           timeout=120, only=[EXERCISE])  # fmt: skip
    assert result.forked == (2 if fork_server and ROOT else 0), result.fork_server
    for graded in result.results:
        assert graded.status == "does not run", graded.detail
        assert f"PROBE {graded.learner} others=[] foreign=[] control=[] tmp=[]" in graded.detail


@as_root
def test_forked_and_execed_jobs_grade_alike(
    graded: Graded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's class (complete, stubs, a syntax error, not a notebook, hostile, a broken
    stage, sys.exit; private checks), graded forked, then again exec'd: the same grades."""
    assert graded.result.forked > 0 and graded.result.fork_server == ""
    monkeypatch.setattr(grading, "FORK_SERVER", False)
    again = grading.grade(KIT_ROOT, graded.submissions, tmp_path / "out", jobs=2, timeout=180,
                          checks=graded.checks, only=[EXERCISE])  # fmt: skip
    assert again.forked == 0 and again.fork_server == "off"
    assert summary(again) == summary(graded.result)


@as_root
def test_a_hung_job_is_killed_at_its_limit_while_the_next_ones_run(tmp_path: Path) -> None:
    """dave's answer sleeps at import and his checks may take 600 s: only the whole job's
    limit stops him. erin is graded beside him, and fay after he was killed, both forked."""
    runner = grading.Runner(KIT_ROOT, [tmp_path], jobs=2, timeout=30)
    runner.limit = 20.0
    uids = {runner.sandbox.uid(slot) for slot in range(runner.threads)}
    try:
        assert runner.zygote is not None, runner.fork_server

        def run(answer: dict[str, Any]) -> tuple[str, dict[str, Any], float]:
            started = time.monotonic()
            inputs = {"answers.ipynb": json.dumps(grading.answers(
                grading.parse_notebook("a.ipynb", json.dumps(answer).encode()), EXERCISE)[0]
            ).encode()}  # fmt: skip
            status, data = runner.run(inputs, ["exercise", EXERCISE, "600"])
            return status, data, time.monotonic() - started

        with ThreadPoolExecutor(2) as pool:
            dave = pool.submit(run, with_code("import time\ntime.sleep(600)"))
            time.sleep(0.5)
            erin = pool.submit(run, notebook("solutions"))
            status, data, _ = erin.result()
            assert (status, data["status"]) == ("ok", "passed")
            assert not dave.done(), "erin waited for dave"
            status, data, seconds = dave.result()
        assert status == "timed out" and runner.limit <= seconds < runner.limit + 10
        assert _gone(uids), "a process of dave's job is left"
        status, data, _ = run(notebook("solutions"))  # fay: the fork server still serves
        assert (status, data["status"]) == ("ok", "passed")
        assert runner.forked == 3
    finally:
        runner.close()


def _gone(uids: set[int | None]) -> bool:
    """No process of these uids is left, not even a zombie, within a second or two (the fork
    server reaps what its jobs leave: a dead process's parent has to)."""
    for _ in range(40):
        if not [pid for pid in os.listdir("/proc") if pid.isdigit() and _uid(pid) in uids]:
            return True
        time.sleep(0.05)
    return False


def _uid(pid: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return int(next(x for x in text.splitlines() if x.startswith("Uid:")).split()[1])


def test_without_a_fork_server_jobs_are_execed_and_graded_alike(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fork server cannot start (here: its module is missing): every job by exec."""
    missing = grading_zygote.Launching  # started as `python -m workshop.no_zygote`
    monkeypatch.setattr(grading.Zygote, "launch", classmethod(lambda cls, kit: missing("no")))
    write(tmp_path / "in", "alice", notebook("solutions"))
    write(tmp_path / "in", "carol", with_code("def broken(:\n    pass"))
    result = grading.grade(KIT_ROOT, tmp_path / "in", tmp_path / "out", jobs=2, timeout=120,
                           only=[EXERCISE])  # fmt: skip
    assert result.forked == 0
    if ROOT:
        assert "exited while starting" in result.fork_server
    assert {g.learner: g.status for g in result.results} == {
        "alice": "passed",
        "carol": "does not run",
    }
    assert "app/routers/items.py, line 2" in result.results[1].detail
    assert [s.failed for s in result.stages["alice"]] == [[]]


def test_not_root_jobs_are_execed_and_reaped_by_their_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not root (here: as if), a forked job could not be told apart by its environment in
    /proc: no fork server, every job exec'd as before."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    write(tmp_path / "in", "alice", notebook("solutions"))
    write(tmp_path / "in", "sam", with_code("import sys\nsys.exit(0)"))
    result = grading.grade(KIT_ROOT, tmp_path / "in", tmp_path / "out", jobs=2, timeout=120,
                           only=[EXERCISE])  # fmt: skip
    assert result.forked == 0 and result.fork_server.startswith("not root")
    assert "not root" in result.isolation
    assert {g.learner: g.status for g in result.results} == {
        "alice": "passed",
        "sam": "does not run",
    }


@as_root
def test_a_fork_server_that_dies_hands_over_to_exec(tmp_path: Path) -> None:
    runner = grading.Runner(KIT_ROOT, [tmp_path], jobs=1, timeout=60)
    try:
        assert runner.zygote is not None, runner.fork_server
        os.kill(runner.zygote.process.pid, signal.SIGKILL)
        runner.zygote.process.wait()
        inputs = {"answers.ipynb": json.dumps(notebook("solutions")).encode()}
        status, data = runner.run(inputs, ["exercise", EXERCISE, "60"])
        assert (status, data["status"]) == ("ok", "passed")
        assert runner.zygote is None and "fork server" in runner.fork_server
        assert runner.forked == 0
    finally:
        runner.close()


def test_the_fork_server_starts_alone_and_closed() -> None:
    """Preloaded: no thread, no job module, nothing open but its socket to the grader and its
    loop's own (the SIGCHLD wake-up pipe, the selector), stdio on /dev/null."""
    zygote, why = grading_zygote.Zygote.start(KIT_ROOT)
    assert zygote is not None, why
    try:
        pid = zygote.process.pid
        assert os.listdir(f"/proc/{pid}/task") == [str(pid)]
        held = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        kinds = sorted(target.split(":")[0] for target in held if target != os.devnull)
        assert kinds == ["anon_inode", "pipe", "pipe", "socket"], held  # its loop's own
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"HOME={grading_zygote.SENTINEL}".encode() in environ
        assert not [e for e in environ if e.startswith((b"PYTHONPATH=", b"KIT_WORKSPACE="))]
    finally:
        zygote.close()
    assert zygote.process.returncode == 0


def test_what_the_fork_server_refuses_to_fork_from(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job module imported, a module holding its HOME: never forked from (the suite's own
    process has `app` imported, and here a module copies HOME at import)."""
    module = type(sys)("kit_copies_home")
    setattr(module, "HOME", f"{grading_zygote.SENTINEL}/.config")  # noqa: B010
    monkeypatch.setitem(sys.modules, "kit_copies_home", module)
    import app  # noqa: F401 - as a job module in a zygote would be

    found = " ".join(grading_zygote.problems())
    assert "job modules imported: app" in found
    assert "kept the environment of their import: kit_copies_home" in found
