"""Grading speed: 30 learners x every exercise, sandboxed, on this machine's cores.

    python benchmarks/grading.py [--learners 30] [--jobs J] [--timeout 30] [--keep DIR]

Generates a class in a temporary folder: complete solutions, untouched stubs, and one learner
per broken kind (syntax error, hang at import, a route that sleeps, sys.exit at import, one
check made to fail, a file that is not a notebook, no notebook at all), then runs
`workshop grade` on it and prints the wall time, the mean per submission and the share of the
time spent starting pytest (measured here: one empty pytest start with the app imported, times
the number of pytest runs grading made). As root, jobs are forked from the fork server
(workshop/grading_zygote.py), with pytest and the app's libraries already imported: their start
is measured that way too.
"""

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where http.py (the HTTP benchmark)
# would shadow the standard library's `http` package that httpx imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from typing import Any

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

from workshop import build, exercises, grading, paths, runner  # noqa: E402


def _notebooks(folder: str) -> dict[str, dict[str, Any]]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((KIT / folder).glob("[0-9][0-9]_*.ipynb"))
    }


def _edit_answers(notebook: dict[str, Any], edit: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(notebook))
    for cell in data["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and source.startswith("%%writefile") and cell["metadata"]:
            cell["source"] = edit(source)
    return data


def _insert(code: str) -> Any:
    def edit(source: str) -> str:
        first, second, rest = source.split("\n", 2)
        return f"{first}\n{second}\n{code}\n{rest}"

    return edit


def make_class(root: Path, learners: int) -> dict[str, str]:
    """Write the submissions; return learner -> what they handed in."""
    solutions, stubs = _notebooks("solutions"), _notebooks("exercises")
    broken = {
        "syntax": lambda nb: _edit_answers(nb, _insert("def broken(:\n    pass")),
        "hang-at-import": lambda nb: _edit_answers(nb, _insert("import time\ntime.sleep(600)")),
        "sleep-in-route": lambda nb: _edit_answers(
            nb, lambda s: s.replace("    return ", "    __import__('time').sleep(600)\n    return ")
        ),
        "sys-exit": lambda nb: _edit_answers(nb, _insert("import sys\nsys.exit(0)")),
        "one-check-fails": lambda nb: _edit_answers(
            nb, lambda s: s.replace("status_code=status.HTTP_201_CREATED", "status_code=200", 1)
        ),
    }
    kinds = [*broken, "unreadable", "nothing"]
    plan: dict[str, str] = {}
    for index in range(learners):
        name = f"learner{index + 1:02d}"
        kind = kinds[index] if index < len(kinds) else ("stubs" if index % 3 == 0 else "complete")
        plan[name] = kind
        folder = root / name
        folder.mkdir(parents=True)
        if kind == "nothing":
            continue
        for file_name, solution in solutions.items():
            if kind == "unreadable":
                (folder / file_name).write_text("{ not a notebook", encoding="utf-8")
                continue
            if kind == "complete":
                data = solution
            elif kind == "stubs":
                data = stubs[file_name]
            else:
                data = broken[kind](solution)
            (folder / file_name).write_text(json.dumps(data), encoding="utf-8")
    return plan


# Run in a fresh interpreter: what a job forked from the fork server does to start pytest.
FORKED = """
import json, sys, time
from pathlib import Path
from workshop import grading_zygote, runner
grading_zygote.preload()
runner.FORKED_PYTEST_PATH = tuple(sys.path)
command, dest, env = sys.argv[1:-2], Path(sys.argv[-2]), json.loads(sys.argv[-1])
times = []
for _ in range(3):
    started = time.monotonic()
    timed_out, output = runner.run_limited(command, dest, env, 120)
    assert not timed_out and " passed" in output, output
    times.append(time.monotonic() - started)
print(min(times))
"""


def pytest_startup() -> tuple[float, float]:
    """Seconds for one pytest start with the exercise plugin and the app: in a fresh
    interpreter, and forked from a process with the fork server's preload."""
    catalog = exercises.catalog(KIT)
    exercise = catalog[-1]
    with tempfile.TemporaryDirectory() as scratch:
        dest = Path(scratch)
        build.write(build.replay(paths.lessons(KIT), exercise.lesson), dest)
        shutil.copy2(KIT / "tests" / "stages" / "conftest.py", dest / "conftest.py")
        (dest / "test_empty.py").write_text("import app.main\n\ndef test_nothing():\n    pass\n")
        env = os.environ | {"PYTHONPATH": str(dest), "PYTHONDONTWRITEBYTECODE": "1"}
        env |= runner.LEAN_PYTEST_ENV  # as the graded jobs start it
        ini = KIT / "tests" / "stages" / "pytest.ini"
        command = runner.pytest_command(
            "-q",
            "-p",
            "workshop.exercise_plugin",
            "--rootdir",
            str(dest),
            "-c",
            str(ini),
            str(dest / "test_empty.py"),
        )
        times = []
        for _ in range(3):
            started = time.monotonic()
            subprocess.run(command, cwd=dest, env=env, capture_output=True, check=True)
            times.append(time.monotonic() - started)
        forked = subprocess.run(
            [sys.executable, "-c", FORKED, *command, str(dest), json.dumps(env)],
            cwd=dest, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return min(times), float(forked.stdout.split()[-1])


def _cpu() -> float:
    """CPU seconds of this process and every process it has waited for (the fork server
    waits for its jobs, the grader for the fork server)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


class Busy:
    """Samples the machine's CPU use (/proc/stat) while grading runs, so the idle share can be
    told apart over time: a start-up cost, a tail of hung jobs, or gaps throughout."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self.samples: list[tuple[float, float]] = []  # (seconds since start, busy share)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _ticks() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return sum(fields[:8]) - idle, sum(fields[:8])

    def _sample(self) -> None:
        started, (busy, total) = time.monotonic(), self._ticks()
        while not self._stop.wait(self.every):
            now_busy, now_total = self._ticks()
            share = (now_busy - busy) / max(1, now_total - total)
            self.samples.append((time.monotonic() - started, share))
            busy, total = now_busy, now_total

    def __enter__(self) -> "Busy":
        if Path("/proc/stat").exists():
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def tenths(self) -> list[float]:
        """The mean busy share of the machine in each tenth of the run."""
        if not self.samples:
            return []
        end = self.samples[-1][0]
        slices: list[list[float]] = [[] for _ in range(10)]
        for at, share in self.samples:
            slices[min(9, int(at / end * 10))].append(share)
        return [sum(part) / len(part) if part else 0.0 for part in slices]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("--keep", type=Path, help="write OUT here instead of a temporary folder")
    args = parser.parse_args()
    catalog = exercises.catalog(KIT)
    with tempfile.TemporaryDirectory(prefix="kit-grading-bench-") as scratch:
        submissions = Path(scratch) / "submissions"
        out = args.keep or Path(scratch) / "out"
        plan = make_class(submissions, args.learners)
        load_before = os.getloadavg()[0]
        cpu_before = _cpu()
        started = time.monotonic()
        with Busy() as busy:
            result = grading.grade(KIT, submissions, out, jobs=args.jobs, timeout=args.timeout)
        wall = time.monotonic() - started
        cpu = _cpu() - cpu_before
        load_after = os.getloadavg()[0]
    fresh, forked = pytest_startup()
    startup = forked if result.forked else fresh
    ran = [g for g in result.results if g.status not in {"not attempted", "unreadable"}]
    stage_runs = sum(len(s) for s in result.stages.values())
    pytest_runs = len(ran) + stage_runs
    job_seconds = sum(g.seconds for g in ran)
    statuses = Counter(g.status for g in result.results)
    print(f"{len(plan)} learners x {len(catalog)} exercises ({len(result.results)} grades), "
          f"{result.jobs} jobs at a time on {os.cpu_count()} cores")  # fmt: skip
    print(f"kinds: {dict(Counter(plan.values()))}")
    print(f"outcomes: {dict(statuses)}")
    print(f"wall time: {wall:.1f} s (target: under 300 s)")
    print(f"per submission (learner): {wall / len(plan):.2f} s of wall time")
    print(f"exercise jobs that ran pytest: {len(ran)}, mean {job_seconds / max(1, len(ran)):.2f} s "
          f"each; stage runs (regression signal): {stage_runs}")  # fmt: skip
    hung = [g for g in ran if g.status == "timed out"]
    finished = [g.seconds for g in ran if g.status != "timed out"]
    print(f"  {len(finished)} that finished: mean {sum(finished) / max(1, len(finished)):.2f} s; "
          f"{len(hung)} timed out: {sum(g.seconds for g in hung):.0f} s waited, mostly off the "
          "cores (an idle job gives its core to the next one)")  # fmt: skip
    share = pytest_runs * startup / max(wall * result.jobs, 1e-9)
    cores = f"the {result.jobs} cores' time"
    how = "forked from the fork server" if result.forked else "in a fresh interpreter"
    jobs_run = sum(1 for g in result.results if g.status != "unreadable" and g.notebook)
    print(f"jobs forked from the fork server: {result.forked} of {jobs_run + stage_runs}"
          + (f" ({result.fork_server})" if result.fork_server else ""))  # fmt: skip
    print(f"CPU used by grading (grader, jobs, fork server): {cpu:.0f} s, "
          f"{cpu / max(wall * result.jobs, 1e-9):.0%} of the {result.jobs} cores' time; "
          f"load average {load_before:.1f} before, {load_after:.1f} after (other work on the "
          "machine slows this down)")  # fmt: skip
    print(f"pytest start-up {how}: {startup:.2f} s per run x {pytest_runs} runs = "
          f"{pytest_runs * startup:.0f} s, {share:.0%} of {cores} (fresh interpreter: "
          f"{fresh:.2f} s, forked: {forked:.2f} s)")  # fmt: skip
    if tenths := busy.tenths():
        shares = " ".join(f"{share:.0%}" for share in tenths)
        print(f"machine busy, each tenth of the run: {shares}")
    print(f"isolation: {result.isolation}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
