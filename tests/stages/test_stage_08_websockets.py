"""Stage 08 — WebSockets: authenticated rooms, a broadcast that survives bad clients, /chat."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


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
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _token(host: str, username: str, password: str) -> str:
    """Register `username` (root exists already) and log in: the access token."""
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        if username != "root":
            body = {"email": f"{username}@example.com", "username": username, "password": password}
            assert (await http.post("/api/v1/users/", json=body)).status_code == 201
        form = {"username": username, "password": password}
        response = await http.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _event(ws: ClientConnection) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=5))
    return event


def _summary(event: dict[str, Any]) -> tuple[str, str, str]:
    return event["type"], event["user"], event["text"]


@pytest.mark.parametrize("query", ["", "?token=garbage", "?token=not.a.jwt"])
async def test_handshake_without_a_valid_token_is_403(host: str, query: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://{host}/ws/lobby{query}"):
            pass
    assert refused.value.response.status_code == 403


async def test_bad_room_name_and_foreign_origin_are_403(host: str, password: str) -> None:
    token = await _token(host, "alice", password)
    attempts = [(f"/ws/bad!room?token={token}", None), (f"/ws/{'x' * 65}?token={token}", None),
                (f"/ws/lobby?token={token}", "https://evil.example")]  # fmt: skip
    for path, origin in attempts:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{host}{path}", origin=origin):
                pass
        assert refused.value.response.status_code == 403, (path, origin)


async def test_two_clients_exchange_a_message_sender_included(host: str, password: str) -> None:
    alice_token = await _token(host, "alice", password)
    bob_token = await _token(host, "bob", password)
    async with connect(f"ws://{host}/ws/lobby?token={alice_token}") as alice:
        assert _summary(await _event(alice)) == ("join", "alice", "")
        async with connect(f"ws://{host}/ws/lobby?token={bob_token}") as bob:
            assert _summary(await _event(alice)) == ("join", "bob", "")
            assert _summary(await _event(bob)) == ("join", "bob", "")
            await alice.send(json.dumps({"text": "hello bob"}))
            for ws in (alice, bob):
                event = await _event(ws)
                assert _summary(event) == ("message", "alice", "hello bob")
                assert event["room"] == "lobby"
                assert event["ts"].endswith("Z")
        assert _summary(await _event(alice)) == ("leave", "bob", "")


async def test_invalid_input_gets_an_error_and_the_socket_stays_open(
    host: str, password: str
) -> None:
    token = await _token(host, "alice", password)
    async with connect(f"ws://{host}/ws/lobby?token={token}") as ws:
        await _event(ws)  # her own join
        spoofed = json.dumps({"text": "hi", "user": "root"})  # extra fields are refused
        for bad in ("not json", json.dumps({"text": ""}), spoofed):
            await ws.send(bad)
            error = await _event(ws)
            assert error["type"] == "error" and error["detail"], bad
        await ws.send(json.dumps({"text": "still here"}))
        assert _summary(await _event(ws)) == ("message", "alice", "still here")


async def test_a_message_over_64_kib_closes_with_1009(host: str, password: str) -> None:
    token = await _token(host, "alice", password)
    async with connect(f"ws://{host}/ws/lobby?token={token}") as ws:
        await _event(ws)
        await ws.send(json.dumps({"text": "x" * (64 * 1024)}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await _event(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def test_chat_page_loads_nothing_from_the_internet(host: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://{host}") as http:
        page = await http.get("/chat")
    assert page.status_code == 200
    assert "new WebSocket(" in page.text and "token=" in page.text
    assert "http://" not in page.text and "https://" not in page.text


class _Reader:
    """A fake WebSocket that reads everything it is sent."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[str] = []
        self.closed_with: int | None = None

    async def send_text(self, text: str) -> None:
        self.received.append(text)

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code


class _Vanished(_Reader):
    async def send_text(self, text: str) -> None:
        raise ConnectionResetError("the client is gone")


class _Stuck(_Reader):
    async def send_text(self, text: str) -> None:
        await asyncio.Event().wait()  # never finishes: the client stopped reading


async def test_hub_drops_bad_clients_and_the_others_get_every_message() -> None:
    from app.realtime import Hub

    hub = Hub(send_timeout=5.0, outbox_size=4)
    alice, ghost, stuck, bob = _Reader("alice"), _Vanished("ghost"), _Stuck("stuck"), _Reader("bob")
    clients: list[Any] = [alice, ghost, stuck, bob]
    joined = {client.name: hub.join("lobby", client, client.name) for client in clients}
    sent = [f"m{n}" for n in range(20)]
    for message in sent:
        hub.deliver("lobby", message)  # never waits on a client
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)
    assert alice.received == sent and bob.received == sent
    assert joined["ghost"].dropped.is_set() and joined["stuck"].dropped.is_set()
    assert not joined["alice"].dropped.is_set()
    assert {connection.user for connection in hub.rooms["lobby"]} == {"alice", "bob"}
    assert ghost.closed_with == stuck.closed_with == 1013
    for connection in list(hub.rooms["lobby"]):
        hub.leave("lobby", connection)
    assert hub.count("lobby") == 0


async def test_hub_drops_a_client_whose_send_times_out() -> None:
    from app.realtime import Hub

    hub = Hub(send_timeout=0.1)
    alice, frozen = _Reader("alice"), _Stuck("frozen")
    alice_connection = hub.join("quiet", alice, "alice")
    frozen_connection = hub.join("quiet", frozen, "frozen")
    hub.deliver("quiet", "ping")
    await asyncio.wait_for(frozen_connection.dropped.wait(), timeout=5)
    assert alice.received == ["ping"]
    assert hub.count("quiet") == 1
    hub.leave("quiet", alice_connection)


def test_redact_tokens_rewrites_the_token_in_log_arguments() -> None:
    from app.log_redaction import RedactTokens

    record = logging.LogRecord(
        "uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" %d',
        ("127.0.0.1:5000", "/ws/lobby?token=eyJhbGciOi.secret.part&x=1", 403), None,
    )  # fmt: skip
    assert RedactTokens().filter(record) is True
    message = record.getMessage()
    assert message == '127.0.0.1:5000 - "WebSocket /ws/lobby?token=[redacted]&x=1" 403'
    assert "secret" not in message


async def test_create_broker_without_redis_is_local(stage_settings: Any) -> None:
    from app.realtime import LocalBroker, create_broker

    settings = stage_settings.model_copy(update={"redis_url": None})
    broker = create_broker(
        settings.redis_url,
        send_timeout=settings.ws_send_timeout_seconds,
        timeout=settings.redis_timeout_seconds,
    )
    assert isinstance(broker, LocalBroker)
    await broker.start()
    member = _Reader("alice")
    connection = broker.hub.join("lobby", member, "alice")
    await broker.publish("lobby", "hello")
    await asyncio.sleep(0.01)
    assert member.received == ["hello"]
    broker.hub.leave("lobby", connection)
    await broker.close()


def test_message_rate_refuses_past_a_burst_then_calls_it_a_flood() -> None:
    from app.routers.ws import MessageRate

    rate = MessageRate(per_second=3)
    allowed = [rate.allow() for _ in range(10)]
    assert allowed[:3] == [True, True, True] and not any(allowed[3:])
    assert rate.persistent  # 7 refusals: more than two seconds' worth
