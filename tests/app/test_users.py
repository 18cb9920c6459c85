"""Users: registration, validation, who may read, change and delete whom."""

import httpx
import pytest

from tests.conftest import PASSWORD, Login, Register

USER_FIELDS = {"id", "email", "username", "is_active", "is_superuser", "created_at", "updated_at"}


async def test_register_returns_the_user_without_any_password(client: httpx.AsyncClient) -> None:
    body = {"email": "Alice@Example.COM", "username": "Alice", "password": PASSWORD}
    response = await client.post("/api/v1/users/", json=body)
    assert response.status_code == 201
    user = response.json()
    assert set(user) == USER_FIELDS
    assert user["email"] == "alice@example.com"  # stored lowercased
    assert user["username"] == "Alice"  # display case kept
    assert user["is_superuser"] is False and user["is_active"] is True
    assert user["created_at"].endswith("Z") or user["created_at"].endswith("+00:00")


@pytest.mark.parametrize(
    ("second", "detail"),
    [
        ({"email": "ALICE@example.com", "username": "other"}, "Email already registered"),
        ({"email": "other@example.com", "username": "ALICE"}, "Username already taken"),
    ],
)
async def test_duplicates_are_409_case_insensitively(
    client: httpx.AsyncClient, register: Register, second: dict[str, str], detail: str
) -> None:
    await register("alice")
    response = await client.post("/api/v1/users/", json=second | {"password": PASSWORD})
    assert response.status_code == 409
    assert response.json() == {"detail": detail}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "username": "bob", "password": PASSWORD},
        {"email": "bob@example.com", "username": "bo", "password": PASSWORD},
        {"email": "bob@example.com", "username": "b" * 51, "password": PASSWORD},
        {"email": "bob@example.com", "username": "bob smith", "password": PASSWORD},
        {"email": "bob@example.com", "username": "bob", "password": "short"},
        {"email": "bob@example.com", "username": "bob", "password": "x" * 129},
        {"email": "bob@example.com", "username": "bob"},
        {"email": "bob@example.com", "username": "bob", "password": PASSWORD, "is_superuser": True},
        {"email": "bob@example.com", "username": "bob", "password": PASSWORD, "id": 7},
    ],
)
async def test_invalid_registrations_are_422_and_create_nothing(
    client: httpx.AsyncClient, root_headers: dict[str, str], body: dict[str, object]
) -> None:
    response = await client.post("/api/v1/users/", json=body)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)
    users = await client.get("/api/v1/users/", headers=root_headers)
    assert [u["username"] for u in users.json()] == ["root"]


async def test_list_users_is_for_superusers_only(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    await register("alice")
    assert (await client.get("/api/v1/users/")).status_code == 401
    alice = await login("alice")
    forbidden = await client.get("/api/v1/users/", headers=alice)
    assert forbidden.status_code == 403
    listed = await client.get("/api/v1/users/", headers=root_headers)
    assert listed.status_code == 200
    assert [u["username"] for u in listed.json()] == ["root", "alice"]
    assert all(set(u) == USER_FIELDS for u in listed.json())


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "skip=-1", "limit=abc"])
async def test_list_pagination_is_validated(
    client: httpx.AsyncClient, root_headers: dict[str, str], query: str
) -> None:
    response = await client.get(f"/api/v1/users/?{query}", headers=root_headers)
    assert response.status_code == 422


async def test_list_pagination_pages(
    client: httpx.AsyncClient, register: Register, root_headers: dict[str, str]
) -> None:
    for name in ("alice", "bob", "carol"):
        await register(name)
    page = await client.get("/api/v1/users/?skip=1&limit=2", headers=root_headers)
    assert [u["username"] for u in page.json()] == ["alice", "bob"]


