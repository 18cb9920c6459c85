"""The one place grading touches the exercise engine (workshop/exercises.py, workshop/runner.py).

A rename in the engine is one edit here.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workshop import build, exercises, paths, runner
from workshop.exercises import Exercise, checks_of, exercise_ids, read_checks
from workshop.runner import STATUSES, CheckResult, Outcome, apply_answers

__all__ = [
    "STATUSES",
    "CheckResult",
    "Exercise",
    "Outcome",
    "apply_answers",
    "catalog",
    "checks_of",
    "exercise_ids",
    "find",
    "outcome_dict",
    "prepare_app",
    "read_checks",
    "run_checks",
    "warm",
]

# The fork server reads the kit's catalog and the reference app at each lesson once (`warm`);
# the jobs it forks use those copies.
_catalogs: dict[Path, list[Exercise]] = {}
_apps: dict[tuple[Path, int], dict[str, str]] = {}


def warm(kit: Path) -> None:
    kit = kit.resolve()
    _catalogs[kit] = exercises.catalog(kit)
    lessons = paths.lessons(kit)
    for lesson in sorted({exercise.lesson for exercise in _catalogs[kit]}):
        _apps[kit, lesson] = build.replay(lessons, lesson)


def prepare_app(kit: Path, exercise: Exercise, dest: Path) -> None:
    """The reference app of lessons <= exercise.lesson, written into dest (runner.prepare_app)."""
    files = _apps.get((kit.resolve(), exercise.lesson))
    if files is None:
        runner.prepare_app(kit, exercise, dest)
        return
    dest.mkdir(parents=True, exist_ok=True)
    build.write(files, dest)


def catalog(kit: Path) -> list[Exercise]:
    """Every exercise of the kit (read now, or when the fork server started)."""
    found = _catalogs.get(kit.resolve())
    return list(found) if found is not None else exercises.catalog(kit)


def find(kit: Path, ident: str) -> Exercise:
    for exercise in catalog(kit):
        if exercise.id == ident:
            return exercise
    return exercises.find(kit, ident)  # not there: its own error


@contextmanager
def _declaring(private: Path | None, ident: str) -> Iterator[None]:
    """The runner scores the checks it declares; declare the private ones too."""
    if private is None:
        yield
        return
    extra = [c for c in read_checks(private) if c.exercise == ident]
    original = runner.checks_of  # type: ignore[attr-defined]

    def both(exercise: Exercise) -> list[Any]:
        return [*original(exercise), *extra]

    runner.checks_of = both  # type: ignore[attr-defined]
    try:
        yield
    finally:
        runner.checks_of = original  # type: ignore[attr-defined]


def run_checks(
    dest: Path, exercise: Exercise, *, timeout: float, private: Path | None, regressions: bool
) -> Outcome:
    """The kit's checks of the exercise plus the instructor's private ones, scored together."""
    with _declaring(private, exercise.id):
        return runner.run_checks(
            dest, exercise, timeout=timeout, extra_checks=private, regressions=regressions
        )


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return asdict(outcome)
