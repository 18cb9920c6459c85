# Written by notebooks/02_database.ipynb: edit there, or edit here and run `workshop sync`
"""Async database access: the engine, the session factory and the declarative base."""

import asyncio
from typing import Any

from sqlalchemy import MetaData, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

# Predictable constraint names, so migrations can find (and drop) them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model inherits from this; its metadata knows every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def create_engine(
    url: str,
    *,
    echo: bool = False,
    connect_timeout: float = 5.0,
    command_timeout: float = 10.0,
    pool_timeout: float = 5.0,
) -> AsyncEngine:
    """An async engine; on SQLite, foreign keys are switched on for every connection.

    The timeouts bound how long a request waits on a database that does not answer (a
    blackholed server would otherwise hold it 30-60 s): to connect, for one statement, and
    for a free connection from the pool. The request then fails fast, with a JSON 503.
    """
    # pool_pre_ping=False, measured: the ping is one more round trip on every checkout (on
    # this kit's 2-core machine, PostgreSQL: 313 µs for /health's SELECT 1 without, 655 µs
    # with; SQLite: 641 vs 1,015 µs: the driver's thread hop costs the same). What it
    # protects against, a connection the server closed (restart, idle kill), the pool handles
    # anyway: the first statement on a dead connection raises a disconnect error, SQLAlchemy
    # then discards every pooled connection, and /health retries once (ping_database). So a
    # PostgreSQL restart costs at most one failed request per worker instead of a ping on all.
    # hide_parameters: an error (or its log line) shows the SQL, never the values bound to
    # it (login names, item text); only echo, a developer's switch, prints them.
    options: dict[str, Any] = {}
    if url.startswith("postgresql+asyncpg"):
        options["connect_args"] = {"timeout": connect_timeout, "command_timeout": command_timeout}
    if ":memory:" not in url and url.rstrip("/") not in ("sqlite+aiosqlite:", "sqlite:"):
        options["pool_timeout"] = pool_timeout  # an in-memory SQLite has no pool to wait on
    engine = create_async_engine(
        url, echo=echo, pool_pre_ping=False, hide_parameters=not echo, **options
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores ON DELETE CASCADE unless this pragma is on (a pragma takes no parameters).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: objects stay readable after commit without another query,
    # which matters in async code where a lazy refresh would need an await.
    return async_sessionmaker(engine, expire_on_commit=False)


async def create_tables(engine: AsyncEngine, attempts: int = 5) -> None:
    """Create missing tables; safe when several workers start at once on one database."""
    for attempt in range(1, attempts + 1):
        try:
            async with engine.begin() as connection:
                await connection.run_sync(Base.metadata.create_all)
            return
        except DBAPIError:
            # Another worker created a table between our check and our CREATE:
            # on the next attempt create_all sees it and skips it.
            if attempt == attempts:
                raise
            await asyncio.sleep(0.05 * attempt)


async def ping_database(engine: AsyncEngine) -> None:
    """One round trip: `SELECT 1` outside any transaction (no BEGIN, no ROLLBACK).

    A connection the server closed since its last use (a restart) fails with a disconnect
    error; the pool then drops all its connections and one retry on a new one tells the truth.
    """
    for attempt in (1, 2):
        try:
            async with engine.connect() as connection:
                if engine.dialect.name != "sqlite":  # SQLite's driver never BEGINs a SELECT
                    connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("SELECT 1")
            return
        except DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
