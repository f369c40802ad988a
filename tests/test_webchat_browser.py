"""The web chat's page in Debian's Chromium: the proof of work solved in the page, a language chosen, a search
typed, the answer read; at 320 px nothing scrolls sideways and the menu keyboard takes at most a third of the
screen; the conversation is there after a reload and on another device through the one-time code; no error (a
blocked script or style would be one) in the console. axe-core finds no serious or critical problem on the page
in either language, with its dialogs open, and everything is done from the keyboard alone."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.webchat.http import WebChatServer
from tests.support.browser import axe_problems, chromium, require_axe
from tests.support.config import make_settings
from tests.support.webchat import web_world


@pytest.fixture
async def world(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = await build_app(make_settings(tmp_path, WEB_CHAT="on", WEB_CHAT_POW_BITS=12))
    yield web_world(app)
    await app.close()


@pytest.fixture
async def served(world):
    app = world.app
    server = TestServer(WebChatServer(world.channel, app.settings, app.services.served).app())
    await server.start_server()
    yield str(server.make_url("/chat"))
    await server.close()


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


async def test_accessibility_and_the_keyboard_alone(served: str) -> None:
    require_axe()
    async with chromium() as browser:
        page = await (await browser.new_context(viewport={"width": 360, "height": 740})).new_page()
        page.set_default_timeout(15_000)
        problems: dict[str, list[str]] = {}
        await page.goto(served + "?community=lutsk&lang=uk")
        language = page.get_by_role("button", name="🇺🇦 Українська")
        await language.wait_for()
        problems["the first screen"] = await axe_problems(page)

        # from the keyboard alone: Tab to a button and Enter, type and Enter
        await language.focus()
        await page.keyboard.press("Enter")
        menu = page.get_by_role("button", name="🧭 Знайти допомогу", exact=True)
        await menu.focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("button", name="📋 За життєвою ситуацією").wait_for()
        problems["the menu and a screen of buttons"] = await axe_problems(page)
        await page.get_by_label("Повідомлення").focus()
        await page.keyboard.press("Shift+Tab")
        await page.keyboard.press("Shift+Tab")  # past the file input to the last menu button
        assert await page.evaluate("document.activeElement.textContent") == "☰ Ще"
        await page.get_by_label("Повідомлення").focus()
        await page.keyboard.type("гарячі обіди")
        await page.keyboard.press("Enter")
        await page.get_by_text("Безоплатне гаряче харчування").first.wait_for()
        problems["search results"] = await axe_problems(page)

        await page.get_by_role("button", name="Інший пристрій").focus()
        await page.keyboard.press("Enter")
        await page.locator("#devcode").filter(has_text="-").wait_for()
        problems["the other device's dialog"] = await axe_problems(page)
        await page.keyboard.press("Escape")
        assert not await page.locator("#devdialog").is_visible()

        english = await (await browser.new_context(viewport={"width": 1024, "height": 768})).new_page()
        await english.goto(served + "?community=lutsk&lang=en")
        await english.get_by_role("button", name="🇬🇧 English").click(timeout=15_000)
        await english.get_by_role("button", name="🔎 Search", exact=True).wait_for(timeout=15_000)
        assert await english.evaluate("document.documentElement.lang") == "en"
        problems["in English"] = await axe_problems(english)
        assert not any(problems.values()), problems


async def test_only_the_listed_community_sites_may_frame_the_chat(world) -> None:
    """The widget on a community's page (another origin) opens the chat in a frame only when WEB_CHAT_EMBED_ORIGINS
    names that site; by default only the chat's own origin may frame it."""
    site = web.Application()
    widget: dict[str, str] = {}

    async def home(_: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=(
            "<!doctype html><html lang='uk'><head><title>Громада</title></head><body><h1>Луцька громада</h1>"
            f"<script src='{widget['src']}' data-community='lutsk' defer></script></body></html>"))

    site.router.add_get("/", home)
    community = TestServer(site)
    await community.start_server()
    origin = str(community.make_url("")).rstrip("/")
    app = world.app
    servers = {}
    for name, origins in (("default", []), ("listed", [origin])):
        settings = app.settings.model_copy(update={"web_chat_embed_origins": origins})
        servers[name] = TestServer(WebChatServer(world.channel, settings, app.services.served).app())
        await servers[name].start_server()
    try:
        async with chromium() as browser:
            for name, server in servers.items():
                widget["src"] = str(server.make_url("/chat/widget.js"))
                page = await (await browser.new_context(viewport={"width": 800, "height": 900})).new_page()
                refused: list[str] = []
                page.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
                await page.goto(origin + "/")
                opener = page.get_by_role("button", name="💬 Чат: попросити допомогу")
                if name == "listed":
                    await opener.click(timeout=15_000)
                    await page.frame_locator("iframe").get_by_role("button", name="🇺🇦 Українська").click(timeout=15_000)
                    await page.frame_locator("iframe").get_by_role("button", name="🔎 Пошук").wait_for(timeout=15_000)
                    assert refused == []
                else:
                    async with page.expect_console_message(lambda m: "frame-ancestors" in m.text, timeout=15_000):
                        await opener.click(timeout=15_000)
                    assert await page.frame_locator("iframe").locator("#log").count() == 0
    finally:
        for server in servers.values():
            await server.close()
        await community.close()
