# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""What clients may send about users, and what they get back."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from app.schemas.common import InputSchema, PatchSchema

# Emails compare case-insensitively in practice: store them lowercased.
Email = Annotated[EmailStr, Field(max_length=254), AfterValidator(str.lower)]
Username = Annotated[
    str, StringConstraints(min_length=3, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
]
# An upper bound too: hashing a megabyte-long "password" is a cheap denial of service.
# Never stripped: the login form sends the password as typed, spaces included.
Password = Annotated[str, StringConstraints(min_length=8, max_length=128, strip_whitespace=False)]


class UserCreate(InputSchema):
    """Registration. No is_superuser, no is_active: clients cannot grant themselves rights."""

    email: Email
    username: Username
    password: Password


class UserUpdate(PatchSchema):
    """A partial update. is_superuser is accepted here but only a superuser may send it.
    Each field may be omitted but never sent as null (no column here takes null)."""

    email: Email | SkipJsonSchema[None] = None
    username: Username | SkipJsonSchema[None] = None
    password: Password | SkipJsonSchema[None] = None
    is_active: bool | SkipJsonSchema[None] = None
    is_superuser: bool | SkipJsonSchema[None] = None


class UserResponse(BaseModel):
    """A user as the API shows it: never a password, never a hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    username: str
    is_active: bool
    is_superuser: bool
    created_at: datetime
    updated_at: datetime
