"""Rooms across workers survive Redis going away: local delivery meanwhile, then resubscribe."""

import asyncio
import json
import time

from websockets.asyncio.client import connect

from app.config import Settings
from app.main import create_app
from tests.app.test_ws import next_event, token_for
from tests.servers import free_port, redis_server, serve


async def test_rooms_resubscribe_after_a_redis_restart(settings: Settings) -> None:
    port = free_port()
    # Both apps get the same settings, so the same signing key, like workers of one app.
    shared = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{port}/0"})
    first_server = redis_server(port)
    first_server.__enter__()
    first_app, second_app = create_app(shared), create_app(shared)
    async with serve(first_app) as first, serve(second_app) as second:
        token = await token_for(first, "alice")
        async with (
            connect(f"ws://{first}/ws/room?token={token}") as on_first,
            connect(f"ws://{second}/ws/room?token={token}") as on_second,
        ):
            await on_first.send(json.dumps({"text": "before"}))
            assert (await next_event(on_second))["text"] == "before"
            assert (await next_event(on_first))["text"] == "before"

            first_server.__exit__(None, None, None)  # Redis is gone
            await on_first.send(json.dumps({"text": "during"}))
            assert (await next_event(on_first))["text"] == "during"  # local delivery goes on

            with redis_server(port):
                deadline = time.monotonic() + 15
                while not (
                    first_app.state.resources.broker.subscribed.is_set()
                    and second_app.state.resources.broker.subscribed.is_set()
                ):
                    assert time.monotonic() < deadline, "did not resubscribe"
                    await asyncio.sleep(0.1)
                await on_first.send(json.dumps({"text": "after"}))
                texts = []
                while "after" not in texts:
                    texts.append((await next_event(on_second))["text"])
                assert texts[-1] == "after"
