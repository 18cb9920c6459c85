"""Fixtures for the stage tests.

These tests run against whatever `app` package comes first on the path: the finished app in
the kit's own suite, or a learner's (or a snapshot's) app built up to some lesson. So nothing
here imports `app` at module level: each fixture imports what its stage has.
"""

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

PASSWORD = "correct-horse-battery"


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def service_extras() -> dict[str, Any]:
    """What services need besides their repository at this stage: from lesson 07 on, a cache."""
    if importlib.util.find_spec("app.cache") is None:
        return {}
    from app.cache import Cache, MemoryBackend

    return {"cache": Cache(MemoryBackend())}


@pytest.fixture
def stage_settings(tmp_path: Path) -> Any:
    """Test settings on a fresh SQLite file, with a first superuser `root`."""
    from app.config import Settings

    return Settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'stage.db'}",
        secret_key_file=tmp_path / "secret_key",
        first_superuser_email="root@example.com",
        first_superuser_username="root",
        first_superuser_password=PASSWORD,
        mail_outbox_dir=tmp_path / "outbox",  # ignored before lesson 09 adds mail
        redis_url=None,  # in-process cache and counters, whatever the environment says
    )


@pytest.fixture
async def stage_client(stage_settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for create_app(stage_settings), its lifespan running (stage 05+)."""
    from app.main import create_app

    app = create_app(stage_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
