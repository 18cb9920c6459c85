# Written by notebooks/10_migrations.ipynb: edit there, or edit here and run `workshop sync`
"""Readiness, for load balancers and orchestrators: is the database answering, with the
schema this code expects, and how is the cache?"""

import asyncio

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.exc import SQLAlchemyError

from app.database import ping_database
from app.dependencies import CacheDep, resources
from app.schema_check import checked_schema
from app.schemas.health import Health

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2


@router.get(
    "/health",
    responses={503: {"model": Health, "description": "Database unavailable or not migrated"}},
)
async def health(request: Request, cache: CacheDep, response: Response) -> Health:
    # A degraded cache is reported, not fatal: the app still answers from the database.
    cache_status = await cache.ping()
    engine = resources(request).engine
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            # One round trip, no session: a probe that costs what it checks.
            await ping_database(engine)
            schema = await checked_schema(request.app, engine)  # free once it was right
    except (SQLAlchemyError, OSError, TimeoutError):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unhealthy", database="unavailable", cache=cache_status)
    if schema != "ok":
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unhealthy", database=schema, cache=cache_status)
    return Health(status="healthy", database="ok", cache=cache_status)
