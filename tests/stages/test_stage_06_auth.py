"""Stage 06 — authentication: logins, tokens, permissions, items and the login rate limit."""

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from workshop.appclient import AppClient

TOKEN_URL = "/api/v1/auth/token"
USERS_URL = "/api/v1/users/"
ITEMS_URL = "/api/v1/items/"

# The register and login fixtures (tests/stages/conftest.py): every user has `password`.
Register = Callable[..., Awaitable[dict[str, Any]]]
Login = Callable[..., Awaitable[dict[str, str]]]


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


async def test_login_by_username_and_by_email(
    stage_client: httpx.AsyncClient, register: Register, password: str
) -> None:
    alice = await register("alice")
    for name in ("alice", "ALICE", "alice@example.com"):
        response = await stage_client.post(TOKEN_URL, data={"username": name, "password": password})
        assert response.status_code == 200, name
        body = response.json()
        assert body["token_type"] == "bearer"
        claims = _claims(body["access_token"])
        assert claims["sub"] == str(alice["id"])
        assert claims["type"] == "access"
        assert claims["exp"] > claims["iat"]


async def test_wrong_password_and_unknown_user_get_the_same_401(
    stage_client: httpx.AsyncClient, register: Register, password: str
) -> None:
    await register("alice")
    wrong = await stage_client.post(TOKEN_URL, data={"username": "alice", "password": "nope-nope"})
    unknown = await stage_client.post(TOKEN_URL, data={"username": "nobody", "password": password})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json() == unknown.json()


async def test_me_needs_a_valid_token(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    await register("alice")
    me = await stage_client.get(f"{USERS_URL}me", headers=await login("alice"))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"
    anonymous = await stage_client.get(f"{USERS_URL}me")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


async def test_forged_and_expired_tokens_are_401(
    stage_client: httpx.AsyncClient, register: Register, login: Login, stage_settings: Any
) -> None:
    from app.utils.security import create_access_token

    alice = await register("alice")
    good = (await login("alice"))["Authorization"].removeprefix("Bearer ")
    header, payload, signature = good.split(".")
    secret = stage_settings.jwt_secret
    forged = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "another key": create_access_token(alice["id"], "another-key-" * 4, 30),
        "expired": create_access_token(
            alice["id"], secret, 5, now=datetime.now(UTC) - timedelta(minutes=10)
        ),
        "tampered": f"{header}.{_b64(_claims(good) | {'sub': '1'})}.{signature}",
        "garbage": "not.a.token",
    }
    for name, token in forged.items():
        response = await stage_client.get(
            f"{USERS_URL}me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"] == "Bearer", name


