"""A fork server ("zygote") for graded jobs: pytest and the app's libraries imported once per run.

Starting a job's pytest in a fresh interpreter costs 1.3 s here (importing pytest, FastAPI,
SQLAlchemy, pydantic...), more than most checks take to run. So a grading run (as root) starts
one process, `python -P -m workshop.grading_zygote FD`, that imports those trusted libraries
once (PRELOAD; never `app`, the tests or the checks, nothing of a submission) and then forks one
child per job. A forked job does what the trampoline of workshop/grading_sandbox.py does before
`exec`, in the same order, then runs `workshop.grading_job` in-process:

1. `setsid` (its own session and process group, which the grader kills), stdin /dev/null,
   stdout and stderr to the grader's pipes, every other descriptor of the zygote closed (its
   control socket first: a job can never ask for a fork);
2. `grading_sandbox.lock_down(spec)`: namespaces, rlimits, its own uid, into its folder;
3. the scrubbed environment the exec'd job would get (os.environ, TMPDIR re-read), sys.path
   as `python -m workshop.grading_job` would have it, then the job. Its pytest runs are forked
   from it in turn (workshop/runner.py, FORKED_PYTEST_PATH), each importing the job's own `app`
   afresh; the wall-clock limit and the reaping (by uid, group) stay the grader's.

The zygote is single-threaded (checked before every fork), imports nothing that starts a
thread, holds no descriptor but its control socket, and refuses to start when a preloaded
module kept a copy of its HOME or TMPDIR (a module that read the environment at import would
hand every job the zygote's value). Jobs forked without `exec` keep the environment block the
zygote was started with in /proc/PID/environ, which is why only the root path (reaping by uid)
uses it; not root, jobs are exec'd through the trampoline as before. When the zygote cannot
start, or dies, the grader falls back to that same exec path.

Protocol (a SOCK_SEQPACKET socketpair, one message each): the zygote sends READY (or
ERROR + why); the grader sends a job as JSON `{"spec", "argv", "env"}` with three descriptors
(stdout, stderr, a status socket); the zygote answers on the status socket with the child's
pid (int32, negative errno when the fork failed), and with its exit code when it ends (as
Popen.returncode: negative for a signal).
"""

import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from workshop import grading_sandbox
from workshop.grading_sandbox import Spec, clean_env

READY = b"READY"
ERROR = b"ERROR "
INT = struct.Struct("i")
MAX_MESSAGE = 1 << 20
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
# Distinctive HOME and TMPDIR for the zygote: a preloaded module holding one of them has read
# the environment at import, which a job would then inherit (see _env_copies).
SENTINEL = "/nonexistent/kit-grading-zygote"

# Trusted and the same for every job; what the checks and the stage tests import, measured
# (`python -X importtime`), plus pytest's own plugins. A module missing here is skipped.
PYTEST_MODULES = (
    "mark", "main", "runner", "fixtures", "helpconfig", "python", "terminal", "debugging",
    "unittest", "capture", "skipping", "legacypath", "tmpdir", "monkeypatch", "recwarn",
    "pastebin", "assertion", "assertion.rewrite", "junitxml", "doctest", "cacheprovider",
    "setuponly", "setupplan", "stepwise", "unraisableexception", "threadexception",
    "warnings", "logging", "reports", "faulthandler", "subtests", "python_api", "raises",
)  # fmt: skip
PRELOAD = (
    *(f"_pytest.{name}" for name in PYTEST_MODULES),
    "pytest",
    "pytest_asyncio",
    "pytest_asyncio.plugin",
    "fastapi",
    "fastapi.encoders",
    "fastapi.exception_handlers",
    "fastapi.exceptions",
    "fastapi.middleware.cors",
    "fastapi.responses",
    "fastapi.security",
    "fastapi.staticfiles",
    "fastapi.testclient",
    "fastapi_offline",
    "starlette.exceptions",
    "starlette.middleware.base",
    "starlette.types",
    "pydantic",
    "pydantic.json_schema",
    "pydantic.v1",
    "pydantic_settings",
    "email_validator",
    "python_multipart",
    "sqlalchemy",
    "sqlalchemy.dialects.sqlite.aiosqlite",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "sqlalchemy.engine",
    "sqlalchemy.exc",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.orm",
    "sqlalchemy.pool",
    "aiosqlite",
    "asyncpg",
    "httpx",
    "httpcore",
    "certifi",
    "anyio",
    "anyio._backends._asyncio",
    "h11",
    "jose",
    "jose.jwt",
    "cryptography.hazmat.backends.openssl",
    "passlib.context",
    "passlib.handlers.argon2",
    "passlib.handlers.bcrypt",
    "argon2",
    "bcrypt",
    "limits",
    "limits.aio.storage",
    "limits.aio.strategies",
    "limits.errors",
    "redis",
    "redis.asyncio",
    "redis.exceptions",
    "alembic",
    "alembic.command",
    "alembic.config",
    "alembic.script",
    "uvicorn",
    "uvicorn.lifespan.on",
    "uvicorn.middleware.proxy_headers",
    "uvicorn.protocols.http.auto",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.websockets.websockets_sansio_impl",
    "uvicorn_worker",
    "websockets.asyncio.client",
    "websockets.exceptions",
    "websockets.server",
    "yaml",
    "aiosmtpd.controller",
    "smtplib",
    "email.message",
    "email.policy",
    "email.headerregistry",
    "encodings.idna",
    "pdb",  # pytest's debugging plugin; not readline, which reads ~/.inputrc when imported
    "faulthandler",
    "sqlite3",
    "xml.etree.ElementTree",
    "workshop.appclient",
    "workshop.exercise_plugin",
    "workshop.light_hashing",
    "workshop.grading_job",
    "workshop.grading_engine",
    "workshop.runner",
    "workshop.stages",
)
FORBIDDEN = ("app", "tests", "conftest")  # never in the zygote: a job imports its own
# Hold the user's site folder (from HOME) since start-up: each job sets them from its own HOME.
REFRESHED = ("site", "sysconfig")


