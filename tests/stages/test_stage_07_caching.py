"""Stage 07 — caching: cache-aside reads, invalidation, single flight, TTLs and degradation."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from workshop.appclient import AppClient

TOKEN_URL = "/api/v1/auth/token"
USERS_URL = "/api/v1/users/"
ITEMS_URL = "/api/v1/items/"
Login = Callable[..., Awaitable[dict[str, str]]]  # the new_user and login fixtures
NOWHERE = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connections are refused


@contextmanager
def item_queries(app: Any) -> Iterator[list[str]]:
    """Collect the SQL statements that read the items table while the block runs."""
    from sqlalchemy import event

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


async def _item(client: httpx.AsyncClient, headers: dict[str, str], title: str = "book") -> int:
    created = await client.post(ITEMS_URL, json={"title": title}, headers=headers)
    assert created.status_code == 201, created.text
    item_id: int = created.json()["id"]
    return item_id


def _item_response(item_id: int) -> Any:
    from app.schemas.item import ItemResponse

    return ItemResponse.model_validate(
        {"id": item_id, "title": "t", "description": None, "owner_id": 1,
         "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    )  # fmt: skip


async def test_a_hit_does_not_query_the_items_table(
    stage_client: AppClient, new_user: Login
) -> None:
    app, client = stage_client.app, stage_client
    alice = await new_user("alice")
    url = f"{ITEMS_URL}{await _item(client, alice)}"
    with item_queries(app) as miss_queries:
        miss = await client.get(url, headers=alice)
    with item_queries(app) as hit_queries:
        hit = await client.get(url, headers=alice)
    assert miss.status_code == hit.status_code == 200
    assert hit.json() == miss.json()
    assert len(miss_queries) == 1
    assert hit_queries == []


async def test_an_authenticated_hit_makes_no_query_at_all(
    stage_client: AppClient, new_user: Login
) -> None:
    """The token's user is a cached principal too: GET /users/me and a cached item, no SQL."""
    from sqlalchemy import event

    app, client = stage_client.app, stage_client
    alice = await new_user("alice")
    url = f"{ITEMS_URL}{await _item(client, alice)}"
    for path in (url, f"{USERS_URL}me"):
        assert (await client.get(path, headers=alice)).status_code == 200
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    engine = app.state.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for path in (url, f"{USERS_URL}me"):
            assert (await client.get(path, headers=alice)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert seen == []


async def test_deactivating_a_cached_user_refuses_their_next_request(
    stage_client: AppClient, new_user: Login, login: Login
) -> None:
    client = stage_client
    alice = await new_user("alice")
    me = (await client.get(f"{USERS_URL}me", headers=alice)).json()  # the principal is cached
    root = await login("root")
    off = await client.patch(f"{USERS_URL}{me['id']}", json={"is_active": False}, headers=root)
    assert off.status_code == 200
    assert (await client.get(f"{USERS_URL}me", headers=alice)).status_code == 401


async def test_keys_are_namespaced_versioned_and_expire(
    stage_client: AppClient, new_user: Login
) -> None:
    from app.cache import cache_key
    from app.schemas.item import ItemResponse

    app, client = stage_client.app, stage_client
    alice = await new_user("alice")
    item_id = await _item(client, alice)
    await client.get(f"{ITEMS_URL}{item_id}", headers=alice)
    key = f"kit:v1:item:{item_id}"
    assert cache_key("item", item_id) == key
    backend = app.state.resources.cache.backend
    stored = await backend.get(key)
    assert stored is not None
    assert ItemResponse.model_validate_json(stored).id == item_id
    ttl = await backend.ttl(key)
    assert ttl is not None and 0 < ttl <= 330


async def test_patch_and_delete_invalidate(stage_client: AppClient, new_user: Login) -> None:
    client = stage_client
    alice = await new_user("alice")
    url = f"{ITEMS_URL}{await _item(client, alice, 'draft')}"
    assert (await client.get(url, headers=alice)).json()["title"] == "draft"  # now cached
    patched = await client.patch(url, json={"title": "final"}, headers=alice)
    assert patched.status_code == 200
    assert (await client.get(url, headers=alice)).json()["title"] == "final"
    assert (await client.delete(url, headers=alice)).status_code == 204
    assert (await client.get(url, headers=alice)).status_code == 404


async def test_deleting_a_user_drops_their_cached_items(
    stage_client: AppClient, new_user: Login, login: Login
) -> None:
    from app.cache import cache_key

    app, client = stage_client.app, stage_client
    alice = await new_user("alice")
    root = await login("root")
    item_id = await _item(client, alice)
    assert (await client.get(f"{ITEMS_URL}{item_id}", headers=root)).status_code == 200
    me = (await client.get(f"{USERS_URL}me", headers=alice)).json()
    assert (await client.delete(f"{USERS_URL}{me['id']}", headers=root)).status_code == 204
    assert await app.state.resources.cache.backend.get(cache_key("item", item_id)) is None
    assert (await client.get(f"{ITEMS_URL}{item_id}", headers=root)).status_code == 404


async def test_someone_elses_cached_item_is_404(stage_client: AppClient, new_user: Login) -> None:
    client = stage_client
    alice = await new_user("alice")
    bob = await new_user("bob")
    url = f"{ITEMS_URL}{await _item(client, alice)}"
    assert (await client.get(url, headers=alice)).status_code == 200  # now cached
    for _ in range(2):
        refused = await client.get(url, headers=bob)
        assert refused.status_code == 404
        assert refused.json() == {"detail": "Item not found"}


async def test_fifty_concurrent_reads_of_a_cold_item_load_it_once(
    stage_client: AppClient, new_user: Login
) -> None:
    app, client = stage_client.app, stage_client
    alice = await new_user("alice")
    url = f"{ITEMS_URL}{await _item(client, alice)}"
    with item_queries(app) as loads:
        responses = await asyncio.gather(*(client.get(url, headers=alice) for _ in range(50)))
    assert {response.status_code for response in responses} == {200}
    assert len(loads) == 1


async def test_get_or_load_shares_one_load_between_concurrent_callers() -> None:
    from app.cache import Cache, MemoryBackend
    from app.schemas.item import ItemResponse

    calls = 0

    async def load() -> Any:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)  # a slow database: every caller arrives during the load
        return _item_response(7)

    cache = Cache(MemoryBackend())
    results = await asyncio.gather(
        *(cache.get_or_load("kit:v1:item:7", ItemResponse, load) for _ in range(50))
    )
    assert calls == 1
    assert {result.id for result in results if result is not None} == {7}
    assert await cache.get_or_load("kit:v1:item:7", ItemResponse, load) == results[0]
    assert calls == 1  # the second round was a hit


