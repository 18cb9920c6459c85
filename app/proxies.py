# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Who is the client? The TCP peer, unless a proxy the settings trust says otherwise.

X-Forwarded-For is a header: anyone can send one. Believing it from everybody lets an attacker
pick a new address per request and never run out of login budget. So the app trusts only the
proxies named in FORWARDED_ALLOW_IPS (default: none), and applies that itself rather than
relying on how the server was started: uvicorn, unless told otherwise, believes the header
whenever the peer is loopback, which is where a local attacker, or a proxy that passes the
header on unchecked, connects from.
"""

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

# The one client address of every forwarded request when no proxy is trusted.
UNTRUSTED_FORWARDER = "untrusted-forwarder"


class TrustedProxiesMiddleware:
    """uvicorn's ProxyHeadersMiddleware with the app's own list of trusted proxies.

    With no proxy trusted, a request that carries X-Forwarded-For gets one fixed client
    address: the server in front may already have rewritten the client from that header
    (uvicorn does, for loopback peers, unless --forwarded-allow-ips says otherwise), and
    the peer it replaced is lost. A fixed address keeps every budget keyed on something the
    sender cannot change: all such requests share one per-address budget, as they would if
    they came through one proxy.
    """

    def __init__(self, app: ASGIApp, trusted_hosts: list[str]) -> None:
        self.trusting = bool(trusted_hosts)
        self.app = app
        if self.trusting:
            # uvicorn's and Starlette's ASGI type aliases differ only in name.
            self.app = ProxyHeadersMiddleware(app, trusted_hosts)  # type: ignore[arg-type,assignment]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.trusting
            and scope["type"] in ("http", "websocket")
            and any(name == b"x-forwarded-for" for name, _ in scope["headers"])
        ):
            scope = dict(scope, client=(UNTRUSTED_FORWARDER, 0))
        await self.app(scope, receive, send)
