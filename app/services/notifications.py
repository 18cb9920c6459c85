# Written by notebooks/09_background_tasks.ipynb: edit there, or edit here and run `workshop sync`
"""Mail: an SMTP backend when SMTP_HOST is set, else .eml files in MAIL_OUTBOX_DIR.

Sending runs in a worker thread (smtplib and file writes block) and, from the routes, as a
background task: the response does not wait for it, and a failure is logged, never raised.
"""

import asyncio
import logging
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from app.config import Settings

logger = logging.getLogger(__name__)


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


class FileMailer:
    """One .eml file per message, like Django's file e-mail backend: open them in any mail app."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, message)

    def _write(self, message: EmailMessage) -> None:
        self.outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (self.outbox / f"{stamp}-{uuid.uuid4().hex[:8]}.eml").write_bytes(message.as_bytes())


class SMTPMailer:
    """Standard-library smtplib, in a worker thread so the event loop never waits on it."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.user = settings.smtp_user
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.timeout = settings.smtp_timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                # A context that verifies the server's certificate and name: starttls() without
                # one encrypts, but to anyone, and the password below would go to a stand-in.
                smtp.starttls(context=ssl.create_default_context())
            if self.user and self.password:
                smtp.login(self.user, self.password.get_secret_value())
            smtp.send_message(message)


def create_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SMTPMailer(settings)
    return FileMailer(settings.mail_outbox_dir)


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def welcome_message(sender: str, email: str, username: str) -> EmailMessage:
    body = f"Hello {username},\n\nyour account is ready. Welcome aboard!\n"
    return compose(sender, email, "Welcome to FastAPI Notebook Kit", body)


async def send_quietly(mailer: Mailer, message: EmailMessage) -> None:
    """For background tasks: the response is already sent, so log a failure, never raise it."""
    try:
        await mailer.send(message)
    except Exception as error:  # any failure (network, auth, disk) ends in the same log line
        logger.warning("could not send %r to %s: %s", message["Subject"], message["To"], error)
