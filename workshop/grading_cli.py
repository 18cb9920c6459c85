"""The `grade` and `progress` subcommands (their manuals are their --help)."""

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from workshop.paths import KIT_ROOT


def add_commands(commands: Any) -> None:
    grade = commands.add_parser(
        "grade",
        help="grade many learners' exercise notebooks, in isolation, into a folder of reports",
        description="Grade SUBMISSIONS: one entry per learner, a folder or a .zip named after "
        "the learner, holding any of their exercise notebooks (renamed files are recognised by "
        "the exercise ids in their cells). No notebook is executed: each exercise's %%writefile "
        "cells are replayed onto a fresh copy of the reference app and the kit's own checks run "
        "against it, one sandboxed job per learner and exercise (own folder, own process group "
        "and, as root, own unprivileged user without network; CPU, memory, file-size and time "
        "limits). Writes OUT/grades.csv (learner,exercise,status,points,max_points), "
        "OUT/summary.csv, OUT/report.html, OUT/feedback/<learner>.md and "
        "OUT/results/<learner>.json (Gradescope's results format). SUBMISSIONS is only read.",
    )
    grade.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    grade.add_argument("--out", type=Path, required=True, metavar="OUT", help="report folder")
    grade.add_argument(
        "--jobs", type=int, default=None, metavar="J",
        help=f"jobs at a time (default: the number of cores, {os.cpu_count()})",
    )  # fmt: skip
    grade.add_argument(
        "--timeout", type=float, default=30, metavar="S",
        help="seconds one exercise's checks may take before 'timed out' (default 30)",
    )  # fmt: skip
    grade.add_argument(
        "--exercise", action="append", default=None, metavar="ID", dest="exercises",
        help="grade only this exercise (e.g. 06.1; repeat for several; "
        "default: every exercise of the course; `workshop exercises list` names them)",
    )  # fmt: skip
    grade.add_argument(
        "--checks", type=Path, default=None, metavar="DIR",
        help="the instructor's private checks: DIR/checks_NN_<name>.py, same format as "
        "tests/exercises/; graded, never shown (feedback says only how many passed)",
    )  # fmt: skip

    progress = commands.add_parser(
        "progress",
        help="a table of learners x stages for workspaces collected mid-workshop",
        description="For each entry of SUBMISSIONS (a learner's workspace, folder or .zip, "
        "with its app/), run the stage tests against that app in the same sandbox as `grade` "
        "and print one row per learner, one column per stage: the checks that pass.",
    )
    progress.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    progress.add_argument("--jobs", type=int, default=None, metavar="J")
    progress.add_argument("--timeout", type=float, default=120, metavar="S",
                          help="seconds for one learner's stage tests (default 120)")  # fmt: skip


def grade_command(args: argparse.Namespace) -> int:
    from workshop import grading

    submissions: Path = args.submissions.resolve()
    out: Path = args.out.resolve()
    if not submissions.is_dir():
        print(f"{submissions} is not a folder of submissions.", file=sys.stderr)
        return 2
    if out == submissions or submissions in out.parents:
        print("OUT must not be inside SUBMISSIONS (SUBMISSIONS is only read).", file=sys.stderr)
        return 2
    if args.checks is not None and not args.checks.is_dir():
        print(f"--checks {args.checks} is not a folder.", file=sys.stderr)
        return 2

    def show(graded: "grading.Graded") -> None:
        print(f"  {graded.learner:<20} {graded.exercise:<6} {graded.status:<14} "
              f"{graded.points}/{graded.max_points}", flush=True)  # fmt: skip

    try:
        result = grading.grade(KIT_ROOT, submissions, out, jobs=args.jobs, timeout=args.timeout,
                               checks=args.checks, progress=show, only=args.exercises)  # fmt: skip
    except grading.UnknownExercise as error:
        print(error, file=sys.stderr)
        return 2
    print(f"\n{len(result.learners)} learners, {len(result.exercises)} exercises graded in "
          f"{result.seconds:.1f} s. Isolation: {result.isolation}.")  # fmt: skip
    print(f"Open {out / 'report.html'}; grades in {out / 'grades.csv'}.")
    return 0


def progress_command(args: argparse.Namespace) -> int:
    from workshop import progress

    submissions: Path = args.submissions.resolve()
    if not submissions.is_dir():
        print(f"{submissions} is not a folder of workspaces.", file=sys.stderr)
        return 2
    table = progress.progress(KIT_ROOT, submissions, jobs=args.jobs, timeout=args.timeout)
    print(progress.format_table(table))
    return 0
