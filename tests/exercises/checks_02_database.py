"""Checks of the lesson 02 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture
async def engine(stage_settings: Any) -> AsyncIterator[AsyncEngine]:
    import app.models  # noqa: F401 (registers the tables)
    from app.database import create_engine, create_tables

    engine = create_engine(stage_settings.database_url)
    await create_tables(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> Any:
    from app.database import create_sessionmaker

    return create_sessionmaker(engine)


async def _owner(session: Any) -> Any:
    from app.models import User

    user = User(email="ann@example.com", username="ann", hashed_password="not-a-real-hash")
    session.add(user)
    await session.commit()
    return user


async def _columns(engine: AsyncEngine, table: str) -> dict[str, Any]:
    async with engine.connect() as connection:
        found = await connection.run_sync(lambda sync: inspect(sync).get_columns(table))
    return {column["name"]: column for column in found}


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


@pytest.mark.exercise("02.1", points=1)
async def test_items_have_a_non_null_is_done_column(engine: AsyncEngine) -> None:
    """The items table has a column is_done that cannot be NULL."""
    columns = await _columns(engine, "items")
    assert "is_done" in columns, f"items has no is_done column (it has {sorted(columns)})"
    assert not columns["is_done"]["nullable"], "is_done may be NULL: make it NOT NULL"


@pytest.mark.exercise("02.1", points=1)
async def test_a_new_item_is_not_done(sessions: Any) -> None:
    """An item created without is_done reads back as not done."""
    from app.models import Item

    async with sessions() as session:
        owner = await _owner(session)
        session.add(Item(title="Milk", owner_id=owner.id))
        await session.commit()
    async with sessions() as session:
        item = (await session.execute(select(Item))).scalar_one()
        assert item.is_done is False, f"a new item's is_done is {item.is_done!r}, not False"


@pytest.mark.exercise("02.1", points=1)
async def test_done_is_stored(sessions: Any) -> None:
    """Setting is_done = True and committing is still True in a new session."""
    from app.models import Item

    async with sessions() as session:
        owner = await _owner(session)
        item = Item(title="Milk", owner_id=owner.id)
        session.add(item)
        await session.commit()
        item.is_done = True
        await session.commit()
    async with sessions() as session:
        stored = (await session.execute(select(Item))).scalar_one()
        assert stored.is_done is True, "is_done = True did not survive a new session"


@pytest.mark.exercise("02.2", points=1)
async def test_tags_and_links_tables_exist(engine: AsyncEngine) -> None:
    """create_tables creates the tables tags and item_tags."""
    tables = await _tables(engine)
    missing = {"tags", "item_tags"} - tables
    assert not missing, f"missing tables: {sorted(missing)} (is the module registered?)"


@pytest.mark.exercise("02.2", points=1)
async def test_tag_names_are_unique(sessions: Any) -> None:
    """Two tags with the same name are refused by the database (IntegrityError)."""
    from app.models.tag import Tag

    async with sessions() as session:
        session.add(Tag(name="urgent"))
        await session.commit()
        session.add(Tag(name="urgent"))
        with pytest.raises(IntegrityError):
            await session.commit()
            raise AssertionError("a second tag named 'urgent' was stored")


@pytest.mark.exercise("02.2", points=2)
async def test_a_tag_lists_its_items(sessions: Any) -> None:
    """A tag given to two items lists both in Tag.items, after a reload."""
    from sqlalchemy.orm import selectinload

    from app.models import Item
    from app.models.tag import Tag

    async with sessions() as session:
        owner = await _owner(session)
        tag = Tag(name="groceries")
        milk, eggs = Item(title="Milk", owner_id=owner.id), Item(title="Eggs", owner_id=owner.id)
        session.add_all([tag, milk, eggs])
        await session.commit()
        await session.refresh(tag, ["items"])
        tag.items.extend([milk, eggs])
        await session.commit()
    async with sessions() as session:
        query = select(Tag).options(selectinload(Tag.items))
        stored = (await session.execute(query)).scalar_one()
        titles = sorted(i.title for i in stored.items)
        assert titles == ["Eggs", "Milk"], f"Tag.items after a reload: {titles}"


@pytest.mark.exercise("02.2", points=2)
async def test_deleting_an_item_removes_only_its_links(sessions: Any) -> None:
    """Deleting a tagged item removes its item_tags rows and keeps the tag."""
    from app.models import Item
    from app.models.tag import Tag

    async with sessions() as session:
        owner = await _owner(session)
        tag, milk = Tag(name="groceries"), Item(title="Milk", owner_id=owner.id)
        session.add_all([tag, milk])
        await session.commit()
        await session.refresh(tag, ["items"])
        tag.items.append(milk)
        await session.commit()
        await session.execute(text("DELETE FROM items"))
        await session.commit()
        links = (await session.execute(text("SELECT count(*) FROM item_tags"))).scalar_one()
        tags = (await session.execute(text("SELECT count(*) FROM tags"))).scalar_one()
    assert links == 0, f"{links} link(s) still point to the deleted item"
    assert tags == 1, "deleting the item deleted the tag too"
