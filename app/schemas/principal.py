# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Who is calling: what every authenticated request needs to know about its user."""

from pydantic import BaseModel, ConfigDict


class Principal(BaseModel):
    """The token's user as the permission checks see it, cached like any other read.

    Never the password hash, nor anything a route shows (GET /users/me reads the cached user).
    `token_generation` is what the token's `gen` claim must match: a password change or a
    deactivation bumps it, so revoking every older token costs no database query either.
    """

    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: int
    username: str
    is_active: bool
    is_superuser: bool
    token_generation: int
