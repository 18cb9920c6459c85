# Written by notebooks/01_config.ipynb: edit there, or edit here and run `workshop sync`
"""Application settings, read once from the environment (and an optional .env file)."""

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["local", "test", "production"]

MIN_SECRET_LENGTH = 32
# Values people paste from examples and forget to change: never accepted in production.
PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "your-secret-key", "supersecret"}


# A rate in the `limits` library's notation: "5/15 minutes", "20/hour", "10 per minute".
# Checked here, so a typo stops the start with the setting's name, not inside the limiter.
RateLimit = Annotated[
    str, Field(pattern=r"^\d+ ?(/|per) ?(\d+ )?(second|minute|hour|day|month|year)s?$")
]


class Settings(BaseSettings):
    """Every setting has a safe local default, except the secrets production must provide."""

    # hide_input_in_errors: a refused start-up names the problem, never echoes the values
    # read (pydantic would print them all, SMTP password included, into the logs).
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", hide_input_in_errors=True
    )

    app_name: str = "FastAPI Notebook Kit"
    environment: Environment = "local"

    secret_key: SecretStr | None = None
    secret_key_file: Path = Path(".secret_key")
    access_token_expire_minutes: int = Field(default=30, ge=1, le=60 * 24 * 7)

    database_url: str = "sqlite+aiosqlite:///./app.db"
    database_echo: bool = False
    # A database that stops answering fails requests within these (JSON 503), not in minutes.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    database_command_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=60)

    allowed_origins: Annotated[list[str], NoDecode] = ["http://localhost:3000"]
    cors_allow_credentials: bool = True
    # Interactive docs (/docs, /redoc, /openapi.json); unset: on, except in production.
    docs_enabled: bool = Field(default=None, validate_default=True)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)

    first_superuser_email: str | None = None
    first_superuser_username: str | None = None
    first_superuser_password: SecretStr | None = None

    # Threads that hash passwords (unset: cores - 1, at least 1): a login storm queues there.
    password_hash_workers: int | None = Field(default=None, ge=1, le=64)

    # Failed logins (see app/rate_limit.py): per account and address, per account from any
    # address, per address on existing accounts, per address on unknown names.
    login_limit_per_account: RateLimit = "5/15 minutes"
    login_limit_per_account_any_ip: RateLimit = "20/15 minutes"
    login_limit_per_ip: RateLimit = "50/15 minutes"
    login_limit_unknown_per_ip: RateLimit = "50/15 minutes"
    # Accounts created per address.
    registration_limit_per_ip: RateLimit = "20/hour"
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated IPs or
    # networks, "*" for any). Empty: nobody; the client is the TCP peer. uvicorn and gunicorn
    # read the same FORWARDED_ALLOW_IPS variable.
    forwarded_allow_ips: Annotated[list[str], NoDecode] = []

    # Unset: in-process cache and counters. Set (redis://host:6379/0): shared by every worker.
    redis_url: str | None = None
    redis_timeout_seconds: float = Field(default=0.5, gt=0, le=5)
    cache_ttl_seconds: int = Field(default=300, ge=1)
    cache_retry_seconds: float = Field(default=5.0, gt=0, le=60)

    # Mail: SMTP when SMTP_HOST is set, otherwise one .eml file per message in MAIL_OUTBOX_DIR.
    mail_sender: str = "FastAPI Notebook Kit <noreply@example.com>"
    mail_outbox_dir: Path = Path("outbox")
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)

    # WebSocket chat: larger messages close the socket (1009); slow clients are dropped.
    ws_max_message_bytes: int = Field(default=64 * 1024, ge=1024)
    ws_send_timeout_seconds: float = Field(default=2.0, gt=0)
    # Sockets one user may hold open (per worker), and messages each socket may send per
    # second (bursts of as many); past that an error event, and a close if it goes on.
    ws_max_sockets_per_user: int = Field(default=5, ge=1)
    ws_messages_per_second: float = Field(default=5.0, gt=0)

    @field_validator("docs_enabled", mode="before")
    @classmethod
    def _docs_by_environment(cls, value: object, info: ValidationInfo) -> object:
        """Unset, the docs are on while developing and off in production (an open map of
        the API); DOCS_ENABLED=true or false decides in any environment."""
        if value is None:
            return info.data.get("environment") != "production"
        return value

    @field_validator("allowed_origins", "forwarded_allow_ips", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # ALLOWED_ORIGINS=https://a.example,https://b.example reads better than JSON.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _check_secrets_and_cors(self) -> Self:
        if self.environment == "production":
            problems = production_problems(self)
            if problems:
                raise ValueError("unsafe production settings: " + "; ".join(problems))
        elif self.secret_key is None:
            self.secret_key = SecretStr(
                _local_secret(self.secret_key_file)
                if self.environment == "local"
                else secrets.token_urlsafe(48)
            )
        return self

    @property
    def jwt_secret(self) -> str:
        assert self.secret_key is not None  # set by the validator in every environment
        return self.secret_key.get_secret_value()


def production_problems(settings: Settings) -> list[str]:
    """What makes these settings unsafe to serve real users (empty when they are fine)."""
    problems = []
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not key:
        problems.append("SECRET_KEY is missing")
    elif len(key) < MIN_SECRET_LENGTH:
        problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_LENGTH} characters")
    elif key.lower() in PLACEHOLDER_SECRETS or key.lower().startswith("change"):
        problems.append("SECRET_KEY is a placeholder")
    if "*" in settings.allowed_origins and settings.cors_allow_credentials:
        problems.append("ALLOWED_ORIGINS='*' cannot be combined with credentials")
    return problems


def _local_secret(path: Path) -> str:
    """Read the local signing key, creating it once so restarts and workers share it."""
    if not path.exists():
        draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        draft.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        draft.chmod(0o600)
        try:
            # link() is atomic and refuses to overwrite: when several workers start
            # together, exactly one key wins and every worker reads that one.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="utf-8").strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
