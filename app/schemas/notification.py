# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""A mail a superuser asks the app to send to a user."""

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from app.schemas.common import InputSchema


class NotificationCreate(InputSchema):
    user_id: int
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class NotificationQueued(BaseModel):
    status: Literal["queued"] = "queued"
    user_id: int
