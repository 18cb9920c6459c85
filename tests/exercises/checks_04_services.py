"""Checks of the lesson 04 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest

QUOTA = 10


@pytest.fixture
async def session(stage_settings: Any) -> AsyncIterator[Any]:
    import app.models  # noqa: F401 (registers the tables)
    from app.database import create_engine, create_sessionmaker, create_tables

    engine = create_engine(stage_settings.database_url)
    await create_tables(engine)
    async with create_sessionmaker(engine)() as session:
        yield session
    await engine.dispose()


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


async def _register(users: Any, name: str, password: str, **options: Any) -> Any:
    from app.schemas.user import UserCreate

    data = UserCreate(email=f"{name}@example.com", username=name, password=password)
    return await users.register(data, **options)


async def _create(items: Any, actor: Any, n: int) -> list[Any]:
    from app.schemas.item import ItemCreate

    return [await items.create(actor, ItemCreate(title=f"item {i}")) for i in range(n)]


async def _refused(items: Any, actor: Any) -> bool:
    from app.exceptions import DomainError, QuotaExceeded

    assert issubclass(QuotaExceeded, DomainError), "QuotaExceeded should be a DomainError"
    try:
        await _create(items, actor, 1)
    except QuotaExceeded:
        return True
    return False


@pytest.mark.exercise("04.1", points=1)
async def test_up_to_the_quota_is_fine(users: Any, items: Any, password: str) -> None:
    """A user can create 10 items."""
    ann = await _register(users, "ann", password)
    assert len(await _create(items, ann, QUOTA)) == QUOTA


@pytest.mark.exercise("04.1", points=2)
async def test_one_more_raises_quota_exceeded(users: Any, items: Any, password: str) -> None:
    """The 11th item raises QuotaExceeded and is not stored."""
    ann = await _register(users, "ann", password)
    await _create(items, ann, QUOTA)
    assert await _refused(items, ann), "the 11th item was accepted"
    stored = await items.list(ann, skip=0, limit=100)
    assert len(stored) == QUOTA, f"{len(stored)} items stored, expected {QUOTA}"


@pytest.mark.exercise("04.1", points=1)
async def test_the_quota_is_per_user(users: Any, items: Any, password: str) -> None:
    """A full quota for one user does not stop another."""
    ann, bob = await _register(users, "ann", password), await _register(users, "bob", password)
    await _create(items, ann, QUOTA)
    assert len(await _create(items, bob, 1)) == 1, "bob could not create his first item"


@pytest.mark.exercise("04.1", points=1)
async def test_deleting_frees_a_place(users: Any, items: Any, password: str) -> None:
    """After deleting one of 10 items, the user can create one again."""
    ann = await _register(users, "ann", password)
    created = await _create(items, ann, QUOTA)
    await items.delete(ann, created[0].id)
    assert len(await _create(items, ann, 1)) == 1, "no place freed by deleting an item"


@pytest.mark.exercise("04.1", points=1)
async def test_superusers_have_no_quota(users: Any, items: Any, password: str) -> None:
    """A superuser can create more than 10 items."""
    root = await _register(users, "boss", password, is_superuser=True)
    assert len(await _create(items, root, QUOTA + 2)) == QUOTA + 2


NEW_PASSWORD = "a-brand-new-passphrase"


@pytest.mark.exercise("04.2", points=2)
async def test_the_new_password_replaces_the_old(users: Any, password: str) -> None:
    """After change_password, the new password logs in and the old one no longer does."""
    from app.exceptions import InvalidCredentials

    ann = await _register(users, "ann", password)
    await users.change_password(ann, ann.id, password, NEW_PASSWORD)
    assert (await users.authenticate("ann", NEW_PASSWORD)).id == ann.id
    with pytest.raises(InvalidCredentials):
        await users.authenticate("ann", password)
        raise AssertionError("the old password still logs in")


@pytest.mark.exercise("04.2", points=1)
async def test_a_wrong_current_password_changes_nothing(users: Any, password: str) -> None:
    """A wrong current password raises InvalidCredentials and the old password still works."""
    from app.exceptions import InvalidCredentials

    ann = await _register(users, "ann", password)
    with pytest.raises(InvalidCredentials):
        await users.change_password(ann, ann.id, "not-the-password", NEW_PASSWORD)
        raise AssertionError("a wrong current password was accepted")
    assert (await users.authenticate("ann", password)).id == ann.id, "old password broken"


@pytest.mark.exercise("04.2", points=1)
async def test_nobody_changes_someone_elses_password(users: Any, password: str) -> None:
    """Changing another account's password raises PermissionDenied, even for a superuser."""
    from app.exceptions import PermissionDenied

    ann = await _register(users, "ann", password)
    boss = await _register(users, "boss", password, is_superuser=True)
    for actor in (boss,):
        with pytest.raises(PermissionDenied):
            await users.change_password(actor, ann.id, password, NEW_PASSWORD)
            raise AssertionError("someone else changed ann's password")
    assert (await users.authenticate("ann", password)).id == ann.id


@pytest.mark.exercise("04.2", points=1)
async def test_earlier_tokens_are_revoked(users: Any, password: str) -> None:
    """A token issued before the change (its generation) is refused afterwards."""
    from app.exceptions import InvalidCredentials

    ann = await _register(users, "ann", password)
    before = (await users.users.get(ann.id)).token_generation
    await users.change_password(ann, ann.id, password, NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        await users.get_active(ann.id, before)
        raise AssertionError("a token from before the change is still accepted")
