# Written by notebooks/10_migrations.ipynb: edit there, or edit here and run `workshop sync`
"""The health check's answer."""

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    # schema_missing / schema_outdated: reachable, but not migrated (to this code's head).
    database: Literal["ok", "unavailable", "schema_missing", "schema_outdated"]
    # memory: in-process cache; ok: Redis answers; degraded: Redis is down, reads hit the database.
    cache: Literal["memory", "ok", "degraded"]
