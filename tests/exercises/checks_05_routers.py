"""Checks of the lesson 05 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from typing import Any

import httpx
import pytest

USERS_URL = "/api/v1/users/"
AVAILABLE_URL = "/api/v1/users/available"


async def _register(client: httpx.AsyncClient, name: str, password: str) -> None:
    body = {"email": f"{name.lower()}@example.com", "username": name, "password": password}
    response = await client.post(USERS_URL, json=body)
    assert response.status_code == 201, f"registering {name} answered {response.status_code}"


async def _available(client: httpx.AsyncClient, name: str) -> Any:
    response = await client.get(AVAILABLE_URL, params={"username": name})
    assert response.status_code == 200, (
        f"GET {AVAILABLE_URL}?username={name} answered {response.status_code}, expected 200"
    )
    body = response.json()
    assert isinstance(body, dict) and "available" in body, f"no 'available' in {body!r}"
    return body


@pytest.mark.exercise("05.1", points=1)
async def test_a_free_name_is_available(stage_client: httpx.AsyncClient) -> None:
    """A name nobody registered answers {"username": name, "available": true}."""
    body = await _available(stage_client, "newcomer")
    assert body == {"username": "newcomer", "available": True}, f"got {body!r}"


@pytest.mark.exercise("05.1", points=1)
async def test_a_registered_name_is_taken(stage_client: httpx.AsyncClient, password: str) -> None:
    """After alice registers, "alice" answers available: false."""
    await _register(stage_client, "alice", password)
    assert (await _available(stage_client, "alice"))["available"] is False


@pytest.mark.exercise("05.1", points=2)
async def test_case_does_not_matter(stage_client: httpx.AsyncClient, password: str) -> None:
    """Once "Alice" registered, "alice" and "ALICE" are taken too."""
    await _register(stage_client, "Alice", password)
    for name in ("alice", "ALICE"):
        body = await _available(stage_client, name)
        assert body["available"] is False, f"{name!r} answered available after 'Alice' registered"


@pytest.mark.exercise("05.1", points=1)
@pytest.mark.parametrize("bad", ["ab", "no spaces", "x" * 51])
async def test_an_impossible_name_is_422(stage_client: httpx.AsyncClient, bad: str) -> None:
    """A name registration refuses (too short, a space, too long) is a 422."""
    response = await stage_client.get(AVAILABLE_URL, params={"username": bad})
    assert response.status_code == 422, f"{bad!r} answered {response.status_code}, not 422"


def _id(response: httpx.Response) -> str:
    value = response.headers.get("x-request-id")
    assert value, f"{response.request.method} {response.request.url.path} has no X-Request-ID"
    return value


@pytest.mark.exercise("05.2", points=1)
async def test_every_response_has_an_id(stage_client: httpx.AsyncClient) -> None:
    """GET /health answers with an X-Request-ID header."""
    _id(await stage_client.get("/health"))


@pytest.mark.exercise("05.2", points=1)
async def test_ids_are_unique(stage_client: httpx.AsyncClient) -> None:
    """Twenty requests get twenty different ids."""
    ids = {_id(await stage_client.get("/health")) for _ in range(20)}
    assert len(ids) == 20, f"only {len(ids)} different ids for 20 requests"


@pytest.mark.exercise("05.2", points=1)
async def test_a_sane_client_id_is_kept(stage_client: httpx.AsyncClient) -> None:
    """A client's X-Request-ID such as 'checkout-42.a_b' comes back unchanged."""
    response = await stage_client.get("/health", headers={"X-Request-ID": "checkout-42.a_b"})
    assert _id(response) == "checkout-42.a_b", f"the id came back as {_id(response)!r}"


@pytest.mark.exercise("05.2", points=1)
@pytest.mark.parametrize("bad", ["x" * 65, "has space", "semi;colon", "new\tline"])
async def test_an_odd_client_id_is_replaced(stage_client: httpx.AsyncClient, bad: str) -> None:
    """An X-Request-ID that is too long or has odd characters is replaced by a fresh one."""
    response = await stage_client.get("/health", headers={"X-Request-ID": bad})
    assert _id(response) != bad, f"the odd id {bad!r} was echoed back"


@pytest.mark.exercise("05.2", points=1)
async def test_errors_carry_an_id(stage_client: httpx.AsyncClient) -> None:
    """A 404 and a 422 carry an X-Request-ID too."""
    _id(await stage_client.get("/no/such/page"))
    _id(await stage_client.post(USERS_URL, json={"username": "x"}))


@pytest.mark.exercise("05.2", points=1)
async def test_the_body_limit_answer_carries_an_id(stage_client: httpx.AsyncClient) -> None:
    """The 413 for a body over the limit carries an X-Request-ID too."""
    response = await stage_client.post(USERS_URL, content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413, f"a 2 MiB body answered {response.status_code}"
    _id(response)
