"""Checks of the lesson 07 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

TOKEN_URL = "/api/v1/auth/token"
USERS_URL = "/api/v1/users/"
ITEMS_URL = "/api/v1/items/"
STATS_URL = "/api/v1/users/me/stats"


@pytest.fixture
async def running(stage_settings: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The app (in-process cache) with its lifespan running, and a client for it."""
    from app.main import create_app

    app = create_app(stage_settings.model_copy(update={"redis_url": None}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


@contextmanager
def item_queries(app: Any) -> Iterator[list[str]]:
    """The SQL statements reading the items table while the block runs."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "items" in statement.lower():
            seen.append(statement)

    engine = app.state.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def _user(client: httpx.AsyncClient, name: str, password: str) -> dict[str, str]:
    body = {"email": f"{name}@example.com", "username": name, "password": password}
    response = await client.post(USERS_URL, json=body)
    assert response.status_code == 201, f"registering {name} answered {response.status_code}"
    return await _login(client, name, password)


async def _login(client: httpx.AsyncClient, name: str, password: str) -> dict[str, str]:
    response = await client.post(TOKEN_URL, data={"username": name, "password": password})
    assert response.status_code == 200, f"logging in as {name} answered {response.status_code}"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _create(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> Any:
    response = await client.post(ITEMS_URL, json={"title": "item", **body}, headers=headers)
    assert response.status_code == 201, (
        f"POST {ITEMS_URL} with {body} answered {response.status_code}: {response.text[:150]}"
    )
    return response.json()


@pytest.mark.exercise("07.1", points=1)
async def test_an_item_without_tags_has_none(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """An item created without tags answers "tags": []."""
    _, client = running
    alice = await _user(client, "alice", password)
    item = await _create(client, alice)
    assert item.get("tags") == [], f"a new item's tags are {item.get('tags')!r}"


@pytest.mark.exercise("07.1", points=2)
async def test_tags_are_lowercased_deduplicated_and_sorted(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """Tags ["urgent", "Groceries", "urgent"] are stored and shown as ["groceries", "urgent"]."""
    _, client = running
    alice = await _user(client, "alice", password)
    item = await _create(client, alice, tags=["urgent", "Groceries", "urgent"])
    assert item.get("tags") == ["groceries", "urgent"], f"tags came back as {item.get('tags')}"
    stored = (await client.get(f"{ITEMS_URL}{item['id']}", headers=alice)).json()
    assert stored.get("tags") == ["groceries", "urgent"], f"GET shows {stored.get('tags')}"


@pytest.mark.exercise("07.1", points=1)
@pytest.mark.parametrize("tags", [["has space"], ["x" * 31], [""], [f"t{n}" for n in range(11)]])
async def test_bad_tags_are_422(
    running: tuple[Any, httpx.AsyncClient], password: str, tags: list[str]
) -> None:
    """A tag with a space, over 30 characters or empty, or more than 10 tags, is a 422."""
    _, client = running
    alice = await _user(client, "alice", password)
    response = await client.post(ITEMS_URL, json={"title": "t", "tags": tags}, headers=alice)
    assert response.status_code == 422, f"tags {tags[:3]}... answered {response.status_code}"


@pytest.mark.exercise("07.1", points=2)
async def test_changed_tags_show_despite_the_cache(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """After PATCH {"tags": ["done"]}, a GET of the (cached) item shows ["done"]."""
    _, client = running
    alice = await _user(client, "alice", password)
    item = await _create(client, alice, tags=["todo"])
    url = f"{ITEMS_URL}{item['id']}"
    await client.get(url, headers=alice)  # now cached
    patched = await client.patch(url, json={"tags": ["done"]}, headers=alice)
    assert patched.status_code == 200, f"PATCH tags answered {patched.status_code}"
    shown = (await client.get(url, headers=alice)).json().get("tags")
    assert shown == ["done"], f"after the PATCH, GET shows tags {shown}"


@pytest.mark.exercise("07.1", points=2)
async def test_tagged_lists_the_callers_items_with_the_tag(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """GET /api/v1/items/tagged/urgent lists the caller's urgent items, not others'."""
    _, client = running
    alice, bob = await _user(client, "alice", password), await _user(client, "bob", password)
    await _create(client, alice, title="pay rent", tags=["urgent"])
    await _create(client, alice, title="read book", tags=["later"])
    await _create(client, bob, title="bob's urgent thing", tags=["urgent"])
    response = await client.get(f"{ITEMS_URL}tagged/urgent", headers=alice)
    assert response.status_code == 200, f"GET tagged/urgent answered {response.status_code}"
    titles = [item["title"] for item in response.json()]
    assert titles == ["pay rent"], f"alice's urgent items: {titles}"


async def _stats(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.get(STATS_URL, headers=headers)
    assert response.status_code == 200, f"GET {STATS_URL} answered {response.status_code}"
    body = response.json()
    assert isinstance(body, dict) and "items" in body, f'expected {{"items": N}}, got {body!r}'
    count: int = body["items"]
    return count


@pytest.mark.exercise("07.2", points=1)
async def test_stats_count_my_items(running: tuple[Any, httpx.AsyncClient], password: str) -> None:
    """GET /api/v1/users/me/stats answers {"items": N}: the caller's own items only."""
    _, client = running
    alice, bob = await _user(client, "alice", password), await _user(client, "bob", password)
    assert await _stats(client, alice) == 0, "a new user should have 0 items"
    for _ in range(3):
        await _create(client, alice)
    await _create(client, bob)
    assert await _stats(client, alice) == 3, "alice owns 3 items"


@pytest.mark.exercise("07.2", points=2)
async def test_a_repeated_call_does_not_query_items(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """The second call in a row is served from the cache: no query on the items table."""
    app, client = running
    alice = await _user(client, "alice", password)
    await _create(client, alice)
    await _stats(client, alice)
    with item_queries(app) as queries:
        assert await _stats(client, alice) == 1
    assert queries == [], f"the repeated call ran {len(queries)} query(ies) on items"


@pytest.mark.exercise("07.2", points=2)
async def test_creating_and_deleting_show_at_once(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """A cached count changes right after creating an item, and again after deleting one."""
    _, client = running
    alice = await _user(client, "alice", password)
    assert await _stats(client, alice) == 0
    item = await _create(client, alice)
    assert await _stats(client, alice) == 1, "the count did not change after creating an item"
    deleted = await client.delete(f"{ITEMS_URL}{item['id']}", headers=alice)
    assert deleted.status_code == 204
    assert await _stats(client, alice) == 0, "the count did not change after deleting it"


@pytest.mark.exercise("07.2", points=1)
async def test_a_superuser_deleting_updates_the_owners_count(
    running: tuple[Any, httpx.AsyncClient], password: str
) -> None:
    """When the superuser deletes alice's item, alice's cached count drops."""
    _, client = running
    alice = await _user(client, "alice", password)
    item = await _create(client, alice)
    assert await _stats(client, alice) == 1
    root = await _login(client, "root", password)
    assert (await client.delete(f"{ITEMS_URL}{item['id']}", headers=root)).status_code == 204
    assert await _stats(client, alice) == 0, "alice's count is stale after the superuser's delete"
