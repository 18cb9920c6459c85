# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Password hashing and access tokens: the only module that knows passlib and python-jose."""

import asyncio
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple, TypeVar

from jose import JWTError, jwt
from passlib.context import CryptContext

from app.exceptions import InvalidCredentials

ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)

# Argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane). Not bcrypt: passlib's bcrypt
# backend breaks with bcrypt 5, so CryptContext(schemes=["bcrypt"]) fails at the first hash.
pwd_context = CryptContext(
    schemes=["argon2"],
    deprecated="auto",
    argon2__memory_cost=19 * 1024,
    argon2__time_cost=2,
    argon2__parallelism=1,
)


def default_hash_workers() -> int:
    """One core is left to the event loop: every core but one hashes, and at least one."""
    return max(1, (os.cpu_count() or 1) - 1)


T = TypeVar("T")

_hash_pool: ThreadPoolExecutor | None = None


def configure_hashing(workers: int | None = None) -> None:
    """Size the hashing pool (PASSWORD_HASH_WORKERS; None: cores - 1). Called at start-up."""
    global _hash_pool
    old, _hash_pool = (
        _hash_pool,
        ThreadPoolExecutor(
            max_workers=workers or default_hash_workers(), thread_name_prefix="password-hash"
        ),
    )
    if old is not None:
        old.shutdown(wait=False)  # hashes already queued there still finish


async def _in_hash_pool(function: Callable[..., T], *args: str) -> T:
    # argon2 releases the GIL, so N threads really use N cores. asyncio.to_thread's default
    # pool has min(32, cores + 4) threads: a login storm would take every core, the event loop
    # included. This pool is bounded: extra logins wait in its queue, other requests do not.
    if _hash_pool is None:
        configure_hashing()
    assert _hash_pool is not None
    return await asyncio.get_running_loop().run_in_executor(_hash_pool, function, *args)


async def hash_password(password: str) -> str:
    """Hash in the hashing pool: tens of milliseconds of CPU would stall the event loop."""
    return await _in_hash_pool(pwd_context.hash, password)


async def verify_password(password: str, hashed_password: str) -> bool:
    return await _in_hash_pool(pwd_context.verify, password, hashed_password)


@lru_cache
def _dummy_hash() -> str:
    return pwd_context.hash("not-a-real-password")


async def verify_against_dummy(password: str) -> None:
    """Spend the same time as a real check, so response times do not reveal which users exist."""
    dummy = await _in_hash_pool(_dummy_hash)
    await verify_password(password, dummy)


class AccessClaims(NamedTuple):
    """What a valid access token says: whose it is, and which of their token generations."""

    user_id: int
    generation: int


def create_access_token(
    user_id: int,
    secret: str,
    expires_minutes: int,
    now: datetime | None = None,
    *,
    generation: int = 0,
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        # The user's token generation: a password change or a deactivation bumps it, and
        # every token carrying an older one is refused (app/dependencies.py).
        "gen": generation,
        "iat": issued,
        "exp": issued + timedelta(minutes=expires_minutes),
        "type": TOKEN_TYPE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: str) -> AccessClaims:
    """The claims of a valid access token; InvalidCredentials for anything else."""
    claims, expires = _verified_claims(token, secret)
    if expires <= time.time():  # checked on every use: a remembered token still expires
        raise InvalidCredentials
    return claims


@lru_cache(maxsize=4096)
def _verified_claims(token: str, secret: str) -> tuple[AccessClaims, float]:
    """Verify once per token: python-jose takes a good part of a cached read's time, and a
    client sends the same token with every request. Only valid tokens are remembered (an
    exception is never cached), bounded to the 4,096 most recently used."""
    try:
        # algorithms is pinned: a token cannot choose "none" or another algorithm.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM])
    except JWTError as error:
        raise InvalidCredentials from error
    subject, generation, expires = claims.get("sub"), claims.get("gen"), claims.get("exp")
    if claims.get("type") != TOKEN_TYPE or not isinstance(subject, str):
        raise InvalidCredentials
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise InvalidCredentials
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise InvalidCredentials
    try:
        return AccessClaims(int(subject), generation), float(expires)
    except ValueError as error:
        raise InvalidCredentials from error
