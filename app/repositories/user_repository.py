# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Queries on users. SQLAlchemy expressions only: every value is a bound parameter."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.exceptions import Conflict
from app.models import Item, User

DUPLICATE = "Email or username already registered"


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.execute(select(User).where(User.email == email.lower()))
        return result.scalar_one_or_none()

    async def get_by_username(self, username: str) -> User | None:
        # Case-insensitive, like the unique index on lower(username): "Ann" is taken by "ann".
        result = await self.session.execute(
            select(User).where(func.lower(User.username) == username.lower())
        )
        return result.scalar_one_or_none()

    async def get_by_login(self, login: str) -> User | None:
        """A user by username or by email, whichever the login names."""
        login = login.lower()
        result = await self.session.execute(
            select(User).where(or_(User.email == login, func.lower(User.username) == login))
        )
        return result.scalars().first()

    async def list(self, *, skip: int, limit: int) -> Sequence[User]:
        result = await self.session.execute(
            select(User).order_by(User.id).offset(skip).limit(limit)
        )
        return result.scalars().all()

    async def item_ids(self, user_id: int) -> Sequence[int]:
        """The ids of the items a user owns (they go when the user goes)."""
        result = await self.session.execute(select(Item.id).where(Item.owner_id == user_id))
        return result.scalars().all()

    async def create(self, **fields: Any) -> User:
        user = User(**fields)
        self.session.add(user)
        await self._commit()
        return user

    async def update(self, user: User, **fields: Any) -> User:
        for name, value in fields.items():
            setattr(user, name, value)
        await self._commit()
        return user

    async def delete(self, user: User) -> None:
        await self.session.delete(user)
        await self.session.commit()

    async def _commit(self) -> None:
        """Commit; a unique constraint the write broke (a duplicate that raced past the
        service's check) becomes the domain's Conflict, so no caller sees a database error."""
        try:
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise Conflict(DUPLICATE) from error
