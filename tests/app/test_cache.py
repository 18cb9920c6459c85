"""The cache: both backends, cache-aside reads, invalidation, stampedes and Redis outages."""

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from fastapi import FastAPI
from sqlalchemy import event

from app.cache import Cache, MemoryBackend, cache_key
from app.config import Settings
from app.main import create_app
from app.schemas.item import ItemResponse
from tests.conftest import PASSWORD, login_user, register_user
from tests.servers import free_port, redis_server
from workshop.appclient import AppClient

NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused


@pytest.fixture(params=["memory", "redis"])
def cache_url(request: pytest.FixtureRequest) -> str | None:
    return None if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def http(settings: Settings, cache_url: str | None) -> AsyncIterator[AppClient]:
    async with AppClient(create_app(settings.model_copy(update={"redis_url": cache_url}))) as c:
        yield c


@pytest.fixture
def cached_app(http: AppClient) -> FastAPI:
    app: FastAPI = http.app
    return app


@contextmanager
def item_queries(app: FastAPI) -> Iterator[list[str]]:
    """Collect the SQL statements that read the items table while the block runs."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "FROM items" in statement:
            seen.append(statement)

    engine = app.state.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _user(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    """Register `name`; return their Authorization header."""
    await register_user(http, name)
    return await login_user(http, name)


async def _item(http: httpx.AsyncClient, headers: dict[str, str], title: str = "book") -> int:
    created = await http.post("/api/v1/items/", json={"title": title}, headers=headers)
    item_id: int = created.json()["id"]
    return item_id


async def test_a_hit_does_not_touch_the_database(
    http: httpx.AsyncClient, cached_app: FastAPI
) -> None:
    alice = await _user(http, "alice")
    item_id = await _item(http, alice)
    with item_queries(cached_app) as first:
        miss = await http.get(f"/api/v1/items/{item_id}", headers=alice)
    with item_queries(cached_app) as second:
        hit = await http.get(f"/api/v1/items/{item_id}", headers=alice)
    assert miss.status_code == hit.status_code == 200
    assert miss.json() == hit.json()
    assert len(first) == 1 and second == []


async def test_keys_are_namespaced_versioned_and_expire(
    http: httpx.AsyncClient, cached_app: FastAPI
) -> None:
    alice = await _user(http, "alice")
    item_id = await _item(http, alice)
    await http.get(f"/api/v1/items/{item_id}", headers=alice)
    backend = cached_app.state.resources.cache.backend
    key = f"kit:v1:item:{item_id}"
    assert key == cache_key("item", item_id)
    stored = await backend.get(key)
    assert stored is not None
    assert ItemResponse.model_validate_json(stored).id == item_id
    ttl = await backend.ttl(key)
    assert ttl is not None and 0 < ttl <= 330


async def test_writes_invalidate_so_reads_are_fresh(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    alice = await _user(http, "alice")
    root = await _user(http, "carol")
    item_id = await _item(http, alice, "draft")
    url = f"/api/v1/items/{item_id}"
    assert (await http.get(url, headers=alice)).json()["title"] == "draft"
    await http.patch(url, json={"title": "final"}, headers=alice)
    assert (await http.get(url, headers=alice)).json()["title"] == "final"
    assert (await http.delete(url, headers=alice)).status_code == 204
    assert (await http.get(url, headers=alice)).status_code == 404

    me = (await http.get("/api/v1/users/me", headers=alice)).json()
    user_url = f"/api/v1/users/{me['id']}"
    assert (await http.get(user_url, headers=alice)).json()["username"] == "alice"
    await http.patch(user_url, json={"username": "alicia"}, headers=alice)
    assert (await http.get(user_url, headers=alice)).json()["username"] == "alicia"
    assert (await http.get(user_url, headers=root)).status_code == 403


async def test_deleting_a_user_drops_their_cached_items(http: httpx.AsyncClient) -> None:
    alice = await _user(http, "alice")
    root_token = await http.post(
        "/api/v1/auth/token", data={"username": "root", "password": PASSWORD}
    )
    root = {"Authorization": f"Bearer {root_token.json()['access_token']}"}
    item_id = await _item(http, alice)
    assert (await http.get(f"/api/v1/items/{item_id}", headers=root)).status_code == 200
    me = (await http.get("/api/v1/users/me", headers=alice)).json()
    assert (await http.delete(f"/api/v1/users/{me['id']}", headers=alice)).status_code == 204
    assert (await http.get(f"/api/v1/items/{item_id}", headers=root)).status_code == 404


async def test_permissions_are_checked_on_every_hit(http: httpx.AsyncClient) -> None:
    alice = await _user(http, "alice")
    bob = await _user(http, "bob")
    item_id = await _item(http, alice)
    url = f"/api/v1/items/{item_id}"
    assert (await http.get(url, headers=alice)).status_code == 200  # now cached
    for _ in range(2):
        refused = await http.get(url, headers=bob)
        assert refused.status_code == 404 and refused.json() == {"detail": "Item not found"}


async def test_fifty_concurrent_reads_of_a_cold_key_load_once(
    http: httpx.AsyncClient, cached_app: FastAPI
) -> None:
    alice = await _user(http, "alice")
    item_id = await _item(http, alice)
    with item_queries(cached_app) as loads:
        responses = await asyncio.gather(
            *(http.get(f"/api/v1/items/{item_id}", headers=alice) for _ in range(50))
        )
    assert {r.status_code for r in responses} == {200}
    assert len(loads) == 1


async def test_single_flight_shares_one_load() -> None:
    calls = 0

    async def load() -> ItemResponse:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return ItemResponse.model_validate(
            {"id": 1, "title": "t", "description": None, "owner_id": 1,
             "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
        )  # fmt: skip

    cache = Cache(MemoryBackend())
    results = await asyncio.gather(
        *(cache.get_or_load("kit:v1:item:1", ItemResponse, load) for _ in range(50))
    )
    assert calls == 1 and len({r.id for r in results if r}) == 1
    assert await cache.get_or_load("kit:v1:item:1", ItemResponse, load) == results[0]
    assert calls == 1


def test_ttl_has_jitter() -> None:
    cache = Cache(MemoryBackend(), ttl=300, jitter=0.1)
    ttls = {cache.entry_ttl() for _ in range(200)}
    assert min(ttls) >= 270 and max(ttls) <= 330 and len(ttls) > 10


async def test_memory_backend_expires_and_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("app.cache.time.monotonic", lambda: now[0])
    backend = MemoryBackend(max_entries=3)
    await backend.set("a", "1", ttl=10)
    now[0] += 11
    assert await backend.get("a") is None
    for key in "bcde":
        await backend.set(key, key, ttl=10)
    assert await backend.get("b") is None  # the least recently used went first
    assert [await backend.get(k) for k in "cde"] == ["c", "d", "e"]


async def test_unreachable_redis_at_start_up_degrades(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app")
    async with AppClient(create_app(settings.model_copy(update={"redis_url": NOWHERE}))) as http:
        alice = await _user(http, "alice")
        item_id = await _item(http, alice)
        for _ in range(5):
            started = time.monotonic()
            response = await http.get(f"/api/v1/items/{item_id}", headers=alice)
            assert response.status_code == 200
            assert time.monotonic() - started < 1.0
        health = await http.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "healthy", "database": "ok", "cache": "degraded"}
    cache_warnings = [r for r in caplog.records if r.name == "app.cache"]
    assert len(cache_warnings) == 1 and cache_warnings[0].exc_info is None


async def test_redis_going_away_and_coming_back(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    app = create_app(settings.model_copy(update={"redis_url": url, "cache_retry_seconds": 0.5}))
    first_server = redis_server(port)
    first_server.__enter__()
    async with AppClient(app) as http:
        try:
            alice = await _user(http, "alice")
            item_id = await _item(http, alice)
            item_url = f"/api/v1/items/{item_id}"
            assert (await http.get(item_url, headers=alice)).status_code == 200
            assert (await http.get("/health")).json()["cache"] == "ok"
        finally:
            first_server.__exit__(None, None, None)
        # Redis is gone: every request still succeeds, each within the socket timeout.
        for title in ("one", "two"):
            started = time.monotonic()
            patched = await http.patch(item_url, json={"title": title}, headers=alice)
            assert time.monotonic() - started < 1.0  # at most one socket timeout (0.5 s)
            started = time.monotonic()
            read = await http.get(item_url, headers=alice)
            assert time.monotonic() - started < 1.0
            assert patched.status_code == read.status_code == 200
            assert read.json()["title"] == title
        assert (await http.get("/health")).json()["cache"] == "degraded"
        with redis_server(port):
            deadline = time.monotonic() + 10
            while (await http.get("/health")).json()["cache"] != "ok":
                assert time.monotonic() < deadline, "caching did not resume"
                await asyncio.sleep(0.2)
            with item_queries(app) as loads:
                await http.get(item_url, headers=alice)
                await http.get(item_url, headers=alice)
            assert len(loads) == 1  # cached again after the first read
    messages = [r.getMessage() for r in caplog.records if r.name == "app.cache"]
    assert len(messages) == 2, messages  # one warning down, one when back
    assert "Redis unavailable" in messages[0] and "caching resumed" in messages[1]


async def test_invalidations_missed_during_an_outage_are_replayed(
    settings: Settings, redis_url: str
) -> None:
    """A write while Redis stalls cannot delete the old entry; it is deleted once Redis answers."""
    app = create_app(
        settings.model_copy(update={"redis_url": redis_url, "cache_retry_seconds": 0.3})
    )
    admin = redis.Redis.from_url(redis_url)
    async with AppClient(app) as http:
        alice = await _user(http, "alice")
        item_id = await _item(http, alice, "old")
        item_url = f"/api/v1/items/{item_id}"
        assert (await http.get(item_url, headers=alice)).json()["title"] == "old"
        await admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
        patched = await http.patch(item_url, json={"title": "new"}, headers=alice)
        assert patched.status_code == 200
        await asyncio.sleep(1.6)  # the pause is over; the old entry is still in Redis
        deadline = time.monotonic() + 10
        while (await http.get(item_url, headers=alice)).json()["title"] != "new":
            assert time.monotonic() < deadline, "stale entry never replaced"
            await asyncio.sleep(0.1)
    await admin.aclose()


async def test_login_counters_are_shared_through_redis(settings: Settings, redis_url: str) -> None:
    strict = settings.model_copy(
        update={"redis_url": redis_url, "login_limit_per_account": "3/15 minutes"}
    )
    address = ("198.51.100.7", 1)
    async with (
        AppClient(create_app(strict), client_address=address) as first,
        AppClient(create_app(strict), client_address=address) as second,
    ):
        wrong = {"username": "root", "password": "wrong-password"}
        statuses = [
            (await (first, second)[n % 2].post("/api/v1/auth/token", data=wrong)).status_code
            for n in range(4)
        ]
    assert statuses == [401, 401, 401, 429]  # one budget across both "workers"


async def test_login_limit_falls_back_to_memory_when_redis_is_down(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app")
    strict = settings.model_copy(
        update={"redis_url": NOWHERE, "login_limit_per_account": "2/15 minutes"}
    )
    async with AppClient(create_app(strict)) as http:
        wrong = {"username": "root", "password": "wrong-password"}
        statuses = [
            (await http.post("/api/v1/auth/token", data=wrong)).status_code for _ in range(3)
        ]
        good = await http.post(
            "/api/v1/auth/token", data={"username": "root", "password": PASSWORD}
        )
    assert statuses == [401, 401, 429]
    assert good.status_code == 429
    limiter_warnings = [r for r in caplog.records if r.name == "app.rate_limit"]
    assert len(limiter_warnings) == 1
