# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""Login forms in, tokens out."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.schemas.common import refuse_nul


class LoginForm(BaseModel):
    """OAuth2's password form (what Swagger's Authorize button sends), validated like a body.

    `username` may be the username or the email. Neither is stripped: a password is kept as
    typed. The limits are loose on purpose (a login never says which rule a guess broke), but
    they exist: a NUL character or a megabyte-long name stops here, not in the database.
    """

    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1, max_length=254)  # a username, or an email address
    password: str = Field(min_length=1, max_length=128)
    grant_type: Literal["password"] | None = None
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = None

    _no_nul = field_validator("*")(refuse_nul)


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a scheme, not a secret)
