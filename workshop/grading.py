"""Grading many learners' exercise notebooks: `python -m workshop grade SUBMISSIONS --out OUT`.

SUBMISSIONS holds one entry per learner, a folder or a .zip named after the learner, with any
subset of their exercise notebooks (matched by the exercise ids in cell metadata, so renamed
copies count). Nothing of a notebook is executed: its `%%writefile` cells of one exercise are
replayed onto a fresh copy of the reference app at that exercise's stage, and the kit's own
checks (plus the instructor's private ones) run against it, one sandboxed job per
(learner, exercise): see workshop/grading_sandbox.py. As root the jobs are forked from a fork
server with pytest and the app's libraries imported (workshop/grading_zygote.py), else exec'd.
The grader itself only reads JSON.
"""

import functools
import itertools
import json
import os
import queue
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from workshop import grading_engine as engine
from workshop.grading_job import RESULT_PREFIX
from workshop.grading_sandbox import UID_BLOCK, Limits, Sandbox, clean_env, cpu_seconds, reap
from workshop.grading_zygote import ForkedJob, Zygote, ZygoteError
from workshop.notebooks import WRITEFILE, cell_source

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
STATUSES = (
    "passed", "partial", "failed", "not attempted", "does not run", "timed out", "unreadable",
)  # fmt: skip


# ---------------------------------------------------------------- reading submissions


@dataclass
class Notebook:
    name: str  # file name inside the submission
    cells: list[dict[str, Any]] | None  # None: unreadable
    problem: str = ""


@dataclass
class Submission:
    learner: str
    notebooks: list[Notebook] = field(default_factory=list)
    problem: str = ""  # the whole entry could not be read (a broken .zip)


def learner_name(entry: Path) -> str:
    return entry.name[: -len(".zip")] if entry.name.lower().endswith(".zip") else entry.name


def entries(submissions: Path) -> list[Path]:
    """One per learner: folders and .zip files, not hidden, not symbolic links."""
    found = []
    for entry in sorted(submissions.iterdir()):
        if entry.name.startswith(".") or entry.is_symlink():
            continue
        if entry.is_dir() or (entry.is_file() and entry.name.lower().endswith(".zip")):
            found.append(entry)
    return found


def read_submission(entry: Path) -> Submission:
    submission = Submission(learner_name(entry))
    try:
        files = list(_zip_files(entry) if entry.is_file() else _folder_files(entry))
    except (OSError, zipfile.BadZipFile, ValueError) as error:
        submission.problem = f"{entry.name} could not be read: {error}"
        return submission
    for name, data in files:
        submission.notebooks.append(parse_notebook(name, data))
    return submission


def _skip(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _folder_files(folder: Path) -> Iterator[tuple[str, bytes | None]]:
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder)
        if _skip(relative.parts) or path.is_symlink() or not path.is_file():
            continue  # a link could point at another learner's work
        if any(p.is_symlink() for p in [folder / q for q in relative.parents.__iter__()]):
            continue
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            yield relative.as_posix(), None
            continue
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            yield relative.as_posix(), handle.read(MAX_NOTEBOOK_BYTES + 1)


def _zip_files(archive_path: Path) -> Iterator[tuple[str, bytes | None]]:
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or name.suffix != ".ipynb" or _skip(name.parts):
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                continue
            if info.file_size > MAX_NOTEBOOK_BYTES:
                yield name.as_posix(), None
                continue
            with archive.open(info) as member:
                yield name.as_posix(), member.read(MAX_NOTEBOOK_BYTES + 1)


