# Written by notebooks/11_testing.ipynb: edit there, or edit here and run `workshop sync`
"""Fixtures for the app's own tests: settings, a fresh database per test, a client, tokens.

Run them from the workspace root (no configuration file: the options are on the line):

    python -m pytest app_tests -q --asyncio-mode=auto -o asyncio_default_fixture_loop_scope=function
"""

import os
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

# Importing app.main builds its module-level app from the environment. In "test" that writes
# no key file into your workspace: set it before anything imports the app.
os.environ.setdefault("ENVIRONMENT", "test")
# passlib 1.7.4, its last release, uses deprecated parts of the standard library and of argon2:
# warnings about a library, not about your code (here for the import, below for the tests).
warnings.filterwarnings("ignore", category=DeprecationWarning, module="passlib")

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, MetaData
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.dependencies import get_mailer
from app.main import create_app

PASSWORD = "correct-horse-battery"  # every user the fixtures make has it, root included
Headers = dict[str, str]


@pytest.fixture
def password() -> str:
    return PASSWORD


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("filterwarnings", "ignore::DeprecationWarning:passlib.*")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--reverse", action="store_true", help="run the tests in reverse order")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A suite whose tests pass only in one order hides a dependency between them.
    if config.getoption("--reverse"):
        items.reverse()


def _databases() -> list[object]:
    postgres = pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL"), reason="TEST_DATABASE_URL is not set"
    )
    return ["sqlite", pytest.param("postgresql", marks=postgres)]


@pytest.fixture(params=_databases())
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database for each test: a new SQLite file, or PostgreSQL wiped clean."""
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
    existing = MetaData()
    existing.reflect(connection)  # whatever is there, even tables the models no longer have
    existing.drop_all(connection)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The app's settings for one test: its own database, key file and outbox; no Redis."""
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key_file=tmp_path / "secret_key",
        first_superuser_email="root@example.com",
        first_superuser_username="root",
        first_superuser_password=PASSWORD,
        mail_outbox_dir=tmp_path / "outbox",
        redis_url=None,  # the in-process cache, whatever REDIS_URL says
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client. ASGITransport sends requests only: the lifespan (tables, engine,
    first superuser) is run here, around the client, as uvicorn runs it around the server."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


Register = Callable[[str], Awaitable[dict[str, object]]]
Login = Callable[[str], Awaitable[Headers]]


@pytest.fixture
def register(client: httpx.AsyncClient) -> Register:
    """await register("alice"): alice@example.com with PASSWORD; returns the new user."""

    async def _register(username: str) -> dict[str, object]:
        body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
        response = await client.post("/api/v1/users/", json=body)
        assert response.status_code == 201, response.text
        user: dict[str, object] = response.json()
        return user

    return _register


@pytest.fixture
def login(client: httpx.AsyncClient) -> Login:
    """await login("alice"): the Authorization header of a fresh token for alice."""

    async def _login(username: str) -> Headers:
        form = {"username": username, "password": PASSWORD}
        response = await client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login


@pytest.fixture
async def alice(register: Register, login: Login) -> Headers:
    await register("alice")
    return await login("alice")


@pytest.fixture
async def bob(register: Register, login: Login) -> Headers:
    await register("bob")
    return await login("bob")


@pytest.fixture
async def root(login: Login) -> Headers:
    return await login("root")  # the first superuser, made by the lifespan


class Outbox:
    """A mailer that keeps what it is given: the app's Mailer protocol, no SMTP, no files."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        self.messages.append(message)


@pytest.fixture
def outbox(app: FastAPI) -> Iterator[Outbox]:
    """Every route that asks for the mailer gets this Outbox instead, for one test."""
    box = Outbox()
    app.dependency_overrides[get_mailer] = lambda: box
    yield box
    app.dependency_overrides.clear()
