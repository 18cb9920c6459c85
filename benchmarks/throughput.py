"""HTTP throughput and latency of the kit against a bare FastAPI app, in one run, with wrk.

    python benchmarks/throughput.py [--duration 10] [--connections 32] [--write-readme]

Starts, one after the other, a bare FastAPI app (one async route returning a small JSON
object) and the kit, each under uvicorn on loopback with the same flags (one worker, no access
log), on SQLite in a temporary folder and, when TEST_DATABASE_URL or DATABASE_URL is set, on
that PostgreSQL database too (its tables are dropped and re-created: use a scratch database).
The server runs on core 0 and wrk on core 1 (taskset) when the machine has two cores or more.
wrk comes from Debian; the script installs it with apt-get when it is missing.

Measured on the kit: GET /health (one SELECT 1), GET /api/v1/users/me (cached principal and
user), GET /api/v1/items/{id} cached (one item read again and again) and uncached (5,000 items
read in turn, with CACHE_TTL_SECONDS=1, so every read misses the item and loads it; the
principal stays cached), and POST /api/v1/auth/token (a login: one argon2 verification).
Every figure is also given as a ratio to the bare app's, measured in the same run: absolute
numbers vary from machine to machine, ratios much less.

Then a login storm, on SQLite: 8 connections logging in while one more polls /health, twice:
with the hashing pool bounded as the kit does it (PASSWORD_HASH_WORKERS unset: cores - 1), and
with a pool as large as asyncio.to_thread's default one (min(32, cores + 4) threads), which
is what the kit used before. It prints login throughput and /health latency for both.

--write-readme replaces the table between the performance markers in README.md.
"""

import argparse
import asyncio
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from workshop.load import Result, Wrk, get_script, pinned

KIT = Path(__file__).resolve().parents[1]
README = KIT / "README.md"
BEGIN, END = "<!-- benchmarks/throughput.py: begin -->", "<!-- benchmarks/throughput.py: end -->"
PASSWORD = "benchmark-password"
ITEMS = 5_000

BARE_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/json")
async def hello() -> dict[str, str]:
    return {"message": "hello"}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it with apt-get (Debian's package)", flush=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk")
    return found


class Server:
    """One uvicorn process on a free port, pinned to the server core."""

    def __init__(self, app: str, app_dir: Path, env: dict[str, str], core: int | None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir),
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.process = subprocess.Popen(pinned(core, command), env=env, cwd=app_dir)

    async def wait_ready(self, path: str) -> None:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                try:
                    if (await http.get(self.base + path)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}")
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def kit_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))}
    return (
        env
        | {
            "ENVIRONMENT": "test",
            "SECRET_KEY": "b" * 48,
            "DATABASE_URL": database_url,
            "FIRST_SUPERUSER_EMAIL": "root@example.com",
            "FIRST_SUPERUSER_USERNAME": "root",
            "FIRST_SUPERUSER_PASSWORD": PASSWORD,
            "DOCS_ENABLED": "false",
        }
        | extra
    )


def login_script() -> str:
    return (
        'wrk.method = "POST"\n'
        f'wrk.body = "username=bench&password={PASSWORD}"\n'
        'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        'wrk.path = "/api/v1/auth/token"\n'
    )


def rotating_items_script(first_id: int, count: int, token: str) -> str:
    """Each request reads the next of `count` items: with a 1 s TTL, every read is a miss."""
    return (
        f"local first, count, n = {first_id}, {count}, 0\n"
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        "  n = n + 1\n"
        '  return wrk.format("GET", "/api/v1/items/" .. (first + n % count))\n'
        "end\n"
    )


