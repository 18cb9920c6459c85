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
    assert settings.docs_enabled is True


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
    assert Settings(environment="production", secret_key=key).docs_enabled is False
    forced = Settings(environment="production", secret_key=key, docs_enabled=True)
    assert forced.docs_enabled is True


def test_keyword_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import Settings

    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    assert Settings(access_token_expire_minutes=10).access_token_expire_minutes == 10


@pytest.mark.parametrize("value", ["thirty", "0"])
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from app.config import Settings

    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", value)
    with pytest.raises(ValidationError, match="access_token_expire_minutes"):
        Settings(environment="test")


def test_dotenv_file_is_read_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from app.config import Settings

    (tmp_path / ".env").write_text(
        "APP_NAME=From dotenv\nDATABASE_URL=sqlite+aiosqlite:///./dotenv.db\n", encoding="utf-8"
    )
    assert Settings().app_name == "From dotenv"
    assert Settings().database_url == "sqlite+aiosqlite:///./dotenv.db"
    monkeypatch.setenv("DATABASE_URL", "sqlite+aiosqlite:///./environment.db")
    assert Settings().database_url == "sqlite+aiosqlite:///./environment.db"


def test_secret_key_is_hidden_when_printed() -> None:
    from app.config import Settings

    settings = Settings(environment="test")
    assert settings.jwt_secret not in repr(settings)
    assert settings.jwt_secret not in str(settings.secret_key)
    assert "**********" in repr(settings)


def test_test_keys_are_fresh_and_never_written(tmp_path: Path) -> None:
    from app.config import Settings

    key_file = tmp_path / "test.key"
    first = Settings(environment="test", secret_key_file=key_file)
    second = Settings(environment="test", secret_key_file=key_file)
    assert first.jwt_secret != second.jwt_secret
    assert not key_file.exists()
    assert not (tmp_path / ".secret_key").exists()


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    try:
        first = get_settings()
        monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "7")
        assert get_settings() is first
        assert get_settings().access_token_expire_minutes == 5
        get_settings.cache_clear()
        assert get_settings().access_token_expire_minutes == 7
    finally:
        get_settings.cache_clear()
