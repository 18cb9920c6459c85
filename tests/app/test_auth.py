"""Login, tokens and the failed-login rate limit."""

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from jose import jwt

from app.config import Settings
from app.main import create_app
from app.utils import security
from app.utils.security import AccessClaims, create_access_token, decode_access_token
from tests.conftest import PASSWORD, Login, Register
from workshop.appclient import AppClient

TOKEN_URL = "/api/v1/auth/token"


async def test_login_by_username_or_email(client: httpx.AsyncClient, register: Register) -> None:
    user = await register("alice")
    for login in ("alice", "ALICE", "alice@example.com", "Alice@Example.com"):
        response = await client.post(TOKEN_URL, data={"username": login, "password": PASSWORD})
        assert response.status_code == 200, login
        body = response.json()
        assert body["token_type"] == "bearer"
        claims = jwt.get_unverified_claims(body["access_token"])
        assert claims["sub"] == str(user["id"])
        assert claims["type"] == "access"
        assert claims["exp"] - claims["iat"] == 30 * 60


async def test_failures_look_the_same(client: httpx.AsyncClient, register: Register) -> None:
    await register("alice")
    wrong = await client.post(TOKEN_URL, data={"username": "alice", "password": "wrong-password"})
    unknown = await client.post(TOKEN_URL, data={"username": "nobody", "password": PASSWORD})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json() == unknown.json() == {"detail": "Incorrect username or password"}
    missing_field = await client.post(TOKEN_URL, data={"username": "alice"})
    assert missing_field.status_code == 422


async def test_unknown_user_costs_a_real_verify(
    client: httpx.AsyncClient, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    await register("alice")
    verified: list[str] = []
    real_verify = security.pwd_context.verify

    def counting_verify(secret: str, hashed: str) -> bool:
        verified.append(hashed)
        return bool(real_verify(secret, hashed))

    monkeypatch.setattr(security.pwd_context, "verify", counting_verify)
    await client.post(TOKEN_URL, data={"username": "alice", "password": "wrong-password"})
    await client.post(TOKEN_URL, data={"username": "nobody", "password": "wrong-password"})
    assert len(verified) == 2
    # Both were argon2 hashes with the same parameters: the same work for both answers.
    params = [h.split("$")[3] for h in verified]
    assert params[0] == params[1] and verified[0].startswith("$argon2id$")


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _forged_tokens(user_id: int, secret: str) -> dict[str, str]:
    now = datetime.now(UTC)
    good = create_access_token(user_id, secret, 30)
    header, payload, signature = good.split(".")
    claims = jwt.get_unverified_claims(good)
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "wrong key": create_access_token(user_id, "another-key-of-32-characters-long!!", 30),
        "expired": create_access_token(user_id, secret, 5, now=now - timedelta(minutes=10)),
        "tampered payload": f"{header}.{_b64(claims | {'sub': '1'})}.{signature}",
        "refresh type": jwt.encode(claims | {"type": "refresh"}, secret, algorithm="HS256"),
        "no exp": jwt.encode({"sub": str(user_id), "type": "access"}, secret, algorithm="HS256"),
        "sub not a number": jwt.encode(claims | {"sub": "alice"}, secret, algorithm="HS256"),
        "HS512": jwt.encode(claims, secret, algorithm="HS512"),
        "garbage": "not.a.token",
    }


