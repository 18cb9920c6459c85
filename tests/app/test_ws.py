"""WebSocket rooms over a real server on loopback: auth, messages, limits, bad clients."""

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.config import Settings
from app.main import create_app
from app.utils.security import create_access_token
from tests.conftest import PASSWORD
from tests.servers import serve


@pytest.fixture
async def host(settings: Settings) -> AsyncIterator[str]:
    fast = settings.model_copy(
        update={"ws_send_timeout_seconds": 0.5, "ws_messages_per_second": 1_000_000}
    )
    async with serve(create_app(fast)) as address:
        yield address


async def token_for(host: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        if username != "root":
            body = {"email": f"{username}@example.com", "username": username, "password": PASSWORD}
            await http.post("/api/v1/users/", json=body)
        form = {"username": username, "password": PASSWORD}
        response = await http.post("/api/v1/auth/token", data=form)
    token: str = response.json()["access_token"]
    return token


async def next_event(ws: ClientConnection, kind: str = "message") -> dict[str, str]:
    """The next event of that type (join/leave notices of others may come first)."""
    while True:
        data = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
        if data["type"] == kind:
            return data  # type: ignore[no-any-return]


async def test_refused_without_a_valid_token(host: str, settings: Settings) -> None:
    good = await token_for(host, "alice")
    expired = create_access_token(
        2, settings.jwt_secret, 1, now=datetime.now(UTC) - timedelta(hours=1)
    )
    for path in ("/ws/lobby", "/ws/lobby?token=garbage", f"/ws/lobby?token={expired}",
                 f"/ws/bad!room?token={good}", f"/ws/{'x' * 65}?token={good}"):  # fmt: skip
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{host}{path}"):
                pass
        assert refused.value.response.status_code == 403, path


async def test_origin_must_be_ours_or_allowed(host: str) -> None:
    token = await token_for(host, "alice")
    url = f"ws://{host}/ws/lobby?token={token}"
    with pytest.raises(InvalidStatus):
        async with connect(url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    for origin in (f"http://{host}", "http://localhost:3000"):
        async with connect(url, origin=origin) as ws:  # type: ignore[arg-type]
            assert (await next_event(ws, "join"))["user"] == "alice"


async def test_messages_reach_everyone_in_the_room_sender_included(host: str) -> None:
    alice, bob, carol = [await token_for(host, name) for name in ("alice", "bob", "carol")]
    async with (
        connect(f"ws://{host}/ws/lobby?token={alice}") as a,
        connect(f"ws://{host}/ws/lobby?token={bob}") as b,
        connect(f"ws://{host}/ws/elsewhere?token={carol}") as c,
    ):
        joined = await next_event(a, "join")
        assert joined["user"] == "alice" and joined["room"] == "lobby"
        assert (await next_event(a, "join"))["user"] == "bob"
        await a.send(json.dumps({"text": "hello"}))
        for ws in (a, b):
            message = await next_event(ws)
            assert {k: message[k] for k in ("type", "room", "user", "text")} == {
                "type": "message", "room": "lobby", "user": "alice", "text": "hello"
            }  # fmt: skip
            assert datetime.fromisoformat(message["ts"]).tzinfo is not None
        await b.close()
        assert (await next_event(a, "leave"))["user"] == "bob"
        await c.send(json.dumps({"text": "only here"}))
        assert (await next_event(c))["text"] == "only here"
        with pytest.raises(TimeoutError):
            await next_event_quick(a)


def tuple_address(host: str) -> tuple[str, int]:
    name, port = host.split(":")
    return name, int(port)


async def next_event_quick(ws: ClientConnection) -> str:
    return str(await asyncio.wait_for(ws.recv(), timeout=0.3))


async def test_bad_input_gets_an_error_not_a_crash(host: str) -> None:
    token = await token_for(host, "alice")
    async with connect(f"ws://{host}/ws/lobby?token={token}") as ws:
        await next_event(ws, "join")
        for bad in ("not json", json.dumps({"text": ""}), json.dumps({"text": "x" * 2001}),
                    json.dumps({"text": "hi", "user": "root"}), json.dumps([1, 2])):  # fmt: skip
            await ws.send(bad)
            error = await next_event(ws, "error")
            assert error["detail"], bad
        await ws.send(b"\x00binary")
        assert "text" in (await next_event(ws, "error"))["detail"]
        await ws.send(json.dumps({"text": "still here"}))
        assert (await next_event(ws))["text"] == "still here"


async def test_oversized_message_closes_with_1009(host: str) -> None:
    token = await token_for(host, "alice")
    async with connect(f"ws://{host}/ws/lobby?token={token}", max_size=None) as ws:
        await next_event(ws, "join")
        await ws.send(json.dumps({"text": "x" * (64 * 1024)}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_a_vanished_client_does_not_break_the_room(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    alice, bob = await token_for(host, "alice"), await token_for(host, "bob")
    async with connect(f"ws://{host}/ws/lobby?token={alice}") as a:
        await next_event(a, "join")
        ghost = await connect(f"ws://{host}/ws/lobby?token={bob}")
        await next_event(a, "join")
        ghost.transport.abort()  # gone without a close frame, like a dropped network
        for n in range(5):
            await a.send(json.dumps({"text": f"n{n}"}))
            assert (await next_event(a))["text"] == f"n{n}"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_client_that_stops_reading_is_dropped(host: str) -> None:
    alice, bob = await token_for(host, "alice"), await token_for(host, "bob")
    async with connect(f"ws://{host}/ws/lobby?token={alice}") as a:
        await next_event(a, "join")
        # max_queue=1 and never reading: the client stops draining its (small) socket.
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(tuple_address(host))
        stuck = await connect(
            f"ws://{host}/ws/lobby?token={bob}", max_queue=1, sock=sock, compression=None
        )
        await next_event(a, "join")
        count, text = 4000, "y" * 1900  # ~8 MB uncompressed: more than buffers hold

        async def read_everything() -> tuple[list[str], bool]:
            texts, bob_left = [], False
            while len(texts) < count or not bob_left:
                data = json.loads(await asyncio.wait_for(a.recv(), timeout=20))
                if data["type"] == "leave":
                    bob_left = data["user"] == "bob"
                elif data["type"] == "message":
                    texts.append(data["text"])
            return texts, bob_left

        reader = asyncio.create_task(read_everything())
        for n in range(count):
            await a.send(json.dumps({"text": f"{n}:{text}"}))
            if n % 20 == 0:
                await asyncio.sleep(0.002)  # a brisk sender that still reads its own echo
        received, bob_left = await reader
        stuck.transport.abort()
    # Bob was dropped; alice got every message, in order, none lost.
    assert bob_left
    assert received == [f"{n}:{text}" for n in range(count)]


async def test_the_access_log_never_shows_a_token(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = await token_for(host, "alice")
    async with connect(f"ws://{host}/ws/lobby?token={token}") as ws:
        await next_event(ws, "join")
    with pytest.raises(InvalidStatus):
        async with connect(f"ws://{host}/ws/lobby?token=forged.{token[-20:]}"):
            pass
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "WebSocket /ws/lobby?token=[redacted]" in text
    assert token not in text and token[-20:] not in text


async def test_chat_page_loads_nothing_from_the_internet(client: httpx.AsyncClient) -> None:
    page = await client.get("/chat")
    assert page.status_code == 200 and "<script>" in page.text
    assert "http://" not in page.text and "https://" not in page.text
