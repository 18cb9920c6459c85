# Written by notebooks/12_production.ipynb: edit there, or edit here and run `workshop sync`
"""Serving the app with limits: `python -m app.server`, and the gunicorn worker `app.server.Worker`.

uvicorn's defaults trust the client: its httptools parser accepts headers of any size and
number, a client that sends half a request is never timed out, and WebSocket frames may be
16 MiB although the app refuses messages over 64 KiB. Every documented way to run the app goes
through this module, so each one bounds the same things:

- header size: h11's buffer for an unfinished request line + headers (`MAX_HEADER_BYTES`),
  answered with 400;
- header count (`MAX_HEADERS`), answered with 431;
- header read time: a connection that has not sent complete headers `HEADER_TIMEOUT` seconds
  after it opened (or after its previous response) is closed;
- keep-alive: an idle connection is closed after `KEEP_ALIVE` seconds;
- concurrency: past `MAX_CONNECTIONS` open connections, requests get 503;
- WebSocket frames: the app's own message cap (`WS_MAX_MESSAGE_BYTES`), closed with 1009.

These limits protect one process. In production a reverse proxy (nginx, a cloud load balancer)
belongs in front as well: it absorbs slow clients and floods before they reach a worker.
"""

import argparse
import asyncio
import json
import os
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from app.config import get_settings
from app.middleware import send_json

MAX_HEADER_BYTES = 16 * 1024
MAX_HEADERS = 100
HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 5
MAX_CONNECTIONS = 1000


def _refuse_many_headers(app: Any, max_headers: int) -> Any:
    """Wrap the ASGI app: an HTTP request with more than `max_headers` headers gets 431."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and len(scope["headers"]) > max_headers:
            body = json.dumps({"detail": f"More than {max_headers} request headers"}).encode()
            await send_json(send, 431, body, (b"connection", b"close"))
            return
        await app(scope, receive, send)

    return guarded


class LimitedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header count limit and a header read timeout."""

    header_timeout = HEADER_TIMEOUT
    max_headers = MAX_HEADERS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = _refuse_many_headers(self.app, self.max_headers)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._arm_header_timer()  # a request is (still) being sent: its headers have a deadline
        else:
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


LIMITS: dict[str, Any] = {
    "http": LimitedH11Protocol,
    "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    "timeout_keep_alive": KEEP_ALIVE,
    "limit_concurrency": MAX_CONNECTIONS,
    "ws": "websockets-sansio",
    # The app decides whom to believe for X-Forwarded-For (FORWARDED_ALLOW_IPS): uvicorn must
    # not rewrite the client address before the app sees it.
    "proxy_headers": False,
}


def server_options() -> dict[str, Any]:
    """The uvicorn.Config keyword arguments that carry the limits (both ways to run use them)."""
    # A frame larger than the app's message cap is refused by the server, before it is buffered.
    return LIMITS | {"ws_max_size": get_settings().ws_max_message_bytes}


class Worker(UvicornWorker):  # type: ignore[misc]
    """gunicorn's worker class for the app (gunicorn.conf.py): uvicorn with the limits above."""

    # Applied after gunicorn's own settings (its keepalive too): the limits win.
    CONFIG_KWARGS = UvicornWorker.CONFIG_KWARGS | LIMITS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.ws_max_size = get_settings().ws_max_message_bytes
        # The worker count may come from a config file the app never reads (`workers = 4` in
        # gunicorn.conf.py): say it where app/main.py's several-workers warning looks.
        os.environ["WEB_CONCURRENCY"] = str(self.cfg.workers)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(
        prog="python -m app.server", description="Serve app.main:app with uvicorn and limits."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--header-timeout", type=float, default=HEADER_TIMEOUT, metavar="SECONDS",
        help=f"close a connection whose headers take longer (default {HEADER_TIMEOUT:g})",
    )  # fmt: skip
    args = parser.parse_args(argv)
    LimitedH11Protocol.header_timeout = args.header_timeout
    uvicorn.run("app.main:app", host=args.host, port=args.port, **server_options())


if __name__ == "__main__":
    main()
