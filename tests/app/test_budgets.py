"""Login and registration budgets that cannot be sidestepped: forged X-Forwarded-For, the
username/email pair, many addresses, unknown names, and a registration flood."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD
from tests.servers import serve
from workshop.appclient import AppClient

TOKEN_URL = "/api/v1/auth/token"
WRONG = "wrong-password"


def _client(app: FastAPI, ip: str, **headers: str) -> AppClient:
    """Another caller, from `ip`, of an app whose lifespan is already running."""
    client = AppClient(app, client_address=(ip, 40000), lifespan=False)
    client.headers.update(headers)
    return client


@pytest.fixture
async def strict(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings.model_copy(
            update={
                "login_limit_per_account": "3/15 minutes",
                "login_limit_per_account_any_ip": "4/15 minutes",
                "login_limit_per_ip": "50/15 minutes",
                "login_limit_unknown_per_ip": "3/15 minutes",
                "registration_limit_per_ip": "2/hour",
            }
        )
    )
    async with AppClient(application, client_address=("192.0.2.1", 40000)) as setup:
        for name in ("alice", "bob"):
            body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
            assert (await setup.post("/api/v1/users/", json=body)).status_code == 201
        yield application


async def _statuses(
    client: httpx.AsyncClient, logins: list[str], password: str = WRONG
) -> list[int]:
    return [
        (await client.post(TOKEN_URL, data={"username": login, "password": password})).status_code
        for login in logins
    ]


async def test_a_forged_x_forwarded_for_moves_no_budget(settings: Settings) -> None:
    """Under uvicorn as documented (which believes X-Forwarded-For from loopback by default),
    a new forged address per request still runs out of budget."""
    app = create_app(settings.model_copy(update={"login_limit_per_account": "3/15 minutes"}))
    async with serve(app) as host, httpx.AsyncClient(base_url=f"http://{host}") as http:
        statuses = [
            (
                await http.post(
                    TOKEN_URL,
                    data={"username": "root", "password": WRONG},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
            ).status_code
            for n in range(5)
        ]
    assert statuses == [401, 401, 401, 429, 429]


async def test_a_trusted_proxy_is_believed(settings: Settings) -> None:
    trusting = settings.model_copy(
        update={"forwarded_allow_ips": ["10.0.0.5"], "login_limit_per_account": "2/15 minutes"}
    )
    app = create_app(trusting)
    async with (
        AppClient(app),
        _client(app, "10.0.0.5", **{"X-Forwarded-For": "203.0.113.7"}) as first,
        _client(app, "10.0.0.5", **{"X-Forwarded-For": "203.0.113.8"}) as second,
        _client(app, "10.0.0.6", **{"X-Forwarded-For": "203.0.113.9"}) as untrusted,
    ):
        assert await _statuses(first, ["root"] * 3) == [401, 401, 429]
        # Another client behind the same trusted proxy has a budget of its own...
        assert await _statuses(second, ["root"]) == [401]
        # ...but a peer that is not a trusted proxy is its own address, whatever it says.
        assert await _statuses(untrusted, ["root"] * 3) == [401, 401, 429]


def test_forwarded_allow_ips_reads_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5, 10.1.0.0/16")
    assert Settings(environment="test").forwarded_allow_ips == ["10.0.0.5", "10.1.0.0/16"]
    monkeypatch.delenv("FORWARDED_ALLOW_IPS")
    assert Settings(environment="test").forwarded_allow_ips == []  # trust nobody


async def test_username_and_email_share_one_budget(strict: FastAPI) -> None:
    async with _client(strict, "198.51.100.1") as attacker:
        statuses = await _statuses(attacker, ["alice", "alice@example.com", "ALICE", "alice"])
        assert statuses == [401, 401, 401, 429]
        assert await _statuses(attacker, ["alice@example.com"], PASSWORD) == [429]


async def test_many_addresses_share_the_account_budget(strict: FastAPI) -> None:
    for n in range(4):
        async with _client(strict, f"198.51.100.{10 + n}") as bot:
            assert await _statuses(bot, ["bob"]) == [401]
    async with _client(strict, "198.51.100.99") as bot:
        assert await _statuses(bot, ["bob"]) == [429]
    async with _client(strict, "198.51.100.99") as other:
        assert await _statuses(other, ["alice"], PASSWORD) == [200]  # other accounts unaffected


async def test_unknown_names_do_not_lock_out_a_real_user(strict: FastAPI) -> None:
    async with _client(strict, "198.51.100.50") as office:
        assert await _statuses(office, [f"nobody{n}" for n in range(4)]) == [401, 401, 401, 429]
        # Same address, a real account with the right password: not locked out.
        assert await _statuses(office, ["alice"], PASSWORD) == [200]
        # And the real account's own budget is still whole.
        assert await _statuses(office, ["alice"] * 3) == [401, 401, 401]


async def test_registration_has_a_budget_per_address(strict: FastAPI) -> None:
    def body(name: str) -> dict[str, str]:
        return {"email": f"{name}@example.com", "username": name, "password": PASSWORD}

    async with _client(strict, "192.0.2.1") as flood, _client(strict, "192.0.2.2") as other:
        # The fixture created two accounts from 192.0.2.1: its budget is spent.
        refused = await flood.post("/api/v1/users/", json=body("carol"))
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert refused.json() == {
            "detail": "Too many accounts created from this address, try again later"
        }
        assert (await other.post("/api/v1/users/", json=body("carol"))).status_code == 201
        # A refused (duplicate) registration does not count.
        assert (await other.post("/api/v1/users/", json=body("carol"))).status_code == 409
        assert (await other.post("/api/v1/users/", json=body("dave"))).status_code == 201


async def test_openapi_declares_the_429s(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "429" in paths["/api/v1/users/"]["post"]["responses"]
    assert "429" in paths["/api/v1/auth/token"]["post"]["responses"]
