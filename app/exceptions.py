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
    detail = "Not found"


class PermissionDenied(DomainError):
    detail = "Not enough permissions"


class Conflict(DomainError):
    detail = "Already exists"


class EmailAlreadyRegistered(Conflict):
    detail = "Email already registered"


class UsernameAlreadyTaken(Conflict):
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
    detail = "Too many failed login attempts, try again later"


class TooManyRegistrations(RateLimited):
    detail = "Too many accounts created from this address, try again later"
