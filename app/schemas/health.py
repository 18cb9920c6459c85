# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""The health check's answer."""

from typing import Literal

from pydantic import BaseModel


class Health(BaseModel):
    status: Literal["healthy", "unhealthy"]
    database: Literal["ok", "unavailable"]
    # memory: in-process cache; ok: Redis answers; degraded: Redis is down, reads hit the database.
    cache: Literal["memory", "ok", "degraded"]