def parse_notebook(name: str, data: bytes | None) -> Notebook:
    if data is None or len(data) > MAX_NOTEBOOK_BYTES:
        return Notebook(name, None, f"{name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return Notebook(name, None, f"{name} is not a notebook (not JSON: {error})")
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        return Notebook(name, None, f"{name} is not a notebook (no list of cells)")
    return Notebook(name, cells)


def cell_exercise(cell: dict[str, Any]) -> str | None:
    metadata = cell.get("metadata")
    meta = metadata.get("exercise") if isinstance(metadata, dict) else None
    ident = meta.get("id") if isinstance(meta, dict) else None
    return ident if isinstance(ident, str) else None


def safe_path(path: str) -> bool:
    """A %%writefile target inside the app copy: relative, no `..`, no backslash tricks."""
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path


def answers(notebook: Notebook, ident: str) -> tuple[dict[str, Any], list[str]]:
    """A minimal notebook holding only the exercise's writefile cells, and what was dropped."""
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    for cell in notebook.cells or []:
        if cell.get("cell_type") != "code" or cell_exercise(cell) != ident:
            continue
        try:
            source = cell_source(cell)
        except (KeyError, TypeError):
            continue
        match = WRITEFILE.match(source.partition("\n")[0])
        if not match:
            continue
        if not safe_path(match["path"]):
            dropped.append(match["path"])
            continue
        kept.append({"cell_type": "code", "metadata": {"exercise": {"id": ident}},
                     "source": source, "outputs": [], "execution_count": None})  # fmt: skip
    notebook_json = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": kept}
    return notebook_json, dropped


# ---------------------------------------------------------------- outcomes


@dataclass
class Check:
    name: str
    expects: str
    passed: bool
    points: int
    max_points: int
    failure: str = ""
    private: bool = False


@dataclass
class Graded:
    learner: str
    exercise: str
    title: str
    status: str
    points: int
    max_points: int
    detail: str = ""
    checks: list[Check] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    notebook: str = ""  # the learner's file it came from
    seconds: float = 0.0


@dataclass
class Job:
    learner: str
    exercise: Any  # engine.Exercise
    notebook: Notebook
    private: Path | None


@dataclass
class Grading:
    exercises: list[Any]
    learners: list[str]
    results: list[Graded]
    seconds: float
    isolation: str
    jobs: int
    notes: dict[str, list[str]] = field(default_factory=dict)  # learner -> problems found
    stages: dict[str, list["StageSignal"]] = field(default_factory=dict)  # learner -> signal
    forked: int = 0  # jobs the fork server started (the others were exec'd)
    fork_server: str = ""  # why it was not used, or stopped being used


@dataclass
class StageSignal:
    """A stage's tests on the learner's answers of that lesson, all applied to one copy."""

    stage: int
    passed: int
    failed: list[str]
    problem: str = ""  # the run itself failed (timed out, crashed)

    def words(self) -> str:
        if self.problem:
            return f"stage {self.stage:02d}: could not run its tests ({self.problem})"
        if not self.failed:
            return f"stage {self.stage:02d}: all {self.passed} tests still pass with your answers"
        total = self.passed + len(self.failed)
        names = ", ".join(self.failed[:5]) + (", ..." if len(self.failed) > 5 else "")
        broke = f"your answers broke {len(self.failed)} of {total} tests"
        return f"stage {self.stage:02d}: {broke}: {names}"


def _public_checks(exercise: Any) -> list[Any]:
    return list(engine.checks_of(exercise))


def _private_checks(private: Path | None, ident: str) -> list[Any]:
    if private is None:
        return []
    from workshop.exercises import read_checks

    return [c for c in read_checks(private) if c.exercise == ident]


def outcome_from(job: Job, data: dict[str, Any], seconds: float) -> Graded:
    """Trust nothing the job says beyond which checks passed: points come from the kit."""
    exercise = job.exercise
    public = _public_checks(exercise)
    private = _private_checks(job.private, exercise.id)
    reported = {c.get("name"): c for c in data.get("checks", []) if isinstance(c, dict)}
    status = str(data["status"]) if data.get("status") in STATUSES else "does not run"
    checks = []
    for declared, is_private in [(c, False) for c in public] + [(c, True) for c in private]:
        got = reported.get(declared.name, {})
        passed = bool(got.get("passed")) and status not in {"not attempted", "does not run"}
        failure = "" if passed else str(got.get("failure") or "")[:300]
        checks.append(Check(declared.name, declared.expects, passed,
                            declared.points if passed else 0, declared.points, failure,
                            is_private))  # fmt: skip
    points = sum(c.points for c in checks)
    max_points = sum(c.max_points for c in checks)
    if status in {"passed", "partial", "failed"}:
        passed_count = sum(c.passed for c in checks)
        if checks and passed_count == len(checks):
            status = "passed"
        elif passed_count:
            status = "partial"
        else:
            status = "failed"
    detail = str(data.get("detail") or "")[:500]
    if status in {"does not run", "not attempted"}:
        points = 0
    regressions = [str(r)[:300] for r in data.get("regressions", []) if isinstance(r, str)]
    return Graded(job.learner, exercise.id, exercise.title, status, points, max_points, detail,
                  checks, regressions, job.notebook.name, seconds)  # fmt: skip


def without_job(learner: str, exercise: Any, status: str, detail: str, private: Path | None,
                notebook: str = "") -> Graded:  # fmt: skip
    checks = [
        Check(c.name, c.expects, False, 0, c.points, status) for c in _public_checks(exercise)
    ]
    checks += [Check(c.name, c.expects, False, 0, c.points, status, True)
               for c in _private_checks(private, exercise.id)]  # fmt: skip
    return Graded(learner, exercise.id, exercise.title, status, 0,
                  sum(c.max_points for c in checks), detail, checks, [], notebook)  # fmt: skip


# ---------------------------------------------------------------- running


# Every POLL seconds a job's CPU use is read. A job that used less than IDLE of a core over
# the last poll is mostly waiting: on a hang (a sleep at import or in a route) that only its
# time limit will end, or on its checks' own waits (a WebSocket receive with a timeout). It
# gives its core to the next job and keeps its own limits. At 0.2 the half-idle jobs kept
# their cores: benchmarks/grading.py took 303-306 s, 272-281 s at 0.5 (2026-12-04).
POLL = 1.0
IDLE = 0.5
# How many waiting jobs may sit beside the `jobs` running ones (each holds a job uid).
WAITING_PER_JOB = 3
# Fork jobs from a fork server as root (False: every job exec'd through the trampoline).
FORK_SERVER = True


class Runner:
    """Runs jobs in the sandbox, each in a folder of its own: `jobs` of them on the CPU at a
    time, plus up to `jobs * WAITING_PER_JOB` idle ones waiting out their time limit."""

    def __init__(self, kit: Path, hide: list[Path], jobs: int, timeout: float) -> None:
        self.kit = kit.resolve()
        self.timeout = timeout
        self.limit = timeout * 1.5 + 30  # a whole job: the checks' own limit, building the copy
        self.staging = Path(tempfile.mkdtemp(prefix="kit-grading-"))
        os.chmod(self.staging, 0o711)  # noqa: S103 - jobs enter their own folder, list nothing
        limits = Limits(cpu_seconds=int(timeout * 2 + 60))
        # As root, jobs are forked from a fork server with pytest and the app's libraries
        # imported (workshop/grading_zygote.py); it preloads while the sandbox probes.
        launching = Zygote.launch(self.kit) if FORK_SERVER and os.geteuid() == 0 else None
        self.sandbox = Sandbox([*hide, self.staging], keep=[self.kit], limits=limits)
        self.zygote: Zygote | None = None
        self.fork_server = "off" if launching is None else ""  # why it is not used
        if not self.sandbox.as_root:
            self.fork_server = "not root: jobs are started by exec (reaped by their marker)"
            if launching is not None:
                launching.cancel()
        elif launching is not None:
            self.zygote, self.fork_server = launching.ready()
        self._forked = 0  # by fork servers gone
        self.cores = threading.BoundedSemaphore(jobs)
        self.threads = min(jobs * (1 + WAITING_PER_JOB), UID_BLOCK)  # one uid per thread
        self.slots: queue.Queue[int] = queue.Queue()
        for slot in range(self.threads):
            self.slots.put(slot)
        self.counter = 0

    @property
    def forked(self) -> int:
        """How many jobs were forked from a fork server."""
        return self._forked + (self.zygote.forked if self.zygote is not None else 0)

    def close(self) -> None:
        if self.zygote is not None:
            self._forked += self.zygote.forked
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.staging, ignore_errors=True)
        self.sandbox.close()

    def _start(self, slot: int, work: Path, arguments: list[str], env: dict[str, str]
               ) -> "subprocess.Popen[bytes] | ForkedJob":  # fmt: skip
        """The job forked from the fork server, or else exec'd through the trampoline."""
        zygote = self.zygote
        if zygote is not None:
            try:
                return zygote.spawn(self.sandbox.spec(slot, work), [str(self.kit), *arguments],
                                    env)  # fmt: skip
            except ZygoteError as error:  # it died: every job from now on by exec
                self.fork_server = str(error)
                self.zygote = None
                self._forked += zygote.forked
                zygote.close()
        command = [sys.executable, "-m", "workshop.grading_job", str(self.kit), *arguments]
        return self.sandbox.popen(slot, work, command, env)

    def run(self, inputs: dict[str, bytes], arguments: list[str]) -> tuple[str, dict[str, Any]]:
        """("ok" | "timed out" | "crashed: ...", result) of one job."""
        slot = self.slots.get()
        try:
            return self._run(slot, inputs, arguments)
        finally:
            self.slots.put(slot)

    def _run(self, slot: int, inputs: dict[str, bytes], arguments: list[str]
             ) -> tuple[str, dict[str, Any]]:  # fmt: skip
        self.counter += 1
        marker = f"{os.getpid()}-{slot}-{self.counter}-{time.monotonic_ns()}"
        work = self.staging / f"job-{marker}"
        (work / "in").mkdir(parents=True)
        for name, data in inputs.items():
            (work / "in" / name).write_bytes(data)
        uid = self.sandbox.uid(slot)
        if uid is not None:
            for path in (work, work / "in", *(work / "in").iterdir()):
                os.chown(path, uid, uid)
        os.chmod(work, 0o700)
        env = clean_env(work / "home", marker)
        process: subprocess.Popen[bytes] | ForkedJob | None = None
        self.cores.acquire()
        on_a_core = True
        try:
            process = self._start(slot, work, arguments, env)
            deadline = time.monotonic() + self.limit
            used = 0.0
            while True:
                try:
                    out, err = process.communicate(timeout=min(POLL, deadline - time.monotonic()))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        return "timed out", {}
                if on_a_core:
                    used, before = cpu_seconds(uid, marker), used
                    if used - before < IDLE * POLL:  # idle: let the next job have the core
                        self.cores.release()
                        on_a_core = False
            for line in reversed(out.decode("utf-8", "replace").splitlines()):
                if line.startswith(RESULT_PREFIX):
                    try:
                        data = json.loads(line[len(RESULT_PREFIX) :])
                    except json.JSONDecodeError:
                        break
                    return ("ok", data) if isinstance(data, dict) else ("crashed", {})
            last = [x for x in err.decode("utf-8", "replace").splitlines() if x.strip()]
            return f"crashed: {last[-1] if last else f'exit code {process.returncode}'}", {}
        finally:
            if on_a_core:
                self.cores.release()
            reap(process, uid, marker)
            if isinstance(process, ForkedJob):
                process.close()
            shutil.rmtree(work, ignore_errors=True)


