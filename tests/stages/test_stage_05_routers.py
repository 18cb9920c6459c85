"""Stage 05 — routers, dependencies, the app factory: registration, errors, health, docs, CORS."""

import re
from typing import Any

import httpx
import pytest

from workshop.appclient import AppClient

USERS_URL = "/api/v1/users/"


def _user(username: str, password: str, email: str | None = None) -> dict[str, str]:
    return {"email": email or f"{username}@example.com", "username": username, "password": password}


async def test_registration_is_201_without_password(
    stage_client: httpx.AsyncClient, password: str
) -> None:
    response = await stage_client.post(
        USERS_URL, json=_user("Alice", password, "Alice@Example.com")
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "alice@example.com"
    assert body["username"] == "Alice"
    assert isinstance(body["id"], int)
    assert body["is_superuser"] is False
    assert body["is_active"] is True
    assert not [field for field in body if "password" in field]
    assert password not in response.text


@pytest.mark.parametrize(
    ("email", "username", "detail"),
    [
        ("other@example.com", "alice", "Username already taken"),
        ("other@example.com", "ALICE", "Username already taken"),
        ("ALICE@example.com", "somebody", "Email already registered"),
        ("root2@example.com", "Root", "Username already taken"),  # the first superuser
    ],
)
async def test_duplicates_are_409_with_the_reason(
    stage_client: httpx.AsyncClient, password: str, email: str, username: str, detail: str
) -> None:
    assert (await stage_client.post(USERS_URL, json=_user("alice", password))).status_code == 201
    response = await stage_client.post(USERS_URL, json=_user(username, password, email))
    assert response.status_code == 409
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "username": "alice", "password": "long-enough"}, "email"),
        ({"email": "a@example.com", "username": "al", "password": "long-enough"}, "username"),
        ({"email": "a@example.com", "username": "alice", "password": "short"}, "password"),
        ({"email": "a@example.com", "username": "alice"}, "password"),
        (
            {
                "email": "a@example.com",
                "username": "alice",
                "password": "long-enough",
                "is_superuser": True,
            },
            "is_superuser",
        ),
    ],
)
async def test_invalid_bodies_are_422_and_create_nothing(
    stage_client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await stage_client.post(USERS_URL, json=body)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    valid = {"email": "a@example.com", "username": "alice", "password": "long-enough"}
    assert (await stage_client.post(USERS_URL, json=valid)).status_code == 201


async def test_health_reports_the_database(stage_client: httpx.AsyncClient) -> None:
    response = await stage_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "database")} == {
        "status": "healthy",
        "database": "ok",
    }


async def test_oversized_body_is_413(stage_client: httpx.AsyncClient, stage_settings: Any) -> None:
    limit = stage_settings.max_body_bytes
    body = {"email": "big@example.com", "username": "big", "password": "x" * (limit + 1)}
    response = await stage_client.post(USERS_URL, json=body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large"}


async def test_docs_page_loads_nothing_from_outside(stage_client: httpx.AsyncClient) -> None:
    page = await stage_client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    for source in sources:
        assert (await stage_client.get(source)).status_code == 200, source


async def test_cors_allows_only_configured_origins(stage_client: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await stage_client.options(
        USERS_URL, headers=preflight | {"Origin": "http://localhost:3000"}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    refused = await stage_client.options(
        USERS_URL, headers=preflight | {"Origin": "https://evil.example"}
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers


async def test_openapi_documents_registration_conflicts(stage_client: httpx.AsyncClient) -> None:
    spec = (await stage_client.get("/openapi.json")).json()
    responses = spec["paths"]["/api/v1/users/"]["post"]["responses"]
    assert {"201", "409", "422"} <= set(responses)
    schemas = spec["components"]["schemas"]
    assert "password" not in schemas["UserResponse"]["properties"]


async def test_the_unexpected_is_json_and_unparsable_bodies_are_422(stage_settings: Any) -> None:
    from app.main import create_app

    app = create_app(stage_settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with AppClient(app) as client:
        failed = await client.get("/boom")
        unparsable = await client.post(
            "/api/v1/users/", content=b"\xff\xfe", headers={"Content-Type": "application/json"}
        )
    assert failed.status_code == 500
    assert failed.json() == {"detail": "Internal server error"}
    assert unparsable.status_code == 422
