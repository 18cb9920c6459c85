# Written by notebooks/07_caching.ipynb: edit there, or edit here and run `workshop sync`
"""Liveness for load balancers: is the database answering, and how is the cache?"""

import asyncio

from fastapi import APIRouter, Response, status
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.dependencies import CacheDep, SessionDep
from app.schemas.health import Health

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2


@router.get("/health", responses={503: {"model": Health, "description": "Database unavailable"}})
async def health(session: SessionDep, cache: CacheDep, response: Response) -> Health:
    # A degraded cache is reported, not fatal: the app still answers from the database.
    cache_status = await cache.ping()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await session.execute(select(1))
    except (SQLAlchemyError, OSError, TimeoutError):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unhealthy", database="unavailable", cache=cache_status)
    return Health(status="healthy", database="ok", cache=cache_status)
