"""The web chat in Debian's Chromium (Playwright): a person chats with a simulated bot."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot

from sandbox import Sandbox, SandboxClient

TIMEOUT_MS = 5000


@pytest.mark.asyncio
async def test_person_chats_with_the_bot_in_a_phone_sized_window(
    browser: Any,
    sandbox: Sandbox,
    client: SandboxClient,
    echo_bot: Bot,
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(sandbox.chat_url)

    await page.click("#new-user")
    await page.fill("#new-user-name", "Олена")
    await page.click("#create-user")
    await expect(page.locator("#user-select option:checked")).to_contain_text("Олена")

    await page.fill("#message-input", "Привіт, боте")
    await page.click("#send-button")
    await expect(page.locator(".message.mine .body").last).to_have_text("Привіт, боте")
    await expect(page.locator(".message.from-bot .body").last).to_have_text("Привіт, боте")

    await page.fill("#message-input", "/start")
    await page.keyboard.press("Enter")
    await expect(page.locator(".message.from-bot .body b").last).to_have_text("Вітаю!")
    await expect(page.locator("#keyboard button")).to_have_count(3)
    await page.click("#keyboard button:text-is('Так')")
    await expect(page.locator(".message.mine .body").last).to_have_text("Так")

    await page.fill("#message-input", "menu")
    await page.click("#send-button")
    await page.click(".inline-keyboard button:text-is('Кнопка А')")
    await expect(page.locator("#toast")).to_have_text("Обрано A")
    await expect(page.locator(".message.from-bot .body").last).to_have_text("Ви обрали A")

    users = (await client.state())["users"]
    olena = users[0]["id"]
    await echo_bot.send_message(
        olena,
        'Телефон +380 44 123 45 67 <a href="javascript:alert(1)">клік</a> &lt;img src=x onerror=alert(1)&gt;',
        parse_mode="HTML",
    )
    last = page.locator(".message.from-bot").last
    await expect(last.locator("a[href='tel:+380441234567']")).to_have_text("+380 44 123 45 67")
    await expect(last.locator(".body")).to_contain_text("<img src=x onerror=alert(1)>")
    assert await last.locator("img, a[href^='javascript']").count() == 0

    await page.click("#contact")
    await expect(page.locator(".message.from-bot .body").last).to_contain_text("Номер: +38050")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
    assert errors == []
    await context.close()


@pytest.mark.asyncio
async def test_staff_group_with_topics_on_a_desktop_window(
    browser: Any, sandbox: Sandbox, client: SandboxClient
) -> None:
    from playwright.async_api import expect

    staff = await client.create_user("Марія", "Коваль")
    other = await client.create_user("Петро")
    group = await client.create_group("Працівники", forum=True, admins=[staff], members=[other])
    topic = await client.create_topic(group["id"], other, "Заявка Олени")
    await client.send_text(other, "Хто візьме?", chat_id=group["id"], thread_id=topic["message_thread_id"])

    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(sandbox.chat_url)
    await page.select_option("#user-select", str(staff["id"]))
    await page.select_option("#chat-select", str(group["id"]))
    await expect(page.locator("#topic-tabs button")).to_have_count(2)
    await page.click("#topic-tabs button:text-is('Заявка Олени')")
    await expect(page.locator(".message .body").last).to_have_text("Хто візьме?")
    await page.click(".message:not(.service) button.reply")
    await page.fill("#message-input", "Беру")
    await page.click("#send-button")
    await expect(page.locator(".message.mine .body")).to_have_text("Беру")
    await expect(page.locator(".message.mine .quote")).to_contain_text("Хто візьме?")
    messages = await client.messages(group["id"], thread_id=topic["message_thread_id"])
    assert messages[-1]["reply_to_message"]["text"] == "Хто візьме?"
    assert messages[-1]["from"]["id"] == staff["id"]

    await page.click("#new-topic")
    await page.fill("#new-topic-name", "Загальні питання")
    await page.click("#create-topic")
    await expect(page.locator("#topic-tabs button[aria-selected='true']")).to_have_text("Загальні питання")
    await context.close()
