"""Failed-login budgets, counted with the `limits` library's async storage."""

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from app.exceptions import TooManyLoginAttempts


class LoginRateLimiter:
    """Counts failed logins per (account, client IP) and per client IP.

    Only failures are recorded, so a user who types the right password is never slowed
    down; an attacker guessing one account, or spraying many from one address, is.
    """

    def __init__(self, storage: Storage, per_account: str, per_ip: str) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_account: RateLimitItem = parse(per_account)
        self._per_ip: RateLimitItem = parse(per_ip)

    @classmethod
    def in_memory(cls, per_account: str, per_ip: str) -> "LoginRateLimiter":
        return cls(MemoryStorage(), per_account, per_ip)

    def _budgets(self, account: str, ip: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        return [
            (self._per_account, ("login-account", account.lower(), ip)),
            (self._per_ip, ("login-ip", ip)),
        ]

    async def check(self, account: str, ip: str) -> None:
        """Raise TooManyLoginAttempts (with seconds to wait) when a budget is spent."""
        for item, keys in self._budgets(account, ip):
            if not await self._limiter.test(item, *keys):
                stats = await self._limiter.get_window_stats(item, *keys)
                raise TooManyLoginAttempts(
                    retry_after=max(1, math.ceil(stats.reset_time - time.time()))
                )

    async def record_failure(self, account: str, ip: str) -> None:
        for item, keys in self._budgets(account, ip):
            await self._limiter.hit(item, *keys)
