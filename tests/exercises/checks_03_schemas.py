"""Checks of the lesson 03 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError


def _refused(schema: Any, **fields: Any) -> bool:
    try:
        schema(**fields)
    except ValidationError:
        return True
    return False


@pytest.mark.exercise("03.1", points=1)
@pytest.mark.parametrize("empty", ["", "   "])
def test_an_empty_description_is_none(empty: str) -> None:
    """ItemCreate with description "" (or only blanks) has description None."""
    from app.schemas.item import ItemCreate

    item = ItemCreate(title="Milk", description=empty)
    assert item.description is None, f"description {empty!r} became {item.description!r}"


@pytest.mark.exercise("03.1", points=1)
def test_an_empty_description_clears_it_on_update() -> None:
    """ItemUpdate with description "" sends description None as a change (clears it)."""
    from app.schemas.item import ItemUpdate

    changes = ItemUpdate(description="").changes()
    assert changes == {"description": None}, f"changes() is {changes!r}"


@pytest.mark.exercise("03.1", points=1)
def test_real_descriptions_are_kept() -> None:
    """A real description is kept as sent (blanks around it stripped)."""
    from app.schemas.item import ItemCreate

    item = ItemCreate(title="Milk", description="  two litres ")
    assert item.description == "two litres", f"description became {item.description!r}"


@pytest.mark.exercise("03.1", points=2)
@pytest.mark.parametrize("title", ["Milk\nEggs", "Milk\tEggs", "Milk\x00", "bell\x07"])
def test_control_characters_in_a_title_are_refused(title: str) -> None:
    """A title with a line break, tab or other control character is refused (create, update)."""
    from app.schemas.item import ItemCreate, ItemUpdate

    assert _refused(ItemCreate, title=title), f"ItemCreate accepted the title {title!r}"
    assert _refused(ItemUpdate, title=title), f"ItemUpdate accepted the title {title!r}"


@pytest.mark.exercise("03.1", points=1)
def test_unicode_titles_stay_valid() -> None:
    """Titles such as 'Crème brûlée' or '東京 trip' are still accepted."""
    from app.schemas.item import ItemCreate

    for title in ("Crème brûlée", "東京 trip", "50% off!"):
        assert ItemCreate(title=title).title == title, f"{title!r} was changed or refused"


def _item(n: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"id": n, "title": f"item {n}", "description": None, "owner_id": 1,
            "created_at": now, "updated_at": now}  # fmt: skip


def _page(**fields: Any) -> Any:
    from app.schemas.item import ItemResponse
    from app.schemas.page import Page

    return Page[ItemResponse](**fields)


@pytest.mark.exercise("03.2", points=1)
def test_a_page_validates_its_items() -> None:
    """Page[ItemResponse] turns each item into an ItemResponse and refuses a bad one."""
    from app.schemas.item import ItemResponse

    page = _page(items=[_item(1), _item(2)], total=2, skip=0, limit=10)
    assert all(isinstance(i, ItemResponse) for i in page.items), "items are not ItemResponse"
    with pytest.raises(ValidationError):
        _page(items=[{"title": "no id"}], total=1, skip=0, limit=10)
        raise AssertionError("an item without id was accepted")


@pytest.mark.exercise("03.2", points=2)
@pytest.mark.parametrize(
    ("count", "total", "skip", "expected"),
    [(2, 5, 0, True), (2, 5, 3, False), (0, 0, 0, False), (3, 10, 6, True)],
)
def test_has_more_says_whether_items_remain(
    count: int, total: int, skip: int, expected: bool
) -> None:
    """Serialized, a page has has_more: True exactly when items remain after it."""
    page = _page(items=[_item(n) for n in range(count)], total=total, skip=skip, limit=count or 1)
    dumped = page.model_dump(mode="json")
    assert "has_more" in dumped, "model_dump() has no has_more field"
    assert dumped["has_more"] is expected, (
        f"{count} items from {skip} of {total}: has_more is {dumped['has_more']!r}"
    )


@pytest.mark.exercise("03.2", points=1)
@pytest.mark.parametrize(("field", "bad"), [("total", -1), ("skip", -1), ("limit", 0)])
def test_impossible_numbers_are_refused(field: str, bad: int) -> None:
    """A negative total or skip, or a limit below 1, is a validation error."""
    fields = {"items": [], "total": 0, "skip": 0, "limit": 10} | {field: bad}
    assert _refused(_page, **fields), f"{field}={bad} was accepted"