class UnknownExercise(ValueError):
    """An exercise id the course does not have."""


def _selected(catalog: list[Any], wanted: Sequence[str] | None) -> list[Any]:
    if not wanted:
        return catalog
    known = {exercise.id for exercise in catalog}
    unknown = [ident for ident in wanted if ident not in known]
    if unknown:
        raise UnknownExercise(
            f"no exercise {', '.join(unknown)} in this course; it has {', '.join(sorted(known))}"
        )
    return [exercise for exercise in catalog if exercise.id in set(wanted)]


def grade(
    kit: Path,
    submissions: Path,
    out: Path,
    *,
    jobs: int | None = None,
    timeout: float = 30,
    checks: Path | None = None,
    progress: Callable[[Graded], None] | None = None,
    only: Sequence[str] | None = None,
) -> Grading:
    """Grade every learner in SUBMISSIONS and write OUT; return what was graded.

    `only` names the exercises to grade (default: every exercise of the course)."""
    started = time.monotonic()
    exercises = _selected(list(engine.catalog(kit)), only)
    jobs = max(1, jobs or os.cpu_count() or 1)
    read = [read_submission(entry) for entry in entries(submissions)]
    private_of = {}
    for exercise in exercises:
        candidate = checks / f"checks_{Path(exercise.notebook).stem}.py" if checks else None
        private_of[exercise.id] = candidate if candidate and candidate.is_file() else None

    results: list[Graded] = []
    pending: list[Job] = []
    notes: dict[str, list[str]] = {}
    for submission in read:
        notes[submission.learner] = [submission.problem] if submission.problem else []
        notes[submission.learner] += [n.problem for n in submission.notebooks if n.problem]
        holders = _holders(submission)
        for exercise in exercises:
            private = private_of[exercise.id]
            holder = holders.get(exercise.id)
            if submission.problem:
                results.append(without_job(submission.learner, exercise, "unreadable",
                                           submission.problem, private))  # fmt: skip
            elif holder is None:
                broken = _unreadable_for(submission, exercise)
                if broken is not None:
                    results.append(without_job(submission.learner, exercise, "unreadable",
                                               broken.problem, private, broken.name))  # fmt: skip
                else:
                    detail = f"no notebook of this submission holds exercise {exercise.id}"
                    results.append(without_job(submission.learner, exercise, "not attempted",
                                               detail, private))  # fmt: skip
            else:
                pending.append(Job(submission.learner, exercise, holder, private))

    runner = Runner(kit, [submissions.resolve(), out.resolve()], jobs, timeout)
    try:
        graded, found = Schedule(runner, pending, progress).run()
        results.extend(graded)
        signals: dict[str, list[StageSignal]] = {s.learner: [] for s in read}
        for (learner, _lesson), signal in sorted(found.items()):
            signals[learner].append(signal)
        isolation = runner.sandbox.isolation
    finally:
        runner.close()
    order = {e.id: i for i, e in enumerate(exercises)}
    results.sort(key=lambda g: (g.learner, order[g.exercise]))
    grading = Grading(exercises, [s.learner for s in read], results,
                      time.monotonic() - started, isolation, jobs, notes, signals,
                      runner.forked, runner.fork_server)  # fmt: skip
    from workshop import grading_report

    grading_report.write_all(grading, out)
    return grading


