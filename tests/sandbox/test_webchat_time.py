"""The web chat shows times in Kyiv time, as the bot writes them, whatever the time zone of the computer showing
it, and has a favicon (Debian's Chromium through Playwright)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot

from sandbox import Sandbox, SandboxClient

TIMEOUT_MS = 5000


@pytest.mark.asyncio
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo", "UTC"])
async def test_times_are_kyiv_time_in_any_time_zone(browser: Any, sandbox: Sandbox, client: SandboxClient,
                                                    echo_bot: Bot, zone: str) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 390, "height": 844}, timezone_id=zone)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(sandbox.chat_url)
    assert (await page.locator("link[rel='icon']").get_attribute("href")).startswith("data:image/svg+xml,")
    await page.click("#new-user")
    await page.fill("#new-user-name", "Олена")
    await page.click("#create-user")
    await expect(page.locator("#user-select option:checked")).to_contain_text("Олена")
    await page.fill("#message-input", "Котра година?")
    await page.click("#send-button")
    await expect(page.locator(".message.from-bot .body").last).to_have_text("Котра година?")
    olena = (await client.state())["users"][0]["id"]
    date = [m for m in await client.messages(olena) if m.get("sender") == "bot"][-1]["date"]
    kyiv = datetime.fromtimestamp(date, timezone.utc).astimezone(ZoneInfo("Europe/Kyiv"))
    meta = page.locator(".message.from-bot .meta").last
    await expect(meta).to_contain_text(f"{kyiv:%H:%M}")
    elsewhere = datetime.fromtimestamp(date, timezone.utc).astimezone(ZoneInfo(zone))
    if f"{elsewhere:%H:%M}" != f"{kyiv:%H:%M}":
        assert f"{elsewhere:%H:%M}" not in await meta.inner_text()
    await context.close()
