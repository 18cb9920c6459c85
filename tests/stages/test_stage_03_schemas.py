"""Stage 03 — schemas: strict input, normalized values, partial updates, safe responses."""

from typing import Any

import pytest
from pydantic import ValidationError

VALID_USER = {"email": "alice@example.com", "username": "alice", "password": "correct-horse"}


def messages(error: ValidationError) -> list[str]:
    return [entry["msg"] for entry in error.errors()]


@pytest.mark.parametrize("field", ["is_superuser", "is_active", "id", "hashed_password"])
def test_user_create_forbids_extra_fields(field: str) -> None:
    from app.schemas import UserCreate

    with pytest.raises(ValidationError) as raised:
        UserCreate.model_validate(VALID_USER | {field: True})
    assert [entry["loc"] for entry in raised.value.errors()] == [(field,)]
    assert raised.value.errors()[0]["type"] == "extra_forbidden"


def test_item_create_forbids_owner_id() -> None:
    from app.schemas import ItemCreate

    with pytest.raises(ValidationError):
        ItemCreate.model_validate({"title": "Mine now", "owner_id": 1})
    assert ItemCreate.model_validate({"title": "Mine"}).description is None


def test_email_is_lowercased_and_checked() -> None:
    from app.schemas import UserCreate, UserUpdate

    user = UserCreate.model_validate(VALID_USER | {"email": " Alice@Example.COM "})
    assert user.email == "alice@example.com"
    assert UserUpdate(email="Bob@Example.org").email == "bob@example.org"
    with pytest.raises(ValidationError):
        UserCreate.model_validate(VALID_USER | {"email": "not-an-email"})


@pytest.mark.parametrize("username", ["al", "a" * 51, "alice smith", "alice!", "élodie"])
def test_bad_usernames_are_refused(username: str) -> None:
    from app.schemas import UserCreate

    with pytest.raises(ValidationError):
        UserCreate.model_validate(VALID_USER | {"username": username})


@pytest.mark.parametrize("username", ["bob", "a" * 50, "Alice_01", "j.doe-2"])
def test_good_usernames_are_kept_as_typed(username: str) -> None:
    from app.schemas import UserCreate

    assert UserCreate.model_validate(VALID_USER | {"username": username}).username == username


@pytest.mark.parametrize(("length", "ok"), [(7, False), (8, True), (128, True), (129, False)])
def test_password_length_bounds(length: int, ok: bool) -> None:
    from app.schemas import UserCreate

    data = VALID_USER | {"password": "p" * length}
    if ok:
        assert UserCreate.model_validate(data).password == "p" * length
    else:
        with pytest.raises(ValidationError):
            UserCreate.model_validate(data)


def test_patch_changes_are_only_the_fields_sent() -> None:
    from app.schemas import ItemUpdate, UserUpdate

    assert UserUpdate.model_validate({}).changes() == {}
    assert UserUpdate.model_validate({"username": "bob"}).changes() == {"username": "bob"}
    assert ItemUpdate.model_validate({"title": "New"}).changes() == {"title": "New"}


@pytest.mark.parametrize(
    ("schema", "field"),
    [
        ("UserUpdate", "email"),
        ("UserUpdate", "username"),
        ("UserUpdate", "password"),
        ("UserUpdate", "is_active"),
        ("UserUpdate", "is_superuser"),
        ("ItemUpdate", "title"),
    ],
)
def test_patch_refuses_explicit_nulls(schema: str, field: str) -> None:
    import app.schemas

    with pytest.raises(ValidationError) as raised:
        getattr(app.schemas, schema).model_validate({field: None})
    assert messages(raised.value) == [f"Value error, {field} cannot be null"]


def test_item_description_may_be_cleared_with_null() -> None:
    from app.schemas import ItemUpdate

    assert ItemUpdate.model_validate({"description": None}).changes() == {"description": None}


def test_user_response_validates_from_an_orm_user_without_password() -> None:
    from app.models import User
    from app.models.timestamps import utcnow
    from app.schemas import UserResponse

    assert not {"password", "hashed_password"} & set(UserResponse.model_fields)
    now = utcnow()
    user: Any = User(
        id=7,
        email="alice@example.com",
        username="Alice",
        hashed_password="$argon2id$v=19$not-a-real-hash",
        is_active=True,
        is_superuser=False,
        created_at=now,
        updated_at=now,
    )
    body = UserResponse.model_validate(user).model_dump()
    assert body == {
        "id": 7,
        "email": "alice@example.com",
        "username": "Alice",
        "is_active": True,
        "is_superuser": False,
        "created_at": now,
        "updated_at": now,
    }


def test_token_type_defaults_to_bearer() -> None:
    from app.schemas import Token

    assert Token(access_token="abc").model_dump() == {"access_token": "abc", "token_type": "bearer"}
    with pytest.raises(ValidationError):
        Token(access_token="abc", token_type="mac")


def test_bounds_the_database_needs_are_checked_at_the_door() -> None:
    from pydantic import TypeAdapter, ValidationError

    from app.schemas import ItemCreate, UserCreate
    from app.schemas.common import Id, Skip

    with pytest.raises(ValidationError):
        ItemCreate(title="a\x00b")
    with pytest.raises(ValidationError):
        UserCreate(email="n@example.com", username="nul", password="pass\x00word")
    assert TypeAdapter(Id).validate_python(2**31 - 1) == 2**31 - 1
    for value in (2**31, 0):
        with pytest.raises(ValidationError):
            TypeAdapter(Id).validate_python(value)
    with pytest.raises(ValidationError):
        TypeAdapter(Skip).validate_python(2**63)


def test_patch_fields_are_declared_as_they_behave() -> None:
    from app.schemas import ItemUpdate, UserUpdate

    def nullable(model: Any, field: str) -> bool:
        declared = model.model_json_schema()["properties"][field]
        return any(option.get("type") == "null" for option in declared.get("anyOf", []))

    assert not any(nullable(UserUpdate, name) for name in UserUpdate.model_fields)
    assert not nullable(ItemUpdate, "title") and nullable(ItemUpdate, "description")


def test_the_login_form_refuses_nul_and_keeps_passwords_as_typed() -> None:
    from pydantic import ValidationError

    from app.schemas.auth import LoginForm

    assert LoginForm(username="alice", password="  spaced  ").password == "  spaced  "
    with pytest.raises(ValidationError):
        LoginForm(username="ali\x00ce", password="whatever")
