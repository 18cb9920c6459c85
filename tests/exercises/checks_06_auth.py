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
