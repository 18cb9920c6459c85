# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""Tokens issued by the login endpoint."""

from typing import Literal

from pydantic import BaseModel


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme, not a secret)
