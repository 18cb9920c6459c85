# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""What clients may send about items, and what they get back."""

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.json_schema import SkipJsonSchema

from app.schemas.common import InputSchema, PatchSchema

Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]


class ItemCreate(InputSchema):
    """A new item. The owner is whoever is logged in: clients cannot send owner_id."""

    title: Title
    description: Description | None = None


class ItemUpdate(PatchSchema):
    # SkipJsonSchema[None]: the field may be omitted, never null, and the OpenAPI says so.
    title: Title | SkipJsonSchema[None] = None
    description: Description | None = None

    # Sending "description": null clears it; a title is always required.
    nullable_fields: ClassVar[frozenset[str]] = frozenset({"description"})


class ItemResponse(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str | None
    owner_id: int
    created_at: datetime
    updated_at: datetime
