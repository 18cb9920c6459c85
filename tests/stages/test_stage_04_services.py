"""Stage 04 — repositories and services: registration, login, permissions, hashing off the loop."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest


@pytest.fixture
async def sessionmaker(stage_settings: Any) -> AsyncIterator[Any]:
    """A session factory on the stage's fresh SQLite file, tables created."""
    import app.models  # noqa: F401 (registers the tables)
    from app.database import create_engine, create_sessionmaker, create_tables

    engine = create_engine(stage_settings.database_url)
    await create_tables(engine)
    yield create_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
async def session(sessionmaker: Any) -> AsyncIterator[Any]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def users(session: Any, service_extras: dict[str, Any]) -> Any:
    from app.repositories.user_repository import UserRepository
    from app.services.user_service import UserService

    return UserService(UserRepository(session), **service_extras)


@pytest.fixture
def items(session: Any, service_extras: dict[str, Any]) -> Any:
    from app.repositories.item_repository import ItemRepository
    from app.services.item_service import ItemService

    return ItemService(ItemRepository(session), **service_extras)


async def register(users: Any, username: str, password: str, **options: Any) -> Any:
    from app.schemas.user import UserCreate

    data = UserCreate(email=f"{username}@example.com", username=username, password=password)
    return await users.register(data, **options)


async def test_register_then_authenticate_by_username_or_email(users: Any, password: str) -> None:
    user = await register(users, "Alice", password)
    assert user.id is not None
    assert user.is_active and not user.is_superuser
    stored = await users.users.get(user.id)  # the service returns no hash: ask the repository
    assert stored.hashed_password != password
    for login in ["Alice", "alice", "alice@example.com", "ALICE@Example.com"]:
        assert (await users.authenticate(login, password)).id == user.id


async def test_every_login_failure_is_invalid_credentials(users: Any, password: str) -> None:
    from app.exceptions import InvalidCredentials

    alice = await register(users, "alice", password)
    with pytest.raises(InvalidCredentials):
        await users.authenticate("alice", "not-the-password")
    with pytest.raises(InvalidCredentials):
        await users.authenticate("nobody", password)
    await users.users.update(await users.users.get(alice.id), is_active=False)
    with pytest.raises(InvalidCredentials):
        await users.authenticate("alice", password)


@pytest.mark.parametrize(
    ("email", "username", "error"),
    [
        ("ALICE@example.com", "someone", "EmailAlreadyRegistered"),
        ("someone@example.com", "ALICE", "UsernameAlreadyTaken"),
    ],
)
async def test_duplicates_are_conflicts_case_insensitively(
    users: Any, password: str, email: str, username: str, error: str
) -> None:
    from app import exceptions
    from app.schemas.user import UserCreate

    await register(users, "alice", password)
    expected = getattr(exceptions, error)
    assert issubclass(expected, exceptions.Conflict)
    with pytest.raises(expected):
        await users.register(UserCreate(email=email, username=username, password=password))


async def test_concurrent_duplicate_registrations_give_one_user(
    sessionmaker: Any, password: str, service_extras: dict[str, Any]
) -> None:
    from app.exceptions import Conflict
    from app.repositories.user_repository import UserRepository
    from app.schemas.user import UserCreate
    from app.services.user_service import UserService

    async def attempt(n: int) -> Any:
        async with sessionmaker() as session:
            data = UserCreate(email=f"carol{n}@example.com", username="carol", password=password)
            service = UserService(UserRepository(session), **service_extras)
            return await service.register(data)

    results = await asyncio.gather(*(attempt(n) for n in range(10)), return_exceptions=True)
    created = [result for result in results if not isinstance(result, BaseException)]
    refused = [result for result in results if isinstance(result, BaseException)]
    assert len(created) == 1
    assert all(isinstance(error, Conflict) for error in refused), refused


async def test_hash_password_uses_argon2(password: str) -> None:
    from app.utils.security import hash_password, verify_password

    hashed = await hash_password(password)
    assert hashed.startswith("$argon2")
    assert hashed != await hash_password(password)  # salted
    assert await verify_password(password, hashed)
    assert not await verify_password("not-the-password", hashed)