async def test_me_and_reading_users(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    bob = await register("bob")
    alice_headers = await login("alice")
    me = await client.get("/api/v1/users/me", headers=alice_headers)
    assert me.status_code == 200 and me.json() == alice
    own = await client.get(f"/api/v1/users/{alice['id']}", headers=alice_headers)
    assert own.status_code == 200
    # The seed's GET /users/{id} was public: here another user's account is 403.
    other = await client.get(f"/api/v1/users/{bob['id']}", headers=alice_headers)
    assert other.status_code == 403
    assert (await client.get(f"/api/v1/users/{bob['id']}")).status_code == 401
    by_root = await client.get(f"/api/v1/users/{bob['id']}", headers=root_headers)
    assert by_root.status_code == 200 and by_root.json() == bob
    missing = await client.get("/api/v1/users/999", headers=root_headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "User not found"}


async def test_update_self(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    headers = await login("alice")
    changed = await client.patch(
        f"/api/v1/users/{alice['id']}",
        json={"email": "New@Example.com", "password": "a-new-password"},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.json()["email"] == "new@example.com"
    assert changed.json()["username"] == "alice"
    old = await client.post("/api/v1/auth/token", data={"username": "alice", "password": PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        "/api/v1/auth/token", data={"username": "new@example.com", "password": "a-new-password"}
    )
    assert new.status_code == 200


async def test_mass_assignment_has_no_effect(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    headers = await login("alice")
    url = f"/api/v1/users/{alice['id']}"
    promote = await client.patch(url, json={"is_superuser": True}, headers=headers)
    assert promote.status_code == 403
    sneaky = await client.patch(url, json={"username": "alice2", "id": 1}, headers=headers)
    assert sneaky.status_code == 422
    hashed = await client.patch(url, json={"hashed_password": "x"}, headers=headers)
    assert hashed.status_code == 422
    after = (await client.get(url, headers=root_headers)).json()
    assert after == alice  # nothing was applied, not even the username sent with id
    # A superuser may promote someone else.
    promoted = await client.patch(url, json={"is_superuser": True}, headers=root_headers)
    assert promoted.status_code == 200 and promoted.json()["is_superuser"] is True


@pytest.mark.parametrize(
    "body",
    [{"email": None}, {"username": None}, {"password": None}, {"is_active": None}, {"email": "x"}],
)
async def test_update_rejects_nulls_and_invalid_values(
    client: httpx.AsyncClient, register: Register, login: Login, body: dict[str, object]
) -> None:
    alice = await register("alice")
    headers = await login("alice")
    response = await client.patch(f"/api/v1/users/{alice['id']}", json=body, headers=headers)
    assert response.status_code == 422


async def test_update_conflicts_and_permissions(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    bob = await register("bob")
    headers = await login("alice")
    taken = await client.patch(
        f"/api/v1/users/{alice['id']}", json={"username": "BOB"}, headers=headers
    )
    assert taken.status_code == 409
    other = await client.patch(
        f"/api/v1/users/{bob['id']}", json={"username": "x" * 5}, headers=headers
    )
    assert other.status_code == 403
    missing = await client.patch(
        "/api/v1/users/999", json={"username": "zed"}, headers=root_headers
    )
    assert missing.status_code == 404
    unchanged = await client.get(f"/api/v1/users/{bob['id']}", headers=root_headers)
    assert unchanged.json()["username"] == "bob"


async def test_deactivation_and_reactivation(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    headers = await login("alice")
    url = f"/api/v1/users/{alice['id']}"
    off = await client.patch(url, json={"is_active": False}, headers=headers)
    assert off.status_code == 200 and off.json()["is_active"] is False
    # The old token no longer works, and neither does the password.
    assert (await client.get("/api/v1/users/me", headers=headers)).status_code == 401
    form = {"username": "alice", "password": PASSWORD}
    assert (await client.post("/api/v1/auth/token", data=form)).status_code == 401
    on = await client.patch(url, json={"is_active": True}, headers=root_headers)
    assert on.status_code == 200 and on.json()["is_active"] is True
    assert (await client.post("/api/v1/auth/token", data=form)).status_code == 200


async def test_delete_user_takes_their_items(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    bob = await register("bob")
    alice_headers = await login("alice")
    bob_headers = await login("bob")
    await client.post("/api/v1/items/", json={"title": "alice's"}, headers=alice_headers)
    kept = await client.post("/api/v1/items/", json={"title": "bob's"}, headers=bob_headers)

    forbidden = await client.delete(f"/api/v1/users/{bob['id']}", headers=alice_headers)
    assert forbidden.status_code == 403
    gone = await client.delete(f"/api/v1/users/{alice['id']}", headers=alice_headers)
    assert gone.status_code == 204 and gone.content == b""

    items = await client.get("/api/v1/items/", headers=root_headers)
    assert [i["title"] for i in items.json()] == ["bob's"]
    assert items.json()[0]["id"] == kept.json()["id"]
    missing = await client.delete(f"/api/v1/users/{alice['id']}", headers=root_headers)
    assert missing.status_code == 404
    by_root = await client.delete(f"/api/v1/users/{bob['id']}", headers=root_headers)
    assert by_root.status_code == 204
    assert (await client.get("/api/v1/items/", headers=root_headers)).json() == []


async def test_no_response_ever_contains_a_hash(
    client: httpx.AsyncClient, register: Register, login: Login, root_headers: dict[str, str]
) -> None:
    alice = await register("alice")
    headers = await login("alice")
    url = f"/api/v1/users/{alice['id']}"
    responses = [
        await client.get("/api/v1/users/me", headers=headers),
        await client.get(url, headers=headers),
        await client.patch(url, json={"username": "alicia"}, headers=headers),
        await client.get("/api/v1/users/", headers=root_headers),
    ]
    for response in responses:
        assert response.status_code == 200
        assert "password" not in response.text
        assert "$argon2" not in response.text


async def test_validation_errors_never_echo_the_rejected_values(client: httpx.AsyncClient) -> None:
    secret = "short7!"
    body = {"email": "x@example.com", "username": "xavier", "password": secret}
    response = await client.post("/api/v1/users/", json=body)
    assert response.status_code == 422
    assert secret not in response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "password"]
    assert error["type"] == "string_too_short" and "input" not in error