class ZygoteError(RuntimeError):
    """The fork server could not start a job (the caller runs it the exec way)."""


# ---------------------------------------------------------------- the grader's side


class ForkedJob:
    """A job the zygote forked, as the grader sees it: what it needs of a Popen."""

    def __init__(self, pid: int, stdout: int, stderr: int, status: socket.socket) -> None:
        self.pid = pid
        self.args = f"forked job {pid}"
        self.returncode: int | None = None
        self._status = status
        self._buffers: dict[int, bytearray] = {stdout: bytearray(), stderr: bytearray()}
        self._stdout, self._stderr = stdout, stderr
        self._selector = selectors.DefaultSelector()
        for fd in (stdout, stderr):
            self._selector.register(fd, selectors.EVENT_READ, fd)
        self._selector.register(status, selectors.EVENT_READ, -1)

    def _pump(self, timeout: float | None, *, pipes: bool) -> None:
        """Read until the exit code is known (and, with pipes, both pipes ended)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None or (pipes and self._open_pipes()):
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            for key, _ in self._selector.select(left):
                if key.data == -1:
                    message = self._status.recv(INT.size)
                    # No message: the zygote died; the grader reaps whatever is left.
                    self.returncode = INT.unpack(message)[0] if len(message) == INT.size else -9
                    self._selector.unregister(self._status)
                    self._status.close()
                    continue
                chunk = os.read(key.data, 65536)
                if chunk:
                    self._buffers[key.data] += chunk
                else:
                    self._selector.unregister(key.data)
                    os.close(key.data)

    def _open_pipes(self) -> bool:
        return any(key.data >= 0 for key in self._selector.get_map().values())

    def communicate(self, timeout: float | None = None) -> tuple[bytes, bytes]:
        self._pump(timeout, pipes=True)
        return bytes(self._buffers[self._stdout]), bytes(self._buffers[self._stderr])

    def wait(self, timeout: float | None = None) -> int:
        self._pump(timeout, pipes=False)
        assert self.returncode is not None
        return self.returncode

    def close(self) -> None:
        """Let go of the pipes and the status socket (after the job was reaped)."""
        for key in list(self._selector.get_map().values()):
            self._selector.unregister(key.fileobj)
            if key.data == -1:
                self._status.close()
            else:
                os.close(key.data)
        self._selector.close()


class Launching:
    """A zygote starting: `ready()` waits for its preload to end."""

    def __init__(self, module: str, kit: Path | None = None) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.problem = ""
        self._mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = clean_env(Path(SENTINEL), f"zygote-{os.getpid()}-{time.monotonic_ns()}")
        try:
            argv = [sys.executable, "-P", "-m", module, str(theirs.fileno())]
            self.process = subprocess.Popen(
                argv + ([str(kit)] if kit is not None else []),
                pass_fds=[theirs.fileno()],
                cwd="/",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as error:
            self.problem = f"could not start: {error}"
        finally:
            theirs.close()

    def ready(self, timeout: float = 120) -> "tuple[Zygote | None, str]":
        if self.process is None:
            self._mine.close()
            return None, self.problem
        self._mine.settimeout(timeout)
        try:
            message = self._mine.recv(MAX_MESSAGE)
        except OSError as error:
            message = ERROR + f"no answer: {error}".encode()
        if message == READY:
            self._mine.settimeout(None)
            return Zygote(self.process, self._mine), ""
        self.cancel()
        why = message[len(ERROR) :] if message.startswith(ERROR) else b"it exited while starting"
        return None, why.decode("utf-8", "replace")

    def cancel(self) -> None:
        self._mine.close()
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()


class Zygote:
    """The grader's handle on its fork server (start with `Zygote.start`)."""

    def __init__(self, process: "subprocess.Popen[bytes]", control: socket.socket) -> None:
        self.process = process
        self._control = control
        self._lock = threading.Lock()
        self.forked = 0

    @classmethod
    def start(cls, kit: Path | None = None, timeout: float = 120) -> "tuple[Zygote | None, str]":
        """(the zygote, "") once it has preloaded everything, else (None, why not)."""
        return cls.launch(kit).ready(timeout)

    @classmethod
    def launch(cls, kit: Path | None = None) -> "Launching":
        """Start the zygote's process; it preloads (and reads the kit's catalog) while the
        caller goes on."""
        return Launching("workshop.grading_zygote", kit)

    def spawn(self, spec: Spec, argv: list[str], env: Mapping[str, str]) -> ForkedJob:
        """Fork a job: `python -m workshop.grading_job ARGV` locked down by `spec`, as the
        trampoline would run it."""
        payload = json.dumps({"spec": asdict(spec), "argv": argv, "env": dict(env)}).encode()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        status, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            with self._lock:
                socket.send_fds(self._control, [payload], [out_w, err_w, theirs.fileno()])
            status.settimeout(60)
            message = status.recv(INT.size)
            status.settimeout(None)
        except OSError as error:
            for fd in (out_r, err_r):
                os.close(fd)
            status.close()
            raise ZygoteError(f"the fork server did not answer: {error}") from error
        finally:
            for fd in (out_w, err_w):
                os.close(fd)
            theirs.close()
        pid = INT.unpack(message)[0] if len(message) == INT.size else None
        if pid is None or pid <= 0:
            for fd in (out_r, err_r):
                os.close(fd)
            status.close()
            problem = "it is gone" if pid is None else "it has a thread"
            if pid is not None and pid < 0:
                problem = os.strerror(-pid)
            raise ZygoteError(f"the fork server did not fork the job: {problem}")
        with self._lock:
            self.forked += 1
        return ForkedJob(pid, out_r, err_r, status)

    def close(self) -> None:
        """End the zygote (it exits when its control socket closes)."""
        with self._lock:
            self._control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---------------------------------------------------------------- inside the zygote


