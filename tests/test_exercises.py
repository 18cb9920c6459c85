"""The exercise engine: catalog, generated exercises/, and each outcome of a check run."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workshop import exercises, runner
from workshop.paths import KIT_ROOT

CATALOG = exercises.catalog(KIT_ROOT)
IDS = [e.id for e in CATALOG]


def test_exercises_build_check_passes_on_the_kit() -> None:
    """exercises/ is exactly what solutions/ generates (the README's command re-checks it)."""
    run = subprocess.run(
        [sys.executable, "-m", "workshop", "exercises", "build", "--check"],
        cwd=KIT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """One prepared reference app per lesson, copied by each test."""
    apps = {}
    for exercise in CATALOG:
        if exercise.lesson not in apps:
            dest = tmp_path_factory.mktemp(f"reference_{exercise.lesson:02d}")
            runner.prepare_app(KIT_ROOT, exercise, dest)
            apps[exercise.lesson] = dest
    return apps


def _copy(reference: dict[int, Path], exercise: exercises.Exercise, tmp_path: Path) -> Path:
    dest = tmp_path / "app_copy"
    shutil.copytree(reference[exercise.lesson], dest)
    return dest


@pytest.mark.parametrize("ident", IDS)
def test_solution_passes_every_check(
    ident: str, reference: dict[int, Path], tmp_path: Path
) -> None:
    exercise = exercises.find(KIT_ROOT, ident)
    dest = _copy(reference, exercise, tmp_path)
    assert runner.apply_answers(KIT_ROOT / "solutions" / exercise.notebook, ident, dest)
    outcome = runner.run_checks(dest, exercise, timeout=120)
    assert outcome.status == "passed", runner.format_outcome(outcome)
    assert outcome.points == outcome.max_points == exercise.points > 0
    assert outcome.regressions == []


@pytest.mark.parametrize("ident", IDS)
def test_stub_is_not_attempted(ident: str, reference: dict[int, Path], tmp_path: Path) -> None:
    exercise = exercises.find(KIT_ROOT, ident)
    dest = _copy(reference, exercise, tmp_path)
    assert not runner.apply_answers(KIT_ROOT / "exercises" / exercise.notebook, ident, dest)
    outcome = runner.run_checks(dest, exercise)
    assert outcome.status == "not attempted"
    assert outcome.points == 0
    assert len(outcome.checks) == exercise.checks
