"""Liveness for load balancers: is the database answering?"""

import asyncio

from fastapi import APIRouter, Response, status
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.dependencies import SessionDep
from app.schemas.health import Health

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 2


@router.get("/health", responses={503: {"model": Health, "description": "Database unavailable"}})
async def health(session: SessionDep, response: Response) -> Health:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await session.execute(select(1))
    except (SQLAlchemyError, OSError, TimeoutError):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Health(status="unhealthy", database="unavailable")
    return Health(status="healthy", database="ok")
