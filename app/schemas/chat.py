# Written by notebooks/08_websockets.ipynb: edit there, or edit here and run `workshop sync`
"""What a chat client may send over its WebSocket."""

from pydantic import BaseModel, ConfigDict, Field


class ChatInput(BaseModel):
    """A chat message: {"text": "..."}, 1 to 2000 characters once trimmed, nothing else.

    No `user` field: who speaks always comes from the token, never from the message.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=2000)
