"""The Dockerfile's own commands work: its install step in a fresh virtual environment, the
release step, then its start command, run in order on this machine (no container engine)."""

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port

KIT = Path(__file__).parents[2]


def _instructions() -> list[tuple[str, str]]:
    text = (KIT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in lines]


def test_the_dockerfile_commands_install_migrate_and_serve(tmp_path: Path) -> None:
    steps = _instructions()
    runtime_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    venv, src, srv = tmp_path / "venv", tmp_path / "src", tmp_path / "srv"
    src.mkdir()
    srv.mkdir()
    bin_dir = tmp_path / "bin"  # `python` as the image has it: the interpreter, no packages
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(getattr(sys, "_base_executable", sys.executable))
    base_path = f"{bin_dir}{os.pathsep}/usr/bin:/bin"
    env = {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "HOME", "LANG"))}

    def here(command: str) -> str:
        return command.replace("/venv", str(venv)).replace("/srv", str(srv))

    # Stage 1: COPY into the build folder, then each RUN, in order.
    for op, arg in steps[:runtime_from]:
        if op == "COPY":
            *sources, _ = shlex.split(arg)
            for source in sources:
                shutil.copy(KIT / source, src)
        elif op == "RUN":
            subprocess.run(
                ["/bin/sh", "-c", here(arg)], cwd=src, env=env | {"PATH": base_path}, check=True
            )
    # Stage 2: the runtime files and environment (the user is the test's own).
    runtime_env = env | {"PATH": f"{venv / 'bin'}{os.pathsep}{base_path}"}
    for op, arg in steps[runtime_from + 1 :]:
        if op == "COPY" and not arg.startswith("--from"):
            *sources, _ = shlex.split(arg)
            for source in sources:
                path = KIT / source
                if path.is_dir():
                    shutil.copytree(
                        path, srv / source, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy(path, srv)
        elif op == "ENV":
            for pair in shlex.split(arg):
                key, _, value = pair.partition("=")
                runtime_env[key] = here(value.replace("$PATH", runtime_env["PATH"]))
    port = free_port()
    runtime_env |= {
        "SECRET_KEY": "deploy-test-" + "k" * 32,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    assert runtime_env["ENVIRONMENT"] == "production"
    # The release step, then the image's CMD.
    release = ["alembic", "upgrade", "head"]
    subprocess.run(release, cwd=srv, env=runtime_env, check=True, capture_output=True)
    [cmd] = [json.loads(arg) for op, arg in steps if op == "CMD"]
    server = subprocess.Popen(
        cmd, cwd=srv, env=runtime_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the image's CMD exited"
                assert time.monotonic() < deadline, "the image's CMD did not serve"
                time.sleep(0.2)
        assert health.json() == {"status": "healthy", "database": "ok", "cache": "memory"}
        installed = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
            capture_output=True, text=True, check=True,
        ).stdout.lower()  # fmt: skip
        for dev_only in ("pytest", "jupyterlab", "nbval", "fastapi-notebook-kit"):
            assert f"{dev_only}==" not in installed, f"{dev_only} is in the image"
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "Traceback" not in output, output
