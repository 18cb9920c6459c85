# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Login: trade a username (or email) and password for an access token."""

from typing import Annotated

from fastapi import APIRouter, Form, Request

from app.dependencies import AuthServiceDep
from app.schemas.auth import LoginForm, Token
from app.schemas.common import error_responses

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/token", responses=error_responses(401, 429))
async def login(
    form: Annotated[LoginForm, Form()], request: Request, auth: AuthServiceDep
) -> Token:
    """OAuth2 password flow: `username` may be the username or the email."""
    # The client as the app sees it: the TCP peer, or what a trusted proxy says it is
    # (FORWARDED_ALLOW_IPS); a header anyone can send moves no budget.
    client_ip = request.client.host if request.client else "unknown"
    return await auth.login(form.username, form.password, client_ip)
