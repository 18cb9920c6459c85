"""Checks of the lesson 06 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is the failure line.
"""

from typing import Any

import httpx
import pytest

TOKEN_URL = "/api/v1/auth/token"
USERS_URL = "/api/v1/users/"
ITEMS_URL = "/api/v1/items/"
COUNT_URL = "/api/v1/items/count"


async def _user(client: httpx.AsyncClient, name: str, password: str) -> dict[str, str]:
    body = {"email": f"{name}@example.com", "username": name, "password": password}
    response = await client.post(USERS_URL, json=body)
    assert response.status_code == 201, f"registering {name} answered {response.status_code}"
    return await _login(client, name, password)


async def _login(client: httpx.AsyncClient, name: str, password: str) -> dict[str, str]:
    response = await client.post(TOKEN_URL, data={"username": name, "password": password})
    assert response.status_code == 200, f"logging in as {name} answered {response.status_code}"
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _items(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> None:
    for i in range(n):
        response = await client.post(ITEMS_URL, json={"title": f"item {i}"}, headers=headers)
        assert response.status_code == 201, f"creating an item answered {response.status_code}"


async def _count(client: httpx.AsyncClient, headers: dict[str, str]) -> Any:
    response = await client.get(COUNT_URL, headers=headers)
    assert response.status_code == 200, (
        f"GET {COUNT_URL} answered {response.status_code}, expected 200: {response.text[:120]}"
    )
    body = response.json()
    assert isinstance(body, dict) and "count" in body, f'expected {{"count": N}}, got {body!r}'
    return body["count"]


@pytest.mark.exercise("06.1", points=1)
async def test_count_of_a_new_user_is_zero(stage_client: httpx.AsyncClient, password: str) -> None:
    """GET /api/v1/items/count answers 200 with {"count": 0} for a user without items."""
    alice = await _user(stage_client, "alice", password)
    assert await _count(stage_client, alice) == 0, "a new user should have a count of 0"


@pytest.mark.exercise("06.1", points=2)
async def test_count_is_per_user(stage_client: httpx.AsyncClient, password: str) -> None:
    """Each user counts only their own items; a superuser counts everyone's."""
    alice = await _user(stage_client, "alice", password)
    bob = await _user(stage_client, "bob", password)
    await _items(stage_client, alice, 3)
    await _items(stage_client, bob, 2)
    assert await _count(stage_client, alice) == 3, "alice has 3 items: her count should be 3"
    assert await _count(stage_client, bob) == 2, "bob has 2 items: his count should be 2"
    root = await _login(stage_client, "root", password)
    assert await _count(stage_client, root) == 5, "the superuser should count all 5 items"


@pytest.mark.exercise("06.1", points=1)
async def test_count_needs_a_token(stage_client: httpx.AsyncClient) -> None:
    """Without a token, GET /api/v1/items/count answers 401 like the list does."""
    response = await stage_client.get(COUNT_URL)
    assert response.status_code == 401, f"without a token it answered {response.status_code}"


SEARCH_URL = "/api/v1/search/items"


async def _titles(client: httpx.AsyncClient, headers: dict[str, str], q: str) -> list[str]:
    response = await client.get(SEARCH_URL, params={"q": q}, headers=headers)
    assert response.status_code == 200, (
        f"GET {SEARCH_URL}?q={q} answered {response.status_code}, expected 200"
    )
    return sorted(item["title"] for item in response.json())


async def _add(
    client: httpx.AsyncClient, headers: dict[str, str], title: str, **extra: Any
) -> None:
    body = {"title": title, **extra}
    response = await client.post(ITEMS_URL, json=body, headers=headers)
    assert response.status_code == 201, f"creating {title!r} answered {response.status_code}"


@pytest.mark.exercise("06.2", points=2)
async def test_search_matches_title_or_description_any_case(
    stage_client: httpx.AsyncClient, password: str
) -> None:
    """q=milk finds "Buy MILK" and an item whose description mentions milk, not the others."""
    alice = await _user(stage_client, "alice", password)
    await _add(stage_client, alice, "Buy MILK")
    await _add(stage_client, alice, "Groceries", description="eggs, oat milk, bread")
    await _add(stage_client, alice, "Call the bank")
    found = await _titles(stage_client, alice, "milk")
    assert found == ["Buy MILK", "Groceries"], f"q=milk found {found}"


@pytest.mark.exercise("06.2", points=1)
async def test_search_sees_only_what_the_caller_may_see(
    stage_client: httpx.AsyncClient, password: str
) -> None:
    """Bob's search never finds alice's items; the superuser's finds both."""
    alice = await _user(stage_client, "alice", password)
    bob = await _user(stage_client, "bob", password)
    await _add(stage_client, alice, "alice's secret plan")
    await _add(stage_client, bob, "bob's plan")
    assert await _titles(stage_client, bob, "plan") == ["bob's plan"], "bob saw alice's item"
    root = await _login(stage_client, "root", password)
    found = await _titles(stage_client, root, "plan")
    assert found == ["alice's secret plan", "bob's plan"], f"the superuser found {found}"


@pytest.mark.exercise("06.2", points=1)
@pytest.mark.parametrize("q", ["", "a", "x" * 51])
async def test_search_text_is_2_to_50_characters(
    stage_client: httpx.AsyncClient, password: str, q: str
) -> None:
    """q shorter than 2 or longer than 50 characters is a 422."""
    alice = await _user(stage_client, "alice", password)
    response = await stage_client.get(SEARCH_URL, params={"q": q}, headers=alice)
    assert response.status_code == 422, f"q of length {len(q)} answered {response.status_code}"


@pytest.mark.exercise("06.2", points=1)
async def test_search_needs_a_token(stage_client: httpx.AsyncClient) -> None:
    """Without a token, the search answers 401."""
    response = await stage_client.get(SEARCH_URL, params={"q": "milk"})
    assert response.status_code == 401, f"without a token it answered {response.status_code}"


@pytest.mark.exercise("06.2", points=1)
async def test_wildcards_are_searched_literally(
    stage_client: httpx.AsyncClient, password: str
) -> None:
    """q=%% finds only titles containing "%%", and q=a_c does not find "abc"."""
    alice = await _user(stage_client, "alice", password)
    await _add(stage_client, alice, "100%% sure")
    await _add(stage_client, alice, "abc")
    await _add(stage_client, alice, "a_c")
    assert await _titles(stage_client, alice, "%%") == ["100%% sure"], "%% matched everything"
    assert await _titles(stage_client, alice, "a_c") == ["a_c"], "_ matched any character"
