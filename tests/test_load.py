"""workshop.load: the load driver of benchmarks/throughput.py and lesson 12, with wrk and
without it (then a Python client), against a real server. Counts, never speeds."""

import shutil
from pathlib import Path

import pytest
from fastapi import FastAPI, Header, HTTPException

from tests.servers import serve
from workshop.load import measure


def tiny_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def test_the_python_client_counts_requests_and_refusals(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no wrk on this PATH: the fallback runs
    async with serve(tiny_app()) as host:
        good = await measure(f"http://{host}", "/ok", seconds=0.5, connections=4)
        missing = await measure(f"http://{host}", "/nowhere", seconds=0.5, connections=4)
    assert good.client == "python"
    assert good.rps > 0 and good.p99_ms >= good.p50_ms > 0
    assert (good.non2xx, good.errors) == (0, 0)
    assert missing.non2xx > 0  # every request got a 404, and each is counted


NO_WRK = shutil.which("wrk") is None


@pytest.mark.skipif(NO_WRK, reason="wrk is not installed (apt-get install wrk)")
async def test_wrk_measures_with_the_headers_given() -> None:
    app = tiny_app()

    @app.get("/needs-header")
    async def needs_header(x_token: str = Header("")) -> dict[str, str]:
        if x_token != "secret":
            raise HTTPException(401)
        return {}

    async with serve(app) as host:
        sent = await measure(f"http://{host}", "/needs-header", {"X-Token": "secret"}, seconds=1)
        without = await measure(f"http://{host}", "/needs-header", seconds=1)
    assert sent.client == "wrk"
    assert sent.rps > 0 and (sent.non2xx, sent.errors) == (0, 0)
    assert without.non2xx > 0
