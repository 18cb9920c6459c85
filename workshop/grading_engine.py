"""The one place grading touches the exercise engine (workshop/exercises.py, workshop/runner.py).

A rename in the engine is one edit here.
"""

import marshal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib.util import MAGIC_NUMBER, cache_from_source, source_hash
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
_apps: dict[tuple[Path, int], tuple[dict[str, str], dict[str, bytes]]] = {}


def warm(kit: Path) -> None:
    kit = kit.resolve()
    _catalogs[kit] = exercises.catalog(kit)
    lessons = paths.lessons(kit)
    for lesson in sorted({exercise.lesson for exercise in _catalogs[kit]}):
        files = build.replay(lessons, lesson)
        _apps[kit, lesson] = files, bytecode(files)


def bytecode(files: dict[str, str]) -> dict[str, bytes]:
    """Checked-hash .pyc files (PEP 552) of the Python files: the import system uses one only
    while the source beside it is, byte for byte, the one it was compiled from, so a file an
    answer changes is compiled afresh, and the others need not be compiled in every job."""
    found = {}
    for relative, text in files.items():
        if not relative.endswith(".py"):
            continue
        source = text.encode()
        try:
            code = compile(source, relative, "exec", dont_inherit=True)
        except SyntaxError:
            continue
        flags = (0b11).to_bytes(4, "little")  # hash-based, checked against the source
        found[relative] = MAGIC_NUMBER + flags + source_hash(source) + marshal.dumps(code)
    return found


def prepare_app(kit: Path, exercise: Exercise, dest: Path) -> None:
    """The reference app of lessons <= exercise.lesson, written into dest (runner.prepare_app),
    with its bytecode when the fork server compiled it."""
    cached = _apps.get((kit.resolve(), exercise.lesson))
    if cached is None:
        runner.prepare_app(kit, exercise, dest)
        return
    files, compiled = cached
    dest.mkdir(parents=True, exist_ok=True)
    build.write(files, dest)
    for relative, data in compiled.items():
        target = Path(cache_from_source(str(dest / relative)))
        target.parent.mkdir(exist_ok=True)
        target.write_bytes(data)


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
