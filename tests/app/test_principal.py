"""The principal: who a token names, cached; ids never reused; tokens revoked by their user."""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from app.config import Settings
from app.main import create_app
from tests.conftest import Login, Register, login_user, register_user
from workshop.appclient import AppClient

NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@contextmanager
def queries(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = app.state.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with AppClient(create_app(settings)) as http:
        yield http.app, http


_token = login_user


async def _register(http: httpx.AsyncClient, name: str) -> int:
    user_id = (await register_user(http, name))["id"]
    assert isinstance(user_id, int)
    return user_id


# -- ids never reused, tokens that die with their user (issue 10.1), on both databases --------


async def test_a_deleted_users_token_never_acts_as_the_next_account(
    client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    """The attack: delete the newest account, register again, use the old token."""
    mallory = await register("mallory")
    old_token = await login("mallory")
    gone = await client.delete(f"/api/v1/users/{mallory['id']}", headers=old_token)
    assert gone.status_code == 204
    victim = await register("victim")
    assert victim["id"] != mallory["id"]  # ids are never handed out twice
    for method, url, body in (
        ("GET", "/api/v1/users/me", None),
        ("PATCH", f"/api/v1/users/{victim['id']}", {"password": "taken-over-now"}),
        ("GET", f"/api/v1/users/{mallory['id']}", None),
    ):
        response = await client.request(method, url, json=body, headers=old_token)
        assert response.status_code == 401, (method, url, response.text)
    assert (await client.get("/api/v1/users/me", headers=await login("victim"))).json()[
        "username"
    ] == "victim"


async def test_item_ids_are_never_reused_either(
    client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    await register("alice")
    alice = await login("alice")
    first = (await client.post("/api/v1/items/", json={"title": "a"}, headers=alice)).json()
    await client.delete(f"/api/v1/items/{first['id']}", headers=alice)
    second = (await client.post("/api/v1/items/", json={"title": "b"}, headers=alice)).json()
    assert second["id"] > first["id"]


async def test_a_token_issued_before_a_password_change_stops_working(
    client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    alice = await register("alice")
    before = await login("alice")
    assert (await client.get("/api/v1/users/me", headers=before)).status_code == 200  # cached
    changed = await client.patch(
        f"/api/v1/users/{alice['id']}", json={"password": "a-brand-new-one"}, headers=before
    )
    assert changed.status_code == 200
    refused = await client.get("/api/v1/users/me", headers=before)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    after = await _token(client, "alice", "a-brand-new-one")
    assert (await client.get("/api/v1/users/me", headers=after)).json()["id"] == alice["id"]
    # Other changes (a new username) do not log anyone out.
    renamed = await client.patch(
        f"/api/v1/users/{alice['id']}", json={"username": "alicia"}, headers=after
    )
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/users/me", headers=after)).json()["username"] == "alicia"


async def test_reactivation_does_not_revive_old_tokens(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    old = await login("alice")
    url = f"/api/v1/users/{alice['id']}"
    assert (await client.patch(url, json={"is_active": False}, headers=root_headers)).is_success
    assert (await client.patch(url, json={"is_active": True}, headers=root_headers)).is_success
    assert (await client.get("/api/v1/users/me", headers=old)).status_code == 401
    assert (await client.get("/api/v1/users/me", headers=await login("alice"))).is_success


# -- the hot path: zero queries on a hit ------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def cache_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else str(request.getfixturevalue("redis_url"))


async def test_a_cached_authenticated_read_makes_no_query(
    settings: Settings, cache_url: str | None
) -> None:
    async with running(settings.model_copy(update={"redis_url": cache_url})) as (app, http):
        await _register(http, "alice")
        alice = await _token(http, "alice")
        item = await http.post("/api/v1/items/", json={"title": "book"}, headers=alice)
        item_url = f"/api/v1/items/{item.json()['id']}"
        with queries(app) as cold:
            first = [await http.get(url, headers=alice) for url in (item_url, "/api/v1/users/me")]
        with queries(app) as hot:
            again = [await http.get(url, headers=alice) for url in (item_url, "/api/v1/users/me")]
    assert [r.json() for r in first] == [r.json() for r in again]
    assert all(r.status_code == 200 for r in first + again)
    assert cold, "the first reads load from the database"
    assert hot == []


async def test_with_redis_down_the_principal_comes_from_the_database(settings: Settings) -> None:
    async with running(settings.model_copy(update={"redis_url": NOWHERE})) as (app, http):
        alice_id = await _register(http, "alice")
        alice = await _token(http, "alice")
        for _ in range(2):
            with queries(app) as seen:
                me = await http.get("/api/v1/users/me", headers=alice)
            assert me.status_code == 200 and me.json()["id"] == alice_id
            assert seen  # nothing cached: every request asks the database
        root = await _token(http, "root")
        off = await http.patch(f"/api/v1/users/{alice_id}", json={"is_active": False}, headers=root)
        assert off.status_code == 200
        assert (await http.get("/api/v1/users/me", headers=alice)).status_code == 401


# -- every worker sees a change on the next request (Redis shared) -----------------------------


async def test_changes_reach_every_worker_on_the_next_request(
    settings: Settings, redis_url: str
) -> None:
    """Two app instances (two workers) on one database and one Redis: a change made through
    one is what the other enforces on its very next request, though it had cached the user."""
    shared = settings.model_copy(update={"redis_url": redis_url})
    async with running(shared) as (_, one), running(shared) as (two_app, two):
        alice_id = await _register(one, "alice")
        bob_id = await _register(one, "bob")
        root = await _token(one, "root")
        alice, bob = await _token(one, "alice"), await _token(one, "bob")
        # Worker two caches both principals; its hits make no query.
        for headers in (alice, bob):
            assert (await two.get("/api/v1/users/me", headers=headers)).status_code == 200
        with queries(two_app) as seen:
            assert (await two.get("/api/v1/users/", headers=alice)).status_code == 403
        assert seen == []

        promote = await one.patch(
            f"/api/v1/users/{alice_id}", json={"is_superuser": True}, headers=root
        )
        assert promote.status_code == 200
        assert (await two.get("/api/v1/users/", headers=alice)).status_code == 200

        off = await one.patch(f"/api/v1/users/{alice_id}", json={"is_active": False}, headers=root)
        assert off.status_code == 200
        assert (await two.get("/api/v1/users/me", headers=alice)).status_code == 401

        assert (await one.delete(f"/api/v1/users/{bob_id}", headers=root)).status_code == 204
        assert (await two.get("/api/v1/users/me", headers=bob)).status_code == 401


async def test_the_cached_principal_never_holds_the_hash(
    settings: Settings, redis_url: str
) -> None:
    import redis.asyncio as redis

    async with running(settings.model_copy(update={"redis_url": redis_url})) as (_, http):
        alice_id = await _register(http, "alice")
        await http.get("/api/v1/users/me", headers=await _token(http, "alice"))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stored = await client.get(f"kit:v1:principal:{alice_id}")
    await client.aclose()
    assert stored is not None and '"token_generation":0' in stored
    assert "argon2" not in stored and "password" not in stored


def test_every_dependency_runs_on_the_event_loop() -> None:
    """FastAPI runs a `def` dependency in a worker thread: on a cached read, those hops were
    most of the time. Every dependency the app declares is `async def`."""
    import inspect

    from app import dependencies

    functions = [
        value
        for name, value in vars(dependencies).items()
        if name.startswith("get_")
        and inspect.isfunction(value)
        and value is not dependencies.get_db
    ]
    assert len(functions) >= 7
    assert all(inspect.iscoroutinefunction(f) for f in functions), functions
    assert inspect.isasyncgenfunction(dependencies.get_db)
