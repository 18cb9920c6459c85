# Written by notebooks/02_database.ipynb: edit there, or edit here and run `workshop sync`
"""The users table."""

from typing import TYPE_CHECKING

from sqlalchemy import Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base
from app.models.timestamps import TimestampMixin

if TYPE_CHECKING:
    from app.models.item import Item


class User(TimestampMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lowercased by the schemas, so a plain unique constraint is case-insensitive.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(50))
    hashed_password: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_superuser: Mapped[bool] = mapped_column(default=False)
    # Part of every token: bumped when the password changes or the account is deactivated,
    # so tokens issued before stop working (app/utils/security.py, app/dependencies.py).
    token_generation: Mapped[int] = mapped_column(default=0, server_default=text("0"))

    # The database deletes a user's items (ON DELETE CASCADE); the ORM need not load them.
    items: Mapped[list["Item"]] = relationship(
        back_populates="owner", cascade="all, delete-orphan", passive_deletes=True
    )

    # Usernames keep their case for display but are unique case-insensitively.
    # sqlite_autoincrement: without it SQLite hands a deleted user's id to the next account,
    # and the deleted user's unexpired token would act as that new user.
    __table_args__ = (
        Index("uq_users_username_lower", func.lower(username), unique=True),
        {"sqlite_autoincrement": True},
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, username={self.username!r})"
