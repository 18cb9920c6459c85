"""Fixtures for the stage tests.

These tests run against whatever `app` package comes first on the path: the finished app in
the kit's own suite, or a learner's (or a snapshot's) app built up to some lesson. So nothing
here imports `app` at module level: each fixture imports what its stage has. They import
nothing from the kit's tests/ either (a workspace has only this folder), only `workshop`.

Every stage test runs on a fresh SQLite file, and on PostgreSQL too when TEST_DATABASE_URL is
set (the `stage_database_url` parameter).
"""

import importlib.util
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from workshop.appclient import AppClient

# Every user the fixtures create has this password, the first superuser `root` included.
PASSWORD = "correct-horse-battery"
TOKEN_URL = "/api/v1/auth/token"
USERS_URL = "/api/v1/users/"

Register = Callable[..., Awaitable[dict[str, Any]]]
Login = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def password() -> str:
    return PASSWORD


def _database_params() -> list[object]:
    postgres = pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
    )
    return ["sqlite", pytest.param("postgresql", marks=postgres)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Stage tests run on both databases; exercise checks sharing these fixtures keep their
    # plain names (the exercise runner matches checks by name) and run on SQLite.
    if "stage_database_url" in metafunc.fixturenames and metafunc.module.__name__.startswith(
        "test_stage_"
    ):
        metafunc.parametrize("stage_database_url", _database_params(), indirect=True)


@pytest.fixture
async def stage_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database for each test: a SQLite file, or PostgreSQL wiped clean."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'stage.db'}"
        return
    url = os.environ["TEST_DATABASE_URL"]
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_drop_every_table)
    await engine.dispose()
    yield url


def _drop_every_table(connection: Connection) -> None:
    existing = MetaData()
    existing.reflect(connection)
    existing.drop_all(connection)


@pytest.fixture
def service_extras() -> dict[str, Any]:
    """What services need besides their repository at this stage: from lesson 07 on, a cache."""
    if importlib.util.find_spec("app.cache") is None:
        return {}
    from app.cache import Cache, MemoryBackend

    return {"cache": Cache(MemoryBackend())}


@pytest.fixture
def stage_settings(stage_database_url: str, tmp_path: Path) -> Any:
    """Test settings on a fresh database, with a first superuser `root`."""
    from app.config import Settings

    return Settings(
        environment="test",
        database_url=stage_database_url,
        secret_key_file=tmp_path / "secret_key",
        first_superuser_email="root@example.com",
        first_superuser_username="root",
        first_superuser_password=PASSWORD,
        mail_outbox_dir=tmp_path / "outbox",  # ignored before lesson 09 adds mail
        redis_url=None,  # in-process cache and counters, whatever the environment says
    )


@pytest.fixture
async def stage_client(stage_settings: Any) -> AsyncIterator[AppClient]:
    """An in-process client for create_app(stage_settings), its lifespan running (stage 05+)."""
    from app.main import create_app

    async with AppClient(create_app(stage_settings)) as client:
        yield client


@pytest.fixture
def register(stage_client: httpx.AsyncClient) -> Register:
    """register("alice") creates alice@example.com with PASSWORD and returns the user;
    `client=` sends it through another client than stage_client."""

    async def _register(
        username: str, *, client: httpx.AsyncClient | None = None
    ) -> dict[str, Any]:
        body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
        response = await (client or stage_client).post(USERS_URL, json=body)
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()
        return user

    return _register


@pytest.fixture
def login(stage_client: httpx.AsyncClient) -> Login:
    """login("alice") returns alice's Authorization header; `client=` as for register."""

    async def _login(username: str, *, client: httpx.AsyncClient | None = None) -> dict[str, str]:
        form = {"username": username, "password": PASSWORD}
        response = await (client or stage_client).post(TOKEN_URL, data=form)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login


@pytest.fixture
def new_user(register: Register, login: Login) -> Login:
    """new_user("alice") registers alice and returns her Authorization header."""

    async def _new_user(
        username: str, *, client: httpx.AsyncClient | None = None
    ) -> dict[str, str]:
        await register(username, client=client)
        return await login(username, client=client)

    return _new_user
