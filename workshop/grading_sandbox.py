"""The sandbox one graded job runs in: limits, a scrubbed environment, an unprivileged user.

`Sandbox.popen(command, home)` starts `command` through this module's trampoline
(`python -m workshop.grading_sandbox SPEC -- COMMAND...`), a fresh single-threaded process that
locks itself down and then `exec`s the command, so nothing unsafe runs between fork and exec
in the grader's threads. What the trampoline does, in order:

1. as root, when asked: new network and mount namespaces (no network but its own loopback;
   the hidden folders — every submission, the grader's staging area, OUT — covered by empty
   read-only tmpfs mounts; /tmp, /var/tmp and /dev/shm replaced by small private tmpfs, and the
   job's own folder by a tmpfs of the job's disk budget);
2. resource limits: CPU seconds, address space, file size, open files, no core files, and as a
   dedicated uid a process count;
3. as root: drop to the job's own uid/gid (no supplementary groups), so other jobs' folders
   (mode 0700, other uids) and the grader's staging area cannot be read;
4. `exec` the command in its own session (its own process group).

Not root: steps 1 and 3 are skipped (the same uid as the grader) and `Sandbox.isolation` says so.
Steps 1 to 3 (and the chdir into the job's folder) are `lock_down(spec)`; the fork server
(workshop/grading_zygote.py) runs the same function in each job it forks, instead of `exec`.
Whatever the mode, `Sandbox.reap(uid, marker)` kills every process left of a job: by uid when it
ran as its own uid (no process can leave its uid), else every process carrying the job's
environment marker, and always the job's process group.
"""

import contextlib
import ctypes
import ctypes.util
import fcntl
import functools
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

MARKER_ENV = "KIT_GRADING_JOB"
# Set in every job: graded runs hash passwords at argon2's lightest cost (light_hashing.py).
# (This file runs as a script too, with the standard library only: it imports nothing of ours.)
LIGHT_HASHING_ENV = "KIT_LIGHT_HASHING"
FIRST_UID = 61000  # job uids: a block of UID_BLOCK from here per grader; no passwd entry needed
# Each grader (a `grade` or `progress` run) claims a block of its own, so two of them on one
# machine never share a uid: reaping a job by uid must not kill another grader's job.
UID_BLOCK = 64
UID_BLOCKS = 15  # FIRST_UID + 999 is the start-up probe's
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
SIOCSIFFLAGS = 0x8914
IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MiB = 1024 * 1024


@dataclass
class Limits:
    cpu_seconds: int = 120
    memory_bytes: int = 3 * 1024 * MiB
    file_bytes: int = 64 * MiB
    disk_bytes: int = 256 * MiB  # tmpfs size of the job's folder (root with namespaces)
    open_files: int = 512
    processes: int = 256  # per job uid (root only: RLIMIT_NPROC counts the whole uid)


@dataclass
class Spec:
    """What the trampoline does before exec (passed to it as JSON)."""

    uid: int | None = None
    namespaces: bool = False
    hide: list[str] = field(default_factory=list)
    workdir: str = ""
    keep: list[str] = field(default_factory=list)  # folders that must stay visible (the kit)
    limits: Limits = field(default_factory=Limits)


