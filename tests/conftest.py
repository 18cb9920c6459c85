"""Fixtures shared by the whole suite: settings, a fresh database, the app and a client.

`register`, `login` and PASSWORD are the app tests' only way to make users and tokens; the stage
tests have their own in tests/stages/conftest.py (they run without this file in a workspace).
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

# Importing app.main builds the module-level app from the environment; in "test" no key
# file is written into the checkout.
os.environ.setdefault("ENVIRONMENT", "test")

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.main import create_app
from workshop.appclient import AppClient

# Every user the helpers create has this password.
PASSWORD = "correct-horse-battery"


def _database_params() -> list[object]:
    postgres = pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
    )
    return ["sqlite", pytest.param("postgresql", marks=postgres)]


@pytest.fixture(params=_database_params())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database for each test: a SQLite file, or PostgreSQL wiped clean."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    url = os.environ["TEST_DATABASE_URL"]
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_drop_every_table)
    await engine.dispose()
    yield url


def _drop_every_table(connection: Connection) -> None:
    """Whatever an earlier test left (the models' tables, alembic_version...), as reflected."""
    existing = MetaData()
    existing.reflect(connection)
    existing.drop_all(connection)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key_file=tmp_path / "secret_key",
        first_superuser_email="root@example.com",
        first_superuser_username="root",
        first_superuser_password=PASSWORD,
        redis_url=None,  # the in-process cache; tests/app/test_cache.py covers Redis too
        mail_outbox_dir=tmp_path / "outbox",
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AppClient]:
    """An in-process client for create_app(settings), its lifespan running (tables, limiter and
    first superuser are ready); `client.app` is the app."""
    async with AppClient(create_app(settings)) as http:
        yield http


@pytest.fixture
def app(client: AppClient) -> FastAPI:
    """The running app behind `client`."""
    application: FastAPI = client.app
    return application


Register = Callable[..., Awaitable[dict[str, object]]]
Login = Callable[[str], Awaitable[dict[str, str]]]


async def register_user(
    client: httpx.AsyncClient, username: str, **extra: object
) -> dict[str, object]:
    """Create username@example.com with PASSWORD (and `extra` fields); return the user."""
    body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
    response = await client.post("/api/v1/users/", json=body | extra)
    assert response.status_code == 201, response.text
    user: dict[str, object] = response.json()
    return user


async def login_user(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    """Log username in; return the Authorization header."""
    form = {"username": username, "password": password}
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def register(client: httpx.AsyncClient) -> Register:
    """register("alice") creates alice@example.com with PASSWORD and returns the user."""

    async def _register(username: str, **extra: object) -> dict[str, object]:
        return await register_user(client, username, **extra)

    return _register


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    """login("alice") returns the Authorization header for that user."""

    async def _login(username: str) -> dict[str, str]:
        return await login_user(client, username)

    return _login


@pytest.fixture
async def root_headers(login: Login) -> dict[str, str]:
    """The seeded first superuser's Authorization header."""
    return await login("root")


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The real Redis from REDIS_URL (a database number of the suite's own), flushed."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    import redis.asyncio as redis

    client = redis.Redis.from_url(url)
    await client.flushdb()
    yield url
    await client.flushdb()
    await client.aclose()