async def test_only_superusers_list_or_read_other_users(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    await register("alice")
    bob = await register("bob")
    alice_headers = await login("alice")
    assert (await stage_client.get(USERS_URL, headers=alice_headers)).status_code == 403
    other = await stage_client.get(f"{USERS_URL}{bob['id']}", headers=alice_headers)
    assert other.status_code == 403
    assert "bob" not in other.text
    assert (await stage_client.get(f"{USERS_URL}{bob['id']}")).status_code == 401
    listed = await stage_client.get(USERS_URL, headers=await login("root"))
    assert listed.status_code == 200
    assert [user["username"] for user in listed.json()] == ["root", "alice", "bob"]


async def test_nobody_makes_themselves_superuser(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    alice = await register("alice")
    headers = await login("alice")
    url = f"{USERS_URL}{alice['id']}"
    response = await stage_client.patch(url, json={"is_superuser": True}, headers=headers)
    assert response.status_code == 403
    assert (await stage_client.get(url, headers=headers)).json()["is_superuser"] is False


def _expect(response: httpx.Response, status: int, what: str) -> None:
    """The API contract's status code, said in words when it is another one."""
    assert response.status_code == status, (
        f"{what} answered {response.status_code}, the API contract says {status}"
    )


async def test_each_item_route_answers_its_documented_status_code(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    await register("alice")
    headers = await login("alice")
    created = await stage_client.post(ITEMS_URL, json={"title": "mine"}, headers=headers)
    _expect(created, 201, "POST /api/v1/items/ (create)")
    url = f"{ITEMS_URL}{created.json()['id']}"
    _expect(await stage_client.get(url, headers=headers), 200, "GET /api/v1/items/{id}")
    _expect(await stage_client.get(ITEMS_URL, headers=headers), 200, "GET /api/v1/items/")
    patch = await stage_client.patch(url, json={"title": "renamed"}, headers=headers)
    _expect(patch, 200, "PATCH /api/v1/items/{id}")
    deleted = await stage_client.delete(url, headers=headers)
    _expect(deleted, 204, "DELETE /api/v1/items/{id}")
    assert deleted.content == b"", "a 204 answer has no body"
    _expect(await stage_client.get(url, headers=headers), 404, "GET of a deleted item")
    _expect(await stage_client.get(ITEMS_URL), 401, "GET /api/v1/items/ without a token")


async def test_someone_elses_item_is_404_and_unchanged(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    await register("alice")
    await register("bob")
    alice_headers, bob_headers = await login("alice"), await login("bob")
    created = await stage_client.post(ITEMS_URL, json={"title": "mine"}, headers=alice_headers)
    _expect(created, 201, "POST /api/v1/items/ (create)")
    url = f"{ITEMS_URL}{created.json()['id']}"
    assert (await stage_client.get(url, headers=bob_headers)).status_code == 404
    patched = await stage_client.patch(url, json={"title": "bob's"}, headers=bob_headers)
    assert patched.status_code == 404
    assert (await stage_client.delete(url, headers=bob_headers)).status_code == 404
    assert (await stage_client.get(ITEMS_URL, headers=bob_headers)).json() == []
    kept = await stage_client.get(url, headers=alice_headers)
    assert kept.status_code == 200
    assert kept.json()["title"] == "mine"


async def test_deleting_a_user_deletes_their_items(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    alice = await register("alice")
    await stage_client.post(ITEMS_URL, json={"title": "note"}, headers=await login("alice"))
    root_headers = await login("root")
    deleted = await stage_client.delete(f"{USERS_URL}{alice['id']}", headers=root_headers)
    _expect(deleted, 204, "DELETE /api/v1/users/{id}")
    assert (await stage_client.get(ITEMS_URL, headers=root_headers)).json() == []


async def test_failed_logins_are_rate_limited(stage_settings: Any, password: str) -> None:
    from app.main import create_app

    strict = stage_settings.model_copy(update={"login_limit_per_account": "3/15 minutes"})
    async with AppClient(create_app(strict)) as client:
        wrong = {"username": "root", "password": "wrong-password"}
        statuses = [(await client.post(TOKEN_URL, data=wrong)).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        right = await client.post(TOKEN_URL, data={"username": "root", "password": password})
    assert right.status_code == 429
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60


async def test_a_password_change_revokes_every_older_token(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    alice = await register("alice")
    old = await login("alice")
    assert _claims(old["Authorization"].split()[1])["gen"] == 0
    changed = await stage_client.patch(
        f"{USERS_URL}{alice['id']}", json={"password": "another-long-one"}, headers=old
    )
    assert changed.status_code == 200
    assert (await stage_client.get(f"{USERS_URL}me", headers=old)).status_code == 401
    form = {"username": "alice", "password": "another-long-one"}
    token = (await stage_client.post(TOKEN_URL, data=form)).json()["access_token"]
    fresh = {"Authorization": f"Bearer {token}"}
    assert (await stage_client.get(f"{USERS_URL}me", headers=fresh)).json()["id"] == alice["id"]


async def test_a_deleted_users_token_does_not_act_as_the_next_account(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    newest = await register("newest")
    token = await login("newest")
    assert (await stage_client.delete(f"{USERS_URL}{newest['id']}", headers=token)).is_success
    stranger = await register("stranger")
    assert stranger["id"] != newest["id"]
    assert (await stage_client.get(f"{USERS_URL}me", headers=token)).status_code == 401


async def test_budgets_key_on_the_account_and_ignore_forged_addresses(stage_settings: Any) -> None:
    from app.main import create_app

    strict = stage_settings.model_copy(update={"login_limit_per_account": "3/15 minutes"})
    for attempts in (
        [("root", {}), ("root@example.com", {}), ("ROOT", {}), ("root", {})],
        [("root", {"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(4)],
    ):
        async with AppClient(create_app(strict)) as client:
            statuses = [
                (
                    await client.post(
                        TOKEN_URL,
                        data={"username": login, "password": "wrong-password"},
                        headers=headers,
                    )
                ).status_code
                for login, headers in attempts
            ]
        assert statuses == [401, 401, 401, 429], attempts


async def test_unknown_names_never_lock_out_a_real_login(
    stage_settings: Any, password: str
) -> None:
    from app.main import create_app

    strict = stage_settings.model_copy(update={"login_limit_unknown_per_ip": "2/15 minutes"})
    async with AppClient(create_app(strict)) as client:
        guesses = [{"username": f"nobody{n}", "password": "guess-1234"} for n in range(3)]
        statuses = [(await client.post(TOKEN_URL, data=g)).status_code for g in guesses]
        right = await client.post(TOKEN_URL, data={"username": "root", "password": password})
    assert statuses == [401, 401, 429]
    assert right.status_code == 200
