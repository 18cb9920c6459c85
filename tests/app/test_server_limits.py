"""Server limits: a real server, started the documented ways, refuses oversized headers, header
floods and slow clients, and its WebSocket frames are capped, while /health keeps answering."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.server import MAX_HEADERS, server_options
from tests.servers import free_port, raw_request, status_of, wait_until_healthy

KIT = Path(__file__).parents[2]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE", "SECRET", "ENVIRON", "REDIS", "TEST_", "WEB_CONC"))
    }
    return env | {
        "PYTHONPATH": str(KIT),
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}",
        "SECRET_KEY": "s" * 40,
        "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
    }


def _start(command: list[str], tmp_path: Path, port: int) -> Iterator[str]:
    server = subprocess.Popen(
        command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server)
        yield base
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
        assert "Traceback" not in output, output


@pytest.fixture(scope="module", params=["python -m app.server", "gunicorn"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app served as the README says: `python -m app.server`, or gunicorn.conf.py."""
    tmp_path = tmp_path_factory.mktemp("server")
    port = free_port()
    if request.param == "gunicorn":
        command = [
            sys.executable, "-m", "gunicorn", "app.main:app", "-c", str(KIT / "gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "1",
        ]  # fmt: skip
    else:
        command = [sys.executable, "-m", "app.server", "--port", str(port), "--header-timeout", "1"]
    yield from _start(command, tmp_path, port)


def test_an_oversized_header_is_refused(server: str) -> None:
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024) + b"\r\n\r\n"
    assert status_of(raw_request(server, big)) == 400
    assert httpx.get(f"{server}/health").status_code == 200


@pytest.mark.parametrize("count", [MAX_HEADERS + 1, 10_000])
def test_a_flood_of_headers_is_refused(server: str, count: int) -> None:
    headers = b"".join(b"X-%d: 1\r\n" % n for n in range(count))
    answer = raw_request(server, b"GET /health HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    # Refused either way: h11 answers 400 once its buffer of unfinished headers passes
    # MAX_HEADER_BYTES; a request that arrives whole in one socket read (asyncio reads up to
    # 256 KiB) is parsed first, and then the count limit answers 431.
    assert status_of(answer) == 431 if count == MAX_HEADERS + 1 else status_of(answer) in {400, 431}
    assert httpx.get(f"{server}/health").status_code == 200


def test_the_limits_admit_an_ordinary_request(server: str) -> None:
    headers = {f"X-{n}": "v" * 50 for n in range(MAX_HEADERS - 10)}
    assert httpx.get(f"{server}/health", headers=headers).status_code == 200


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("quick")
    port = free_port()
    command = [sys.executable, "-m", "app.server", "--port", str(port), "--header-timeout", "1"]
    yield from _start(command, tmp_path, port)


def test_slow_header_clients_are_closed_while_health_answers(quick_server: str) -> None:
    host, port = quick_server.removeprefix("http://").split(":")
    slow = [socket.create_connection((host, int(port)), timeout=15) for _ in range(50)]
    try:
        for sock in slow:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")  # never finished
        assert httpx.get(f"{quick_server}/health").status_code == 200
        for sock in slow:
            # The server closes the connection (an empty read), well before our 15 s timeout.
            assert sock.recv(1024) == b""
        assert httpx.get(f"{quick_server}/health").status_code == 200
    finally:
        for sock in slow:
            sock.close()


def test_an_idle_keep_alive_connection_is_closed(quick_server: str) -> None:
    host, port = quick_server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=15) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        assert status_of(sock.recv(65536)) == 200
        assert sock.recv(1024) == b""  # closed after the keep-alive (or header) timeout


def test_websocket_frames_over_the_app_cap_are_refused_by_the_server(server: str) -> None:
    name = f"ws{free_port()}"
    account = {"email": f"{name}@example.com", "username": name, "password": "a-long-password"}
    assert httpx.post(f"{server}/api/v1/users/", json=account).status_code == 201
    form = {"username": name, "password": account["password"]}
    token = httpx.post(f"{server}/api/v1/auth/token", data=form).json()["access_token"]
    url = server.replace("http://", "ws://") + f"/ws/limits?token={token}"
    with connect(url, max_size=None) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.send("x" * (server_options()["ws_max_size"] + 1))
        while True:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    # The server's own refusal names the limit; the app's check (after buffering) says nothing.
    assert closed.value.rcvd.reason
    assert httpx.get(f"{server}/health").status_code == 200
