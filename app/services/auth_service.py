# Written by notebooks/06_auth.ipynb: edit there, or edit here and run `workshop sync`
"""Login: trade a username (or email) and a password for an access token, within budgets."""

from app.config import Settings
from app.exceptions import InvalidCredentials
from app.rate_limit import LoginRateLimiter
from app.schemas.auth import Token
from app.services.user_service import UserService
from app.utils.security import create_access_token


class AuthService:
    def __init__(self, users: UserService, limiter: LoginRateLimiter, settings: Settings) -> None:
        self.users = users
        self.limiter = limiter
        self.settings = settings

    async def login(self, login: str, password: str, client_ip: str) -> Token:
        """A token for these credentials, in an order that matters: check the budgets first
        (a locked-out client gets 429 even with the right password, so guessing is
        pointless), then authenticate, and count a failure only when authentication fails.
        Every failure is the same InvalidCredentials, so no answer tells which accounts exist.
        """
        # Budgets key on the account itself: its username and its email share one.
        account = await self.users.account_id(login)
        await self.limiter.check(account, login, client_ip)
        try:
            user = await self.users.authenticate(login, password)
        except InvalidCredentials:
            await self.limiter.record_failure(account, login, client_ip)
            raise InvalidCredentials("Incorrect username or password") from None
        token = create_access_token(
            user.id,
            self.settings.jwt_secret,
            self.settings.access_token_expire_minutes,
            generation=user.token_generation,
        )
        return Token(access_token=token)
