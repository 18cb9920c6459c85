"""The suite's pytest plugin gives a second xdist worker services no other worker touches."""

import asyncio
import os

import pytest
from sqlalchemy import make_url

from workshop import pytest_plugin


@pytest.fixture
def stopped_servers() -> object:
    before = list(pytest_plugin._servers)
    yield
    for server in pytest_plugin._servers[len(before) :]:
        server.terminate()
        server.wait(timeout=10)
    pytest_plugin._servers[:] = before


@pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="TEST_DATABASE_URL and REDIS_URL are not set",
)
async def test_a_second_worker_gets_a_database_and_a_redis_of_its_own(
    monkeypatch: pytest.MonkeyPatch, stopped_servers: object
) -> None:
    import redis.asyncio as redis
    from sqlalchemy.ext.asyncio import create_async_engine

    configured_db, configured_redis = os.environ["TEST_DATABASE_URL"], os.environ["REDIS_URL"]
    monkeypatch.setenv("TEST_DATABASE_URL", configured_db)
    monkeypatch.setenv("REDIS_URL", configured_redis)
    # A worker's configure runs in its own process, outside any event loop: run it in a thread.
    await asyncio.to_thread(pytest_plugin._services_of_its_own, "gw7")

    own_db, own_redis = os.environ["TEST_DATABASE_URL"], os.environ["REDIS_URL"]
    assert make_url(own_db).database == f"{make_url(configured_db).database}_gw7"
    engine = create_async_engine(own_db)
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("SELECT current_database()")).scalar() == (
            make_url(own_db).database
        )
    await engine.dispose()

    assert own_redis != configured_redis
    assert own_redis.rsplit("/", 1)[1] == configured_redis.rsplit("/", 1)[1]  # same db number
    client = redis.Redis.from_url(own_redis)
    await client.set("kit-worker-probe", "mine")
    shared = redis.Redis.from_url(configured_redis)
    assert await shared.get("kit-worker-probe") is None  # another server, not a shared one
    await client.aclose()
    await shared.aclose()
