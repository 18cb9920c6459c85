# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Password hashing and access tokens: the only module that knows passlib and python-jose."""

import asyncio
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from jose import JWTError, jwt
from passlib.context import CryptContext

from app.exceptions import InvalidCredentials

ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105 (a claim value, not a secret)

# Argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane). passlib's bcrypt backend
# breaks with bcrypt 5, which is why the seed's CryptContext(schemes=["bcrypt"]) fails.
pwd_context = CryptContext(
    schemes=["argon2"],
    deprecated="auto",
    argon2__memory_cost=19 * 1024,
    argon2__time_cost=2,
    argon2__parallelism=1,
)


async def hash_password(password: str) -> str:
    """Hash in a worker thread: tens of milliseconds of CPU would stall the event loop."""
    return await asyncio.to_thread(pwd_context.hash, password)


async def verify_password(password: str, hashed_password: str) -> bool:
    return await asyncio.to_thread(pwd_context.verify, password, hashed_password)


@lru_cache
def _dummy_hash() -> str:
    return pwd_context.hash("not-a-real-password")


async def verify_against_dummy(password: str) -> None:
    """Spend the same time as a real check, so response times do not reveal which users exist."""
    dummy = await asyncio.to_thread(_dummy_hash)
    await verify_password(password, dummy)


def create_access_token(
    user_id: int, secret: str, expires_minutes: int, now: datetime | None = None
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(minutes=expires_minutes),
        "type": TOKEN_TYPE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: str) -> int:
    """The user id inside a valid access token; InvalidCredentials for anything else."""
    try:
        # algorithms is pinned: a token cannot choose "none" or another algorithm.
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM])
    except JWTError as error:
        raise InvalidCredentials from error
    subject = claims.get("sub")
    if claims.get("type") != TOKEN_TYPE or "exp" not in claims or not isinstance(subject, str):
        raise InvalidCredentials
    try:
        return int(subject)
    except ValueError as error:
        raise InvalidCredentials from error
