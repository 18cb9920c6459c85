# Written by notebooks/11_testing.ipynb: edit there, or edit here and run `workshop sync`
"""Registration, tokens and who may read whom."""

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.config import Settings
from app.main import create_app

Register = Callable[[str], Awaitable[dict[str, Any]]]


async def test_register_answers_the_user_without_any_password(
    client: httpx.AsyncClient, password: str
) -> None:
    body = {"email": "Alice@Example.com", "username": "alice", "password": password}
    response = await client.post("/api/v1/users/", json=body)
    assert response.status_code == 201
    user = response.json()
    assert user["email"] == "alice@example.com"  # stored lowercased
    assert "password" not in response.text and "hashed" not in response.text


async def test_a_taken_username_is_409_whatever_its_case(
    client: httpx.AsyncClient, register: Register, password: str
) -> None:
    await register("alice")
    body = {"email": "other@example.com", "username": "ALICE", "password": password}
    response = await client.post("/api/v1/users/", json=body)
    assert response.status_code == 409


async def test_me_without_a_token_is_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_me_with_a_token_is_that_user(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    response = await client.get("/api/v1/users/me", headers=alice)
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


async def test_a_user_cannot_read_another_user(
    client: httpx.AsyncClient, alice: dict[str, str], register: Register
) -> None:
    bob = await register("bob")
    response = await client.get(f"/api/v1/users/{bob['id']}", headers=alice)
    assert response.status_code == 403


async def test_only_a_superuser_lists_users(
    client: httpx.AsyncClient, alice: dict[str, str], root: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/users/", headers=alice)).status_code == 403
    listed = await client.get("/api/v1/users/", headers=root)
    assert sorted(user["username"] for user in listed.json()) == ["alice", "root"]


async def test_registering_sends_a_welcome_mail(outbox: Any, register: Register) -> None:
    await register("alice")  # the background task has run when the response is back
    [message] = outbox.messages
    assert message["To"] == "alice@example.com"


async def test_wrong_passwords_hit_the_login_budget(settings: Settings) -> None:
    # A setting, not an override: the app is built with a budget of 2 failures per account.
    app = create_app(settings.model_copy(update={"login_limit_per_account": "2/15 minutes"}))
    form = {"username": "root", "password": "wrong-password"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            statuses = [(await http.post("/api/v1/auth/token", data=form)).status_code]
            statuses += [(await http.post("/api/v1/auth/token", data=form)).status_code]
            statuses += [(await http.post("/api/v1/auth/token", data=form)).status_code]
    assert statuses == [401, 401, 429]
