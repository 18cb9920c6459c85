"""A pytest plugin: lesson notebooks executed by nbval write into a temporary workspace."""

import os
import shutil
import tempfile

import pytest

from workshop.lesson import WORKSPACE_ENV

_created: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Kernels started by nbval inherit this variable, so lesson.setup() builds each lesson
    # in a fresh folder under it and the checkout is never written to.
    if not os.environ.get(WORKSPACE_ENV):
        os.environ[WORKSPACE_ENV] = tempfile.mkdtemp(prefix="kit-lessons-")
        _created.append(os.environ[WORKSPACE_ENV])
    # Solution notebooks prove their answers pass; how a hang is bounded (30 s by default) is
    # proven in tests/test_exercises.py. A loaded machine must not turn a pass into a timeout.
    os.environ.setdefault("KIT_EXERCISE_TIMEOUT", "120")


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(WORKSPACE_ENV, None)
