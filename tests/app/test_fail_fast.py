"""Failure modes that fail fast: a frozen Redis, a blackholed database, a missing schema."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.config import Config

from alembic import command
from app.config import Settings
from app.exceptions import TooManyLoginAttempts
from app.main import create_app
from app.rate_limit import LoginRateLimiter
from tests.servers import Blackhole
from workshop.appclient import AppClient

KIT = Path(__file__).parents[2]
SECRET = "s" * 48


@pytest.fixture
async def blackhole() -> AsyncIterator[Blackhole]:
    async with Blackhole() as server:
        yield server


async def test_a_frozen_redis_costs_the_limiter_one_timeout_per_outage(
    blackhole: Blackhole, tmp_path: Path
) -> None:
    settings = Settings(
        environment="test",
        secret_key_file=tmp_path / "key",
        redis_url=f"redis://127.0.0.1:{blackhole.port}/0",
        redis_timeout_seconds=0.2,
        cache_retry_seconds=60,
        login_limit_per_account="3/15 minutes",
    )
    limiter = LoginRateLimiter.from_settings(settings)
    await limiter.check(None, "alice", "192.0.2.1")  # pays the timeout once, then memory
    asked = (blackhole.connections, len(blackhole.received))
    assert asked[0] >= 1 and asked[1] > 0
    for _ in range(3):
        await limiter.check(None, "alice", "192.0.2.1")
        await limiter.record_failure(None, "alice", "192.0.2.1")
    # Redis was left alone during the back-off, and the budget still held (in memory).
    assert (blackhole.connections, len(blackhole.received)) == asked
    with pytest.raises(TooManyLoginAttempts):
        await limiter.check(None, "alice", "192.0.2.1")


def _production(tmp_path: Path, database_url: str, **extra: object) -> Settings:
    return Settings(
        environment="production",
        secret_key=SECRET,
        database_url=database_url,
        secret_key_file=tmp_path / "key",
        mail_outbox_dir=tmp_path / "outbox",
        redis_url=None,
        **extra,  # type: ignore[arg-type]
    )


async def test_a_blackholed_database_fails_fast_with_json_503(
    blackhole: Blackhole, tmp_path: Path
) -> None:
    settings = _production(
        tmp_path,
        f"postgresql+asyncpg://nobody@127.0.0.1:{blackhole.port}/none",
        database_connect_timeout_seconds=0.5,
        database_pool_timeout_seconds=0.5,
    )
    async with AppClient(create_app(settings)) as client:
        # Without the timeouts, asyncpg waits 60 s to connect: this bound would fail.
        async with asyncio.timeout(15):
            body = {"email": "a@example.com", "username": "alice", "password": "x" * 12}
            registered = await client.post("/api/v1/users/", json=body)
            health = await client.get("/health")
    assert blackhole.connections >= 1  # it was really asked, and never answered
    assert registered.status_code == 503
    assert registered.json() == {"detail": "Service temporarily unavailable, try again later"}
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy" and health.json()["database"] == "unavailable"


def _migrate(url: str, revision: str) -> None:
    config = Config(str(KIT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, revision)


async def test_health_is_unhealthy_until_the_schema_is_at_the_head(
    database_url: str, tmp_path: Path
) -> None:
    app = create_app(_production(tmp_path, database_url))  # production: no create_all
    async with AppClient(app) as client:
        missing = await client.get("/health")
        await asyncio.to_thread(_migrate, database_url, "0001")
        behind = await client.get("/health")
        await asyncio.to_thread(_migrate, database_url, "head")
        current = await client.get("/health")
        again = await client.get("/health")
    assert (missing.status_code, missing.json()["database"]) == (503, "schema_missing")
    assert (behind.status_code, behind.json()["database"]) == (503, "schema_outdated")
    assert current.status_code == again.status_code == 200
    assert current.json() == {"status": "healthy", "database": "ok", "cache": "memory"}
    assert app.state.schema_ok  # remembered: later probes check nothing more
