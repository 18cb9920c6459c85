"""Checks of the lesson 08 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect


@pytest.fixture
async def host(stage_settings: Any) -> AsyncIterator[str]:
    """The app served by uvicorn on a free loopback port, in-process broker: "127.0.0.1:PORT"."""
    from app.main import create_app

    app = create_app(stage_settings.model_copy(update={"redis_url": None}))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start (see the app's start-up)"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _token(host: str, name: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        body = {"email": f"{name}@example.com", "username": name, "password": password}
        assert (await http.post("/api/v1/users/", json=body)).status_code == 201
        response = await http.post(
            "/api/v1/auth/token", data={"username": name, "password": password}
        )
    assert response.status_code == 200, f"logging in as {name} answered {response.status_code}"
    token: str = response.json()["access_token"]
    return token


async def _next(ws: ClientConnection, seconds: float = 5) -> dict[str, Any]:
    try:
        event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=seconds))
    except TimeoutError:
        raise AssertionError(f"no event arrived within {seconds:g} s") from None
    return event


async def _until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    """The next event of this type, skipping the others (joins, leaves)."""
    for _ in range(10):
        event = await _next(ws)
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind!r} event among the next 10")


@pytest.mark.exercise("08.1", points=2)
async def test_others_see_typing(host: str, password: str) -> None:
    """When bob sends {"type": "typing"}, alice receives a typing event naming bob."""
    alice_token, bob_token = (
        await _token(host, "alice", password),
        await _token(host, "bob", password),
    )
    async with (
        connect(f"ws://{host}/ws/lobby?token={alice_token}") as alice,
        connect(f"ws://{host}/ws/lobby?token={bob_token}") as bob,
    ):
        await _until(alice, "join")
        await _until(alice, "join")
        await bob.send(json.dumps({"type": "typing"}))
        event = await _until(alice, "typing")
    assert event["user"] == "bob" and event["room"] == "lobby", f"the typing event was {event}"
    assert event.get("text") == "" and event.get("ts"), f"the event lacks text/ts: {event}"


@pytest.mark.exercise("08.1", points=1)
async def test_typing_is_not_a_message(host: str, password: str) -> None:
    """A typing frame sends no "message" event; the next chat message arrives normally."""
    alice_token, bob_token = (
        await _token(host, "alice", password),
        await _token(host, "bob", password),
    )
    async with (
        connect(f"ws://{host}/ws/lobby?token={alice_token}") as alice,
        connect(f"ws://{host}/ws/lobby?token={bob_token}") as bob,
    ):
        await _until(alice, "join")
        await _until(alice, "join")
        await bob.send(json.dumps({"type": "typing"}))
        await bob.send(json.dumps({"text": "hi"}))
        seen = []
        while not seen or seen[-1]["type"] != "message":
            seen.append(await _next(alice))
    messages = [e for e in seen if e["type"] == "message"]
    assert [m["text"] for m in messages] == ["hi"], f"messages seen: {messages}"


@pytest.mark.exercise("08.1", points=1)
async def test_other_input_still_gets_an_error(host: str, password: str) -> None:
    """A frame that is neither typing nor a message, such as {"type": "dance"}, gets an error."""
    token = await _token(host, "alice", password)
    async with connect(f"ws://{host}/ws/lobby?token={token}") as alice:
        await _until(alice, "join")
        await alice.send(json.dumps({"type": "dance"}))
        event = await _until(alice, "error")
    assert event.get("detail"), f"the error event has no detail: {event}"


async def _members(host: str, token: str, room: str = "lobby") -> Any:
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        response = await http.get(
            f"/api/v1/rooms/{room}", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, f"GET /api/v1/rooms/{room} answered {response.status_code}"
    return response.json()


@pytest.mark.exercise("08.2", points=1)
async def test_an_empty_room_has_no_users(host: str, password: str) -> None:
    """GET /api/v1/rooms/lobby with nobody connected answers {"room": "lobby", "users": []}."""
    token = await _token(host, "alice", password)
    body = await _members(host, token)
    assert body == {"room": "lobby", "users": []}, f"got {body}"


@pytest.mark.exercise("08.2", points=2)
async def test_connected_users_are_listed_once_and_sorted(host: str, password: str) -> None:
    """With bob and alice (twice) connected, the room lists ["alice", "bob"]."""
    alice, bob = await _token(host, "alice", password), await _token(host, "bob", password)
    async with (
        connect(f"ws://{host}/ws/lobby?token={bob}") as one,
        connect(f"ws://{host}/ws/lobby?token={alice}") as two,
        connect(f"ws://{host}/ws/lobby?token={alice}") as three,
    ):
        for ws in (one, two, three):
            await _until(ws, "join")
        body = await _members(host, alice)
    assert body.get("users") == ["alice", "bob"], f"users: {body.get('users')}"


@pytest.mark.exercise("08.2", points=1)
async def test_who_left_is_gone(host: str, password: str) -> None:
    """After bob disconnects, only alice is listed."""
    alice, bob = await _token(host, "alice", password), await _token(host, "bob", password)
    async with connect(f"ws://{host}/ws/lobby?token={alice}") as stays:
        async with connect(f"ws://{host}/ws/lobby?token={bob}"):
            await _until(stays, "join")
        await _until(stays, "leave")
        body = await _members(host, alice)
    assert body.get("users") == ["alice"], f"users after bob left: {body.get('users')}"


@pytest.mark.exercise("08.2", points=1)
async def test_rooms_need_a_token_and_a_valid_name(host: str, password: str) -> None:
    """Without a token it is a 401; a room name the WebSocket refuses (bad!room) is a 422."""
    token = await _token(host, "alice", password)
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        anonymous = await http.get("/api/v1/rooms/lobby")
        bad = await http.get("/api/v1/rooms/bad!room", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.status_code == 401, f"without a token: {anonymous.status_code}"
    assert bad.status_code == 422, f"room 'bad!room': {bad.status_code}"
