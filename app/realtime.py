# Written by notebooks/08_websockets.ipynb: edit there, or edit here and run `workshop sync`
"""Real-time rooms: delivery that survives bad clients, fanned out across workers.

Each socket gets a bounded outbox and a writer task, so one slow or vanished client never
delays the others: a broadcast only drops the message into every outbox. A client whose outbox
fills up (it stopped reading) or whose send fails or times out is disconnected.

A broker carries messages between processes: in-process by default; Redis pub/sub when
REDIS_URL is set, so a message sent to one worker reaches the room's clients on every worker.
"""

import asyncio
import contextlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Literal, Protocol

from fastapi import WebSocket
from starlette.types import Message

from app.redis_client import REDIS_ERRORS, Outage, create_redis

logger = logging.getLogger(__name__)

ROOM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CHANNEL_PREFIX = "kit:v1:room:"
EventType = Literal["message", "join", "leave"]


def event(kind: EventType, room: str, user: str, text: str = "") -> str:
    """One JSON message as every client receives it."""
    ts = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({"type": kind, "room": room, "user": user, "text": text, "ts": ts})


class Connection:
    """One client socket with its own outbox and writer."""

    def __init__(self, websocket: WebSocket, user: str, *, outbox_size: int) -> None:
        self.websocket = websocket
        self.user = user
        self.outbox: asyncio.Queue[str] = asyncio.Queue(outbox_size)
        self.writer: asyncio.Task[None] | None = None
        self.dropped = asyncio.Event()

    def offer(self, message: str) -> bool:
        """Queue a message; False when the client has stopped reading (outbox full)."""
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            return False
        return True

    async def receive(self) -> Message | None:
        """The client's next message, or None once the hub has dropped this connection."""
        receiving = asyncio.ensure_future(self.websocket.receive())
        dropping = asyncio.ensure_future(self.dropped.wait())
        try:
            await asyncio.wait({receiving, dropping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (receiving, dropping):
                task.cancel()
        return receiving.result() if receiving.done() and not receiving.cancelled() else None


class Hub:
    """The sockets connected to this process, by room."""

    def __init__(self, *, send_timeout: float = 2.0, outbox_size: int = 256) -> None:
        self.send_timeout = send_timeout
        self.outbox_size = outbox_size
        self.rooms: dict[str, set[Connection]] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def join(self, room: str, websocket: WebSocket, user: str) -> Connection:
        connection = Connection(websocket, user, outbox_size=self.outbox_size)
        self.rooms.setdefault(room, set()).add(connection)
        connection.writer = asyncio.create_task(self._write(room, connection))
        return connection

    def leave(self, room: str, connection: Connection) -> None:
        members = self.rooms.get(room)
        if members is not None:
            members.discard(connection)
            if not members:
                del self.rooms[room]
        if connection.writer is not None and connection.writer is not asyncio.current_task():
            connection.writer.cancel()

    def deliver(self, room: str, message: str) -> None:
        """Hand a message to every local member of the room; never waits on a client."""
        for connection in list(self.rooms.get(room, ())):
            if not connection.offer(message):
                logger.info("dropping %s from %s: not reading", connection.user, room)
                self._drop(room, connection)

    def count(self, room: str) -> int:
        return len(self.rooms.get(room, ()))

    async def _write(self, room: str, connection: Connection) -> None:
        while True:
            message = await connection.outbox.get()
            try:
                async with asyncio.timeout(self.send_timeout):
                    await connection.websocket.send_text(message)
            except Exception:  # a vanished client fails in many ways; all mean "drop it"
                logger.info("dropping %s from %s: send failed", connection.user, room)
                self._drop(room, connection)
                return

    def _drop(self, room: str, connection: Connection) -> None:
        connection.dropped.set()  # ends the endpoint's receive loop: it announces the leave
        self.leave(room, connection)
        # Close politely, in the background: a vanished client may never answer.
        closing = asyncio.create_task(_close_quietly(connection.websocket, self.send_timeout))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)


async def _close_quietly(websocket: WebSocket, seconds: float) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(seconds):
            await websocket.close(code=1013)  # try again later


class Broker(Protocol):
    hub: Hub

    async def start(self) -> None: ...

    async def publish(self, room: str, message: str) -> None: ...

    async def close(self) -> None: ...


class LocalBroker:
    """One process: publishing is delivering."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def start(self) -> None:
        return None

    async def publish(self, room: str, message: str) -> None:
        self.hub.deliver(room, message)

    async def close(self) -> None:
        return None


class RedisBroker:
    """Several processes: publish to Redis; one subscriber task per process delivers locally."""

    def __init__(self, hub: Hub, url: str, *, timeout: float = 0.5) -> None:
        self.hub = hub
        self._timeout = timeout
        self._publisher = create_redis(url, timeout=timeout)
        # No read timeout for the subscriber (it mostly waits); pings detect a dead link.
        self._subscriber = create_redis(
            url, timeout=timeout, reads_time_out=False, health_check_interval=5
        )
        self._task: asyncio.Task[None] | None = None
        self.outage = Outage(
            logger,
            "Redis pub/sub unavailable (%s); rooms stay within this worker",
            "Redis pub/sub is back; rooms span every worker again",
        )
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        """Start the subscriber; wait (briefly) until it listens, so the worker starts ready."""
        self._task = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout=self._timeout * 4)

    async def publish(self, room: str, message: str) -> None:
        try:
            await self._publisher.publish(CHANNEL_PREFIX + room, message)
        except REDIS_ERRORS as error:
            self.outage.failed(error)
            self.hub.deliver(room, message)  # at least this worker's clients get it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._publisher.aclose()
        await self._subscriber.aclose()

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                async with self._subscriber.pubsub() as pubsub:
                    await pubsub.psubscribe(CHANNEL_PREFIX + "*")
                    self.subscribed.set()
                    self.outage.succeeded()
                    delay = 0.2
                    async for message in pubsub.listen():
                        if message["type"] == "pmessage":
                            room = message["channel"].decode()[len(CHANNEL_PREFIX) :]
                            self.hub.deliver(room, message["data"].decode())
            except REDIS_ERRORS as error:
                self.subscribed.clear()
                self.outage.failed(error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)


def create_broker(redis_url: str | None, *, send_timeout: float, timeout: float) -> Broker:
    hub = Hub(send_timeout=send_timeout)
    if redis_url:
        return RedisBroker(hub, redis_url, timeout=timeout)
    return LocalBroker(hub)
