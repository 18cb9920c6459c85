# Written by notebooks/10_migrations.ipynb: edit there, or edit here and run `workshop sync`
"""token generation; ids never reused on SQLite

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERNAME_INDEX = "uq_users_username_lower"


def token_generation() -> sa.Column[int]:
    return sa.Column("token_generation", sa.Integer(), server_default=sa.text("0"), nullable=False)


def tables_as_of_0001() -> tuple[sa.Table, sa.Table]:
    """The tables as revision 0001 made them: what batch mode copies (no reflection needed,
    so `alembic upgrade --sql` works too)."""
    metadata = sa.MetaData()
    users = sa.Table(
        "users",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("hashed_password", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("email", name="uq_users_email"),
    )
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name="fk_items_owner_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_items"),
        sa.Index("ix_items_owner_id", "owner_id"),
    )
    return users, items


def upgrade() -> None:
    if op.get_context().dialect.name != "sqlite":
        # PostgreSQL's sequences never hand out an id twice: only the new column.
        op.add_column("users", token_generation())
        return
    # SQLite reuses the highest id after a delete unless the table was *created* with
    # AUTOINCREMENT, which no ALTER TABLE can add: batch mode copies each table into a new one.
    # Foreign keys off while copying, or dropping the old users table would cascade to items
    # (env.py runs each migration in its own transaction, so the pragma takes effect here).
    users, items = tables_as_of_0001()
    autoincrement = {"sqlite_autoincrement": True}
    op.execute("PRAGMA foreign_keys=OFF")
    # Batch mode does not carry the expression index over: drop it, recreate it after.
    op.drop_index(USERNAME_INDEX, table_name="users")
    with op.batch_alter_table(
        "users", copy_from=users, recreate="always", table_kwargs=autoincrement
    ) as batch:
        batch.add_column(token_generation())
    op.create_index(USERNAME_INDEX, "users", [sa.text("lower(username)")], unique=True)
    with op.batch_alter_table(
        "items", copy_from=items, recreate="always", table_kwargs=autoincrement
    ):
        pass
    op.execute("PRAGMA foreign_keys=ON")


def downgrade() -> None:
    # The tables keep AUTOINCREMENT: handing out old ids again is never wanted.
    if op.get_context().dialect.name != "sqlite":
        op.drop_column("users", "token_generation")
        return
    users, _ = tables_as_of_0001()
    users.append_column(token_generation())
    op.execute("PRAGMA foreign_keys=OFF")
    op.drop_index(USERNAME_INDEX, table_name="users")
    with op.batch_alter_table(
        "users", copy_from=users, recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        batch.drop_column("token_generation")
    op.create_index(USERNAME_INDEX, "users", [sa.text("lower(username)")], unique=True)
    op.execute("PRAGMA foreign_keys=ON")
