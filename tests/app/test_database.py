"""The database connection: /health's one round trip, and a PostgreSQL that dropped us."""

import os
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD
from workshop.appclient import AppClient

postgresql_only = [
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL unset"),
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


async def test_health_costs_one_statement(client: httpx.AsyncClient, app: Any) -> None:
    """No session, no BEGIN/ROLLBACK, no pre-ping: `SELECT 1` is all /health sends."""
    await client.get("/health")  # a pooled connection exists now
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    engine = app.state.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = await client.get("/health")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.json()["database"] == "ok"
    assert sent == ["SELECT 1"]
    assert engine.pool._pre_ping is False


async def _drop_every_connection_of(url: str) -> int:
    """What a PostgreSQL restart does to the app's pooled connections, without restarting
    the server (other test runs share it): terminate every other backend of this database."""
    admin = create_async_engine(url)
    async with admin.connect() as connection:
        result = await connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        killed = int(result.scalar_one())
    await admin.dispose()
    return killed


@postgresql_only[0]
@postgresql_only[1]
async def test_after_postgresql_drops_its_connections_the_app_recovers(
    settings: Settings, database_url: str
) -> None:
    """Without pool_pre_ping, the decision (app/database.py): /health retries once and stays
    healthy; any other request fails at most once per worker, and the next one succeeds."""
    # raise_app_exceptions=False: see the 500 a client would get instead of a traceback.
    async with AppClient(create_app(settings), raise_app_exceptions=False) as http:
        form = {"username": "root", "password": PASSWORD}
        token = (await http.post("/api/v1/auth/token", data=form)).json()["access_token"]
        root = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/v1/items/", headers=root)).status_code == 200

        assert await _drop_every_connection_of(database_url) >= 1
        health = await http.get("/health")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        assert (await http.get("/api/v1/items/", headers=root)).status_code == 200

        assert await _drop_every_connection_of(database_url) >= 1
        first = await http.get("/api/v1/items/", headers=root)
        assert first.status_code in {200, 500, 503}  # one clean failure at most
        for _ in range(3):
            assert (await http.get("/api/v1/items/", headers=root)).status_code == 200
