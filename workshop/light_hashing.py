"""A pytest plugin for graded runs: the app's password hashing at argon2's lightest cost.

Loaded in every check and stage run (`workshop.runner.pytest_command`), active only when
LIGHT_HASHING_ENV is set, which the grader's sandbox does (`grading_sandbox.clean_env`).
Checks register and log users in by the hundred, and every app start-up hashes the first
superuser's password: at OWASP's parameters (19 MiB, 2 passes) that was half of a stage run's
time (lesson 06's stage tests: 4.4 s, 2.1 s light), and it proves nothing a check looks at.
So once the learner's `app/utils/security.py` has run, its `pwd_context` is updated in place
to argon2 with 1 MiB and one pass: hashes are still argon2id and still verify, only cheaper,
as Django's test settings do with a fast hasher. The learner's code is not touched. A
learner's own `workshop check` runs and the kit's own tests keep the real parameters.
"""

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

import pytest

from workshop.grading_sandbox import LIGHT_HASHING_ENV

SECURITY_MODULE = "app.utils.security"
LIGHT = {"argon2__memory_cost": 1024, "argon2__time_cost": 1}


class _LightenAfterImport(importlib.abc.MetaPathFinder):
    """Finds `app.utils.security` as the path finder would, then lightens it once executed."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != SECURITY_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            lighten(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def lighten(module: ModuleType) -> bool:
    """Update the module's CryptContext to the light argon2 parameters; False if it has none
    that takes them (a learner's answer may have changed it: then it stays as it is)."""
    context = getattr(module, "pwd_context", None)
    update = getattr(context, "update", None)
    if update is None:
        return False
    try:
        update(**LIGHT)
    except Exception:  # not argon2, or options it refuses: the learner's stays
        return False
    return True


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(LIGHT_HASHING_ENV) and not any(
        isinstance(finder, _LightenAfterImport) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _LightenAfterImport())