def preload(kit: Path | None = None) -> list[str]:
    """Import PRELOAD (and read the kit's catalog); return what is not installed here."""
    missing = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    grading_sandbox.c_library()
    if kit is not None:
        from workshop import grading_engine

        grading_engine.warm(kit)
    return missing


def problems() -> list[str]:
    """Why this process must not fork jobs (empty: it may)."""
    found = []
    if not single_threaded():
        found.append(f"{len(os.listdir('/proc/self/task'))} threads")
    loaded = [n for n in sys.modules if n.split(".")[0] in FORBIDDEN]
    if loaded:
        found.append(f"job modules imported: {', '.join(sorted(loaded))}")
    copies = sorted(_env_copies(SENTINEL))
    if copies:
        found.append(f"modules that kept the environment of their import: {', '.join(copies)}")
    return found


def single_threaded() -> bool:
    """Safe to fork: no thread but this one, neither Python's nor a C library's."""
    return threading.active_count() == 1 and len(os.listdir("/proc/self/task")) == 1


def _env_copies(sentinel: str) -> Iterator[str]:
    """Modules whose globals hold `sentinel` (a string, or in a container one level down)."""
    for name, module in list(sys.modules.items()):
        if (
            not isinstance(module, ModuleType)
            or name in REFRESHED
            or module is sys.modules[__name__]
        ):
            continue
        for value in list(vars(module).values()):
            values = [value]
            if isinstance(value, dict):
                values = [*value.keys(), *value.values()]
            elif isinstance(value, list | tuple | set | frozenset):
                values = list(value)
            if any(isinstance(v, str) and sentinel in v for v in values):
                yield name
                break


