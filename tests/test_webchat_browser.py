"""The web chat's page in Debian's Chromium: the proof of work solved in the page, a language chosen, a search
typed, the answer read; at 320 px nothing scrolls sideways and the menu keyboard takes at most a third of the
screen; the conversation is there after a reload and on another device through the one-time code; no error (a
blocked script or style would be one) in the console."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.webchat.http import WebChatServer
from tests.support.config import make_settings
from tests.support.webchat import chromium, web_world


@pytest.fixture
async def served(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, WEB_CHAT="on", WEB_CHAT_POW_BITS=12)
    app = await build_app(settings)
    world = web_world(app)
    server = TestServer(WebChatServer(world.channel, settings, app.services.served).app())
    await server.start_server()
    yield str(server.make_url("/chat"))
    await server.close()
    await app.close()


async def test_a_resident_in_chromium_at_320_px(served: str) -> None:
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 320, "height": 640})
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        await page.goto(served + "?community=lutsk&lang=uk")
        await page.get_by_role("button", name="🇺🇦 Українська").click(timeout=15_000)
        await page.get_by_role("button", name="🔎 Пошук").click(timeout=10_000)
        await page.get_by_text("Напишіть своїми словами").first.wait_for(timeout=10_000)
        await page.get_by_label("Повідомлення").fill("гарячі обіди")
        await page.keyboard.press("Enter")
        await page.get_by_text("Безоплатне гаряче харчування").first.wait_for(timeout=10_000)
        sizes = await page.evaluate("""() => ({width: document.documentElement.scrollWidth,
            keys: document.getElementById('keys').getBoundingClientRect().height, screen: innerHeight})""")
        assert sizes["width"] <= 320, sizes
        assert sizes["keys"] <= sizes["screen"] / 3 + 1, sizes

        await page.reload()
        await page.get_by_text("Безоплатне гаряче харчування").first.wait_for(timeout=10_000)

        await page.get_by_role("button", name="Інший пристрій").click()
        code = page.locator("#devcode")
        await code.filter(has_text="-").wait_for(timeout=10_000)
        link = await page.locator("#devlink").get_attribute("href")
        other = await (await browser.new_context(viewport={"width": 400, "height": 800})).new_page()
        await other.goto(link)
        await other.get_by_text("Безоплатне гаряче харчування").first.wait_for(timeout=15_000)
        assert problems == [], problems
