# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""A mail a superuser asks the app to send to a user."""

from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints

from app.schemas.common import Id, InputSchema

# One line: a CR or LF in a mail header would start another header (header injection), and
# Python's email headers refuse every other line break str.splitlines() knows (a 500 if let in).
Subject = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200, pattern=r"^[^\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*$"
    ),
]


class NotificationCreate(InputSchema):
    user_id: Id
    subject: Subject
    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000)]


class NotificationQueued(BaseModel):
    status: Literal["queued"] = "queued"
    user_id: int
