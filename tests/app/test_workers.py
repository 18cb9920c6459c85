"""Several workers on one fresh database: start-up writes are race-safe, the key is shared."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from tests.servers import free_port, wait_until_healthy
from workshop.appclient import AppClient

KIT = Path(__file__).parents[2]
PASSWORD = "correct-horse-battery"


COMMANDS = {
    "uvicorn": lambda port: [
        sys.executable, "-m", "uvicorn", "app.main:app", "--workers", "3",
        "--port", str(port), "--app-dir", str(KIT),
    ],
    "gunicorn": lambda port: [
        sys.executable, "-m", "gunicorn", "app.main:app", "--workers", "3",
        "--worker-class", "uvicorn_worker.UvicornWorker",
        "--bind", f"127.0.0.1:{port}", "--pythonpath", str(KIT),
    ],
    # The count only in a config file (as the kit's gunicorn.conf.py has it), with the kit's
    # worker class: the app must still know it runs in three processes.
    "gunicorn.conf.py": lambda port: [
        sys.executable, "-m", "gunicorn", "app.main:app", "-c", "three.conf.py",
        "--bind", f"127.0.0.1:{port}", "--pythonpath", str(KIT),
    ],
}  # fmt: skip
CONFIG_FILE = 'workers = 3\nworker_class = "app.server.Worker"\n'


@pytest.mark.parametrize("server", sorted(COMMANDS))
def test_three_workers_start_together_on_a_fresh_database(server: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "SECRET", "REDIS"))}
    env.pop("WEB_CONCURRENCY", None)
    (tmp_path / "three.conf.py").write_text(CONFIG_FILE)
    env |= {
        "ENVIRONMENT": "local",  # the signing key is generated once, into tmp_path
        "FIRST_SUPERUSER_EMAIL": "root@example.com",
        "FIRST_SUPERUSER_USERNAME": "root",
        "FIRST_SUPERUSER_PASSWORD": PASSWORD,
    }
    process = subprocess.Popen(
        COMMANDS[server](port),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process)
        time.sleep(1)  # let every worker finish its start-up
        with httpx.Client(base_url=base) as http:
            # Fresh connections land on different workers: each must accept the others' tokens.
            tokens = [
                http.post("/api/v1/auth/token", data={"username": "root", "password": PASSWORD})
                for _ in range(6)
            ]
            assert {t.status_code for t in tokens} == {200}
            headers = {"Authorization": f"Bearer {tokens[0].json()['access_token']}"}
            for _ in range(6):
                with httpx.Client(base_url=base) as fresh:
                    users = fresh.get("/api/v1/users/", headers=headers)
                assert users.status_code == 200
                assert [u["username"] for u in users.json()] == ["root"]
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    assert "Traceback" not in output and "ERROR" not in output, output
    # No Redis: each worker says once, at start-up, what that breaks.
    assert output.count("3 worker processes and no REDIS_URL") == 3, output
    assert (tmp_path / "app.db").exists() and (tmp_path / ".secret_key").exists()


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["uvicorn", "app.main:app"], {}, 1),
        (["uvicorn", "app.main:app", "--workers", "4"], {}, 4),
        (["gunicorn", "app.main:app", "-w", "2"], {}, 2),
        (["gunicorn", "app.main:app", "-w3"], {}, 3),
        (["uvicorn", "app.main:app", "--workers=5"], {}, 5),
        (["gunicorn", "app.main:app"], {"GUNICORN_CMD_ARGS": "--workers 6"}, 6),
        (["uvicorn", "app.main:app"], {"WEB_CONCURRENCY": "2"}, 2),
    ],
)
def test_worker_processes_reads_every_way_to_ask_for_workers(
    argv: list[str], env: dict[str, str], expected: int
) -> None:
    from app.main import worker_processes

    assert worker_processes(argv, env) == expected


async def test_one_warning_per_worker_only_without_redis(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from app.main import create_app

    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    for redis_url, warnings in ((None, 1), ("redis://127.0.0.1:1/0", 0)):
        caplog.clear()
        async with AppClient(create_app(settings.model_copy(update={"redis_url": redis_url}))):
            pass
        said = [r for r in caplog.records if "no REDIS_URL" in r.getMessage()]
        assert len(said) == warnings
        if said:
            assert said[0].levelname == "WARNING"
            assert "budget" in said[0].getMessage() and "chat" in said[0].getMessage()
