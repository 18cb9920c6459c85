"""Mail in the background: the file backend, a real SMTP server, failures, and not waiting."""

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from app.config import Settings
from app.main import create_app
from tests.conftest import PASSWORD, Login, Register
from tests.servers import free_port, serve
from workshop.appclient import AppClient


def read_outbox(folder: Path) -> list[Message]:
    return [message_from_bytes(path.read_bytes()) for path in sorted(folder.glob("*.eml"))]


async def test_registration_writes_a_welcome_mail(register: Register, settings: Settings) -> None:
    await register("alice")
    [mail] = read_outbox(settings.mail_outbox_dir)
    assert mail["To"] == "alice@example.com"
    assert mail["Subject"] == "Welcome to FastAPI Notebook Kit"
    assert "Hello alice" in mail.get_payload()


async def test_a_superuser_queues_a_mail(
    client: httpx.AsyncClient,
    register: Register,
    login: Login,
    root_headers: dict[str, str],
    settings: Settings,
) -> None:
    alice = await register("alice")
    body = {"user_id": alice["id"], "subject": "Maintenance", "body": "Down at noon."}
    queued = await client.post("/api/v1/notify", json=body, headers=root_headers)
    assert queued.status_code == 202
    assert queued.json() == {"status": "queued", "user_id": alice["id"]}
    subjects = [mail["Subject"] for mail in read_outbox(settings.mail_outbox_dir)]
    assert subjects.count("Maintenance") == 1

    alice_headers = await login("alice")
    assert (
        await client.post("/api/v1/notify", json=body, headers=alice_headers)
    ).status_code == 403
    assert (await client.post("/api/v1/notify", json=body)).status_code == 401
    missing = body | {"user_id": 999}
    assert (
        await client.post("/api/v1/notify", json=missing, headers=root_headers)
    ).status_code == 404
    for bad in (
        {"user_id": alice["id"], "subject": "", "body": "x"},
        {"subject": "s", "body": "b"},
    ):
        assert (
            await client.post("/api/v1/notify", json=bad, headers=root_headers)
        ).status_code == 422
    assert [m["Subject"] for m in read_outbox(settings.mail_outbox_dir)].count("Maintenance") == 1


class Inbox:
    """An aiosmtpd handler: keeps what it receives; can hold delivery until released."""

    def __init__(self, hold: bool = False) -> None:
        self.received: list[Message] = []
        self.release = threading.Event()
        if not hold:
            self.release.set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.release.wait(timeout=20)  # blocks the SMTP server's own thread, not the app's
        self.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        inbox.release.set()
        controller.stop()


def smtp_settings(settings: Settings, port: int) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False}
    )


async def test_smtp_backend_delivers_to_a_real_server(settings: Settings) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        async with AppClient(create_app(smtp_settings(settings, port))) as http:
            body = {"email": "bob@example.com", "username": "bob", "password": PASSWORD}
            assert (await http.post("/api/v1/users/", json=body)).status_code == 201
    [mail] = inbox.received
    assert mail["To"] == "bob@example.com" and mail["Subject"].startswith("Welcome")
    assert not list(settings.mail_outbox_dir.glob("*.eml"))  # SMTP, not the file backend


async def test_a_failing_mail_server_never_fails_the_request(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app")
    # Nothing listens on port 1.
    async with AppClient(create_app(smtp_settings(settings, 1))) as http:
        body = {"email": "bob@example.com", "username": "bob", "password": PASSWORD}
        response = await http.post("/api/v1/users/", json=body)
    assert response.status_code == 201
    [warning] = [r for r in caplog.records if r.name == "app.services.notifications"]
    assert "could not send" in warning.getMessage() and warning.exc_info is None


async def test_the_response_does_not_wait_for_the_mail(settings: Settings) -> None:
    inbox = Inbox(hold=True)  # the SMTP server accepts the mail only when the test says so
    with smtp_server(inbox) as port:
        async with serve(create_app(smtp_settings(settings, port))) as host:
            body = {"email": "carol@example.com", "username": "carol", "password": PASSWORD}
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.post(f"http://{host}/api/v1/users/", json=body)
            assert response.status_code == 201
            assert inbox.received == []  # answered while the mail was still on its way
            inbox.release.set()
            deadline = time.monotonic() + 10
            while not inbox.received:
                assert time.monotonic() < deadline, "the mail never arrived"
                await asyncio.sleep(0.05)
    assert inbox.received[0]["To"] == "carol@example.com"
