# Written by notebooks/03_schemas.ipynb: edit there, or edit here and run `workshop sync`
"""Pydantic schemas: the shapes of request and response bodies."""

from app.schemas.auth import Token
from app.schemas.common import ErrorMessage
from app.schemas.health import Health
from app.schemas.item import ItemCreate, ItemResponse, ItemUpdate
from app.schemas.user import UserCreate, UserResponse, UserUpdate

__all__ = [
    "ErrorMessage",
    "Health",
    "ItemCreate",
    "ItemResponse",
    "ItemUpdate",
    "Token",
    "UserCreate",
    "UserResponse",
    "UserUpdate",
]
