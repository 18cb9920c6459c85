"""Stage 02 — async database: tables, sessions, UTC timestamps, cascades, uniqueness."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture
async def engine(stage_settings: Any) -> AsyncIterator[AsyncEngine]:
    """The app's engine on the stage's fresh SQLite file, tables created."""
    import app.models  # noqa: F401 (registers the tables on Base.metadata)
    from app.database import create_engine, create_tables

    engine = create_engine(stage_settings.database_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Any:
    from app.database import create_sessionmaker

    return create_sessionmaker(engine)


def new_user(name: str, **fields: Any) -> Any:
    from app.models import User

    return User(
        email=fields.pop("email", f"{name.lower()}@example.com"),
        username=name,
        hashed_password="not-a-real-hash",
        **fields,
    )


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_create_tables_makes_users_and_items(engine: AsyncEngine) -> None:
    assert {"users", "items"} <= await table_names(engine)


async def test_create_tables_is_idempotent(engine: AsyncEngine, sessions: Any) -> None:
    from app.database import create_tables
    from app.models import User

    async with sessions() as session:
        session.add(new_user("alice"))
        await session.commit()
    await create_tables(engine)
    await create_tables(engine)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1


async def test_insert_and_query_with_async_session(sessions: Any) -> None:
    from app.models import Item, User

    async with sessions() as session:
        alice = new_user("alice")
        alice.items = [Item(title="First"), Item(title="Second", description="more")]
        session.add(alice)
        await session.commit()
        # expire_on_commit=False: attributes stay readable after commit, no lazy load.
        assert alice.id is not None
        assert alice.is_active is True
        assert alice.is_superuser is False

    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == "alice"))
        assert user is not None
        assert user.email == "alice@example.com"
        items = (await session.scalars(select(Item).order_by(Item.id))).all()
        assert [(item.title, item.description, item.owner_id) for item in items] == [
            ("First", None, user.id),
            ("Second", "more", user.id),
        ]


async def test_timestamps_are_aware_utc_after_a_round_trip(sessions: Any) -> None:
    from app.models import User

    before = datetime.now(UTC)
    paris_noon = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    async with sessions() as session:
        session.add(new_user("alice"))
        session.add(new_user("bob", created_at=paris_noon))
        await session.commit()

    async with sessions() as session:
        alice = await session.scalar(select(User).where(User.username == "alice"))
        bob = await session.scalar(select(User).where(User.username == "bob"))
    assert alice is not None and bob is not None
    for stamp in (alice.created_at, alice.updated_at, bob.created_at):
        assert stamp.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= alice.created_at <= datetime.now(UTC)
    # Stored in UTC, not as Paris wall-clock time with the offset dropped.
    assert bob.created_at == paris_noon
    assert bob.created_at.hour == 11


async def test_deleting_a_user_deletes_their_items(sessions: Any) -> None:
    from app.models import Item, User

    async with sessions() as session:
        alice, bob = new_user("alice"), new_user("bob")
        alice.items = [Item(title="a1"), Item(title="a2")]
        bob.items = [Item(title="b1")]
        session.add_all([alice, bob])
        await session.commit()

    # A fresh session: the items are not loaded, so only the database can remove them.
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == "alice"))
        await session.delete(user)
        await session.commit()

    async with sessions() as session:
        titles = (await session.scalars(select(Item.title).order_by(Item.id))).all()
    assert titles == ["b1"]


async def test_duplicate_email_is_refused(sessions: Any) -> None:
    async with sessions() as session:
        session.add(new_user("alice", email="same@example.com"))
        await session.commit()
    async with sessions() as session:
        session.add(new_user("bob", email="same@example.com"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_username_is_unique_case_insensitively(sessions: Any) -> None:
    from app.models import User

    async with sessions() as session:
        session.add(new_user("alice"))
        await session.commit()
    async with sessions() as session:
        session.add(new_user("ALICE", email="other@example.com"))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with sessions() as session:
        names = (await session.scalars(select(User.username))).all()
    assert names == ["alice"]


async def test_ids_are_never_reused(sessions: Any) -> None:
    """SQLite hands the highest id out again after a delete unless the table has AUTOINCREMENT:
    a deleted user's id (and so their tokens) would belong to the next account."""
    async with sessions() as session:
        first, newest = new_user("first"), new_user("newest")
        session.add_all([first, newest])
        await session.commit()
        gone = newest.id
        await session.delete(newest)
        await session.commit()
        after = new_user("after")
        session.add(after)
        await session.commit()
        assert after.id > gone
        assert after.token_generation == 0  # what lesson 06's tokens carry
