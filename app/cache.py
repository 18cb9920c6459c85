# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Caching: one interface, two backends (in-process memory by default, Redis with REDIS_URL).

Values are JSON made by the response schemas, under namespaced, versioned keys, each with a
TTL (with jitter, so entries written together do not expire together). When Redis fails, the
cache steps aside: reads go to the database, one warning is logged, and Redis is tried again
a few seconds later.
"""

import asyncio
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from app.redis_client import REDIS_ERRORS, Outage, create_redis

logger = logging.getLogger(__name__)

NAMESPACE = "kit"
# Bump when a cached schema changes shape: entries in the old shape are then never read.
SCHEMA_VERSION = 1

Status = Literal["memory", "ok", "degraded"]
Model = TypeVar("Model", bound=BaseModel)


def cache_key(kind: str, ident: int | str) -> str:
    return f"{NAMESPACE}:v{SCHEMA_VERSION}:{kind}:{ident}"


class Backend(Protocol):
    @property
    def status(self) -> Status: ...

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: int) -> None: ...

    async def delete(self, *keys: str) -> None: ...

    async def ttl(self, key: str) -> float | None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class MemoryBackend:
    """Per-process, bounded (least recently used entries go first), with expiry."""

    status: Status = "memory"

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: str, ttl: int) -> None:
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def ttl(self, key: str) -> float | None:
        entry = self._entries.get(key)
        return None if entry is None else entry[0] - time.monotonic()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class RedisBackend:
    """Redis through one connection pool; steps aside while Redis is unreachable."""

    def __init__(self, url: str, *, timeout: float = 0.5, retry_after: float = 5.0) -> None:
        self._client = create_redis(url, timeout=timeout, decode_responses=True)
        self.outage = Outage(
            logger,
            f"Redis unavailable (%s); serving from the database, retrying every {retry_after}s",
            "Redis is back; caching resumed",
            retry_after=retry_after,
        )
        # Invalidations that failed during an outage, replayed as soon as Redis is back.
        self._pending_deletes: set[str] = set()

    @property
    def status(self) -> Status:
        return "ok" if self.outage.healthy else "degraded"

    async def get(self, key: str) -> str | None:
        value: str | None = await self._call(self._client.get, key)
        return value

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self._call(self._client.set, key, value, ex=ttl)

    async def delete(self, *keys: str) -> None:
        if await self._call(self._client.delete, *keys) is None:
            self._pending_deletes.update(keys)

    async def ttl(self, key: str) -> float | None:
        seconds = await self._call(self._client.ttl, key)
        return None if seconds is None or seconds < 0 else float(seconds)

    async def ping(self) -> None:
        await self._call(self._client.ping)

    async def close(self) -> None:
        await self._client.aclose()

    async def _call(self, operation: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
        """Run one Redis command; None (and the database answers) when Redis is unavailable."""
        if self.outage.waiting:
            return None  # still inside the back-off window: do not pay the timeout again
        try:
            if not self.outage.healthy and self._pending_deletes:
                await self._client.delete(*self._pending_deletes)
                self._pending_deletes.clear()
            result = await operation(*args, **kw)
        except REDIS_ERRORS as error:
            self.outage.failed(error)  # one line per outage, not a traceback per request
            return None
        self.outage.succeeded()
        return result


class Cache:
    """Typed cache-aside on top of a backend, with per-process single-flight loading."""

    def __init__(self, backend: Backend, *, ttl: int = 300, jitter: float = 0.1) -> None:
        self.backend = backend
        self.ttl = ttl
        self.jitter = jitter
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    @property
    def status(self) -> Status:
        return self.backend.status

    def entry_ttl(self) -> int:
        """The TTL for one entry: the configured one, give or take `jitter`."""
        return max(1, round(self.ttl * random.uniform(1 - self.jitter, 1 + self.jitter)))  # noqa: S311

    async def get_or_load(
        self, key: str, model: type[Model], load: Callable[[], Awaitable[Model | None]]
    ) -> Model | None:
        """The cached value, or load() stored for next time. Concurrent callers for one key
        share a single lookup and a single load (no stampede on a cold key)."""
        # A hit, the common case, is one lookup: no task, no extra turn of the event loop.
        hit = await self._lookup(key, model)
        if hit is not None:
            return hit
        # A miss goes through the single flight, which looks again first: another caller's
        # load may have stored the value while this lookup was on its way.
        flight = self._inflight.get(key)
        if flight is None:
            flight = asyncio.ensure_future(self._fetch(key, model, load))
            self._inflight[key] = flight
            flight.add_done_callback(lambda _: self._inflight.pop(key, None))
        # shield: one caller going away (a closed connection) does not cancel the others' load.
        value: Model | None = await asyncio.shield(flight)
        return value

    async def invalidate(self, *keys: str) -> None:
        await self.backend.delete(*keys)

    async def ping(self) -> Status:
        await self.backend.ping()
        return self.status

    async def close(self) -> None:
        await self.backend.close()

    async def _lookup(self, key: str, model: type[Model]) -> Model | None:
        """The cached value, if there is one this version of the app can read."""
        raw = await self.backend.get(key)
        if raw is not None:
            try:
                return model.model_validate_json(raw)
            except ValidationError:
                await self.backend.delete(key)  # written by another version: reload it
        return None

    async def _fetch(
        self, key: str, model: type[Model], load: Callable[[], Awaitable[Model | None]]
    ) -> Model | None:
        hit = await self._lookup(key, model)
        if hit is not None:
            return hit
        value = await load()
        if value is not None:
            await self.backend.set(key, value.model_dump_json(), self.entry_ttl())
        return value


def create_cache(redis_url: str | None, *, ttl: int, timeout: float, retry_after: float) -> Cache:
    backend: Backend = (
        RedisBackend(redis_url, timeout=timeout, retry_after=retry_after)
        if redis_url
        else MemoryBackend()
    )
    return Cache(backend, ttl=ttl)
