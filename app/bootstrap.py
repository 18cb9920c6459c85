# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Start-up data: the first superuser, created once even when several workers start together."""

import logging

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cache import Cache
from app.config import Settings
from app.exceptions import Conflict
from app.schemas.user import UserCreate
from app.services.user_service import UserService

logger = logging.getLogger(__name__)


async def ensure_first_superuser(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, cache: Cache
) -> None:
    email, username = settings.first_superuser_email, settings.first_superuser_username
    password = settings.first_superuser_password
    if not (email and username and password):
        return
    data = UserCreate(email=email, username=username, password=password.get_secret_value())
    async with sessionmaker() as session:
        try:
            await UserService.for_session(session, cache).register(data, is_superuser=True)
        except Conflict:
            return  # already there (or another worker just created it)
        except DBAPIError as error:
            # Typically production on a database nobody migrated yet: say what to do.
            raise RuntimeError(
                "could not create the first superuser; is the schema there? "
                "In production, run `alembic upgrade head` before starting the app"
            ) from error
    logger.info("created first superuser %s", username)