async def test_hashing_runs_in_a_bounded_pool(
    password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """However many hashes are asked for at once, no more than the pool's size run together:
    a login storm queues instead of taking every core from the event loop."""
    import os
    import threading
    import time

    from app.utils import security

    assert security.default_hash_workers() == max(1, (os.cpu_count() or 1) - 1)
    original = security.pwd_context.hash
    running, most = 0, 0
    lock = threading.Lock()

    def counting_hash(secret: str, **kwargs: Any) -> str:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.01)  # long enough for the others to overlap, were they allowed to
            return original(secret, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(security.pwd_context, "hash", counting_hash)
    security.configure_hashing(2)
    try:
        await asyncio.gather(*(security.hash_password(password) for _ in range(6)))
    finally:
        security.configure_hashing()
    assert most == 2


async def test_registration_hashes_in_a_worker_thread(
    users: Any, password: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.utils import security

    original = security.pwd_context.hash
    loop_in_calling_thread: list[bool] = []

    def recording_hash(secret: str, **kwargs: Any) -> str:
        try:
            asyncio.get_running_loop()
            loop_in_calling_thread.append(True)
        except RuntimeError:  # no event loop here: a worker thread
            loop_in_calling_thread.append(False)
        return original(secret, **kwargs)

    monkeypatch.setattr(security.pwd_context, "hash", recording_hash)
    await security.hash_password(password)
    await register(users, "alice", password)
    assert loop_in_calling_thread
    assert not any(loop_in_calling_thread)


async def test_only_a_superuser_lists_users(users: Any, password: str) -> None:
    from app.exceptions import PermissionDenied

    root = await register(users, "root", password, is_superuser=True)
    alice = await register(users, "alice", password)
    with pytest.raises(PermissionDenied):
        await users.list(alice, skip=0, limit=100)
    listed = await users.list(root, skip=0, limit=100)
    assert [user.username for user in listed] == ["root", "alice"]


async def test_reading_another_user_is_permission_denied(users: Any, password: str) -> None:
    from app.exceptions import NotFound, PermissionDenied

    root = await register(users, "root", password, is_superuser=True)
    alice = await register(users, "alice", password)
    bob = await register(users, "bob", password)
    with pytest.raises(PermissionDenied):
        await users.get(alice, bob.id)
    assert (await users.get(alice, alice.id)).id == alice.id
    assert (await users.get(root, bob.id)).id == bob.id
    with pytest.raises(NotFound):
        await users.get(root, 9999)


async def test_non_superuser_cannot_make_themselves_superuser(
    users: Any, sessionmaker: Any, password: str
) -> None:
    from app.exceptions import PermissionDenied
    from app.models import User
    from app.schemas.user import UserUpdate

    alice = await register(users, "alice", password)
    with pytest.raises(PermissionDenied):
        await users.update(alice, alice.id, UserUpdate(is_superuser=True, username="alice2"))
    async with sessionmaker() as other_session:
        stored = await other_session.get(User, alice.id)
    assert stored is not None
    assert stored.is_superuser is False
    assert stored.username == "alice"


async def test_items_of_others_are_not_found_superuser_sees_all(
    users: Any, items: Any, password: str
) -> None:
    from app.exceptions import NotFound
    from app.schemas.item import ItemCreate

    root = await register(users, "root", password, is_superuser=True)
    alice = await register(users, "alice", password)
    bob = await register(users, "bob", password)
    note = await items.create(alice, ItemCreate(title="Alice's note"))
    await items.create(bob, ItemCreate(title="Bob's list"))

    assert note.owner_id == alice.id
    assert (await items.get(alice, note.id)).id == note.id
    with pytest.raises(NotFound):
        await items.get(bob, note.id)
    assert [item.title for item in await items.list(bob, skip=0, limit=100)] == ["Bob's list"]
    everything = await items.list(root, skip=0, limit=100)
    assert [item.title for item in everything] == ["Alice's note", "Bob's list"]
    assert (await items.get(root, note.id)).id == note.id
