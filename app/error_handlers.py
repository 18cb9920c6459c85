# Written by notebooks/05_routers.ipynb: edit there, or edit here and run `workshop sync`
"""The one place where domain errors become HTTP responses."""

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.exceptions import (
    Conflict,
    DomainError,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    TooManyLoginAttempts,
)

STATUS_FOR: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    PermissionDenied: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    InvalidCredentials: status.HTTP_401_UNAUTHORIZED,
    TooManyLoginAttempts: status.HTTP_429_TOO_MANY_REQUESTS,
}


def status_for(error: DomainError) -> int:
    """The status of the closest mapped class (EmailAlreadyRegistered is a Conflict)."""
    for cls in type(error).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return status.HTTP_400_BAD_REQUEST


async def handle_domain_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DomainError)
    headers = {}
    if isinstance(error, InvalidCredentials):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, TooManyLoginAttempts):
        headers["Retry-After"] = str(error.retry_after)
    return JSONResponse({"detail": error.detail}, status_code=status_for(error), headers=headers)


async def handle_validation_error(request: Request, error: Exception) -> JSONResponse:
    """422 with what was wrong and where, but not the rejected values.

    FastAPI's default answer echoes each rejected input: a refused password would travel
    back in clear text, into proxies, logs and error trackers.
    """
    assert isinstance(error, RequestValidationError)
    details = [{k: v for k, v in e.items() if k != "input"} for e in error.errors()]
    return JSONResponse({"detail": jsonable_encoder(details)}, status_code=422)


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
