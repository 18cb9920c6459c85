"""Concurrency: duplicate races end in 409, and hashing never blocks the event loop."""

import asyncio
import time

import httpx
import pytest

from app.config import Settings
from app.main import create_app
from app.utils import security
from tests.conftest import PASSWORD, Register
from workshop.appclient import AppClient


async def test_twenty_concurrent_duplicate_registrations(client: httpx.AsyncClient) -> None:
    body = {"email": "same@example.com", "username": "same", "password": PASSWORD}
    responses = await asyncio.gather(*(client.post("/api/v1/users/", json=body) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert all("detail" in r.json() for r in responses if r.status_code == 409)


async def test_hashing_runs_off_the_event_loop(
    client: httpx.AsyncClient, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop: list[bool] = []
    durations: list[float] = []
    real_verify = security.pwd_context.verify

    def watched_verify(secret: str, hashed: str) -> bool:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        started = time.perf_counter()
        try:
            return bool(real_verify(secret, hashed))
        finally:
            durations.append(time.perf_counter() - started)

    await register("alice")
    # A first /health opens the pool's connection, so the timed ones measure only waiting.
    assert (await client.get("/health")).status_code == 200
    monkeypatch.setattr(security.pwd_context, "verify", watched_verify)

    async def health_latencies() -> list[float]:
        latencies = []
        while len(durations) < 8:
            started = time.perf_counter()
            assert (await client.get("/health")).status_code == 200
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0)
        return latencies

    form = {"username": "alice", "password": PASSWORD}
    logins = [client.post("/api/v1/auth/token", data=form) for _ in range(8)]
    *answers, latencies = await asyncio.gather(*logins, health_latencies())

    assert all(r.status_code == 200 for r in answers)
    # Every verify ran in a worker thread, none on the event loop's thread...
    assert on_loop == [False] * 8
    # ...so /health kept answering while the hashes were computed: requests did not wait for
    # anything near the total hashing work. (The median: on a busy machine, the suite's other
    # worker among them, the scheduler may stall any one request.)
    latencies.sort()
    assert latencies and latencies[len(latencies) // 2] < sum(durations) / 2, (latencies, durations)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_login_storm_queues_in_the_hashing_pool_and_health_stays_fast(
    settings: Settings,
) -> None:
    """8 logins in flight: /health answers in a fraction of one login's time, because the
    hashing pool is bounded (PASSWORD_HASH_WORKERS, default cores - 1) and leaves the event
    loop a core. asyncio.to_thread's pool would run all 8 at once on every core."""
    async with AppClient(
        create_app(settings.model_copy(update={"password_hash_workers": 1}))
    ) as client:
        form = {"username": "root", "password": PASSWORD}
        one_login = []
        for _ in range(3):
            started = time.perf_counter()
            assert (await client.post("/api/v1/auth/token", data=form)).status_code == 200
            one_login.append(time.perf_counter() - started)
        login_time = sorted(one_login)[1]

        logins = [
            asyncio.ensure_future(client.post("/api/v1/auth/token", data=form)) for _ in range(8)
        ]
        await asyncio.sleep(0)  # let them start and queue their hashes
        latencies = []
        while not all(login.done() for login in logins):
            started = time.perf_counter()
            assert (await client.get("/health")).status_code == 200
            latencies.append(time.perf_counter() - started)
        answers = await asyncio.gather(*logins)
    assert all(r.status_code == 200 for r in answers)
    latencies.sort()
    median = latencies[len(latencies) // 2]
    assert len(latencies) >= 8, latencies  # /health answered many times during the storm
    assert median < login_time / 4, (median, login_time)
