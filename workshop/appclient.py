"""The one "app + lifespan + in-process client" helper: lessons, stage tests and app tests use it.

    async with AppClient(create_app(settings)) as client:   # start-up has run
        response = await client.get("/health")              # no socket, no server
    # shutdown has run

`client.app` is the app. In a notebook, where a block cannot stay open across cells,
`client = await AppClient(app).start()` ... `await client.aclose()` does the same.
"""

from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any

import httpx


class AppClient(httpx.AsyncClient):
    """An httpx client that calls `app` in-process and runs its lifespan (start-up, shutdown).

    `client_address` is the (host, port) the app sees as the caller (e.g. to test per-IP
    limits); `raise_app_exceptions=False` returns the 500 a real client would get instead of
    raising the app's exception; `lifespan=False` is a second client for an app whose
    lifespan another AppClient (or fixture) already runs.
    """

    def __init__(
        self,
        app: Any,
        *,
        client_address: tuple[str, int] = ("127.0.0.1", 123),
        raise_app_exceptions: bool = True,
        lifespan: bool = True,
        base_url: str = "http://test",
    ) -> None:
        transport = httpx.ASGITransport(
            app=app, client=client_address, raise_app_exceptions=raise_app_exceptions
        )
        super().__init__(transport=transport, base_url=base_url)
        self.app = app
        self._run_lifespan = lifespan
        self._stack: AsyncExitStack | None = None

    async def start(self) -> "AppClient":
        """Run the app's start-up; `aclose()` runs its shutdown and closes the client."""
        async with AsyncExitStack() as stack:
            stack.push_async_callback(super().aclose)  # start-up failed: close the client too
            if self._run_lifespan:
                await stack.enter_async_context(self.app.router.lifespan_context(self.app))
            self._stack = stack.pop_all()
        return self

    async def aclose(self) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            await super().aclose()
        else:
            await stack.aclose()  # the app's shutdown, then the client

    async def __aenter__(self) -> "AppClient":
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        await self.aclose()
