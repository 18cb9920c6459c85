"""Checks of the lesson 01 exercises (run by workshop/runner.py against an exercise's app copy).

Named checks_*, so the kit's own suite never collects them against its answer-less app. Each
check's docstring is what the learner reads; each assertion message is its failure line.
"""

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError


def _settings(tmp_path: Path, **fields: Any) -> Any:
    from app.config import Settings

    return Settings(environment="test", secret_key_file=tmp_path / "key", _env_file=None, **fields)


@pytest.mark.exercise("01.1", points=1)
def test_admin_email_defaults_to_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ADMIN_EMAIL in the environment, settings.admin_email is None."""
    monkeypatch.delenv("ADMIN_EMAIL", raising=False)
    settings = _settings(tmp_path)
    assert hasattr(settings, "admin_email"), "Settings has no admin_email setting"
    assert settings.admin_email is None, f"expected None, got {settings.admin_email!r}"


@pytest.mark.exercise("01.1", points=1)
def test_admin_email_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ADMIN_EMAIL=ops@example.com in the environment gives admin_email 'ops@example.com'."""
    monkeypatch.setenv("ADMIN_EMAIL", "ops@example.com")
    value = getattr(_settings(tmp_path), "admin_email", None)
    assert str(value) == "ops@example.com", f"expected 'ops@example.com', got {value!r}"


@pytest.mark.exercise("01.1", points=2)
@pytest.mark.parametrize("bad", ["ops@", "not-an-address", "ops@@example.com"])
def test_a_malformed_admin_email_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    """A malformed ADMIN_EMAIL (ops@, not-an-address) stops Settings() with a ValidationError."""
    monkeypatch.setenv("ADMIN_EMAIL", bad)
    try:
        settings = _settings(tmp_path)
    except ValidationError:
        return
    value = getattr(settings, "admin_email", None)
    raise AssertionError(f"ADMIN_EMAIL={bad!r} was accepted (admin_email={value!r})")


def _describe(settings: Any) -> dict[str, str]:
    from app.settings_report import describe

    summary = describe(settings)
    assert isinstance(summary, dict), f"describe() returned {type(summary).__name__}, not a dict"
    return summary


@pytest.mark.exercise("01.2", points=1)
def test_describe_names_every_setting(tmp_path: Path) -> None:
    """describe(settings) has one entry per setting, each value as text."""
    settings = _settings(tmp_path, app_name="Shop API")
    summary = _describe(settings)
    missing = set(type(settings).model_fields) - set(summary)
    assert not missing, f"settings missing from the summary: {sorted(missing)[:5]}"
    assert summary["app_name"] == "Shop API", f"app_name reads {summary['app_name']!r}"
    assert all(isinstance(v, str) for v in summary.values()), "every value should be text"


@pytest.mark.exercise("01.2", points=2)
def test_describe_masks_every_secret(tmp_path: Path) -> None:
    """Secrets (SECRET_KEY, SMTP_PASSWORD, the first superuser's password) never appear."""
    from app.settings_report import MASK

    secrets = {
        "secret_key": "k" * 40,
        "smtp_password": "smtp-hunter2",
        "first_superuser_password": "root-hunter2",
    }
    summary = _describe(_settings(tmp_path, **secrets))
    text = repr(summary)
    for name, value in secrets.items():
        assert value not in text, f"the value of {name} appears in the summary"
        assert summary[name] == MASK, f"{name} should read MASK, got {summary[name]!r}"


@pytest.mark.exercise("01.2", points=2)
def test_describe_masks_the_database_password(tmp_path: Path) -> None:
    """A password inside DATABASE_URL is hidden; the user, host and database stay readable."""
    url = "postgresql+asyncpg://shop:db-hunter2@db.internal:5432/shop"
    shown = _describe(_settings(tmp_path, database_url=url))["database_url"]
    assert "db-hunter2" not in shown, f"the database password is visible: {shown}"
    for part in ("shop", "db.internal", "5432"):
        assert part in shown, f"{part!r} should still be visible in {shown}"
