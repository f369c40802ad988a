"""A person opens the sandbox's web chat on a phone and talks to OUR bot (Debian's Chromium, Playwright)."""
from __future__ import annotations

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.support.world import World

pytestmark = pytest.mark.asyncio(loop_scope="package")

TIMEOUT_MS = 8000


async def test_resident_reaches_emergency_numbers_in_the_web_chat_on_a_phone(world: World) -> None:
    require_chromium()
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            page = await context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(world.sandbox.chat_url)

            await page.click("#new-user")
            await page.fill("#new-user-name", "Оксана")
            await page.click("#create-user")
            await expect(page.locator("#user-select option:checked")).to_contain_text("Оксана")

            await page.fill("#message-input", "/start")
            await page.click("#send-button")
            bot_says = page.locator(".message.from-bot .body")
            await expect(bot_says.last).to_contain_text("Вітаю")

            await page.click(".inline-keyboard button:text-is('🇺🇦 Українська')")
            await expect(bot_says.last).to_contain_text("У якій громаді ви живете?")
            await expect(page.locator(".message.from-bot").last.locator(".inline-keyboard button")).to_have_count(5)
            await page.click(".inline-keyboard button:text-is('Луцька громада')")
            # the menu, and after it the offer of news: on a busy machine both are there by the first look
            await expect(bot_says.filter(has_text="Ось меню")).to_be_visible()

            emergency = page.locator("#keyboard button:text-is('🆘 Екстрена допомога')")
            await expect(emergency).to_be_visible()
            await emergency.click()
            await expect(page.locator(".message.mine .body").last).to_have_text("🆘 Екстрена допомога")
            await expect(bot_says.last).to_contain_text("112")
            await expect(bot_says.last).to_contain_text("1547")

            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
            assert errors == []
            await context.close()
        finally:
            await browser.close()
