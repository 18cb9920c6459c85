# Written by notebooks/10_migrations.ipynb: edit there, or edit here and run `workshop sync`
"""Alembic's entry point, async: migrations run on the app's own async engine and metadata."""

import asyncio
from logging.config import fileConfig

from sqlalchemy.engine import Connection

import app.models  # noqa: F401  (registers every table on Base.metadata)
from alembic import context
from app.config import get_settings
from app.database import Base, create_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def database_url() -> str:
    """The URL a caller passed in (tests do), else the app's DATABASE_URL."""
    url = config.attributes.get("database_url") or get_settings().database_url
    return str(url)


def configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        compare_type=True,  # the default since Alembic 1.12; written out, since it matters here
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=(url or "").startswith("sqlite")
        or (connection is not None and connection.dialect.name == "sqlite"),
        literal_binds=url is not None,
        # One transaction per migration: a SQLite pragma a migration sets (foreign_keys=OFF
        # for a table copy) only takes effect outside a transaction.
        transaction_per_migration=True,
    )


def run_offline() -> None:
    """`alembic upgrade head --sql`: print the SQL instead of running it."""
    configure(url=database_url())
    with context.begin_transaction():
        context.run_migrations()


def run_sync(connection: Connection) -> None:
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_sync)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
