"""The lifespan owns its resources: a start-up that fails halfway closes what it opened."""

import pytest
import redis.asyncio as redis

from app.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD
from workshop.appclient import AppClient


async def _clients_on(admin: redis.Redis, db: int) -> int:
    """Connections to Redis on our database number (the fixtures' and ours included)."""
    clients = await admin.client_list()
    return sum(1 for c in clients if c["db"] == str(db))


async def test_a_failed_start_up_closes_the_engine_the_broker_and_every_redis_client(
    database_url: str, redis_url: str
) -> None:
    """Production on an unmigrated database: creating the first superuser fails, after the
    cache pinged Redis and the broker subscribed. Everything opened before is closed."""
    production = Settings(
        environment="production",
        secret_key="p" * 48,
        database_url=database_url,
        redis_url=redis_url,
        first_superuser_email="root@example.com",
        first_superuser_username="root",
        first_superuser_password=PASSWORD,
    )
    admin = redis.Redis.from_url(redis_url)
    db = int(redis_url.rsplit("/", 1)[1])
    before = await _clients_on(admin, db)
    app = create_app(production)
    with pytest.raises(RuntimeError, match="alembic upgrade head"):
        async with AppClient(app):
            pass
    state = app.state
    assert state.resources.broker._task.done()  # the subscriber task is gone
    assert state.resources.engine.pool.checkedin() == 0  # disposed: no pooled connection left
    assert await _clients_on(admin, db) == before  # cache, counters, publisher and subscriber
    await admin.aclose()


async def test_the_resources_live_in_one_typed_frozen_object(settings: Settings) -> None:
    """What the lifespan opens is `app.state.resources`, and nothing else lands on app.state:
    HTTP routes (through their dependencies) and the WebSocket route reach the same objects."""
    import dataclasses

    from fastapi.requests import HTTPConnection

    from app.dependencies import get_cache, resources
    from app.main import Resources

    app = create_app(settings)
    async with AppClient(app) as client:
        opened = app.state.resources
        assert isinstance(opened, Resources)
        fields = {field.name for field in dataclasses.fields(Resources)}
        assert fields == {"engine", "sessionmaker", "login_limiter", "cache", "broker", "mailer"}
        stray = fields & set(vars(app.state)["_state"])
        assert not stray, f"resources stored loose on app.state: {stray}"
        with pytest.raises(dataclasses.FrozenInstanceError):
            opened.cache = None  # type: ignore[misc]
        http = HTTPConnection({"type": "http", "app": app, "headers": []})
        websocket = HTTPConnection({"type": "websocket", "app": app, "headers": []})
        assert resources(http) is resources(websocket) is opened
        assert await get_cache(websocket) is opened.cache
        assert (await client.get("/health")).status_code == 200
