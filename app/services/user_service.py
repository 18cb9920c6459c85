"""Rules about users: uniqueness, hashing, who may see or change whom."""

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from app.exceptions import (
    Conflict,
    EmailAlreadyRegistered,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    UsernameAlreadyTaken,
)
from app.models import User
from app.repositories.user_repository import UserRepository
from app.schemas.user import UserCreate, UserUpdate
from app.utils.security import hash_password, verify_against_dummy, verify_password


class UserService:
    def __init__(self, users: UserRepository) -> None:
        self.users = users

    async def register(self, data: UserCreate, *, is_superuser: bool = False) -> User:
        await self._ensure_available(email=data.email, username=data.username)
        hashed = await hash_password(data.password)
        return await self._save(
            None,
            email=data.email,
            username=data.username,
            hashed_password=hashed,
            is_superuser=is_superuser,
        )

    async def authenticate(self, login: str, password: str) -> User:
        """The active user with these credentials; one InvalidCredentials for every failure."""
        user = await self.users.get_by_login(login)
        if user is None:
            await verify_against_dummy(password)  # same cost as a wrong password
            raise InvalidCredentials
        if not await verify_password(password, user.hashed_password) or not user.is_active:
            raise InvalidCredentials
        return user

    async def get_active(self, user_id: int) -> User:
        """The user a token names, if it still exists and may act."""
        user = await self.users.get(user_id)
        if user is None or not user.is_active:
            raise InvalidCredentials
        return user

    async def list(self, actor: User, *, skip: int, limit: int) -> Sequence[User]:
        if not actor.is_superuser:
            raise PermissionDenied
        return await self.users.list(skip=skip, limit=limit)

    async def get(self, actor: User, user_id: int) -> User:
        # The seed's GET /users/{id} was public: anyone could read anyone's email.
        if actor.id != user_id and not actor.is_superuser:
            raise PermissionDenied
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        return user

    async def update(self, actor: User, user_id: int, data: UserUpdate) -> User:
        user = await self.get(actor, user_id)
        changes = data.changes()
        if not actor.is_superuser:
            if "is_superuser" in changes:
                raise PermissionDenied("Only a superuser can change is_superuser")
            if changes.get("is_active") is True and not user.is_active:
                raise PermissionDenied("Only a superuser can reactivate an account")
        await self._ensure_available(
            email=changes.get("email"), username=changes.get("username"), current=user
        )
        if "password" in changes:
            changes["hashed_password"] = await hash_password(changes.pop("password"))
        return await self._save(user, **changes)

    async def delete(self, actor: User, user_id: int) -> None:
        user = await self.get(actor, user_id)
        await self.users.delete(user)

    async def _ensure_available(
        self, *, email: str | None, username: str | None, current: User | None = None
    ) -> None:
        """Raise a Conflict naming the field when email or username belongs to someone else."""
        if email is not None:
            owner = await self.users.get_by_email(email)
            if owner is not None and owner is not current:
                raise EmailAlreadyRegistered
        if username is not None:
            owner = await self.users.get_by_username(username)
            if owner is not None and owner is not current:
                raise UsernameAlreadyTaken

    async def _save(self, user: User | None, **fields: object) -> User:
        """Create or update; a duplicate that raced past the pre-check becomes a Conflict."""
        try:
            if user is None:
                return await self.users.create(**fields)
            return await self.users.update(user, **fields)
        except IntegrityError as error:
            await self.users.rollback()
            raise Conflict("Email or username already registered") from error
