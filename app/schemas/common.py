# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""Building blocks shared by the request and response schemas."""

from http import HTTPStatus
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, model_validator


class InputSchema(BaseModel):
    """A request body: unknown fields are an error, not silently dropped (no mass assignment)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PatchSchema(InputSchema):
    """A PATCH body: omitted fields stay unchanged; null only where a column allows it."""

    nullable_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _refuse_nulls(self) -> Self:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.nullable_fields:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the client actually sent."""
        return self.model_dump(exclude_unset=True)


class ErrorMessage(BaseModel):
    """The body of every error the API answers with."""

    detail: str


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting a route's error statuses."""
    return {
        code: {"model": ErrorMessage, "description": HTTPStatus(code).phrase}
        for code in status_codes
    }
