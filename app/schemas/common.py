# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""Building blocks shared by the request and response schemas."""

from http import HTTPStatus
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Integer columns are 32-bit on PostgreSQL (64 on SQLite): a larger number is a 422 at the
# door, not an overflow deep in the driver (a 500).
INT32_MAX = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=INT32_MAX)]
Skip = Annotated[int, Field(ge=0, le=INT32_MAX)]
Limit = Annotated[int, Field(ge=1, le=100)]


def refuse_nul(value: object) -> object:
    """PostgreSQL cannot store a NUL character in text: refuse it on every database alike."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    return value


NO_NUL = "^[^\\x00]*$"  # refuse_nul, as the OpenAPI says it


def _declare_no_nul(schema: dict[str, Any]) -> None:
    # The schema says what the validator enforces: clients, and fuzzers, know before sending.
    for field in schema.get("properties", {}).values():
        for option in field.get("anyOf", [field]):
            if option.get("type") == "string" and "pattern" not in option:
                option["pattern"] = NO_NUL


class InputSchema(BaseModel):
    """A request body: unknown fields are an error, not silently dropped (no mass assignment)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra=_declare_no_nul
    )

    _no_nul = field_validator("*")(refuse_nul)


def _patch_schema(schema: dict[str, Any]) -> None:
    _declare_no_nul(schema)
    # A field that may be omitted but not null has no default a client could send.
    for field in schema.get("properties", {}).values():
        if "default" in field and field["default"] is None and "anyOf" not in field:
            del field["default"]


class PatchSchema(InputSchema):
    """A PATCH body: omitted fields stay unchanged; null only where a column allows it."""

    model_config = ConfigDict(json_schema_extra=_patch_schema)

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