async def test_forged_and_stale_tokens_are_401(
    client: httpx.AsyncClient, register: Register, settings: Settings
) -> None:
    user = await register("alice")
    assert isinstance(user["id"], int) and user["id"] != 1  # root is user 1
    for name, token in _forged_tokens(user["id"], settings.jwt_secret).items():
        response = await client.get(
            "/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 401, name
        assert response.headers["WWW-Authenticate"] == "Bearer", name
        assert response.json() == {"detail": "Could not validate credentials"}, name


async def test_token_of_a_deleted_user_is_401(
    client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    user = await register("alice")
    headers = await login("alice")
    assert (await client.delete(f"/api/v1/users/{user['id']}", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401


async def test_missing_token_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}


def test_decode_round_trip() -> None:
    secret = "k" * 40
    assert decode_access_token(create_access_token(42, secret, 5), secret) == (42, 0)
    token = create_access_token(42, secret, 5, generation=3)
    assert decode_access_token(token, secret) == AccessClaims(user_id=42, generation=3)


@pytest.fixture
async def limited_app(settings: Settings) -> AsyncIterator[FastAPI]:
    strict = settings.model_copy(
        update={
            "login_limit_per_account": "3/15 minutes",
            "login_limit_per_ip": "5/15 minutes",
            "login_limit_unknown_per_ip": "5/15 minutes",
        }
    )
    async with AppClient(create_app(strict)) as running:
        yield running.app


def _client(app: FastAPI, ip: str) -> httpx.AsyncClient:
    """Another client of the running app, calling from `ip`."""
    return AppClient(app, client_address=(ip, 40000), lifespan=False)


async def test_failed_logins_are_limited_per_account_and_ip(limited_app: FastAPI) -> None:
    async with (
        _client(limited_app, "198.51.100.7") as attacker,
        _client(limited_app, "198.51.100.8") as elsewhere,
    ):
        await attacker.post(
            "/api/v1/users/",
            json={"email": "alice@example.com", "username": "alice", "password": PASSWORD},
        )
        wrong = {"username": "alice", "password": "wrong-password"}
        statuses = [(await attacker.post(TOKEN_URL, data=wrong)).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        blocked = await attacker.post(TOKEN_URL, data={"username": "alice", "password": PASSWORD})
        assert blocked.status_code == 429  # the right password does not bypass the limit
        retry_after = int(blocked.headers["Retry-After"])
        assert 0 < retry_after <= 15 * 60
        assert blocked.json() == {"detail": "Too many failed login attempts, try again later"}
        # The same account from another address still works: the pair is what is limited.
        ok = await elsewhere.post(TOKEN_URL, data={"username": "alice", "password": PASSWORD})
        assert ok.status_code == 200


async def test_failed_logins_are_limited_per_ip_across_accounts(limited_app: FastAPI) -> None:
    async with _client(limited_app, "198.51.100.9") as sprayer:
        statuses = [
            (
                await sprayer.post(
                    TOKEN_URL, data={"username": f"user{n}", "password": "guess-123"}
                )
            ).status_code
            for n in range(6)
        ]
    assert statuses == [401] * 5 + [429]


async def test_successful_logins_never_count(limited_app: FastAPI) -> None:
    async with _client(limited_app, "198.51.100.10") as user:
        await user.post(
            "/api/v1/users/",
            json={"email": "bob@example.com", "username": "bob", "password": PASSWORD},
        )
        good = {"username": "bob", "password": PASSWORD}
        statuses = [(await user.post(TOKEN_URL, data=good)).status_code for _ in range(8)]
        assert statuses == [200] * 8


async def test_passwords_are_kept_exactly_as_typed(client: httpx.AsyncClient) -> None:
    spaced = "  correct horse  "
    body = {"email": "sp@example.com", "username": "spacey", "password": spaced}
    assert (await client.post("/api/v1/users/", json=body)).status_code == 201
    ok = await client.post(TOKEN_URL, data={"username": "spacey", "password": spaced})
    assert ok.status_code == 200
    trimmed = await client.post(TOKEN_URL, data={"username": "spacey", "password": spaced.strip()})
    assert trimmed.status_code == 401


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    """Verified tokens are remembered (verifying costs more than a cached read), but `exp`
    is checked on every use."""
    import time

    from app.exceptions import InvalidCredentials

    secret = "r" * 40
    token = create_access_token(7, secret, 5)
    assert decode_access_token(token, secret) == (7, 0)  # verified, now remembered
    later = time.time() + 6 * 60
    monkeypatch.setattr("app.utils.security.time.time", lambda: later)
    with pytest.raises(InvalidCredentials):
        decode_access_token(token, secret)
    with pytest.raises(InvalidCredentials):  # and another key never matches a remembered one
        decode_access_token(create_access_token(7, secret, 30), "another-key-" * 4)
