# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""The application factory: `create_app(settings)` builds an app; uvicorn serves `app`."""

import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.bootstrap import ensure_first_superuser
from app.cache import Cache, create_cache
from app.config import Settings, get_settings
from app.database import create_engine, create_sessionmaker, create_tables
from app.error_handlers import register_error_handlers
from app.log_redaction import redact_tokens_in_server_logs
from app.middleware import BodySizeLimitMiddleware
from app.proxies import TrustedProxiesMiddleware
from app.rate_limit import LoginRateLimiter
from app.realtime import Broker, create_broker
from app.routers import auth, health, items, notifications, users, ws
from app.services.notifications import Mailer, create_mailer
from app.utils.security import configure_hashing

API_PREFIX = "/api/v1"
try:  # one version number: the package's, from pyproject.toml
    VERSION = version("fastapi-notebook-kit")
except PackageNotFoundError:  # app/ copied somewhere the kit is not installed
    VERSION = "0+unknown"

logger = logging.getLogger(__name__)

SEVERAL_WORKERS_WITHOUT_REDIS = (
    "%d worker processes and no REDIS_URL: each worker keeps its own cache, login and "
    "registration budgets and chat rooms. Reads may return data another worker already "
    "changed or deleted (until the TTL), every budget is multiplied by the number of workers, "
    "and chat messages reach only the sender's worker. Set REDIS_URL, or run one worker."
)


def worker_processes(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> int:
    """How many worker processes the server was asked for, as far as a worker can tell:
    --workers/-w on the command line (uvicorn's workers and gunicorn's inherit the server's
    command line), GUNICORN_CMD_ARGS, and WEB_CONCURRENCY (both servers' default)."""
    argv = sys.argv if argv is None else argv
    env = os.environ if env is None else env
    words = [*argv, *env.get("GUNICORN_CMD_ARGS", "").split()]
    for n, word in enumerate(words):
        value = None
        if word in ("--workers", "-w") and n + 1 < len(words):
            value = words[n + 1]
        elif word.startswith("--workers="):
            value = word.split("=", 1)[1]
        elif word.startswith("-w") and word[2:].isdigit():
            value = word[2:]
        if value is not None and value.isdigit():
            return int(value)
    concurrency = env.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else 1


@dataclass(frozen=True, slots=True)
class Resources:
    """What the lifespan opens, in one typed object: `app.state.resources`.

    Dependencies reach it with `resources(connection)` (app/dependencies.py), from HTTP and
    WebSocket routes alike. Adding a resource is a field here and its opening (with its
    closing, on the exit stack) in the lifespan below.
    """

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    login_limiter: LoginRateLimiter
    cache: Cache
    broker: Broker
    mailer: Mailer


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open long-lived resources at start-up, close them at shutdown.

    Each resource registers its closing on the exit stack as soon as it exists, so a start-up
    that fails halfway (an unmigrated database, say) still closes what it had opened, in
    reverse order, before the error propagates; a clean shutdown does the same.
    """
    settings: Settings = app.state.settings
    workers = worker_processes()
    if workers > 1 and not settings.redis_url:
        logger.warning(SEVERAL_WORKERS_WITHOUT_REDIS, workers)
    configure_hashing(settings.password_hash_workers)  # a bounded pool, process-wide
    async with AsyncExitStack() as stack:
        engine = create_engine(
            settings.database_url,
            echo=settings.database_echo,
            connect_timeout=settings.database_connect_timeout_seconds,
            command_timeout=settings.database_command_timeout_seconds,
            pool_timeout=settings.database_pool_timeout_seconds,
        )
        stack.push_async_callback(engine.dispose)
        cache = create_cache(
            settings.redis_url,
            ttl=settings.cache_ttl_seconds,
            timeout=settings.redis_timeout_seconds,
            retry_after=settings.cache_retry_seconds,
        )
        stack.push_async_callback(cache.close)
        login_limiter = LoginRateLimiter.from_settings(settings)
        stack.push_async_callback(login_limiter.close)
        broker = create_broker(
            settings.redis_url,
            send_timeout=settings.ws_send_timeout_seconds,
            timeout=settings.redis_timeout_seconds,
        )
        stack.push_async_callback(broker.close)
        app.state.resources = opened = Resources(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            login_limiter=login_limiter,
            cache=cache,
            broker=broker,
            mailer=create_mailer(settings),
        )
        if settings.environment != "production":
            await create_tables(engine)  # production runs migrations instead
        await cache.ping()  # an unreachable Redis logs one warning; start anyway
        await broker.start()
        redact_tokens_in_server_logs()
        await ensure_first_superuser(opened.sessionmaker, settings, cache)
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app: FastAPI
    if settings.docs_enabled:
        # Swagger UI and ReDoc served from the installed package: no CDN, works offline.
        app = FastAPIOffline(title=settings.app_name, version=VERSION, lifespan=lifespan)
    else:
        app = FastAPI(
            title=settings.app_name,
            version=VERSION,
            lifespan=lifespan,
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
        )
    app.state.settings = settings
    register_error_handlers(app)  # first: its catch-all layer sits inside the ones below
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    # CORS outside the body limit: a 413 (and every other answer) carries the CORS headers,
    # so a browser page can read it instead of seeing a network error.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origins,
        allow_credentials=settings.cors_allow_credentials,
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Outermost: every layer inside, and the routes, see the client the app trusts.
    app.add_middleware(TrustedProxiesMiddleware, trusted_hosts=settings.forwarded_allow_ips)
    for module in (auth, users, items, notifications):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(health.router)
    app.include_router(ws.router)
    return app


app = create_app()