def test_entry_ttl_is_the_ttl_give_or_take_ten_percent() -> None:
    from app.cache import Cache, MemoryBackend

    cache = Cache(MemoryBackend(), ttl=300, jitter=0.1)
    ttls = [cache.entry_ttl() for _ in range(500)]
    assert all(270 <= ttl <= 330 for ttl in ttls)
    assert len(set(ttls)) > 10  # spread out, not one fixed value


async def test_health_reports_the_memory_cache(stage_client: AppClient) -> None:
    client = stage_client
    health = await client.get("/health")
    assert health.status_code == 200
    assert health.json() == {"status": "healthy", "database": "ok", "cache": "memory"}


async def test_an_unreachable_redis_degrades_but_requests_succeed(
    stage_settings: Any, new_user: Login
) -> None:
    from app.main import create_app

    unreachable = stage_settings.model_copy(update={"redis_url": NOWHERE})
    async with AppClient(create_app(unreachable)) as client:
        alice = await new_user("alice", client=client)
        url = f"{ITEMS_URL}{await _item(client, alice, 'draft')}"
        reads = [await client.get(url, headers=alice) for _ in range(3)]
        patched = await client.patch(url, json={"title": "final"}, headers=alice)
        fresh = await client.get(url, headers=alice)
        health = await client.get("/health")
    assert [read.status_code for read in reads] == [200, 200, 200]
    assert patched.status_code == 200 and fresh.json()["title"] == "final"
    assert health.status_code == 200
    assert health.json() == {"status": "healthy", "database": "ok", "cache": "degraded"}