async def prepare_kit(base: str, database_url: str) -> tuple[str, int, int]:
    """A user `bench` with one item read again and again, and ITEMS more read in turn."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        body = {"email": "bench@example.com", "username": "bench", "password": PASSWORD}
        registered = await http.post("/api/v1/users/", json=body)
        assert registered.status_code == 201, registered.text
        owner_id = registered.json()["id"]
        login = await http.post(
            "/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}
        )
        token: str = login.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        item = await http.post("/api/v1/items/", json={"title": "hot"}, headers=headers)
        hot_id: int = item.json()["id"]
    first_id = await insert_items(database_url, owner_id, ITEMS)
    return token, hot_id, first_id


async def insert_items(database_url: str, owner_id: int, count: int) -> int:
    """Bulk-insert items straight into the database (the API would take a while)."""
    sys.path.insert(0, str(KIT))
    from sqlalchemy import func, insert, select

    from app.database import create_engine
    from app.models import Item
    from app.models.timestamps import utcnow

    engine = create_engine(database_url)
    now = utcnow()
    rows = [
        {"title": f"item {n}", "owner_id": owner_id, "created_at": now, "updated_at": now}
        for n in range(count)
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(Item), rows)
        last = (await connection.execute(select(func.max(Item.id)))).scalar_one()
    await engine.dispose()
    return int(last) - count + 1


async def reset_postgresql(url: str) -> None:
    from sqlalchemy import Connection, MetaData
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as connection:

        def drop(sync_connection: Connection) -> None:
            existing = MetaData()
            existing.reflect(sync_connection)
            existing.drop_all(sync_connection)

        await connection.run_sync(drop)
    await engine.dispose()


async def bench_bare(wrk: Wrk, workdir: Path, core: int | None, conns: int) -> Result:
    (workdir / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    server = Server("bare_app:app", workdir, dict(os.environ), core)
    try:
        await server.wait_ready("/json")
        script = wrk.script("bare", get_script("/json"))
        return wrk.measure("bare FastAPI", "GET /json", server.base, script, conns)
    finally:
        server.stop()


async def bench_kit(
    wrk: Wrk, name: str, database_url: str, core: int | None, conns: int
) -> list[Result]:
    if database_url.startswith("postgresql"):
        await reset_postgresql(database_url)
    env = kit_env(database_url, CACHE_TTL_SECONDS="1")
    server = Server("app.main:app", KIT, env, core)
    try:
        await server.wait_ready("/health")
        token, hot_id, first_id = await prepare_kit(server.base, database_url)
        auth = {"Authorization": f"Bearer {token}"}
        cases = [
            ("GET /health", get_script("/health")),
            ("GET /api/v1/users/me", get_script("/api/v1/users/me", auth)),
            ("GET /api/v1/items/{id} cached", get_script(f"/api/v1/items/{hot_id}", auth)),
            ("GET /api/v1/items/{id} uncached", rotating_items_script(first_id, ITEMS, token)),
            ("POST /api/v1/auth/token (login)", login_script()),
        ]
        results: list[Result] = []
        for endpoint, body in cases:
            script = wrk.script(f"{name}-{len(results)}", body)
            results.append(wrk.measure(name, endpoint, server.base, script, conns))
        return results
    finally:
        server.stop()


async def bench_storm(
    wrk: Wrk, workdir: Path, core: int | None, label: str, workers: int | None
) -> dict[str, float]:
    extra = {} if workers is None else {"PASSWORD_HASH_WORKERS": str(workers)}
    database_url = f"sqlite+aiosqlite:///{workdir / f'storm-{label}.db'}"
    server = Server("app.main:app", KIT, kit_env(database_url, **extra), core)
    try:
        await server.wait_ready("/health")
        await prepare_kit(server.base, database_url)
        logins, health = (
            wrk.script("storm-login", login_script()),
            wrk.script("storm-health", get_script("/health")),
        )
        storm = await asyncio.gather(
            asyncio.to_thread(wrk.run, server.base, logins, connections=8),
            asyncio.to_thread(wrk.run, server.base, health, connections=1),
        )
    finally:
        server.stop()
    login, probe = storm
    figures = {
        "login_rps": login["requests"] / login["seconds"],
        "login_p50_ms": login["p50_ms"],
        "health_p50_ms": probe["p50_ms"],
        "health_p99_ms": probe["p99_ms"],
        "non2xx": login["non2xx"] + probe["non2xx"],
    }
    print(
        f"  storm, {label:34} logins {figures['login_rps']:6.1f}/s (p50 "
        f"{figures['login_p50_ms']:.0f} ms)  /health p50 {figures['health_p50_ms']:.1f} ms"
        f"  p99 {figures['health_p99_ms']:.1f} ms  non-2xx {figures['non2xx']:.0f}",
        flush=True,
    )
    return figures


def table(results: list[Result], bare: Result) -> str:
    lines = [
        "| server | endpoint | req/s | p50 | p99 | non-2xx | req/s vs bare | p99 vs bare |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.server} | `{r.endpoint}` | {r.rps:,.0f} | {r.p50_ms:.1f} ms | "
            f"{r.p99_ms:.1f} ms | {r.non2xx + r.errors} | {r.rps / bare.rps:.2f}x | "
            f"{r.p99_ms / bare.p99_ms:.1f}x |"
        )
    return "\n".join(lines)


def storm_table(storms: dict[str, dict[str, float]]) -> str:
    lines = [
        "| login storm (SQLite, 8 connections logging in) | logins/s | /health p50 | "
        "/health p99 | non-2xx |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, f in storms.items():
        lines.append(
            f"| {label} | {f['login_rps']:.1f} | {f['health_p50_ms']:.1f} ms | "
            f"{f['health_p99_ms']:.1f} ms | {f['non2xx']:.0f} |"
        )
    return "\n".join(lines)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Python {platform.python_version()}"


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md has no {BEGIN} ... {END} markers")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")
    print("README.md updated")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-storm", action="store_true", help="skip the login storm")
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()

    wrk_binary = ensure_wrk()
    two_cores = (os.cpu_count() or 1) >= 2
    server_core, client_core = (0, 1) if two_cores else (None, None)
    postgresql = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if postgresql and not postgresql.startswith("postgresql"):
        postgresql = None
    print(f"{machine()}; server on core {server_core}, wrk on core {client_core}", flush=True)
    with tempfile.TemporaryDirectory(prefix="kit-http-bench-") as tmp:
        workdir = Path(tmp)
        wrk = Wrk(wrk_binary, workdir, client_core, args.duration)
        conns = args.connections
        bare = await bench_bare(wrk, workdir, server_core, conns)
        results = [bare]
        sqlite_url = f"sqlite+aiosqlite:///{workdir / 'kit.db'}"
        results += await bench_kit(wrk, "kit, SQLite", sqlite_url, server_core, conns)
        if postgresql:
            results += await bench_kit(wrk, "kit, PostgreSQL", postgresql, server_core, conns)
        storms: dict[str, dict[str, float]] = {}
        if not args.no_storm:
            cores = os.cpu_count() or 1
            default_pool = min(32, cores + 4)
            storms[
                f"after: bounded pool ({max(1, cores - 1)} thread, cores - 1)"
            ] = await bench_storm(wrk, workdir, server_core, "bounded", None)
            storms[
                f"before: asyncio.to_thread's pool size ({default_pool} threads)"
            ] = await bench_storm(wrk, workdir, server_core, "default", default_pool)
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    note = (
        f"Measured {stamp} by `python benchmarks/throughput.py` on {machine()}: one uvicorn worker "
        f"on one core, wrk ({conns} connections, {args.duration:g} s per row) on the other."
    )
    storm_intro = "A login storm, on SQLite, with the hashing pool bounded and as it was before:"
    parts = [note, table(results, bare)] + ([storm_intro, storm_table(storms)] if storms else [])
    text = "\n\n".join(parts)
    print("\n" + text)
    if args.write_readme:
        write_readme(text)


if __name__ == "__main__":
    asyncio.run(main())
