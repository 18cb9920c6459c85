# Written by notebooks/02_database.ipynb: edit there, or edit here and run `workshop sync`
"""The items table: each item belongs to one user."""

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import Base
from app.models.timestamps import TimestampMixin

if TYPE_CHECKING:
    from app.models.user import User


class Item(TimestampMixin, Base):
    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    owner: Mapped["User"] = relationship(back_populates="items")

    # Ids are never reused on SQLite either (PostgreSQL sequences never reuse them).
    __table_args__ = ({"sqlite_autoincrement": True},)

    def __repr__(self) -> str:
        return f"Item(id={self.id!r}, title={self.title!r}, owner_id={self.owner_id!r})"
