# Written by notebooks/11_testing.ipynb: edit there, or edit here and run `workshop sync`
"""The chat rooms, over a real socket: uvicorn serves the app on a free port of this machine."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[str]:
    """The app under uvicorn on 127.0.0.1, on a port the system picks: "127.0.0.1:PORT"."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())  # uvicorn runs the lifespan itself
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


async def token_for(server: str, username: str, password: str) -> str:
    """Register username on the running server and log in: the access token."""
    async with httpx.AsyncClient(base_url=f"http://{server}") as http:
        body = {"email": f"{username}@example.com", "username": username, "password": password}
        assert (await http.post("/api/v1/users/", json=body)).status_code == 201
        form = {"username": username, "password": password}
        response = await http.post("/api/v1/auth/token", data=form)
    token: str = response.json()["access_token"]
    return token


async def next_event(ws: ClientConnection) -> tuple[str, str, str]:
    """The next event's (type, user, text); a test waits 5 s at most, never for ever."""
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    return event["type"], event["user"], event["text"]


async def test_a_socket_without_a_token_is_refused(server: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{server}/ws/lobby"):
            pass
    assert refused.value.response.status_code == 403


async def test_both_users_in_a_room_get_the_message(server: str, password: str) -> None:
    alice = await token_for(server, "alice", password)
    bob = await token_for(server, "bob", password)
    async with connect(f"ws://{server}/ws/lobby?token={alice}") as alice_ws:
        assert await next_event(alice_ws) == ("join", "alice", "")
        async with connect(f"ws://{server}/ws/lobby?token={bob}") as bob_ws:
            assert await next_event(alice_ws) == ("join", "bob", "")
            assert await next_event(bob_ws) == ("join", "bob", "")
            await alice_ws.send(json.dumps({"text": "hello bob"}))
            assert await next_event(alice_ws) == ("message", "alice", "hello bob")
            assert await next_event(bob_ws) == ("message", "alice", "hello bob")
