"""Stage 09 — background mail: a welcome .eml, POST /notify for superusers, SMTP, failures."""

import logging
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from workshop.appclient import AppClient

USERS_URL = "/api/v1/users/"
NOTIFY_URL = "/api/v1/notify"
Register = Callable[..., Awaitable[dict[str, Any]]]  # the register and login fixtures
Login = Callable[..., Awaitable[dict[str, str]]]
WELCOME = "Welcome to FastAPI Notebook Kit"


def _outbox(folder: Path) -> list[Message]:
    return [message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


def _notice(user_id: int) -> dict[str, Any]:
    return {"user_id": user_id, "subject": "Maintenance", "body": "Down at noon."}


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.received: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    """A real SMTP server on a free loopback port; yields the port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@asynccontextmanager
async def smtp_client(settings: Any, port: int) -> AsyncIterator[AppClient]:
    """An in-process client for the app built to send its mail by SMTP to 127.0.0.1:port."""
    from app.main import create_app

    smtp = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    async with AppClient(create_app(settings.model_copy(update=smtp))) as client:
        yield client


async def test_registration_writes_one_welcome_mail(
    stage_client: httpx.AsyncClient, stage_settings: Any, register: Register
) -> None:
    await register("alice")
    [mail] = _outbox(stage_settings.mail_outbox_dir)
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == WELCOME
    assert "alice" in mail.get_payload()


async def test_a_superuser_queues_a_mail_with_202(
    stage_client: httpx.AsyncClient, stage_settings: Any, register: Register, login: Login
) -> None:
    alice_id = (await register("alice"))["id"]
    root = await login("root")
    response = await stage_client.post(NOTIFY_URL, json=_notice(alice_id), headers=root)
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "user_id": alice_id}
    [notice] = [m for m in _outbox(stage_settings.mail_outbox_dir) if m["Subject"] == "Maintenance"]
    assert notice["To"] == "alice@example.com"
    assert "Down at noon." in notice.get_payload()


async def test_a_normal_user_cannot_send_mail(
    stage_client: httpx.AsyncClient, stage_settings: Any, register: Register, login: Login
) -> None:
    alice_id = (await register("alice"))["id"]
    alice = await login("alice")
    response = await stage_client.post(NOTIFY_URL, json=_notice(alice_id), headers=alice)
    assert response.status_code == 403
    assert [m["Subject"] for m in _outbox(stage_settings.mail_outbox_dir)] == [WELCOME]


async def test_anonymous_notify_is_401(stage_client: httpx.AsyncClient, register: Register) -> None:
    alice_id = (await register("alice"))["id"]
    response = await stage_client.post(NOTIFY_URL, json=_notice(alice_id))
    assert response.status_code == 401


async def test_unknown_user_is_404(
    stage_client: httpx.AsyncClient, stage_settings: Any, login: Login
) -> None:
    root = await login("root")
    response = await stage_client.post(NOTIFY_URL, json=_notice(999), headers=root)
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
    assert _outbox(stage_settings.mail_outbox_dir) == []


async def test_the_recipient_is_never_taken_from_the_request(
    stage_client: httpx.AsyncClient, register: Register, login: Login
) -> None:
    alice_id = (await register("alice"))["id"]
    root = await login("root")
    relay = _notice(alice_id) | {"email": "victim@example.com"}
    for body in (relay, _notice(alice_id) | {"subject": ""}):
        response = await stage_client.post(NOTIFY_URL, json=body, headers=root)
        assert response.status_code == 422, body


async def test_smtp_backend_delivers_to_a_real_server(
    stage_settings: Any, register: Register
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        async with smtp_client(stage_settings, port) as client:
            await register("bob", client=client)
    [mail] = inbox.received
    assert mail["To"] == "bob@example.com"
    assert mail["Subject"] == WELCOME
    assert _outbox(stage_settings.mail_outbox_dir) == []  # sent by SMTP, not written to a file


async def test_a_dead_smtp_server_still_registers_and_logs_a_warning(
    stage_settings: Any, caplog: pytest.LogCaptureFixture, register: Register
) -> None:
    caplog.set_level(logging.WARNING, logger="app.services.notifications")
    async with smtp_client(stage_settings, 1) as client:  # nothing listens on port 1
        await register("bob", client=client)
    [warning] = [r for r in caplog.records if r.name == "app.services.notifications"]
    assert warning.levelno == logging.WARNING
    assert "bob@example.com" in warning.getMessage()
