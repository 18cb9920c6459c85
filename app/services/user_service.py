# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Rules about users: uniqueness, hashing, who may see or change whom."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.cache import Cache, cache_key
from app.exceptions import (
    EmailAlreadyRegistered,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    UsernameAlreadyTaken,
)
from app.models import User
from app.repositories.user_repository import UserRepository
from app.schemas.principal import Principal
from app.schemas.user import UserCreate, UserResponse, UserUpdate
from app.utils.security import hash_password, verify_against_dummy, verify_password


class UserService:
    def __init__(self, users: UserRepository, cache: Cache) -> None:
        self.users = users
        self.cache = cache

    @classmethod
    def for_session(cls, session: AsyncSession, cache: Cache) -> "UserService":
        """The one way the app builds this service: the routes' dependency, the WebSocket route
        (who a token names) and start-up (the first superuser) all call it."""
        return cls(UserRepository(session), cache)

    async def register(self, data: UserCreate, *, is_superuser: bool = False) -> UserResponse:
        await self._ensure_available(email=data.email, username=data.username)
        hashed = await hash_password(data.password)
        user = await self.users.create(
            email=data.email,
            username=data.username,
            hashed_password=hashed,
            is_superuser=is_superuser,
        )
        return UserResponse.model_validate(user)

    async def account_id(self, login: str) -> int | None:
        """The id of the account a login names (username or email); None when none does."""
        user = await self.users.get_by_login(login)
        return None if user is None else user.id

    async def authenticate(self, login: str, password: str) -> Principal:
        """The active user with these credentials; one InvalidCredentials for every failure."""
        user = await self.users.get_by_login(login)
        if user is None:
            await verify_against_dummy(password)  # same cost as a wrong password
            raise InvalidCredentials
        if not await verify_password(password, user.hashed_password) or not user.is_active:
            raise InvalidCredentials
        return Principal.model_validate(user)

    async def get_active(self, user_id: int, token_generation: int) -> Principal:
        """Who a token names, if they still exist and may act, and the token is not revoked
        (of their current generation). Cache-aside: a hit costs no database query."""
        principal = await self.cache.get_or_load(
            cache_key("principal", user_id), Principal, lambda: self._load_principal(user_id)
        )
        if (
            principal is None
            or not principal.is_active
            or principal.token_generation != token_generation
        ):
            raise InvalidCredentials
        return principal

    async def list(self, actor: Principal, *, skip: int, limit: int) -> list[UserResponse]:
        if not actor.is_superuser:
            raise PermissionDenied
        users = await self.users.list(skip=skip, limit=limit)
        return [UserResponse.model_validate(user) for user in users]

    async def get(self, actor: Principal, user_id: int) -> UserResponse:
        """Cache-aside read; the permission check runs before the cache is even asked."""
        _check_may_manage(actor, user_id)
        user = await self.cache.get_or_load(
            cache_key("user", user_id), UserResponse, lambda: self._load(user_id)
        )
        if user is None:
            raise NotFound("User not found")
        return user

    async def update(self, actor: Principal, user_id: int, data: UserUpdate) -> UserResponse:
        user = await self._get_for_write(actor, user_id)
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
        if "hashed_password" in changes or (changes.get("is_active") is False and user.is_active):
            # Every token issued so far stops working (the caller logs in again).
            changes["token_generation"] = user.token_generation + 1
        updated = await self.users.update(user, **changes)
        await self.cache.invalidate(cache_key("user", user_id), cache_key("principal", user_id))
        return UserResponse.model_validate(updated)

    async def delete(self, actor: Principal, user_id: int) -> None:
        user = await self._get_for_write(actor, user_id)
        item_ids = await self.users.item_ids(user_id)
        await self.users.delete(user)
        # Their items went with them (ON DELETE CASCADE): drop those cache entries too.
        keys = [cache_key("item", item_id) for item_id in item_ids]
        await self.cache.invalidate(
            cache_key("user", user_id), cache_key("principal", user_id), *keys
        )

    async def _load(self, user_id: int) -> UserResponse | None:
        user = await self.users.get(user_id)
        return None if user is None else UserResponse.model_validate(user)

    async def _load_principal(self, user_id: int) -> Principal | None:
        user = await self.users.get(user_id)
        return None if user is None else Principal.model_validate(user)

    async def _get_for_write(self, actor: Principal, user_id: int) -> User:
        _check_may_manage(actor, user_id)
        user = await self.users.get(user_id)
        if user is None:
            raise NotFound("User not found")
        return user

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


def _check_may_manage(actor: Principal, user_id: int) -> None:
    # Yourself, or anyone if you are a superuser: an account shows its email.
    if actor.id != user_id and not actor.is_superuser:
        raise PermissionDenied
