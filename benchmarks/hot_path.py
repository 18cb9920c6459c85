"""Where a cached, authenticated read spends its time: the app's own cost per request, profiled.

    python benchmarks/hot_path.py [--requests 3000] [--top 12]

`benchmarks/throughput.py` measures whole requests through uvicorn with wrk. This script
takes the server and the client away: it calls each ASGI app directly (a prepared `scope`, a
`receive` that hands over an empty body, a `send` that keeps nothing), in one process, on one
core, so what it times is the app alone. It measures, in microseconds per request:

- the bare FastAPI app of throughput.py (`GET /json`, one async route returning a dict);
- the kit, SQLite in a temporary folder, in-process cache: `GET /api/v1/users/me` and a cached
  `GET /api/v1/items/{id}` with a valid bearer token (the principal and the item are cached,
  so no database query runs: tests/app/test_principal_cache.py counts them);

then profiles the kit's item read with cProfile and prints its own time per package and the
functions with the most cumulative time. Read it with throughput.py's table: uvicorn's cost per
request (HTTP parsing, the event loop, the socket) is the same for both apps, so

    ratio to bare = (server + bare app) / (server + kit app)

and the figures here say how much of the kit's time is which layer's.
"""

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path: keep it from shadowing anything.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

from fastapi import APIRouter, Depends, FastAPI, Request  # noqa: E402
from fastapi.security import OAuth2PasswordBearer  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from workshop.appclient import AppClient  # noqa: E402

Asgi = Callable[..., Awaitable[None]]
PASSWORD = "hot-path-password"


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/json")
    async def hello() -> dict[str, str]:
        return {"message": "hello"}

    return app


class Shape(BaseModel):
    id: int
    title: str
    owner_id: int
    created_at: datetime


ROW = Shape(id=1, title="hot", owner_id=1, created_at=datetime(2026, 1, 1, tzinfo=UTC))
bearer = OAuth2PasswordBearer(tokenUrl="/token")


async def session() -> AsyncIterator[int]:
    yield 1  # stands for get_db: a generator dependency


async def user_service(request: Request, db: Annotated[int, Depends(session)]) -> int:
    return db


async def item_service(request: Request, db: Annotated[int, Depends(session)]) -> int:
    return db


async def current_user(
    request: Request,
    token: Annotated[str, Depends(bearer)],
    users: Annotated[int, Depends(user_service)],
) -> str:
    return token


async def everything(request: Request, token: Annotated[str, Depends(bearer)]) -> str:
    return token  # the same work, asked for through one dependency


def shaped_app(shape: str) -> FastAPI:
    """GET /api/v1/items/{item_id} returning a model, with no dependency, with the kit's
    dependency graph (current user -> token, user service -> session; item service ->
    session), or with one dependency: what FastAPI itself charges for each shape."""
    app = FastAPI()
    router = APIRouter(prefix="/api/v1/items")
    if shape == "none":

        @router.get("/{item_id}")
        async def read_plain(item_id: int) -> Shape:
            return ROW

    elif shape == "kit":

        @router.get("/{item_id}")
        async def read_kit(
            item_id: int,
            actor: Annotated[str, Depends(current_user)],
            items: Annotated[int, Depends(item_service)],
        ) -> Shape:
            return ROW

    else:

        @router.get("/{item_id}")
        async def read_one(item_id: int, actor: Annotated[str, Depends(everything)]) -> Shape:
            return ROW

    app.include_router(router)
    return app


def scope(path: str, token: str | None) -> dict[str, Any]:
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"hot-path"), (b"accept", b"*/*")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "state": {},
    }  # fmt: skip


async def call(app: Asgi, request: dict[str, Any]) -> int:
    """One request straight through the ASGI app; returns the status code."""
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(dict(request), receive, send)
    return status


async def per_request(app: Asgi, request: dict[str, Any], count: int) -> float:
    """Microseconds per request, best of three rounds (after a warm-up)."""
    for _ in range(50):
        assert await call(app, request) == 200
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(count):
            await call(app, request)
        best = min(best, (time.perf_counter() - started) / count)
    return best * 1e6


def package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/")[1].split("/")[0].removesuffix(".py")
    if f"{KIT}/app/" in filename:
        return "app (the kit's code)"
    if f"{KIT}/benchmarks/" in filename:
        return "this script's ASGI calls"
    return "python (asyncio, builtins)"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per round")
    parser.add_argument("--top", type=int, default=12, help="functions listed by cumulative time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kit-hot-path-") as scratch:
        settings = Settings(
            environment="test", database_url=f"sqlite+aiosqlite:///{scratch}/hot.db",
            secret_key="h" * 48, mail_outbox_dir=f"{scratch}/outbox", redis_url=None,
        )  # fmt: skip
        kit = create_app(settings)
        async with AppClient(kit) as client:
            account = {"email": "hot@example.com", "username": "hot", "password": PASSWORD}
            await client.post("/api/v1/users/", json=account)
            form = {"username": "hot", "password": PASSWORD}
            token = (await client.post("/api/v1/auth/token", data=form)).json()["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"
            item = (await client.post("/api/v1/items/", json={"title": "hot"})).json()["id"]

            bare = await per_request(bare_app(), scope("/json", None), args.requests)
            rows = [("bare FastAPI", "GET /json", bare)]
            me_path, item_path = "/api/v1/users/me", f"/api/v1/items/{item}"
            for path, label in ((me_path, "GET /api/v1/users/me"),
                                (item_path, "GET /api/v1/items/{id} cached")):  # fmt: skip
                rows.append(("kit", label, await per_request(kit, scope(path, token),
                                                            args.requests)))  # fmt: skip

            shapes = [
                ("FastAPI alone", "no dependency, returns a model", "none"),
                ("FastAPI alone", "the kit's 5 dependencies", "kit"),
                ("FastAPI alone", "one dependency", "one"),
            ]
            for name, label, shape in shapes:
                micros = await per_request(shaped_app(shape), scope("/api/v1/items/1", token),
                                           args.requests)  # fmt: skip
                rows.append((name, label, micros))

            profiler = cProfile.Profile()
            request = scope(item_path, token)
            profiler.enable()
            for _ in range(args.requests):
                await call(kit, request)
            profiler.disable()

    print(f"The app's own cost per request, in-process (best of 3 x {args.requests}):")
    print(f"  {'app':<14} {'request':<32} {'us/request':>10} {'vs bare':>8}")
    for name, label, micros in rows:
        print(f"  {name:<14} {label:<32} {micros:>10.0f} {micros / bare:>7.1f}x")
    print("  (the kit's middleware: TrustedProxies, BodySizeLimit, CORS, UnexpectedError; the")
    print("   'FastAPI alone' rows are that route's dependency shape with empty dependencies)")

    stats = pstats.Stats(profiler)
    shares: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        shares[package(filename)] += own
    total = sum(shares.values())
    profiled = total / args.requests * 1e6
    print(f"\nCached GET /api/v1/items/{{id}} under cProfile ({profiled:.0f} us/request with the "
          "profiler's overhead): own time per package")  # fmt: skip
    for name, seconds in shares.most_common(10):
        print(f"  {name:<28} {seconds / total:6.1%}")
    print(f"\nThe {args.top} functions with the most own time (per request, profiled):")
    entries = []
    for (filename, line, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{package(filename)}: {function}"
        if not filename.startswith("~"):
            where += f" ({Path(filename).name}:{line})"
        entries.append((own, where))
    for own, where in sorted(entries, reverse=True)[: args.top]:
        print(f"  {own / args.requests * 1e6:7.1f} us  {where}")


if __name__ == "__main__":
    asyncio.run(main())
