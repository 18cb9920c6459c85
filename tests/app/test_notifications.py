"""Mail in the background: the file backend, a real SMTP server, failures, and not waiting."""

import asyncio
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from app.services.notifications import SMTPMailer, welcome_message
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


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no authority signed, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert, key_file = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert, key_file


@pytest.mark.parametrize("trusted", [False, True], ids=["untrusted", "trusted"])
async def test_starttls_verifies_the_certificate_before_the_password_is_sent(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trusted: bool
) -> None:
    """A server whose certificate nobody vouches for gets no login and no mail; the same
    server, once its certificate is trusted (SSL_CERT_FILE), gets both."""
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins: list[str] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        logins.append(data.login.decode())
        return AuthResult(success=True)

    if trusted:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=tls,
                            require_starttls=True, authenticator=authenticator,
                            auth_require_tls=True)  # fmt: skip
    controller.start()
    try:
        update = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": True,
                  "smtp_user": "mailer", "smtp_password": SecretStr("smtp-secret")}  # fmt: skip
        mailer = SMTPMailer(settings.model_copy(update=update))
        message = welcome_message("kit@example.com", "bob@example.com", "bob")
        if trusted:
            await mailer.send(message)
        else:
            with pytest.raises(ssl.SSLCertVerificationError):
                await mailer.send(message)
    finally:
        controller.stop()
    assert logins == (["mailer"] if trusted else [])
    assert len(inbox.received) == (1 if trusted else 0)
