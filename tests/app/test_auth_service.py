"""Logging in is a service rule (app/services/auth_service.py): any caller gets the same order
of budget check, authentication and failure count, without HTTP."""

import pytest

from app.exceptions import InvalidCredentials, TooManyLoginAttempts
from app.services.auth_service import AuthService
from app.services.user_service import UserService
from app.utils.security import decode_access_token
from tests.conftest import PASSWORD, Register
from workshop.appclient import AppClient


async def test_login_gives_a_token_and_spends_the_budget_on_failures(
    client: AppClient, register: Register
) -> None:
    ann = await register("ann")
    app = client.app
    settings = app.state.settings
    async with app.state.resources.sessionmaker() as session:
        users = UserService.for_session(session, app.state.resources.cache)
        auth = AuthService(users, app.state.resources.login_limiter, settings)

        token = await auth.login("ann@example.com", PASSWORD, "192.0.2.7")
        assert decode_access_token(token.access_token, settings.jwt_secret).user_id == ann["id"]

        budget = int(settings.login_limit_per_account.split("/")[0])
        for _ in range(budget):
            with pytest.raises(InvalidCredentials, match="Incorrect username or password"):
                await auth.login("ann", "not-her-password", "192.0.2.7")
        # Checked before the password: the right one no longer helps from that address.
        with pytest.raises(TooManyLoginAttempts):
            await auth.login("ann", PASSWORD, "192.0.2.7")
        assert (await auth.login("ann", PASSWORD, "198.51.100.3")).access_token
