# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Redis clients with the app's timeouts, and what to do while Redis is away.

Every Redis client of the app (the cache, the login counters, the rooms' broker) is made by
`create_redis`, so each has the same short timeouts: a slow or vanished Redis costs a request
at most one timeout, never a hang. Each user of Redis keeps an `Outage`: one warning when
Redis stops answering, one when it is back, and nothing in between (no log flood).
"""

import logging
import time
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

# What a failing Redis raises: its own errors, a refused connection, a timeout.
REDIS_ERRORS = (RedisError, OSError, TimeoutError)


def create_redis(
    url: str, *, timeout: float, reads_time_out: bool = True, **options: Any
) -> redis.Redis:
    """A client with its own connection pool: connecting, and each reply unless
    `reads_time_out=False` (a subscriber mostly waits), give up after `timeout` seconds."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout if reads_time_out else None,
        **options,
    )


class Outage:
    """Whether a dependency is down: warns once when it fails, once when it recovers.

    `retry_after` seconds after a failure, `waiting` turns False: the caller tries again
    instead of paying the timeout on every request meanwhile.
    """

    def __init__(self, logger: logging.Logger, down: str, back: str, retry_after: float = 0.0):
        self.logger = logger
        self.down = down  # a message with one %s: the error
        self.back = back
        self.retry_after = retry_after
        self.healthy = True
        self._retry_at = 0.0

    @property
    def waiting(self) -> bool:
        """Down, and too soon to try again."""
        return not self.healthy and time.monotonic() < self._retry_at

    def failed(self, error: BaseException) -> None:
        if self.healthy:
            self.logger.warning(self.down, error)
        self.healthy = False
        self._retry_at = time.monotonic() + self.retry_after

    def succeeded(self) -> None:
        if not self.healthy:
            self.logger.warning(self.back)
            self.healthy = True
