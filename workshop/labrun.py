"""Run lessons in JupyterLab in a browser, as a learner does, and report what they saw.

nbval runs a lesson in a bare kernel; a learner runs it in JupyterLab, where a stray log line
shows as a red stderr block. This starts `jupyter lab` on a fresh `workshop start` workspace
(loopback only, a random token, the workspace's offline settings), opens each lesson in
headless Chromium (Debian's, through Playwright: no browser is downloaded), clears the stored
outputs, runs all cells, saves, and reports every error output and stderr block.

    python -m workshop.labrun [--screenshots DIR] [NN ...]   # every lesson when none is given

With --screenshots, a full-page screenshot of each lesson after its run is saved in DIR, for
reviewing the lessons as a learner sees them. tests/test_jupyterlab.py runs two lessons.
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from workshop import paths

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# In the page: find the lesson's own panel (JupyterLab may restore other notebooks from its
# workspace, and the one in front need not be ours), wait for its kernel, clear the stored
# outputs, run everything, wait until the kernel is done, save.
RUN_ALL = """async (path) => {
    const app = window.jupyterapp;
    let panel = null;
    for (const widget of app.shell.widgets('main')) {
        if (widget.context && widget.context.path === path) panel = widget;
    }
    if (panel === null) throw new Error(`no open notebook ${path}`);
    app.shell.activateById(panel.id);
    await panel.context.ready;
    await panel.sessionContext.ready;
    if (app.shell.currentWidget !== panel) throw new Error(`${path} is not in front`);
    await app.commands.execute('notebook:clear-all-cell-outputs');
    await app.commands.execute('notebook:run-all-cells');
    // Save only once the kernel has been idle for a whole second, as a learner waits for the
    // last [*] to turn into a number.
    const kernel = panel.sessionContext.session.kernel;
    for (let idle = 0; idle < 10; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        idle = kernel.status === 'idle' ? idle + 1 : 0;
    }
    await panel.context.save();
    return kernel.status;
}"""
STDERR_BLOCKS = "[data-mime-type='application/vnd.jupyter.stderr']"


@dataclass
class Lab:
    url: str
    token: str
    workspace: Path
    log: Path


@dataclass
class LessonRun:
    lesson: str
    seconds: float
    problems: list[str] = field(default_factory=list)  # error outputs and stderr blocks


def available() -> str | None:
    """Why the run cannot happen here (None: it can)."""
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium)"
    if not shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)):
        return "JupyterLab is not installed (pip install -e '.[dev]')"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def jupyter_lab(scratch: Path) -> AsyncIterator[Lab]:
    """`jupyter lab` on a fresh workspace in scratch, until the block ends."""
    workspace = scratch / "workspace"
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "workshop", "start", str(workspace)],
        check=True,
        capture_output=True,
    )
    token, port = secrets.token_hex(16), _free_port()
    log = scratch / "jupyter.log"
    env = {key: value for key, value in os.environ.items() if key != "KIT_WORKSPACE"}
    env |= {"JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), "PYTHONUNBUFFERED": "1"}
    command = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--config=jupyter_lab_config.py",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--LabApp.expose_app_in_browser=True",
        f"--LabApp.workspaces_dir={scratch / 'lab-workspaces'}",
        f"--LabApp.user_settings_dir={scratch / 'lab-settings'}",
    ]
    # Every cell attached to the page (not only those in view), for whole-lesson screenshots.
    tracker = scratch / "lab-settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI run as root
    with log.open("w") as output:
        server = await asyncio.create_subprocess_exec(
            *command, cwd=workspace, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            await _wait_until_up(url, token, server)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log:\n{log.read_text()[-3000:]}") from None
        yield Lab(url, token, workspace, log)
    finally:
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 15)
        except TimeoutError:
            server.kill()
            await server.wait()


async def _wait_until_up(url: str, token: str, server: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if server.returncode is not None:
                raise RuntimeError(f"jupyter lab exited with {server.returncode}")
            try:
                if (await http.get(f"{url}/api/status", params={"token": token})).is_success:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError("jupyter lab did not answer within 60 s")


def saved_problems(notebook: Path) -> list[str]:
    """Error outputs and stderr streams in a saved notebook, with where they are."""
    found = []
    for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                found.append(f"cell {index}: {output['ename']}: {output['evalue']}")
            elif output["output_type"] == "stream" and output["name"] == "stderr":
                text = "".join(output["text"]).strip()
                found.append(f"cell {index}: stderr: {text[:500]}")
    return found


async def run_lesson(
    browser: Any, lab: Lab, name: str, screenshot: Path | None = None, limit: float = 180
) -> LessonRun:
    """Open notebooks/<name>.ipynb, Run All, wait until it is done, save; what went wrong."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        started = time.monotonic()
        # A workspace of its own, reset: only this lesson is open in the page.
        path = f"notebooks/{name}.ipynb"
        await page.goto(f"{lab.url}/lab/workspaces/{name}/tree/{path}?reset&token={lab.token}")
        await page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext",
            timeout=60_000,
        )
        await asyncio.wait_for(page.evaluate(RUN_ALL, path), limit)  # seconds
        run = LessonRun(name, time.monotonic() - started)
        run.problems = saved_problems(lab.workspace / "notebooks" / f"{name}.ipynb")
        shown = await page.locator(STDERR_BLOCKS).all_inner_texts()
        run.problems += [f"shown in red: {text.strip()[:500]}" for text in shown]
        if screenshot:
            await _screenshot(page, screenshot)
        return run
    finally:
        await page.close()


async def _screenshot(page: Any, path: Path) -> None:
    """The whole notebook: JupyterLab scrolls inside a panel, so unfold it first."""
    height = await page.evaluate(
        "() => document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer').scrollHeight"
    )
    await page.set_viewport_size({"width": 1280, "height": min(int(height) + 200, 30_000)})
    await page.evaluate(
        "() => { document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
        ".scrollTop = 0; }"
    )
    await page.wait_for_timeout(500)
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)


async def run_lessons(names: list[str], screenshots: Path | None) -> list[LessonRun]:
    from playwright.async_api import async_playwright

    runs = []
    with tempfile.TemporaryDirectory(prefix="kit-lab-") as scratch:
        async with jupyter_lab(Path(scratch)) as lab, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for name in names:
                shot = screenshots / f"{name}.png" if screenshots else None
                run = await run_lesson(browser, lab, name, shot)
                verdict = "clean" if not run.problems else f"{len(run.problems)} problem(s)"
                print(f"{name}: {verdict} in {run.seconds:.0f} s", flush=True)
                for problem in run.problems:
                    print(f"    {problem}")
                runs.append(run)
            await browser.close()
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m workshop.labrun",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("lessons", nargs="*", metavar="NN", help="lesson numbers (default: all)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    missing = available()
    if missing:
        print(missing, file=sys.stderr)
        return 1
    lessons = paths.lessons(paths.KIT_ROOT)
    wanted = [f"{int(n):02d}" for n in args.lessons]
    names = [ln.name for ln in lessons if not wanted or ln.name[:2] in wanted]
    runs = asyncio.run(run_lessons(names, args.screenshots))
    return 1 if any(run.problems for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
