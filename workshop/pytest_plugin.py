"""A pytest plugin: lesson notebooks executed by nbval write into a temporary workspace, and
with pytest-xdist (`-n auto`) every worker gets services of its own.

Workers run tests side by side, and the suite's services are shared state: app tests wipe the
PostgreSQL database between tests, and Redis tests flush their database and listen to every
chat channel (Redis pub/sub ignores database numbers). So the first worker keeps the
configured ones, and each other worker gets a PostgreSQL database of its own next to
`TEST_DATABASE_URL`'s (created when missing) and a Redis server of its own (Debian's
`redis-server`, on a free port, kept in memory, stopped at the end; without that command the
workers share REDIS_URL's server). A notebook's cells run in
order in one kernel, so the suite runs with `--dist loadfile`: a file goes to one worker whole.
"""

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

import pytest

from workshop.lesson import WORKSPACE_ENV

_created: list[str] = []
_servers: list[subprocess.Popen[bytes]] = []


def pytest_configure(config: pytest.Config) -> None:
    # Kernels started by nbval inherit this variable, so lesson.setup() builds each lesson
    # in a fresh folder under it and the checkout is never written to.
    if not os.environ.get(WORKSPACE_ENV):
        os.environ[WORKSPACE_ENV] = tempfile.mkdtemp(prefix="kit-lessons-")
        _created.append(os.environ[WORKSPACE_ENV])
    # Solution notebooks prove their answers pass; how a hang is bounded (30 s by default) is
    # proven in tests/test_exercises.py. A loaded machine must not turn a pass into a timeout.
    os.environ.setdefault("KIT_EXERCISE_TIMEOUT", "120")
    worker = getattr(config, "workerinput", {}).get("workerid", "gw0")
    if worker != "gw0":
        _services_of_its_own(worker)


def _services_of_its_own(worker: str) -> None:
    """Point TEST_DATABASE_URL and REDIS_URL, for this process and what it starts, at services
    no other worker uses."""
    if url := os.environ.get("TEST_DATABASE_URL"):
        os.environ["TEST_DATABASE_URL"] = asyncio.run(_own_database(url, worker))
    if (url := os.environ.get("REDIS_URL")) and shutil.which("redis-server"):
        os.environ["REDIS_URL"] = _own_redis(url)


async def _own_database(url: str, worker: str) -> str:
    from sqlalchemy import make_url, text
    from sqlalchemy.ext.asyncio import create_async_engine

    configured = make_url(url)
    own = configured.set(database=f"{configured.database}_{worker}")
    engine = create_async_engine(configured, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:  # a database name cannot be a bound parameter; this one is ours
                await connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        await engine.dispose()
    return own.render_as_string(hide_password=False)


def _own_redis(url: str) -> str:
    from redis import Redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
         "--appendonly", "no", "--dir", tempfile.gettempdir()],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    _servers.append(server)
    own = f"redis://127.0.0.1:{port}/{urlsplit(url).path.strip('/') or '0'}"
    deadline = time.monotonic() + 10
    while True:
        try:
            with Redis.from_url(own, socket_timeout=1) as client:
                client.ping()
            return own
        except Exception as error:  # redis' ConnectionError until it listens
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker's redis-server did not start: {error}") from error
        time.sleep(0.05)


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(WORKSPACE_ENV, None)
    for server in _servers:
        server.terminate()
        server.wait(timeout=10)
