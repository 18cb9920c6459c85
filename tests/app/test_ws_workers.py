"""Two uvicorn processes, one Redis: a room spans both workers."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.app.test_ws import next_event
from tests.conftest import PASSWORD
from tests.servers import free_ports, wait_until_healthy

KIT = Path(__file__).parents[2]


@contextmanager
def worker(port: int, env: dict[str, str]) -> Iterator[str]:
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
               "--app-dir", str(KIT), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=env["WORKDIR"])
    host = f"127.0.0.1:{port}"
    try:
        wait_until_healthy(f"http://{host}", process)
        yield host
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_message_crosses_workers_through_redis(redis_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "SECRET"))}
    env |= {
        "WORKDIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "s" * 48,  # one key for both workers, as in production
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
        "REDIS_URL": redis_url,
        "FIRST_SUPERUSER_EMAIL": "root@example.com",
        "FIRST_SUPERUSER_USERNAME": "root",
        "FIRST_SUPERUSER_PASSWORD": PASSWORD,
    }
    first_port, second_port = free_ports(2)
    with worker(first_port, env) as first, worker(second_port, env) as second:
        form = {"username": "root", "password": PASSWORD}
        async with httpx.AsyncClient() as http:
            login = await http.post(f"http://{first}/api/v1/auth/token", data=form)
        token = login.json()["access_token"]
        async with (
            connect(f"ws://{first}/ws/crossing?token={token}") as on_first,
            connect(f"ws://{second}/ws/crossing?token={token}") as on_second,
        ):
            await next_event(on_second, "join")
            await on_first.send(json.dumps({"text": "from the first worker"}))
            received = await asyncio.wait_for(next_event(on_second), timeout=5)
            assert received["text"] == "from the first worker"
            assert (await next_event(on_first))["text"] == "from the first worker"  # own echo
            await on_second.send(json.dumps({"text": "and back"}))
            assert (await next_event(on_first))["text"] == "and back"
