# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Login and registration budgets, counted with the `limits` library's async storage.

In memory by default (one budget per process); in Redis when REDIS_URL is set, so every
worker shares one budget. If Redis fails, counting falls back to memory: logins keep working
and stay limited, per process, until Redis answers again. Like the cache, the limiter then
leaves Redis alone for a few seconds: a frozen Redis costs one timeout per outage, not one
(or four) per login.
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
from app.exceptions import TooManyLoginAttempts, TooManyRegistrations
from app.redis_client import Outage, create_redis

logger = logging.getLogger(__name__)

Budget = tuple[RateLimitItem, tuple[str, ...]]


class LoginRateLimiter:
    """Failed logins, counted four ways (only failures count: a user who types the right
    password is never slowed down):

    - per account and address: one guesser on one account;
    - per account, whatever the address: many addresses on one account (a botnet, or a
      forged X-Forwarded-For). The account is the user's id, so its username and its email
      share one budget;
    - per address, on existing accounts: one address spraying many real accounts;
    - per address, on unknown names, counted apart: names that do not exist never use up
      the budget a real user behind the same address (an office, a proxy) needs to log in.

    Registrations count per address, successful ones only.
    """

    def __init__(
        self,
        storage: Storage,
        per_account: str,
        per_ip: str,
        *,
        per_account_any_ip: str = "20/15 minutes",
        unknown_per_ip: str = "50/15 minutes",
        registrations_per_ip: str = "20/hour",
        retry_after: float = 5.0,
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._fallback = MovingWindowRateLimiter(MemoryStorage())
        self.outage = Outage(
            logger,
            "rate-limit storage unavailable (%s); counting in memory",
            "rate-limit storage is back",
            retry_after=retry_after,
        )
        self._per_account: RateLimitItem = parse(per_account)
        self._per_account_any_ip: RateLimitItem = parse(per_account_any_ip)
        self._per_ip: RateLimitItem = parse(per_ip)
        self._unknown_per_ip: RateLimitItem = parse(unknown_per_ip)
        self._registrations: RateLimitItem = parse(registrations_per_ip)
        self._close = close

    @classmethod
    def from_settings(cls, settings: Settings) -> "LoginRateLimiter":
        limits = (settings.login_limit_per_account, settings.login_limit_per_ip)
        options: dict[str, Any] = {
            "per_account_any_ip": settings.login_limit_per_account_any_ip,
            "unknown_per_ip": settings.login_limit_unknown_per_ip,
            "registrations_per_ip": settings.registration_limit_per_ip,
            "retry_after": settings.cache_retry_seconds,
        }
        if not settings.redis_url:
            return cls(MemoryStorage(), *limits, **options)
        client = create_redis(settings.redis_url, timeout=settings.redis_timeout_seconds)
        storage = RedisStorage(
            f"async+{settings.redis_url}",
            implementation="redispy",
            wrap_exceptions=True,
            # Our client's pool, timeouts and all (limits types its options as scalars).
            connection_pool=client.connection_pool,  # type: ignore[arg-type]
        )
        return cls(storage, *limits, close=client.aclose, **options)

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    def _budgets(self, account_id: int | None, login: str, ip: str) -> list[Budget]:
        if account_id is None:
            return [
                (self._per_account, ("login-account", f"name:{login.lower()}", ip)),
                (self._unknown_per_ip, ("login-unknown-ip", ip)),
            ]
        account = f"user:{account_id}"
        return [
            (self._per_account, ("login-account", account, ip)),
            (self._per_account_any_ip, ("login-account-any-ip", account)),
            (self._per_ip, ("login-ip", ip)),
        ]

    async def check(self, account_id: int | None, login: str, ip: str) -> None:
        """Raise TooManyLoginAttempts (with seconds to wait) when a budget is spent.
        `account_id` is the id of the account `login` names, None when there is none."""
        await self._check(self._budgets(account_id, login, ip), TooManyLoginAttempts)

    async def record_failure(self, account_id: int | None, login: str, ip: str) -> None:
        for item, keys in self._budgets(account_id, login, ip):
            await self._call("hit", item, keys)

    async def check_registration(self, ip: str) -> None:
        await self._check([(self._registrations, ("register-ip", ip))], TooManyRegistrations)

    async def record_registration(self, ip: str) -> None:
        await self._call("hit", self._registrations, ("register-ip", ip))

    async def _check(
        self, budgets: list[Budget], error: type[TooManyLoginAttempts | TooManyRegistrations]
    ) -> None:
        for item, keys in budgets:
            if not await self._call("test", item, keys):
                stats = await self._call("get_window_stats", item, keys)
                wait = math.ceil(stats.reset_time - time.time())
                raise error(retry_after=max(1, wait))

    async def _call(self, method: str, item: RateLimitItem, keys: tuple[str, ...]) -> Any:
        """limiter.method(item, *keys) on the shared storage, or on the fallback if it fails
        (or failed less than `retry_after` seconds ago: no timeout paid again meanwhile)."""
        if self.outage.waiting:
            return await getattr(self._fallback, method)(item, *keys)
        try:
            result = await getattr(self._limiter, method)(item, *keys)
        except StorageError as error:
            self.outage.failed(error)
            return await getattr(self._fallback, method)(item, *keys)
        self.outage.succeeded()
        return result