def grade_one(runner: Runner, job: Job) -> Graded:
    started = time.monotonic()
    notebook, dropped = answers(job.notebook, job.exercise.id)
    inputs = {"answers.ipynb": json.dumps(notebook).encode()}
    if job.private is not None:
        inputs["private.py"] = job.private.read_bytes()
    status, data = runner.run(inputs, ["exercise", job.exercise.id, str(runner.timeout)])
    seconds = time.monotonic() - started
    if status == "timed out":
        data = {"status": "timed out",
                "detail": f"the whole job was stopped after {runner.limit:g} s"}  # fmt: skip
    elif status != "ok":
        data = {"status": "does not run", "detail": f"could not be graded ({status})"}
    graded = outcome_from(job, data, seconds)
    if dropped:
        graded.detail += f" (ignored cells writing outside the app: {', '.join(dropped)})"
    return graded


RAN = {"passed", "partial", "failed"}  # an answer that ran: its stage's tests run on it too


class Schedule:
    """Every job of a grading run on the runner's threads, in an order that keeps the cores
    busy: exercise by exercise across learners (one learner whose every answer hangs never
    holds every thread at once), and a learner's stage run for a lesson as soon as that
    lesson's exercises are graded, ahead of the exercise jobs still waiting (no stage run is
    left for the end, where a hang would keep the whole run waiting alone)."""

    def __init__(self, runner: Runner, pending: list[Job],
                 progress: Callable[[Graded], None] | None) -> None:  # fmt: skip
        self.runner = runner
        self.progress = progress
        self.tasks: queue.PriorityQueue[tuple[int, int, Callable[[], None] | None]] = (
            queue.PriorityQueue()
        )
        self.count = itertools.count()
        self.lock = threading.Lock()
        self.outstanding = 0
        self.failure: BaseException | None = None
        self.results: list[Graded] = []
        self.signals: dict[tuple[str, int], StageSignal] = {}
        self.left = Counter((job.learner, job.exercise.lesson) for job in pending)
        self.done: dict[tuple[str, int], list[tuple[Job, Graded]]] = {}
        for job in sorted(pending, key=lambda j: (j.exercise.lesson, j.exercise.index)):
            self._put(1, functools.partial(self._exercise, job))
        if not pending:
            for _ in range(runner.threads):
                self._put(2, None)

    def run(self) -> tuple[list[Graded], dict[tuple[str, int], StageSignal]]:
        workers = [threading.Thread(target=self._work, daemon=True)
                   for _ in range(self.runner.threads)]  # fmt: skip
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if self.failure is not None:
            raise self.failure
        return self.results, self.signals

    def _put(self, priority: int, task: Callable[[], None] | None) -> None:
        with self.lock:
            self.outstanding += task is not None
        self.tasks.put((priority, next(self.count), task))

    def _work(self) -> None:
        while True:
            _, _, task = self.tasks.get()
            if task is None:
                return
            try:
                if self.failure is None:
                    task()
            except BaseException as error:  # raised in grade() once every thread stopped
                self.failure = self.failure or error
            with self.lock:
                self.outstanding -= 1
                finished = self.outstanding == 0
            if finished:
                for _ in range(self.runner.threads):
                    self._put(2, None)

    def _exercise(self, job: Job) -> None:
        result = grade_one(self.runner, job)
        if self.progress is not None:
            self.progress(result)
        key = (job.learner, job.exercise.lesson)
        with self.lock:
            self.results.append(result)
            self.done.setdefault(key, []).append((job, result))
            self.left[key] -= 1
            complete = self.left[key] == 0
        if complete:
            ran = [j for j, g in self.done[key]
                   if g.status in RAN and j.exercise.stage_file is not None]  # fmt: skip
            if ran:
                ran.sort(key=lambda j: j.exercise.index)
                self._put(0, functools.partial(self._stage, key, ran))

    def _stage(self, key: tuple[str, int], jobs: list[Job]) -> None:
        """The lesson's stage tests on every answer of the learner's that ran, on one copy."""
        signal = stage_signal(self.runner, key[1], jobs)
        with self.lock:
            self.signals[key] = signal


