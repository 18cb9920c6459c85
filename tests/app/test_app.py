"""The app as a whole: docs offline, CORS, body limits, OpenAPI, start-up and health."""

import asyncio
import os
import re
import secrets
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.database import create_engine
from app.main import create_app
from tests.conftest import Login
from tests.servers import free_port, wait_until_healthy
from workshop.appclient import AppClient


async def test_health_reports_the_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "database": "ok", "cache": "memory"}


async def test_health_is_503_when_the_database_is_gone(settings: Settings) -> None:
    async with AppClient(create_app(settings)) as client:
        # Swap in an engine for a server that is not there (nothing listens on port 1).
        gone = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
        client.app.state.resources = replace(client.app.state.resources, engine=gone)
        response = await client.get("/health")
        await gone.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "database": "unavailable", "cache": "memory"}


async def test_the_api_reports_the_package_version(client: httpx.AsyncClient) -> None:
    """One version number: the OpenAPI description shows the installed package's."""
    from importlib.metadata import version

    info = (await client.get("/openapi.json")).json()["info"]
    assert info["version"] == version("fastapi-notebook-kit")


async def test_docs_are_served_without_a_cdn(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc"):
        html = (await client.get(page)).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources, page
        assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
        for source in sources:
            assert (await client.get(source)).status_code == 200, source


async def test_production_hides_docs(settings: Settings) -> None:
    # Built, not model_copy'd: a copy skips validation, which is where the default is decided.
    prod = Settings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        database_url=settings.database_url,
        redis_url=None,
    )
    async with AppClient(create_app(prod), lifespan=False) as client:
        for page in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(page)).status_code == 404


async def test_cors_allows_only_configured_origins(client: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await client.options(
        "/api/v1/users/", headers=preflight | {"Origin": "http://localhost:3000"}
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    other = await client.options(
        "/api/v1/users/", headers=preflight | {"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in other.headers


async def test_oversized_bodies_are_413(client: httpx.AsyncClient, login: Login) -> None:
    headers = await login("root")
    huge = {"title": "x", "description": "y" * (2 * 1024 * 1024)}
    response = await client.post("/api/v1/items/", json=huge, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}

    async def chunks():  # no Content-Length: the middleware counts as it streams
        for _ in range(40):
            yield b"y" * 65536

    streamed = await client.post("/api/v1/items/", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert (await client.get("/api/v1/items/", headers=headers)).json() == []


async def test_a_413_carries_the_cors_headers_a_page_needs_to_read_it(
    client: httpx.AsyncClient,
) -> None:
    """CORS sits outside the body limit: an allowed page reads "too large", not a network
    error; a foreign origin gets the answer without the header (the browser hides it)."""
    huge = {"email": "a@example.com", "username": "big", "password": "x" * (2 * 1024 * 1024)}
    for origin, allowed in (("http://localhost:3000", "http://localhost:3000"),
                            ("https://evil.example", None)):  # fmt: skip
        response = await client.post("/api/v1/users/", json=huge, headers={"Origin": origin})
        assert response.status_code == 413
        assert response.headers.get("access-control-allow-origin") == allowed


async def test_invalid_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users/", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


async def test_every_route_documents_its_errors(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    expected = {
        ("post", "/api/v1/auth/token"): {"401", "429"},
        ("post", "/api/v1/users/"): {"409", "422"},
        ("get", "/api/v1/users/"): {"401", "403", "422"},
        ("get", "/api/v1/users/me"): {"401"},
        ("get", "/api/v1/users/{user_id}"): {"401", "403", "404", "422"},
        ("patch", "/api/v1/users/{user_id}"): {"401", "403", "404", "409", "422"},
        ("delete", "/api/v1/users/{user_id}"): {"401", "403", "404", "422"},
        ("post", "/api/v1/items/"): {"401", "422"},
        ("get", "/api/v1/items/"): {"401", "422"},
        ("get", "/api/v1/items/{item_id}"): {"401", "404", "422"},
        ("patch", "/api/v1/items/{item_id}"): {"401", "404", "422"},
        ("delete", "/api/v1/items/{item_id}"): {"401", "404", "422"},
        ("get", "/health"): {"503"},
        ("post", "/api/v1/notify"): {"401", "403", "404", "422"},
    }
    routes = {(m, p): op for p, ops in spec["paths"].items() for m, op in ops.items()}
    assert set(routes) == set(expected)
    for key, codes in expected.items():
        assert codes <= set(routes[key]["responses"]), key
    schemas = spec["components"]["schemas"]
    assert "password" not in schemas["UserResponse"]["properties"]
    assert "hashed_password" not in str(schemas)


async def test_first_superuser_is_seeded_once(settings: Settings) -> None:
    for _ in range(2):  # a restart must not fail nor duplicate the superuser
        async with AppClient(create_app(settings)):
            pass
    await _assert_one_root(create_app(settings))


async def test_concurrent_startups_on_one_database(settings: Settings) -> None:
    """Several workers starting together: tables and the superuser are created once."""
    apps = [create_app(settings) for _ in range(4)]

    async def start(app: FastAPI) -> None:
        async with AppClient(app):
            await asyncio.sleep(0.05)

    await asyncio.gather(*(start(app) for app in apps))
    await _assert_one_root(create_app(settings))


async def _assert_one_root(app: FastAPI) -> None:
    async with AppClient(app) as client:
        form = {
            "username": "root",
            "password": app.state.settings.first_superuser_password.get_secret_value(),
        }
        token = (await client.post("/api/v1/auth/token", data=form)).json()["access_token"]
        users = await client.get("/api/v1/users/", headers={"Authorization": f"Bearer {token}"})
    assert [u["username"] for u in users.json()] == ["root"]
    assert users.json()[0]["is_superuser"] is True


KIT = str(Path(__file__).parents[2])


def test_uvicorn_starts_with_zero_configuration(tmp_path: Path) -> None:
    """The README's promise: `uvicorn app.main:app`, no .env, no server (data lands in cwd)."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "SECRET", "ENVIRON", "REDIS", "TEST_"))
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port), "--app-dir", KIT],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server)
        response = httpx.get(f"http://127.0.0.1:{port}/health")
        assert response.json() == {"status": "healthy", "database": "ok", "cache": "memory"}
        assert httpx.get(f"http://127.0.0.1:{port}/docs").status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert (tmp_path / "app.db").exists()
    assert len((tmp_path / ".secret_key").read_text()) >= 32
    assert "Traceback" not in output, output