def clean_env(home: Path, marker: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Only what Python and pytest need: no secrets, no service URLs, HOME and TMPDIR inside."""
    tmp = home / "tmp"
    env = {
        "PATH": os.pathsep.join(
            [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONHASHSEED": "0",
        "MALLOC_ARENA_MAX": "2",  # threads' malloc arenas would eat the address-space limit
        MARKER_ENV: marker,
        LIGHT_HASHING_ENV: "1",
    }
    return env | dict(extra or {})


class Sandbox:
    """How jobs are isolated on this machine (decided once, by a probe)."""

    def __init__(
        self, hide: Sequence[Path], keep: Sequence[Path] = (), limits: Limits | None = None
    ) -> None:
        self.hide = [str(Path(p).resolve()) for p in hide]
        self.limits = limits or Limits()
        # Jobs run `python -m workshop...`: the folder this package is imported from stays in
        # sight whatever the caller keeps (a kit cloned under /tmp would vanish with /tmp).
        tooling = str(Path(__file__).resolve().parents[1])
        folders = [*map(str, keep), tooling, sys.prefix, sys.base_prefix]
        self.keep = sorted({str(Path(p).resolve()) for p in folders})
        self.as_root = os.geteuid() == 0
        self.namespaces = False
        self._uid_base, self._uid_lock = FIRST_UID, None
        if self.as_root:
            self._uid_base, self._uid_lock = claim_uid_block()
            self.namespaces = self._probe(namespaces=True)
            if not self.namespaces and not self._probe(namespaces=False):
                self.as_root = False  # the job uid cannot read the kit or Python: same uid

    @property
    def isolation(self) -> str:
        if self.as_root and self.namespaces:
            return (
                "each job as its own unprivileged uid, without network, submissions and the "
                "staging area hidden by mount namespaces, limits on CPU, memory, file size, "
                "processes and disk"
            )
        if self.as_root:
            return (
                "each job as its own unprivileged uid (other jobs' folders unreadable), limits "
                "on CPU, memory, file size and processes; no namespaces here"
            )
        return (
            "not root: jobs run as the grader's own user in their own process group with "
            "limits on CPU, memory and file size; a submission could read what this user can"
        )

    def _probe(self, *, namespaces: bool) -> bool:
        """Can a job uid import the kit's tooling from here (and set up namespaces)?"""
        probe_home = Path("/")
        spec = Spec(uid=FIRST_UID + 999 if self.as_root else None, namespaces=namespaces,
                    hide=[], workdir="", keep=self.keep, limits=self.limits)  # fmt: skip
        command = [sys.executable, "-c", "import workshop.grading_job"]
        try:
            run = subprocess.run(
                trampoline(spec, command),
                env=clean_env(probe_home, "probe"),
                cwd="/",
                capture_output=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return run.returncode == 0

    def spec(self, slot: int, workdir: Path) -> Spec:
        return Spec(
            uid=self.uid(slot),
            namespaces=self.namespaces,
            hide=self.hide,
            workdir=str(workdir),
            keep=self.keep,
            limits=self.limits,
        )

    def uid(self, slot: int) -> int | None:
        if not self.as_root:
            return None
        if not 0 <= slot < UID_BLOCK:
            raise ValueError(f"at most {UID_BLOCK} jobs at a time")
        return self._uid_base + slot

    def close(self) -> None:
        """Give the uid block back (a later grader may take it)."""
        if self._uid_lock is not None:
            self._uid_lock.close()
            self._uid_lock = None

    def popen(
        self, slot: int, workdir: Path, command: list[str], env: Mapping[str, str]
    ) -> "subprocess.Popen[bytes]":
        return subprocess.Popen(
            trampoline(self.spec(slot, workdir), command),
            cwd=workdir,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )


def claim_uid_block() -> tuple[int, IO[str]]:
    """The first block of job uids no other grader on this machine holds, and its lock (held
    while the file stays open: a grader that dies gives its block back)."""
    for block in range(UID_BLOCKS):
        base = FIRST_UID + block * UID_BLOCK
        handle = open(Path(tempfile.gettempdir()) / f"kit-grading-uids-{base}.lock", "w")  # noqa: SIM115
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return base, handle
    raise RuntimeError(f"{UID_BLOCKS} graders already run on this machine: wait for one to end")


def spec_from(data: dict[str, Any]) -> Spec:
    """A Spec back from `asdict(spec)` (as JSON crosses to the trampoline or fork server)."""
    return Spec(**(data | {"limits": Limits(**data["limits"])}))


def trampoline(spec: Spec, command: list[str]) -> list[str]:
    return [sys.executable, "-I", "-S", __file__, json.dumps(asdict(spec)), "--", *command]


class JobProcess(Protocol):
    """What reaping needs of a started job: a Popen, or the fork server's ForkedJob."""

    @property
    def pid(self) -> int: ...

    def wait(self, timeout: float | None = None) -> int: ...


def reap(process: JobProcess | None, uid: int | None, marker: str) -> int:
    """Kill every process left of a job; return how many were found."""
    killed = 0
    if process is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    for _ in range(20):  # a fork bomb may fork while we kill: repeat until none is left
        found = [pid for pid in _pids() if _belongs(pid, uid, marker)]
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
    return killed


def cpu_seconds(uid: int | None, marker: str) -> float:
    """CPU time used so far by a job's processes (with their reaped children)."""
    ticks = 0
    for pid in _pids():
        if not _belongs(pid, uid, marker):
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _pids() -> list[int]:
    return [
        int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != os.getpid()
    ]


def _belongs(pid: int, uid: int | None, marker: str) -> bool:
    try:
        if uid is not None:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("Uid:"):
                    return int(line.split()[1]) == uid
            return False
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except (OSError, ValueError):
        return False
    return f"{MARKER_ENV}={marker}".encode() in environ.split(b"\0")


# ---------------------------------------------------------------- inside the trampoline


def _mount(libc: ctypes.CDLL, source: str, target: str, fstype: str, flags: int, data: str) -> None:
    result = libc.mount(source.encode(), target.encode(), fstype.encode() if fstype else None,
                        flags, data.encode() if data else None)  # fmt: skip
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"mount {target}: {os.strerror(error)}")


@functools.cache
def c_library() -> ctypes.CDLL:
    """The C library (found once: the fork server finds it before it forks any job)."""
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _namespaces(spec: Spec) -> None:
    libc = c_library()
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"unshare: {os.strerror(error)}")
    _mount(libc, "none", "/", "", MS_REC | MS_PRIVATE, "")
    _loopback_up()  # a namespace of its own: the stage tests' local servers, nothing beyond
    uid = spec.uid if spec.uid is not None else 0
    if spec.workdir:
        # The job's own folder: its inputs stay readable, its writes go to a tmpfs of its size.
        inputs = Path(spec.workdir) / "in"
        saved = {p.name: p.read_bytes() for p in inputs.iterdir()} if inputs.is_dir() else {}
        options = f"mode=0700,uid={uid},gid={uid},size={spec.limits.disk_bytes}"
        _mount(libc, "tmpfs", spec.workdir, "tmpfs", MS_NOSUID | MS_NODEV, options)
        if saved:
            inputs.mkdir()
            for name, data in saved.items():
                (inputs / name).write_bytes(data)
            for path in (inputs, *inputs.iterdir()):
                os.chown(path, uid, uid)
        for name in ("home", "home/tmp"):
            (Path(spec.workdir) / name).mkdir(exist_ok=True)
            os.chown(Path(spec.workdir) / name, uid, uid)
    kept = [p for p in (spec.workdir, *spec.keep) if p and os.path.isdir(p)]
    handles = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in kept}
    closed = _closed_ancestors(kept)
    private = f"mode=1777,size={32 * MiB}"
    for shared in ("/tmp", "/var/tmp", "/dev/shm"):  # noqa: S108 - replaced, not used
        if os.path.isdir(shared):
            _mount(libc, "tmpfs", shared, "tmpfs", MS_NOSUID | MS_NODEV, private)
    for folder in closed:
        # e.g. /root (0700) holding pyenv's Python: an empty folder over it, the kept folders
        # bound back below; root's own files stay out of the job's sight.
        _mount(libc, "tmpfs", folder, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for kept_path, handle in handles.items():
        if not os.path.samestat(os.fstat(handle), _stat(kept_path)):
            # It was under a folder just replaced (the staging area in /tmp, a kit cloned in
            # /tmp): bring back this folder alone; every other job's folder is gone from view.
            os.makedirs(kept_path, exist_ok=True)
            _mount(libc, f"/proc/self/fd/{handle}", kept_path, "", MS_BIND | MS_REC, "")
        os.close(handle)
    for hidden in spec.hide:
        if os.path.isdir(hidden) and not spec.workdir.startswith(hidden.rstrip("/") + "/"):
            _mount(libc, "tmpfs", hidden, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV,
                   "mode=000,size=4k")  # fmt: skip


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING)
        fcntl.ioctl(sock, SIOCSIFFLAGS, request)


