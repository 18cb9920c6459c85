# Written by notebooks/11_testing.ipynb: edit there, or edit here and run `workshop sync`
"""Items: each user their own. Someone else's item does not exist, whatever you ask of it."""

import httpx
import pytest
from fastapi import FastAPI

ITEMS = "/api/v1/items/"
# Every route that takes an item id, and a request body it accepts.
ID_ROUTES = [
    ("GET", None),
    ("PATCH", {"title": "mine now"}),
    ("DELETE", None),
]


async def test_create_then_read_your_own_item(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    created = await client.post(ITEMS, json={"title": "notebook"}, headers=alice)
    assert created.status_code == 201
    item = created.json()
    response = await client.get(f"{ITEMS}{item['id']}", headers=alice)
    assert response.status_code == 200
    assert response.json() == item


async def test_the_list_holds_only_your_items(
    client: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str]
) -> None:
    await client.post(ITEMS, json={"title": "alice's"}, headers=alice)
    await client.post(ITEMS, json={"title": "bob's"}, headers=bob)
    listed = await client.get(ITEMS, headers=bob)
    assert [item["title"] for item in listed.json()] == ["bob's"]


def test_every_id_route_is_in_the_bola_test(app: FastAPI) -> None:
    """A new route on /items/{item_id} must join ID_ROUTES, or this fails: the app's own
    OpenAPI lists every route it has."""
    in_app = app.openapi()["paths"]["/api/v1/items/{item_id}"]
    assert {method.upper() for method in in_app} == {method for method, _ in ID_ROUTES}


@pytest.mark.parametrize(("method", "body"), ID_ROUTES, ids=[m for m, _ in ID_ROUTES])
async def test_another_users_item_is_404_like_a_missing_one(
    client: httpx.AsyncClient, alice: dict[str, str], bob: dict[str, str], method: str, body: object
) -> None:
    item = (await client.post(ITEMS, json={"title": "alice's"}, headers=alice)).json()
    theirs = await client.request(method, f"{ITEMS}{item['id']}", json=body, headers=bob)
    missing = await client.request(method, f"{ITEMS}999999", json=body, headers=bob)
    # 404, not 403: bob cannot even learn that item exists. Not 200: it is not his.
    assert theirs.status_code == 404
    assert theirs.json() == missing.json()
    still = await client.get(f"{ITEMS}{item['id']}", headers=alice)
    assert still.json() == item  # unchanged, not deleted


async def test_a_superuser_reads_every_item(
    client: httpx.AsyncClient, alice: dict[str, str], root: dict[str, str]
) -> None:
    item = (await client.post(ITEMS, json={"title": "alice's"}, headers=alice)).json()
    response = await client.get(f"{ITEMS}{item['id']}", headers=root)
    assert response.status_code == 200
