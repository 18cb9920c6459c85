# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Failed-login budgets, counted with the `limits` library's async storage.

In memory by default (one budget per process); in Redis when REDIS_URL is set, so every
worker shares one budget. If Redis fails, counting falls back to memory: logins keep working
and stay limited, per process, until Redis answers again.
"""

import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from app.config import Settings
from app.exceptions import TooManyLoginAttempts
from app.redis_client import Outage, create_redis

logger = logging.getLogger(__name__)


class LoginRateLimiter:
    """Counts failed logins per (account, client IP) and per client IP.

    Only failures are recorded, so a user who types the right password is never slowed
    down; an attacker guessing one account, or spraying many from one address, is.
    """

    def __init__(
        self,
        storage: Storage,
        per_account: str,
        per_ip: str,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self.outage = Outage(
            logger,
            "rate-limit storage unavailable (%s); counting in memory",
            "rate-limit storage is back",
        )
        self._per_account: RateLimitItem = parse(per_account)
        self._per_ip: RateLimitItem = parse(per_ip)
        self._close = close

    @classmethod
    def from_settings(cls, settings: Settings) -> "LoginRateLimiter":
        limits = (settings.login_limit_per_account, settings.login_limit_per_ip)
        if not settings.redis_url:
            return cls(MemoryStorage(), *limits)
        client = create_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
        storage = RedisStorage(
            f"async+{settings.redis_url}",
            implementation="redispy",
            wrap_exceptions=True,
            # Our client's pool, timeouts and all (limits types its options as scalars).
            connection_pool=client.connection_pool,  # type: ignore[arg-type]
        )
        return cls(storage, *limits, close=client.aclose)

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    def _budgets(self, account: str, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        return [
            (self._per_account, ("login-account", account.lower(), ip)),
            (self._per_ip, ("login-ip", ip)),
        ]

    async def check(self, account: str, ip: str) -> None:
        """Raise TooManyLoginAttempts (with seconds to wait) when a budget is spent."""
        for item, keys in self._budgets(account, ip):
            if not await self._call("test", item, keys):
                stats = await self._call("get_window_stats", item, keys)
                wait = math.ceil(stats.reset_time - time.time())
                raise TooManyLoginAttempts(retry_after=max(1, wait))

    async def record_failure(self, account: str, ip: str) -> None:
        for item, keys in self._budgets(account, ip):
            await self._call("hit", item, keys)

    async def _call(self, method: str, item: RateLimitItem, keys: tuple[str, ...]) -> Any:
        """limiter.method(item, *keys) on the shared storage, or on the fallback if it fails."""
        try:
            result = await getattr(self._limiter, method)(item, *keys)
        except StorageError as error:
            self.outage.failed(error)
            return await getattr(self._fallback, method)(item, *keys)
        self.outage.succeeded()
        return result
