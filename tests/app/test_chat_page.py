"""The chat page end to end: two browsers (headless Chromium) exchange a message."""

import shutil
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from tests.app.test_ws import token_for
from tests.servers import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags for a sandbox without a network: no background calls home, no GPU.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def host(settings: Settings) -> AsyncIterator[str]:
    app: FastAPI = create_app(settings)
    async with serve(app) as address:
        yield address


async def test_two_browsers_chat(host: str) -> None:
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    for name in ("alice", "bob"):
        await token_for(host, name)  # registers them
    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pages = []
        for name in ("alice", "bob"):
            context = await browser.new_context()
            page = await context.new_page()
            page.on("request", lambda request: requested.append(request.url))
            await page.goto(f"http://{host}/chat")
            await page.fill("#username", name)
            await page.fill("#password", "correct-horse-battery")
            await page.click("#login-form button")
            await page.wait_for_selector("#room-form:not([hidden])")
            await page.click("#room-form button")
            await page.wait_for_selector("#message-form:not([hidden])")
            pages.append(page)
        alice, bob = pages
        await alice.wait_for_selector("#log li.notice:has-text('bob joined')")
        await alice.fill("#message", "hello from alice")
        await alice.click("#message-form button")
        await bob.wait_for_selector("#log li:has-text('alice: hello from alice')", timeout=5000)
        await alice.wait_for_selector("#log li:has-text('alice: hello from alice')")
        await bob.close()
        await alice.wait_for_selector("#log li.notice:has-text('bob left')")
        await browser.close()
    assert requested and all(url.startswith(f"http://{host}/") for url in requested), requested


async def test_a_bad_room_name_is_refused_in_words(host: str) -> None:
    """The room field's pattern compiles in Chromium (its v-flag regexes reject a bare `-` in
    a class, which silently switched validation off), a bad name is refused with the rule in
    words, and a handshake the server refuses says why instead of "code 1006"."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    await token_for(host, "carol")
    console: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = await browser.new_page()
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        await page.goto(f"http://{host}/chat")
        await page.fill("#username", "carol")
        await page.fill("#password", "correct-horse-battery")
        await page.click("#login-form button")
        await page.wait_for_selector("#room-form:not([hidden])")
        for bad in ("two words", "x" * 65, "café"):
            await page.fill("#room", bad)
            await page.click("#room-form button")
            await page.wait_for_selector("#status:has-text('1 to 64 letters, digits, _ or -')")
            assert not await page.eval_on_selector("#room", "field => field.validity.valid")
            await page.evaluate("document.querySelector('#status').textContent = ''")
        await page.fill("#room", "good_room-1")
        assert await page.eval_on_selector("#room", "field => field.validity.valid")
        # A handshake refused by the server (a forged token): said in words.
        await page.evaluate("token = 'not-a-token'")
        await page.click("#room-form button")
        await page.wait_for_selector("#status:has-text('The server refused to open this room')")
        await browser.close()
    assert not [line for line in console if "pattern" in line.lower()], console
