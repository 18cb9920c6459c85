"""The hardening figures, re-measured: header and slow-client probes on a real server started
the documented way, and the failure modes of a frozen Redis and a blackholed database.

    python benchmarks/attack.py

Prints one line per probe with what the server did and what it cost (status codes, seconds,
the server's resident memory, how many connections it closed). The test suite checks the same
behaviours with smaller numbers (tests/app/test_server_limits.py, tests/app/test_fail_fast.py);
this script uses the sizes of the original attack report. schemathesis: benchmarks/fuzz.py.
"""

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("ENVIRONMENT", "test")

import httpx

from app.config import Settings
from app.main import create_app
from tests.servers import Blackhole, free_port, raw_request, status_of, wait_until_healthy
from workshop.appclient import AppClient

KIT = Path(__file__).resolve().parents[1]
MiB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def health_seconds(base: str) -> str:
    started = time.perf_counter()
    try:
        code = httpx.get(f"{base}/health", timeout=30).status_code
    except httpx.TransportError as error:
        return f"failed ({type(error).__name__})"
    return f"{code} in {time.perf_counter() - started:.3f} s"


def report(probe: str, outcome: str) -> None:
    print(f"  {probe:<52} {outcome}", flush=True)


def server_probes(workdir: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
    env |= {
        "PYTHONPATH": str(KIT),
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'attack.db'}",
        "SECRET_KEY": "s" * 40,
        "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
    }
    command = [sys.executable, "-m", "app.server", "--port", str(port)]  # the README's command
    print(f"`python -m app.server` (defaults: header timeout 10 s) on {base}")
    server = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_until_healthy(base, server)
        report("start", f"{rss_mb(server.pid):.0f} MB resident")

        started = time.perf_counter()
        big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (16 * MiB) + b"\r\n\r\n"
        code = status_of(raw_request(base, big))
        report("one 16 MiB header", f"{code} in {time.perf_counter() - started:.2f} s")

        flood = b"".join(b"X-%d: 1\r\n" % n for n in range(10_000))
        code = status_of(
            raw_request(base, b"GET /health HTTP/1.1\r\nHost: x\r\n" + flood + b"\r\n")
        )
        report("10,000 headers", f"{code}")

        before = rss_mb(server.pid)
        accepted = []
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
            sent = 0
            with contextlib.suppress(OSError):
                while sent < 32 * MiB:
                    sock.sendall(b"a" * MiB)
                    sent += MiB
            accepted.append(sent)
            sock.close()
        report(
            "20 connections, 32 MiB of unfinished headers each",
            f"server took at most {max(accepted) // MiB} MiB of one; "
            f"resident {before:.0f} -> {rss_mb(server.pid):.0f} MB; /health {health_seconds(base)}",
        )

        slow = []
        for _ in range(900):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            except OSError:
                break
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            slow.append(sock)
        during = health_seconds(base)
        started = time.perf_counter()
        closed = 0
        for sock in slow:
            sock.settimeout(max(0.1, 30 - (time.perf_counter() - started)))
            with contextlib.suppress(OSError):
                if sock.recv(1024) == b"":
                    closed += 1
            sock.close()
        report(
            f"{len(slow)} half-sent requests",
            f"/health while open: {during}; {closed} closed by the server within "
            f"{time.perf_counter() - started:.1f} s; /health after: {health_seconds(base)}",
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


async def fault_probes(workdir: Path) -> None:
    print("\nFaults (the app in-process, default timeouts)")
    async with Blackhole() as frozen:
        settings = Settings(
            environment="test",
            secret_key_file=workdir / "key",
            database_url=f"sqlite+aiosqlite:///{workdir / 'faults.db'}",
            mail_outbox_dir=workdir / "outbox",
            redis_url=f"redis://127.0.0.1:{frozen.port}/0",
        )
        async with AppClient(create_app(settings)) as client:
            body = {"email": "f@example.com", "username": "frozen", "password": "a-long-password"}
            await client.post("/api/v1/users/", json=body)
            form = {"username": "frozen", "password": "a-long-password"}
            times = []
            codes = set()
            for _ in range(20):
                started = time.perf_counter()
                codes.add((await client.post("/api/v1/auth/token", data=form)).status_code)
                times.append(time.perf_counter() - started)
            health = (await client.get("/health")).json()
        report(
            "frozen Redis (accepts, never answers): 20 logins",
            f"status {sorted(codes)}, p50 {statistics.median(times):.3f} s, "
            f"max {max(times):.3f} s; /health cache={health['cache']}",
        )

    async with Blackhole() as cut:
        settings = Settings(
            environment="production",
            secret_key="s" * 48,
            secret_key_file=workdir / "key",
            database_url=f"postgresql+asyncpg://nobody@127.0.0.1:{cut.port}/none",
            mail_outbox_dir=workdir / "outbox",
            redis_url=None,
        )
        async with AppClient(create_app(settings)) as client:
            started = time.perf_counter()
            body = {"email": "b@example.com", "username": "blackholed", "password": "x" * 12}
            registered = await client.post("/api/v1/users/", json=body)
            api_seconds = time.perf_counter() - started
            started = time.perf_counter()
            health = await client.get("/health")
            health_s = time.perf_counter() - started
        report(
            "blackholed PostgreSQL (accepts, never answers)",
            f"registration {registered.status_code} {registered.json()} in {api_seconds:.2f} s; "
            f"/health {health.status_code} in {health_s:.2f} s",
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kit-attack-") as scratch:
        workdir = Path(scratch)
        server_probes(workdir)
        asyncio.run(fault_probes(workdir))


if __name__ == "__main__":
    main()
