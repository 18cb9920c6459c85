"""One graded job, run inside the sandbox: `python -m workshop.grading_job KIT KIND ...`.

KIND `exercise ID TIMEOUT`: replay in/answers.ipynb (the grader's sanitised copy of the learner's
cells of that exercise) onto a fresh reference app, run the kit's checks (plus in/private.py,
the instructor's private checks, when present) and print the outcome as one JSON line.
KIND `stage N TIMEOUT`: every exercise of lesson N in in/answers.ipynb applied to one copy,
then stage N's tests (the regression signal: what the learner's answers broke).
KIND `stages TIMEOUT`: run the stage tests against in/workspace.zip's app/ (the progress view).

The grader reads only the last line of stdout that starts with RESULT_PREFIX.
"""

import json
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

RESULT_PREFIX = "KIT-GRADING-RESULT "


def _exercise(kit: Path, ident: str, timeout: float) -> dict[str, Any]:
    from workshop import grading_engine as api

    exercise = api.find(kit, ident)
    work = Path.cwd()
    dest = work / "home" / "app-copy"
    api.prepare_app(kit, exercise, dest)
    attempted = api.apply_answers(work / "in" / "answers.ipynb", ident, dest)
    private = work / "in" / "private.py"
    extra = private if private.exists() else None
    # run_checks decides "not attempted" itself (stubs untouched), without running anything.
    # The stage tests run once per learner and lesson (KIND `stage`), not once per exercise.
    outcome = api.run_checks(dest, exercise, timeout=timeout, private=extra, regressions=False)
    data = api.outcome_dict(outcome)
    data["attempted"] = attempted
    return data


def _stage(kit: Path, lesson: int, timeout: float) -> dict[str, Any]:
    """Every attempted exercise of the lesson applied to one copy, then that stage's tests."""
    from workshop import grading_engine as api
    from workshop import stages

    work = Path.cwd()
    dest = work / "home" / "app-copy"
    mine = [e for e in api.catalog(kit) if e.lesson == lesson]
    api.prepare_app(kit, mine[0], dest)
    for exercise in mine:
        api.apply_answers(work / "in" / "answers.ipynb", exercise.id, dest)
    results, _output = stages.run_stages(dest, [lesson], timeout=timeout)
    return {"stages": {str(n): asdict(r) for n, r in results.items()}}


def _stages(kit: Path, timeout: float) -> dict[str, Any]:
    from workshop import stages

    work = Path.cwd()
    dest = work / "home" / "workspace"
    with zipfile.ZipFile(work / "in" / "workspace.zip") as archive:
        archive.extractall(dest)  # the grader wrote this zip: app/ files only, safe names
    wanted = sorted(stages.stage_files(kit))
    results, _output = stages.run_stages(dest, wanted, timeout=timeout)
    return {"stages": {str(n): asdict(r) for n, r in results.items()}}


def main(argv: list[str]) -> int:
    kit = Path(argv[0])
    kind = argv[1]
    if kind == "exercise":
        data = _exercise(kit, argv[2], float(argv[3]))
    elif kind == "stage":
        data = _stage(kit, int(argv[2]), float(argv[3]))
    elif kind == "stages":
        data = _stages(kit, float(argv[2]))
    else:
        raise SystemExit(f"unknown job kind {kind!r}")
    sys.stdout.write("\n" + RESULT_PREFIX + json.dumps(data) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
