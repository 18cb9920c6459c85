# Written by notebooks/08_websockets.ipynb: edit there, or edit here and run `workshop sync`
"""WS /ws/{room}?token=JWT: authenticated chat rooms (and the page that uses them, /chat)."""

import json
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect, status
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from app.cache import Cache
from app.config import Settings
from app.dependencies import CacheDep, SettingsDep, resources
from app.exceptions import InvalidCredentials
from app.realtime import ROOM_NAME, event
from app.schemas.chat import ChatInput
from app.schemas.principal import Principal
from app.services.user_service import UserService
from app.utils.security import decode_access_token

router = APIRouter(tags=["realtime"])

CHAT_PAGE = Path(__file__).resolve().parent.parent / "static" / "chat.html"


@router.get("/chat", include_in_schema=False)
async def chat_page() -> HTMLResponse:
    """A small chat client: plain HTML and JavaScript, nothing loaded from the internet."""
    return HTMLResponse(CHAT_PAGE.read_text(encoding="utf-8"))


@router.websocket("/ws/{room}")
async def chat(
    websocket: WebSocket,
    room: str,
    settings: SettingsDep,
    cache: CacheDep,
    token: Annotated[str | None, Query()] = None,
) -> None:
    """Browsers cannot set headers on a WebSocket, so the token comes in the query string.
    The settings and the cache come from the same dependencies as the HTTP routes'."""
    broker = resources(websocket).broker
    user = await _authorize(websocket, room, token, settings, cache)
    if user is None:
        # Closing before accept() refuses the handshake: the client gets HTTP 403.
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    if not broker.hub.claim_socket(user.id, settings.ws_max_sockets_per_user):
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="too many sockets")
        return
    connection = broker.hub.join(room, websocket, user.username)
    rate = MessageRate(settings.ws_messages_per_second)
    await broker.publish(room, event("join", room, user.username))
    try:
        while True:
            message = await connection.receive()
            if message is None or message["type"] == "websocket.disconnect":
                break
            text, data = message.get("text"), message.get("bytes")
            size = len(text.encode()) if text is not None else len(data or b"")
            if size > settings.ws_max_message_bytes:
                await websocket.close(code=status.WS_1009_MESSAGE_TOO_BIG)
                break
            if not rate.allow():
                if rate.persistent:
                    await websocket.close(code=status.WS_1008_POLICY_VIOLATION, reason="flood")
                    break
                connection.offer(json.dumps({"type": "error", "detail": "too many messages"}))
                continue
            try:
                if text is None:
                    raise ValueError("send JSON text frames, not binary ones")
                said = ChatInput.model_validate_json(text).text
            except (ValidationError, ValueError) as error:
                connection.offer(json.dumps({"type": "error", "detail": _reason(error)}))
                continue
            await broker.publish(room, event("message", room, user.username, said))
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client left (RuntimeError: it vanished while we were receiving)
    finally:
        broker.hub.leave(room, connection)
        broker.hub.release_socket(user.id)
        await broker.publish(room, event("leave", room, user.username))


class MessageRate:
    """A token bucket per connection: `per_second` messages a second, bursts of as many.

    A message over the rate is refused with an error event. A client that keeps sending
    anyway (more refusals than two seconds' worth before it has calmed down, that is before
    the bucket filled up again) is closed.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.burst = max(1.0, per_second)
        self.tokens = self.burst
        self.refused = 0
        self.checked = time.monotonic()

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.checked) * self.per_second)
        self.checked = now
        if self.tokens >= self.burst:
            self.refused = 0  # calm again: past excess is forgiven
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.refused += 1
        return False

    @property
    def persistent(self) -> bool:
        return self.refused > 2 * self.burst


async def _authorize(
    websocket: WebSocket, room: str, token: str | None, settings: Settings, cache: Cache
) -> Principal | None:
    """Who the token names (active, token not revoked), if the room and the origin are allowed."""
    if not ROOM_NAME.fullmatch(room) or not _origin_allowed(websocket, settings) or not token:
        return None
    try:
        claims = decode_access_token(token, settings.jwt_secret)
        async with resources(websocket).sessionmaker() as session:
            return await UserService.for_session(session, cache).get_active(
                claims.user_id, claims.generation
            )
    except InvalidCredentials:
        return None


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(error)


def _origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A browser always sends Origin: accept our own pages and the configured origins."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True  # not a browser (no cross-site risk); the token still decides
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    own = f"{scheme}://{websocket.headers.get('host', '')}"
    return origin == own or origin in settings.allowed_origins