def _closed_ancestors(paths: list[str]) -> list[str]:
    """The outermost folders above `paths` that other users cannot enter."""
    closed: list[str] = []
    for path in paths:
        for ancestor in reversed(Path(path).parents[:-1] if Path(path).parents else []):
            if not os.stat(ancestor).st_mode & 0o001:
                if str(ancestor) not in closed:
                    closed.append(str(ancestor))
                break
    return closed


def _stat(path: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError:
        return os.stat("/")


def _limits(spec: Spec) -> None:
    limits = spec.limits
    pairs = [
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_FSIZE, limits.file_bytes),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
    ]
    if spec.uid is not None:
        pairs.append((resource.RLIMIT_NPROC, limits.processes))
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


def lock_down(spec: Spec) -> None:
    """Steps 1 to 3 in this process, then into the job's folder: what runs next is the job."""
    if spec.namespaces:
        _namespaces(spec)
    elif spec.workdir:
        for name in ("home", "home/tmp"):
            (Path(spec.workdir) / name).mkdir(exist_ok=True)
            if spec.uid is not None:
                os.chown(Path(spec.workdir) / name, spec.uid, spec.uid)
    _limits(spec)
    if spec.uid is not None:
        os.setgroups([])
        os.setgid(spec.uid)
        os.setuid(spec.uid)
    if spec.workdir:
        os.chdir(spec.workdir)


def _enter(spec: Spec, command: list[str]) -> None:
    lock_down(spec)
    os.execv(command[0], command)  # noqa: S606 - the point of a trampoline


if __name__ == "__main__":
    raw, separator, *rest = sys.argv[1:]
    if separator != "--" or not rest:
        sys.exit("usage: grading_sandbox.py SPEC -- COMMAND...")
    try:
        _enter(spec_from(json.loads(raw)), rest)
    except OSError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        sys.exit(111)
