# Written by notebooks/02_database.ipynb: edit there, or edit here and run `workshop sync`
"""SQLAlchemy models. Importing this package registers every table on Base.metadata."""

from app.models.item import Item
from app.models.user import User

__all__ = ["Item", "User"]
