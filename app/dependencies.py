# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""Shared dependencies, with the Annotated aliases routers use (SessionDep, CurrentUser...).

Every dependency is `async def`, even those that never await: FastAPI runs a plain `def`
dependency in a worker thread, and on a cached read those thread hops were most of the cost.
They take an `HTTPConnection`, the common base of `Request` and `WebSocket`, so an HTTP route
and a WebSocket route reach the same resources the same way.
"""

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import Cache
from app.config import Settings
from app.exceptions import PermissionDenied
from app.rate_limit import LoginRateLimiter
from app.schemas.principal import Principal
from app.services.auth_service import AuthService
from app.services.item_service import ItemService
from app.services.notifications import Mailer
from app.services.user_service import UserService
from app.utils.security import decode_access_token

if TYPE_CHECKING:  # app.main imports the routers, which import this module
    from app.main import Resources

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


def resources(connection: HTTPConnection) -> "Resources":
    """What the lifespan opened, typed (`app.state` itself is untyped). A plain function, not
    a dependency: every dependency FastAPI resolves costs a little on every request."""
    opened: Resources = connection.app.state.resources
    return opened


async def get_db(connection: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """One session per request, closed when the response is done.

    A session connects only when first used; one that was not (a cache hit) has nothing to
    close, so the close, which costs a trip through SQLAlchemy's greenlet, is skipped.
    """
    session = resources(connection).sessionmaker()
    try:
        yield session
    finally:
        if session.in_transaction() or session.sync_session.identity_map:
            await session.close()


async def get_app_settings(connection: HTTPConnection) -> Settings:
    """The settings this app was built with (tests and notebooks pass their own)."""
    settings: Settings = connection.app.state.settings
    return settings


async def get_login_limiter(connection: HTTPConnection) -> LoginRateLimiter:
    return resources(connection).login_limiter


async def get_cache(connection: HTTPConnection) -> Cache:
    return resources(connection).cache


async def get_mailer(connection: HTTPConnection) -> Mailer:
    return resources(connection).mailer


SessionDep = Annotated[AsyncSession, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LoginLimiterDep = Annotated[LoginRateLimiter, Depends(get_login_limiter)]
CacheDep = Annotated[Cache, Depends(get_cache)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]


async def get_user_service(connection: HTTPConnection, session: SessionDep) -> UserService:
    return UserService.for_session(session, resources(connection).cache)


async def get_item_service(connection: HTTPConnection, session: SessionDep) -> ItemService:
    return ItemService.for_session(session, resources(connection).cache)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]


async def get_auth_service(
    connection: HTTPConnection, users: UserServiceDep, limiter: LoginLimiterDep
) -> AuthService:
    return AuthService(users, limiter, connection.app.state.settings)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


async def get_current_user(
    connection: HTTPConnection, token: Annotated[str, Depends(oauth2_scheme)], users: UserServiceDep
) -> Principal:
    """Who the bearer token names, if still active and the token not revoked; 401 otherwise.
    The principal comes from the cache: a hit makes no database query."""
    settings: Settings = connection.app.state.settings
    claims = decode_access_token(token, settings.jwt_secret)
    return await users.get_active(claims.user_id, claims.generation)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_current_superuser(user: CurrentUser) -> Principal:
    if not user.is_superuser:
        raise PermissionDenied
    return user


CurrentSuperuser = Annotated[Principal, Depends(get_current_superuser)]