class Server:
    """The zygote's loop: fork a job per request, report each job's end, reap every orphan.

    The zygote is its jobs' child subreaper: a process a job leaves behind (the job's pytest,
    a learner's daemon) becomes the zygote's child when its parent dies, and is reaped here
    once the grader has killed it, instead of lingering as a zombie of init.
    """

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.base_path = tuple(sys.path)
        self.jobs: dict[int, socket.socket] = {}  # pid -> status socket
        grading_sandbox.c_library().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda number, frame: None)
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ)
        self.selector.register(self.wake_r, selectors.EVENT_READ)

    def serve(self) -> None:
        """Until the grader closes the control socket."""
        while True:
            for key, _ in self.selector.select():
                if key.fd == self.wake_r:
                    os.read(self.wake_r, 4096)
                    self._reap()
                    continue
                message, fds, _flags, _address = socket.recv_fds(self.control, MAX_MESSAGE, 3)
                if not message:
                    self._reap()  # what the grader killed last: no zombie for init
                    return
                self._fork(message, fds)

    def _reap(self) -> None:
        while True:
            try:
                pid, wait_status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            status = self.jobs.pop(pid, None)
            if status is not None:
                with contextlib.suppress(OSError):
                    status.send(INT.pack(os.waitstatus_to_exitcode(wait_status)))
                status.close()

    def _fork(self, message: bytes, fds: list[int]) -> None:
        stdout, stderr, status_fd = fds
        status = socket.socket(fileno=status_fd)
        request = json.loads(message)
        answer = 0  # never fork with a thread (the grader runs the job by exec)
        if single_threaded():
            ready_r, ready_w = os.pipe()
            try:
                answer = os.fork()
            except OSError as error:
                answer = -(error.errno or 1)
            if answer == 0:  # pragma: no cover - the job; it ends in os._exit
                os.setsid()
                os.close(ready_w)  # the zygote may give out our pid: we lead our own group
                self._leave(status, ready_r)
                _job(request, stdout, stderr, self.base_path)
            os.close(ready_w)
            if answer > 0:
                os.read(ready_r, 1)  # EOF once the child is in its own session (or gone)
                self.jobs[answer] = status
            os.close(ready_r)
        for fd in (stdout, stderr):
            os.close(fd)
        with contextlib.suppress(OSError):
            status.send(INT.pack(answer))
        if answer <= 0:
            status.close()

    def _leave(self, status: socket.socket, ready_r: int) -> None:  # pragma: no cover
        """In a forked job: drop all the zygote holds (the job must never reach the control
        socket), and its SIGCHLD handling (the job's own children are its business)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        self.selector.close()
        self.control.close()
        for other in self.jobs.values():
            other.close()
        status.close()
        for fd in (ready_r, self.wake_r, self.wake_w):
            os.close(fd)  # (being a subreaper is not inherited: the job's orphans go to us)


def _job(request: dict[str, Any], stdout: int, stderr: int, base_path: tuple[str, ...]
         ) -> NoReturn:  # fmt: skip  # pragma: no cover - runs in the forked job
    code = 111
    try:
        stdin = os.open(os.devnull, os.O_RDONLY)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        try:
            grading_sandbox.lock_down(grading_sandbox.spec_from(request["spec"]))
        except OSError as error:
            print(f"sandbox: {error}", file=sys.stderr)
            os._exit(111)
        # An exec'd job is dumpable again (its /proc files its own uid's); so is this one.
        grading_sandbox.c_library().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        os.environ.clear()
        os.environ.update(request["env"])
        _refresh_home()
        sys.path[:] = [os.getcwd(), *base_path]  # `python -m` puts its folder first
        from workshop import grading_job, runner

        runner.FORKED_PYTEST_PATH = base_path
        sys.argv = [str(grading_job.__file__), *request["argv"]]
        code = grading_job.main(list(request["argv"]))
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if not isinstance(stop.code, int | None):
            print(stop.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _refresh_home() -> None:
    """What start-up derived from HOME and TMPDIR, derived again from the job's."""
    import site
    import sysconfig

    tempfile.tempdir = None
    site.USER_BASE = site.USER_SITE = None
    site.getusersitepackages()
    config = getattr(sysconfig, "_CONFIG_VARS", None)
    if isinstance(config, dict) and "userbase" in config:
        config["userbase"] = site.getuserbase()


def main(argv: list[str]) -> int:
    control = socket.socket(fileno=int(argv[0]))
    try:
        preload(Path(argv[1]) if len(argv) > 1 else None)
        gc_freeze()
        found = problems()
        extra = sorted(set(os.listdir("/proc/self/fd")) - {"0", "1", "2", str(control.fileno())})
        opened = [fd for fd in extra if os.path.exists(f"/proc/self/fd/{fd}")]
        if opened:
            found.append(f"descriptors opened at import: {', '.join(opened)}")
    except Exception as error:  # a module failing to import for another reason than absence
        found = [f"{type(error).__name__}: {error}"]
    if found:
        control.send(ERROR + "; ".join(found).encode()[: MAX_MESSAGE - 16])
        return 1
    server = Server(control)  # ready to serve, then READY
    control.send(READY)
    server.serve()
    return 0


def gc_freeze() -> None:
    """What the preload made stays out of the collector's sight: a job's collections do not
    touch (and copy) the zygote's pages."""
    import gc

    gc.collect()
    gc.freeze()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
