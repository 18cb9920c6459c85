"""Stage 11 — testing: the learner's own suite in app_tests/ exists, passes, and catches a bug.

Self-contained: the workspace's app/ and app_tests/ are copied to a temporary folder and the
suite runs there with pytest in a child process, as the lesson runs it. Then the copy's owner
check is removed and the suite must fail, naming the test that caught it.
"""

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

SUITE = ["conftest.py", "test_users.py", "test_items.py", "test_ws.py", "test_api_fuzz.py"]
OWNER_CHECK = "return actor.is_superuser or actor.id == owner_id"
# The lesson's options; only the plugin the suite needs is loaded (faster, and no other
# installed plugin changes the outcome).
OPTIONS = [
    "-q", "--color=no", "-p", "no:cacheprovider", "-o", "addopts=", "-p", "asyncio",
    "--asyncio-mode=auto",
    "-o", "asyncio_default_fixture_loop_scope=function",
]  # fmt: skip


def workspace() -> Path:
    import app

    return Path(app.__file__).resolve().parents[1]


@dataclass
class Run:
    returncode: int
    output: str
    passed: list[str]
    failed: list[str]
    skipped: list[str]


def copy_workspace(target: Path) -> Path:
    for folder in ("app", "app_tests"):
        shutil.copytree(
            workspace() / folder, target / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    return target


def run_suite(root: Path, *paths: str) -> Run:
    """pytest on root's app_tests (or the given paths), SQLite only, as the lesson runs it."""
    report = root / "report.xml"
    env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_URL", "PYTHONPATH"}}
    env |= {"ENVIRONMENT": "test", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    command = [sys.executable, "-m", "pytest", *OPTIONS, f"--junitxml={report}"]
    result = subprocess.run(
        [*command, *(paths or ["app_tests"])],
        cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    run = Run(result.returncode, result.stdout + result.stderr, [], [], [])
    if report.exists():
        # The report our own child process just wrote, not untrusted input.
        for case in ET.parse(report).iter("testcase"):  # noqa: S314
            name = f"{case.get('classname', '')}.{case.get('name', '')}"
            if case.find("failure") is not None or case.find("error") is not None:
                run.failed.append(name)
            elif case.find("skipped") is not None:
                run.skipped.append(name)
            else:
                run.passed.append(name)
    return run


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The learner's suite, once for the module, on an untouched copy of the workspace."""
    if not (workspace() / "app_tests").is_dir():
        pytest.fail("app_tests/ is missing: run lesson 11's %%writefile cells")
    return run_suite(copy_workspace(tmp_path_factory.mktemp("suite")))


@pytest.mark.parametrize("name", SUITE)
def test_the_suite_file_exists(name: str) -> None:
    path = workspace() / "app_tests" / name
    assert path.is_file(), f"app_tests/{name} is missing: run lesson 11's %%writefile cells"


def test_the_suite_passes_on_the_app(suite_run: Run) -> None:
    assert suite_run.returncode == 0, suite_run.output[-3000:]
    assert not suite_run.failed


@pytest.mark.parametrize("module", [name.removesuffix(".py") for name in SUITE[1:]])
def test_each_test_file_has_passing_tests(suite_run: Run, module: str) -> None:
    assert [name for name in suite_run.passed if f"{module}." in name], (
        f"no test of app_tests/{module}.py passed:\n{suite_run.output[-2000:]}"
    )


def test_bola_is_tested_on_every_item_id_route(suite_run: Run) -> None:
    routes = {
        method
        for method in ("GET", "PATCH", "DELETE")
        for name in suite_run.passed
        if "test_items." in name and f"-{method}]" in name
    }
    assert routes == {"GET", "PATCH", "DELETE"}, "one parametrised case per /items/{id} route"


def test_postgresql_cases_exist_and_skip_without_test_database_url(suite_run: Run) -> None:
    assert [name for name in suite_run.skipped if "[postgresql" in name], (
        "the database fixture is parametrised: sqlite, and postgresql when TEST_DATABASE_URL is set"
    )
    assert not [name for name in suite_run.passed if "[postgresql" in name]


def test_the_suite_fails_when_the_owner_check_is_removed(tmp_path: Path) -> None:
    root = copy_workspace(tmp_path)
    service = root / "app" / "services" / "item_service.py"
    source = service.read_text()
    assert OWNER_CHECK in source, "the owner check of lesson 04 is not where it was"
    service.write_text(source.replace(OWNER_CHECK, "return True  # the bug: anyone may"))
    run = run_suite(root, "app_tests/test_items.py")
    assert run.returncode != 0, "the suite passed on an app that shows anyone's item to anyone"
    caught = [name for name in run.failed if "test_items." in name]
    assert caught, run.output[-2000:]
    assert "FAILED app_tests/test_items.py::" in run.output  # pytest names the test
