"""Lessons run in JupyterLab, in headless Chromium, as a learner runs them: no error, no stderr.

nbval (a bare kernel) does not see what JupyterLab shows: a log line on stderr is a red block
under a cell. Lesson 08 has both kinds of cell that can go wrong there: it rewrites files an
earlier lesson wrote (app/main.py) and imports them again, and it starts a server in the
notebook's event loop. `python -m workshop.labrun` runs every lesson the same way and saves
screenshots, for review.
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from workshop import labrun

LESSONS = ["08_websockets"]
# One JupyterLab and one browser for the module: they live on the module's event loop.
on_the_module_loop = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[labrun.Lab]:
    missing = labrun.available()
    if missing:
        pytest.skip(missing)
    async with labrun.jupyter_lab(tmp_path_factory.mktemp("lab")) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(lab: labrun.Lab) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=labrun.CHROMIUM, args=labrun.FLAGS
        )
        yield chromium
        await chromium.close()


@on_the_module_loop
@pytest.mark.parametrize("lesson", LESSONS)
async def test_run_all_in_jupyterlab_shows_no_error_and_no_stderr(
    lab: labrun.Lab, browser: object, lesson: str
) -> None:
    run = await labrun.run_lesson(browser, lab, lesson)
    assert run.problems == []
    saved = json.loads((lab.workspace / "notebooks" / f"{lesson}.ipynb").read_text())
    code = [cell for cell in saved["cells"] if cell["cell_type"] == "code"]
    assert all(cell["execution_count"] for cell in code), "Run All stopped early"
    # The stage check is stored without output: a result here comes from this run.
    [check] = [cell for cell in code if "".join(cell["source"]).startswith("lesson.check(")]
    shown = "".join("".join(output.get("text", "")) for output in check["outputs"])
    assert f"Stage {lesson[:2]} passed" in shown, shown


@on_the_module_loop
async def test_the_workspace_lab_is_offline(lab: labrun.Lab) -> None:
    """The workspace's jupyter_lab_config.py is loaded: no update check, no extension manager."""
    log = lab.log.read_text()
    assert "Extension Manager is 'readonly'" in log


def test_a_stderr_block_or_an_error_counts_as_a_problem(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["fine\n"]}],
            },
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "stream", "name": "stderr", "text": ["INFO: Shutting down\n"]}
                ],
            },
            {
                "cell_type": "code",
                "outputs": [
                    {"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": []}
                ],
            },
        ]
    }
    path = tmp_path / "lesson.ipynb"
    path.write_text(json.dumps(notebook))
    assert labrun.saved_problems(path) == [
        "cell 1: stderr: INFO: Shutting down",
        "cell 2: KeyError: 'x'",
    ]
