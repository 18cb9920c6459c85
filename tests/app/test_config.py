"""Settings: safe local defaults, and production refusing unsafe ones."""

import os
from pathlib import Path

import pytest
from limits import parse
from pydantic import ValidationError

from app.config import Settings, get_settings

GOOD_KEY = "k3y-" + "x" * 40


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings read os.environ and .env: run each test in an empty folder, variables unset."""
    for name in list(os.environ):
        if name.split("_")[0] in {"SECRET", "ENVIRONMENT", "ALLOWED", "DATABASE", "DOCS", "CORS"}:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_local_defaults_need_no_configuration() -> None:
    settings = Settings()
    assert settings.environment == "local"
    assert settings.database_url == "sqlite+aiosqlite:///./app.db"
    assert settings.docs_enabled is True
    assert len(settings.jwt_secret) >= 32


def test_local_secret_is_generated_once_and_shared(tmp_path: Path) -> None:
    first, second = Settings(), Settings()
    assert first.jwt_secret == second.jwt_secret
    key_file = tmp_path / ".secret_key"
    assert key_file.read_text() == first.jwt_secret
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [".secret_key"]  # no drafts left behind


def test_test_environment_uses_an_ephemeral_key(tmp_path: Path) -> None:
    assert Settings(environment="test").jwt_secret != Settings(environment="test").jwt_secret
    assert not (tmp_path / ".secret_key").exists()


def test_environment_variables_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ACCESS_TOKEN_EXPIRE_MINUTES=5\nENVIRONMENT=test\n")
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.access_token_expire_minutes == 5
    assert settings.environment == "test"
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({}, "SECRET_KEY is missing"),
        ({"secret_key": "short-key"}, "shorter than 32"),
        ({"secret_key": "changeme-changeme-changeme-changeme"}, "placeholder"),
        ({"secret_key": GOOD_KEY, "allowed_origins": ["*"]}, "cannot be combined with credentials"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(environment="production", **overrides)


def test_production_accepts_safe_settings(tmp_path: Path) -> None:
    settings = Settings(
        environment="production", secret_key=GOOD_KEY, allowed_origins=["https://app.example"]
    )
    assert settings.docs_enabled is False
    assert Settings(environment="production", secret_key=GOOD_KEY, docs_enabled=True).docs_enabled
    assert not (tmp_path / ".secret_key").exists()


def test_production_start_fails_with_a_clear_message(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SECRET")}
    env["ENVIRONMENT"] = "production"
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    result = subprocess.run(
        [sys.executable, "-c", "import app.main"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "unsafe production settings: SECRET_KEY is missing" in result.stderr


def test_get_settings_is_cached() -> None:
    get_settings.cache_clear()
    try:
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_env_example_documents_every_setting() -> None:
    example = (Path(__file__).parents[2] / ".env.example").read_text()
    documented = {line.lstrip("# ").split("=")[0] for line in example.splitlines() if "=" in line}
    assert {name.upper() for name in Settings.model_fields} <= documented


@pytest.mark.parametrize("value", ["fifty", "5/fortnight", "5//hour", "per minute"])
def test_a_rate_limit_that_limits_cannot_read_is_refused_by_name(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="test", login_limit_per_ip=value)
    assert "login_limit_per_ip" in str(refused.value)


@pytest.mark.parametrize("value", ["5/15 minutes", "20/hour", "10 per minute", "1/second"])
def test_every_accepted_rate_limit_is_one_the_limiter_reads(value: str) -> None:
    settings = Settings(environment="test", login_limit_per_ip=value)
    assert parse(settings.login_limit_per_ip).amount == int(value.split("/")[0].split()[0])
