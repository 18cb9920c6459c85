# Written by notebooks/05_routers.ipynb: edit there, or edit here and run `workshop sync`
"""The one place where errors become HTTP responses: domain errors, bad input, and the
unexpected (a bug, a database that stopped answering), which still answer JSON."""

import logging

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.exceptions import (
    Conflict,
    DomainError,
    InvalidCredentials,
    NotFound,
    PermissionDenied,
    RateLimited,
)

STATUS_FOR: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    PermissionDenied: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    InvalidCredentials: status.HTTP_401_UNAUTHORIZED,
    RateLimited: status.HTTP_429_TOO_MANY_REQUESTS,
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
    if isinstance(error, RateLimited):
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


# FastAPI's words when a body is not even text (invalid UTF-8) or a form cannot be parsed.
UNPARSABLE_BODY = "There was an error parsing the body"


async def handle_http_error(request: Request, error: Exception) -> Response:
    """FastAPI's answer, except a body it cannot parse: 422 like invalid JSON, not 400."""
    assert isinstance(error, HTTPException)
    if error.status_code == status.HTTP_400_BAD_REQUEST and error.detail == UNPARSABLE_BODY:
        detail = [{"type": "body_unparsable", "loc": ["body"], "msg": UNPARSABLE_BODY}]
        return JSONResponse({"detail": detail}, status_code=422)
    return await http_exception_handler(request, error)


logger = logging.getLogger("app.errors")


def database_unavailable(error: BaseException) -> bool:
    """A database that is down, unreachable, too slow or not migrated (not a bug of ours)."""
    if isinstance(error, PoolTimeout | TimeoutError | OSError | OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


def _summary(error: BaseException) -> str:
    """One line naming the error, without the SQL or its parameters."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    first_line = (str(cause).strip().splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first_line}" if first_line else type(cause).__name__


class UnexpectedErrorMiddleware:
    """Every error no handler took becomes a JSON answer: 503 when the database is unavailable,
    500 otherwise, and the connection stays usable (a raised error makes the server drop it).

    A database outage fails every request the same way: one log line each, with a running
    count, instead of a traceback per request (which once wrote 56 MB in 45 s).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.database_failures = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise  # too late for another answer: let the server close the connection
            where = f"{scope['method']} {scope['path']}"
            if database_unavailable(error):
                self.database_failures += 1
                logger.error(
                    "database unavailable: %s failed (%d so far): %s",
                    where,
                    self.database_failures,
                    _summary(error),
                )
                code, detail = 503, "Service temporarily unavailable, try again later"
            else:
                logger.exception("unexpected error in %s", where)
                code, detail = 500, "Internal server error"
            response = JSONResponse({"detail": detail}, status_code=code)
            if code == 503:
                response.headers["Retry-After"] = "5"
            await response(scope, receive, send)


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(HTTPException, handle_http_error)
    # Added first, so it sits innermost: the CORS and body-size layers still wrap its answers.
    app.add_middleware(UnexpectedErrorMiddleware)
