"""Broadcast delivery time to 1,000 WebSocket clients: one worker, then two workers via Redis.

    python benchmarks/ws_broadcast.py [--clients 1000] [--messages 20] [--redis-url URL]

Starts real uvicorn processes on loopback (SQLite in a temporary folder), connects the clients
from this process, sends messages from one client and measures, for every message and every
client, the time from send to receipt. Prints p50 / p99 / max per setup. Two workers need
Redis (--redis-url or REDIS_URL); without it that part is skipped.
"""

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where http.py (the HTTP benchmark)
# would shadow the standard library's `http` package that httpx imports.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import tempfile
import time

import httpx
from websockets.asyncio.client import ClientConnection, connect

KIT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_worker(port: int, workdir: Path, redis_url: str | None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
    env |= {
        "ENVIRONMENT": "test",
        "SECRET_KEY": "b" * 48,
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "FIRST_SUPERUSER_EMAIL": "root@example.com",
        "FIRST_SUPERUSER_USERNAME": "root",
        "FIRST_SUPERUSER_PASSWORD": PASSWORD,
        "LOGIN_LIMIT_PER_IP": "10000/minute",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    command = [
        sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
        "--app-dir", str(KIT), "--log-level", "warning", "--ws-max-queue", "1024",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=workdir)


async def wait_ready(host: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                if (await http.get(f"http://{host}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise RuntimeError("worker exited")
            await asyncio.sleep(0.1)
    raise RuntimeError("worker did not start")


class Listener:
    """One client: records when each benchmark message arrives."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrivals: dict[str, float] = {}
        self.task = asyncio.create_task(self.run())

    async def run(self) -> None:
        async for raw in self.ws:
            data = json.loads(raw)
            if data["type"] == "message" and data["text"].startswith("bench-"):
                self.arrivals[data["text"]] = time.perf_counter()


async def measure(hosts: list[str], clients: int, messages: int) -> list[float]:
    async with httpx.AsyncClient() as http:
        login = await http.post(
            f"http://{hosts[0]}/api/v1/auth/token", data={"username": "root", "password": PASSWORD}
        )
    token = login.json()["access_token"]
    listeners: list[Listener] = []
    for n in range(clients):
        host = hosts[n % len(hosts)]
        ws = await connect(f"ws://{host}/ws/bench?token={token}", max_queue=None)
        listeners.append(Listener(ws))
    await asyncio.sleep(2)  # let the join notices settle
    sender = listeners[0].ws
    sent: dict[str, float] = {}
    for n in range(messages):
        text = f"bench-{n}"
        sent[text] = time.perf_counter()
        await sender.send(json.dumps({"text": text}))
        deadline = time.perf_counter() + 30
        while any(text not in listener.arrivals for listener in listeners):
            if time.perf_counter() > deadline:
                missing = sum(text not in listener.arrivals for listener in listeners)
                raise RuntimeError(f"{missing} clients never got {text}")
            await asyncio.sleep(0.005)
    latencies = [
        (listener.arrivals[text] - sent[text]) * 1000 for listener in listeners for text in sent
    ]
    for listener in listeners:
        listener.task.cancel()
        await listener.ws.close()
    return latencies


def report(label: str, latencies: list[float], clients: int, messages: int) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{label:<28} {clients} clients x {messages} messages: "
        f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {ordered[-1]:7.1f} ms"
    )


async def run_setup(label: str, workers: int, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="kit-bench-") as folder:
        ports = [free_port() for _ in range(workers)]
        processes = [start_worker(port, Path(folder), args.redis_url) for port in ports]
        hosts = [f"127.0.0.1:{port}" for port in ports]
        try:
            for host, process in zip(hosts, processes, strict=True):
                await wait_ready(host, process)
            latencies = await measure(hosts, args.clients, args.messages)
            report(label, latencies, args.clients, args.messages)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    await run_setup(
        "one worker (in-process)", 1, argparse.Namespace(**{**vars(args), "redis_url": None})
    )
    if args.redis_url:
        await run_setup("two workers (Redis pub/sub)", 2, args)
    else:
        print("two workers: skipped (set REDIS_URL or --redis-url)")


if __name__ == "__main__":
    asyncio.run(main())
