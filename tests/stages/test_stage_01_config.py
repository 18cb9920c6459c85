"""Stage 01 — configuration: safe local defaults, production refusing unsafe settings."""

import os
from pathlib import Path

import pytest
from pydantic import ValidationError


@pytest.fixture(autouse=True)
def empty_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No .env, no settings in the environment: only the code's defaults."""
    for name in list(os.environ):
        if name.split("_")[0] in {"SECRET", "ENVIRONMENT", "ALLOWED", "DATABASE", "DOCS", "CORS"}:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_need_no_configuration() -> None:
    from app.config import Settings

    settings = Settings()
    assert settings.environment == "local"
    assert settings.database_url == "sqlite+aiosqlite:///./app.db"
    assert settings.docs_on is True


def test_local_secret_is_generated_once(tmp_path: Path) -> None:
    from app.config import Settings

    assert Settings().jwt_secret == Settings().jwt_secret
    assert (tmp_path / ".secret_key").read_text() == Settings().jwt_secret
    assert len(Settings().jwt_secret) >= 32


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import Settings

    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example,https://b.example")
    settings = Settings()
    assert settings.access_token_expire_minutes == 5
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "SECRET_KEY is missing"),
        ({"secret_key": "too-short"}, "shorter than 32"),
        ({"secret_key": "change-me-change-me-change-me-change-me"}, "placeholder"),
        ({"secret_key": "s" * 40, "allowed_origins": ["*"]}, "credentials"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], message: str) -> None:
    from app.config import Settings

    with pytest.raises(ValidationError, match=message):
        Settings(environment="production", **overrides)


def test_production_hides_docs_unless_asked() -> None:
    from app.config import Settings

    key = "k" * 48
    assert Settings(environment="production", secret_key=key).docs_on is False
    assert Settings(environment="production", secret_key=key, docs_enabled=True).docs_on is True
