"""Items: owned by whoever creates them, invisible to everyone else but superusers."""

import httpx
import pytest

from tests.conftest import Login, Register

ITEM_FIELDS = {"id", "title", "description", "owner_id", "created_at", "updated_at"}


@pytest.fixture
async def alice(register: Register, login: Login) -> dict[str, str]:
    await register("alice")
    return await login("alice")


@pytest.fixture
async def bob(register: Register, login: Login) -> dict[str, str]:
    await register("bob")
    return await login("bob")


async def test_create_item_belongs_to_the_caller(
    client: httpx.AsyncClient, alice: dict[str, str]
) -> None:
    me = (await client.get("/api/v1/users/me", headers=alice)).json()
    response = await client.post(
        "/api/v1/items/", json={"title": "  Book  ", "description": "Dune"}, headers=alice
    )
    assert response.status_code == 201
    item = response.json()
    assert set(item) == ITEM_FIELDS
    assert item["owner_id"] == me["id"]
    assert item["title"] == "Book"  # surrounding whitespace stripped


@pytest.mark.parametrize(
    "body",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": "ok", "description": "x" * 2001},
        {"title": "ok", "owner_id": 1},
        {"title": "ok", "id": 5},
        {"description": "no title"},
        {"title": 12},
    ],
)
async def test_invalid_items_are_422(
    client: httpx.AsyncClient, alice: dict[str, str], body: dict[str, object]
) -> None:
    response = await client.post("/api/v1/items/", json=body, headers=alice)
    assert response.status_code == 422
    assert (await client.get("/api/v1/items/", headers=alice)).json() == []


async def test_items_need_a_token(client: httpx.AsyncClient) -> None:
    for method, url in [
        ("GET", "/api/v1/items/"),
        ("POST", "/api/v1/items/"),
        ("GET", "/api/v1/items/1"),
    ]:
        response = await client.request(method, url, json={"title": "x"})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_users_list_their_own_and_superusers_all(
    client: httpx.AsyncClient,
    alice: dict[str, str],
    bob: dict[str, str],
    root_headers: dict[str, str],
) -> None:
    for title in ("a1", "a2"):
        await client.post("/api/v1/items/", json={"title": title}, headers=alice)
    await client.post("/api/v1/items/", json={"title": "b1"}, headers=bob)
    mine = await client.get("/api/v1/items/", headers=alice)
    assert [i["title"] for i in mine.json()] == ["a1", "a2"]
    everyone = await client.get("/api/v1/items/", headers=root_headers)
    assert [i["title"] for i in everyone.json()] == ["a1", "a2", "b1"]
    page = await client.get("/api/v1/items/?skip=1&limit=1", headers=root_headers)
    assert [i["title"] for i in page.json()] == ["a2"]
    bad = await client.get("/api/v1/items/?limit=101", headers=alice)
    assert bad.status_code == 422


async def test_another_users_item_is_404_and_unchanged(
    client: httpx.AsyncClient,
    alice: dict[str, str],
    bob: dict[str, str],
    root_headers: dict[str, str],
) -> None:
    created = await client.post("/api/v1/items/", json={"title": "secret"}, headers=alice)
    item = created.json()
    url = f"/api/v1/items/{item['id']}"
    for method, body in [("GET", None), ("PATCH", {"title": "mine now"}), ("DELETE", None)]:
        response = await client.request(method, url, json=body, headers=bob)
        assert response.status_code == 404
        assert response.json() == {"detail": "Item not found"}
    # The same answer as for an item that does not exist at all.
    missing = await client.get("/api/v1/items/999", headers=bob)
    assert missing.status_code == 404 and missing.json() == {"detail": "Item not found"}
    assert (await client.get(url, headers=alice)).json() == item
    assert (await client.get(url, headers=root_headers)).status_code == 200


async def test_owner_updates_and_deletes(client: httpx.AsyncClient, alice: dict[str, str]) -> None:
    created = await client.post(
        "/api/v1/items/", json={"title": "draft", "description": "text"}, headers=alice
    )
    url = f"/api/v1/items/{created.json()['id']}"
    renamed = await client.patch(url, json={"title": "final"}, headers=alice)
    assert renamed.status_code == 200
    assert renamed.json()["title"] == "final" and renamed.json()["description"] == "text"
    assert renamed.json()["updated_at"] >= created.json()["updated_at"]
    cleared = await client.patch(url, json={"description": None}, headers=alice)
    assert cleared.json()["description"] is None
    no_title = await client.patch(url, json={"title": None}, headers=alice)
    assert no_title.status_code == 422
    stolen = await client.patch(url, json={"owner_id": 99}, headers=alice)
    assert stolen.status_code == 422
    deleted = await client.delete(url, headers=alice)
    assert deleted.status_code == 204
    assert (await client.get(url, headers=alice)).status_code == 404


async def test_superuser_manages_any_item(
    client: httpx.AsyncClient, alice: dict[str, str], root_headers: dict[str, str]
) -> None:
    created = await client.post("/api/v1/items/", json={"title": "x"}, headers=alice)
    url = f"/api/v1/items/{created.json()['id']}"
    patched = await client.patch(url, json={"title": "moderated"}, headers=root_headers)
    assert patched.status_code == 200 and patched.json()["owner_id"] == created.json()["owner_id"]
    assert (await client.delete(url, headers=root_headers)).status_code == 204
