"""HTTP load, measured the same way by `benchmarks/throughput.py` and by lesson 12.

`wrk` (Debian's package) makes the load when it is installed: a C client on its own core,
fast enough not to be what it measures. Without it, `measure` falls back to a Python client
(httpx on asyncio in this process), which tops out far below the server and shares its cores:
its figures say more about the client than the app, and the result says which one ran.
"""

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

# wrk prints its own summary; this prints one JSON line that the driver reads.
REPORT_LUA = """
done = function(summary, latency, requests)
  io.write(string.format(
    '\\nRESULT {"requests": %d, "seconds": %f, "non2xx": %d, "errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class Result:
    server: str
    endpoint: str
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int
    client: str = "wrk"


def pinned(core: int | None, command: list[str]) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", str(core), *command]


def get_script(path: str, headers: dict[str, str] | None = None) -> str:
    lines = [f'wrk.path = "{path}"']
    for name, value in (headers or {}).items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    return "\n".join(lines) + "\n"


class Wrk:
    """wrk with one thread, optionally pinned to a core, reporting through REPORT_LUA."""

    def __init__(self, binary: str, workdir: Path, core: int | None, duration: float) -> None:
        self.binary, self.core, self.duration = binary, core, duration
        self.scripts = workdir / "wrk"
        self.scripts.mkdir(exist_ok=True)

    def script(self, name: str, body: str) -> Path:
        path = self.scripts / f"{name}.lua"
        path.write_text(body + REPORT_LUA, encoding="utf-8")
        return path

    def run(
        self, url: str, script: Path, *, connections: int, duration: float | None = None
    ) -> dict[str, float]:
        seconds = max(1, math.ceil(duration or self.duration))  # wrk takes whole seconds
        command = [
            self.binary, "-t", "1", "-c", str(connections), "-d", f"{seconds}s",
            "--timeout", "10s", "-s", str(script), url,
        ]  # fmt: skip
        done = subprocess.run(
            pinned(self.core, command), capture_output=True, text=True, check=True
        )
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        figures: dict[str, float] = json.loads(line.removeprefix("RESULT "))
        return figures

    def measure(
        self,
        server: str,
        endpoint: str,
        url: str,
        script: Path,
        connections: int,
        *,
        warm_up: float = 1,
        quiet: bool = False,
    ) -> Result:
        if warm_up:
            self.run(url, script, connections=connections, duration=warm_up)
        f = self.run(url, script, connections=connections)
        result = Result(
            server, endpoint, f["requests"] / f["seconds"], f["p50_ms"], f["p99_ms"],
            int(f["non2xx"]), int(f["errors"]),
        )  # fmt: skip
        if not quiet:
            print(
                f"  {server:16} {endpoint:34} {result.rps:8,.0f} req/s  "
                f"p99 {result.p99_ms:7.1f} ms  non-2xx {result.non2xx}  errors {result.errors}",
                flush=True,
            )
        return result


async def _python_load(
    base: str, path: str, headers: dict[str, str], seconds: float, connections: int
) -> Result:
    latencies: list[float] = []
    failures = errors = 0
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            nonlocal failures, errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(path)
                except httpx.TransportError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)
                failures += not response.is_success

        await asyncio.gather(*(one_client() for _ in range(connections)))
    latencies.sort()
    if not latencies:
        return Result(base, path, 0.0, 0.0, 0.0, failures, errors, client="python")
    p50 = latencies[len(latencies) // 2] * 1000
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    return Result(base, path, len(latencies) / seconds, p50, p99, failures, errors, "python")


async def measure(
    base: str,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    seconds: float = 2.0,
    connections: int = 16,
    core: int | None = None,
) -> Result:
    """GET base+path under `connections` concurrent clients for `seconds`: req/s and latency.
    wrk when installed (pinned to `core` if given), else the Python client."""
    binary = shutil.which("wrk")
    if binary is None:
        return await _python_load(base, path, headers or {}, seconds, connections)
    with tempfile.TemporaryDirectory(prefix="kit-load-") as scratch:
        wrk = Wrk(binary, Path(scratch), core, seconds)
        script = wrk.script("get", get_script(path, headers))
        return await asyncio.to_thread(
            wrk.measure, base, path, base + path, script, connections, warm_up=1, quiet=True
        )
