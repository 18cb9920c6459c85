# Written by notebooks/10_migrations.ipynb: edit there, or edit here and run `workshop sync`
"""Is the database's schema the one this code expects? /health asks, so that a server on an
unmigrated database (or one migration behind) reports unhealthy instead of failing every
API call behind a green health check."""

from pathlib import Path
from typing import Literal

from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import app.models  # noqa: F401  (registers every table on Base.metadata)
from app.database import Base

SchemaState = Literal["ok", "schema_missing", "schema_outdated"]
MIGRATIONS = Path(__file__).resolve().parent.parent / "alembic"


def expected_revisions() -> set[str]:
    """The head revision(s) of the migrations shipped with this code (none: no alembic/)."""
    if not (MIGRATIONS / "versions").is_dir():
        return set()
    return set(ScriptDirectory(str(MIGRATIONS)).get_heads())


async def schema_state(engine: AsyncEngine) -> SchemaState:
    async with engine.connect() as connection:
        state: SchemaState = await connection.run_sync(_state)
    return state


def _state(connection: Connection) -> SchemaState:
    tables = set(inspect(connection).get_table_names())
    if not set(Base.metadata.tables) <= tables:
        return "schema_missing"
    # Tables made by create_all (local and test) have no alembic_version: nothing to compare.
    if "alembic_version" in tables:
        query = text("SELECT version_num FROM alembic_version")
        stamped = set(connection.execute(query).scalars())
        heads = expected_revisions()
        if heads and stamped != heads:
            return "schema_outdated"
    return "ok"


async def checked_schema(app: FastAPI, engine: AsyncEngine) -> SchemaState:
    """The schema state, remembered once it is right: from then on the check costs nothing
    (a schema does not fall behind while the code that expects it runs). While it is wrong,
    every probe looks again, so `alembic upgrade head` turns /health green with no restart."""
    if getattr(app.state, "schema_ok", False):
        return "ok"
    state = await schema_state(engine)
    app.state.schema_ok = state == "ok"
    return state