def stage_signal(runner: Runner, lesson: int, jobs: list[Job]) -> StageSignal:
    cells: list[dict[str, Any]] = []
    for job in jobs:
        cells.extend(answers(job.notebook, job.exercise.id)[0]["cells"])
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    status, data = runner.run({"answers.ipynb": json.dumps(notebook).encode()},
                              ["stage", str(lesson), str(runner.timeout * 4)])  # fmt: skip
    stage = data.get("stages", {}).get(str(lesson), {}) if status == "ok" else {}
    if not stage:
        return StageSignal(lesson, 0, [], status if status != "ok" else "no result")
    failed = [str(name)[:120] for name in stage.get("failed", [])]
    return StageSignal(lesson, len(stage.get("passed", [])), failed)


def _holders(submission: Submission) -> dict[str, Notebook]:
    """Exercise id -> the notebook holding it (a file named like the kit's notebook first)."""
    found: dict[str, Notebook] = {}
    for notebook in sorted(submission.notebooks, key=lambda n: (n.name.count("/"), n.name)):
        for cell in notebook.cells or []:
            ident = cell_exercise(cell)
            if ident and ident not in found:
                found[ident] = notebook
    return found


def _unreadable_for(submission: Submission, exercise: Any) -> Notebook | None:
    """An unreadable file that looks like the exercise's notebook (same lesson number)."""
    for notebook in submission.notebooks:
        if (
            notebook.cells is None
            and PurePosixPath(notebook.name).name[:2] == exercise.notebook[:2]
        ):
            return notebook
    return None
