# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Login: trade a username (or email) and password for an access token."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.dependencies import LoginLimiterDep, SettingsDep, UserServiceDep
from app.exceptions import InvalidCredentials
from app.schemas.auth import Token
from app.schemas.common import error_responses
from app.utils.security import create_access_token

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", responses=error_responses(401, 429))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    users: UserServiceDep,
    limiter: LoginLimiterDep,
    settings: SettingsDep,
) -> Token:
    """OAuth2 password flow: `username` may be the username or the email."""
    client_ip = request.client.host if request.client else "unknown"
    await limiter.check(form.username, client_ip)
    try:
        user = await users.authenticate(form.username, form.password)
    except InvalidCredentials:
        await limiter.record_failure(form.username, client_ip)
        raise InvalidCredentials("Incorrect username or password") from None
    token = create_access_token(
        user.id,
        settings.jwt_secret,
        settings.access_token_expire_minutes,
        generation=user.token_generation,
    )
    return Token(access_token=token)
