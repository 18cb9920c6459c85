"""WebSocket limits: sockets per user, messages per second per socket."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from app.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD
from tests.servers import serve


@pytest.fixture
async def host(settings: Settings) -> AsyncIterator[str]:
    limited = settings.model_copy(
        update={"ws_max_sockets_per_user": 2, "ws_messages_per_second": 3}
    )
    async with serve(create_app(limited)) as address:
        yield address


async def _token(host: str) -> str:
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        response = await http.post(
            "/api/v1/auth/token", data={"username": "root", "password": PASSWORD}
        )
    token: str = response.json()["access_token"]
    return token


async def _events(ws: object, kinds: set[str], count: int) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    while len(found) < count:
        data = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))  # type: ignore[attr-defined]
        if data["type"] in kinds:
            found.append(data)
    return found


async def test_sockets_per_user_are_capped(host: str) -> None:
    url = f"ws://{host}/ws/lobby?token={await _token(host)}"
    async with connect(url) as first, connect(url) as second:
        async with connect(url) as third:
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(third.recv(), timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
            assert closed.value.rcvd.reason == "too many sockets"
        await first.send(json.dumps({"text": "still here"}))
        assert (await _events(first, {"message"}, 1))[0]["text"] == "still here"
        await second.close()
        await _events(first, {"leave"}, 1)  # announced once its place is free again
        # A closed socket frees its place.
        async with connect(url) as again:
            assert (await _events(again, {"join"}, 1))[0]["user"] == "root"


async def test_messages_over_the_rate_get_an_error_then_a_close(host: str) -> None:
    url = f"ws://{host}/ws/lobby?token={await _token(host)}"
    async with connect(url) as ws:
        for n in range(5):  # a burst of 3 is allowed, then refusals
            await ws.send(json.dumps({"text": f"m{n}"}))
        events = await _events(ws, {"message", "error"}, 5)
        assert [e["text"] for e in events if e["type"] == "message"] == ["m0", "m1", "m2"]
        assert [e["detail"] for e in events if e["type"] == "error"] == ["too many messages"] * 2
        with pytest.raises(ConnectionClosed) as closed:  # and it keeps flooding
            for n in range(50):
                await ws.send(json.dumps({"text": f"flood{n}"}))
                await asyncio.sleep(0.01)
            await asyncio.wait_for(_events(ws, {"none"}, 1), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
