# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""Shared dependencies, with the Annotated aliases routers use (SessionDep, CurrentUser...).

Every dependency is `async def`, even those that never await: FastAPI runs a plain `def`
dependency in a worker thread, and on a cached read those thread hops were most of the cost.
"""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import Cache
from app.config import Settings
from app.database import get_db
from app.exceptions import PermissionDenied
from app.rate_limit import LoginRateLimiter
from app.repositories.item_repository import ItemRepository
from app.repositories.user_repository import UserRepository
from app.schemas.principal import Principal
from app.services.item_service import ItemService
from app.services.notifications import Mailer
from app.services.user_service import UserService
from app.utils.security import decode_access_token

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


async def get_app_settings(request: Request) -> Settings:
    """The settings this app was built with (tests and notebooks pass their own)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_login_limiter(request: Request) -> LoginRateLimiter:
    limiter: LoginRateLimiter = request.app.state.login_limiter
    return limiter


async def get_cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


async def get_mailer(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


SessionDep = Annotated[AsyncSession, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
LoginLimiterDep = Annotated[LoginRateLimiter, Depends(get_login_limiter)]
CacheDep = Annotated[Cache, Depends(get_cache)]
MailerDep = Annotated[Mailer, Depends(get_mailer)]


async def get_user_service(request: Request, session: SessionDep) -> UserService:
    return UserService(UserRepository(session), request.app.state.cache)


async def get_item_service(request: Request, session: SessionDep) -> ItemService:
    return ItemService(ItemRepository(session), request.app.state.cache)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]


async def get_current_user(
    request: Request, token: Annotated[str, Depends(oauth2_scheme)], users: UserServiceDep
) -> Principal:
    """Who the bearer token names, if still active and the token not revoked; 401 otherwise.
    The principal comes from the cache: a hit makes no database query."""
    settings: Settings = request.app.state.settings
    claims = decode_access_token(token, settings.jwt_secret)
    return await users.get_active(claims.user_id, claims.generation)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_current_superuser(user: CurrentUser) -> Principal:
    if not user.is_superuser:
        raise PermissionDenied
    return user


CurrentSuperuser = Annotated[Principal, Depends(get_current_superuser)]
