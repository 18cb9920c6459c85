# Written by notebooks/08_websockets.ipynb: edit there, or edit here and run `workshop sync`
"""Keep access tokens out of server logs (the WebSocket token travels in the query string)."""

import logging
import re
from urllib.parse import unquote_plus

# One query parameter, as it appears (still percent-encoded) in a logged URL.
QUERY_PARAMETER = re.compile(r"(?<![^?&;\s])([^=?&;\s\"'#]+)=([^&;\s\"'#]*)")


def _redact_match(match: re.Match[str]) -> str:
    # The app reads keys percent-decoded: ?%74oken=... is the token too, and so redacted.
    if unquote_plus(match.group(1)) == "token":
        return f"{match.group(1)}=[redacted]"
    return match.group(0)


def redact(text: str) -> str:
    """The text with the value of every token parameter replaced by [redacted]."""
    return QUERY_PARAMETER.sub(_redact_match, text) if "=" in text else text


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_tokens_in_server_logs() -> None:
    """Install the filter on uvicorn's loggers, once."""
    for name in ("uvicorn.access", "uvicorn.error"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in target.filters):
            target.addFilter(RedactTokens())
