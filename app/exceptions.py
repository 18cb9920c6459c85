# Written by notebooks/04_services.ipynb: edit there, or edit here and run `workshop sync`
"""Domain errors: what went wrong, in the application's words (HTTP comes later)."""


class DomainError(Exception):
    """Base class; `detail` is the sentence a client may read."""

    detail = "Request failed"

    def __init__(self, detail: str | None = None) -> None:
        if detail is not None:
            self.detail = detail
        super().__init__(self.detail)


class NotFound(DomainError):
    """No such thing, or none the caller may know about (someone else's item): a 404."""

    detail = "Not found"


class PermissionDenied(DomainError):
    """The caller is known but may not do this (another user's account, a superuser's
    action): a 403."""

    detail = "Not enough permissions"


class Conflict(DomainError):
    """The change would break a uniqueness rule: a 409. The repositories raise it for a
    broken unique constraint, so a race between two requests ends here too."""

    detail = "Already exists"


class EmailAlreadyRegistered(Conflict):
    detail = "Email already registered"


class UsernameAlreadyTaken(Conflict):
    """Usernames are unique whatever their case: `Alice` takes `alice` too."""

    detail = "Username already taken"


class InvalidCredentials(DomainError):
    """Bad token, unknown user, wrong password or inactive account: one answer for all."""

    detail = "Could not validate credentials"


class RateLimited(DomainError):
    """A budget is spent; `retry_after` says in how many seconds to try again."""

    detail = "Too many requests, try again later"

    def __init__(self, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after


class TooManyLoginAttempts(RateLimited):
    """Failed logins spent one of the budgets of lesson 06's `LoginRateLimiter`."""

    detail = "Too many failed login attempts, try again later"


class TooManyRegistrations(RateLimited):
    detail = "Too many accounts created from this address, try again later"
