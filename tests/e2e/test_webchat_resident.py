"""The web chat's whole path in Debian's Chromium, with the real bot polling the sandbox: a resident on the website
finds a service, files a request with a photo, a staff member takes it and answers in the Telegram group, the
resident reads the answer after reloading the page and on another device through the one-time link, and deletes
their data."""
from __future__ import annotations

import pytest

from sandbox.client import message_text
from sandbox.files import tiny_png
from tests.support.browser import chromium
from tests.support.staff import group_messages, staff_group
from tests.support.webchat import web_chat_of
from tests.support.world import World

pytestmark = pytest.mark.asyncio(loop_scope="package")
WAIT_MS = 15_000
ANSWER = "Соціальний робітник прийде у четвер о 11:00."


async def test_a_web_resident_asks_and_reads_the_staff_answer(world: World) -> None:
    group_id, staff = await staff_group(world, "tcso", title="Працівники центру")
    running = world.running
    async with web_chat_of(running.app, running.bot) as url, chromium() as browser:
        page = await (await browser.new_context(viewport={"width": 360, "height": 740})).new_page()
        page.set_default_timeout(WAIT_MS)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))

        def button(label: str):
            return page.get_by_role("button", name=label, exact=True).last

        async def shown(text: str) -> None:
            await page.locator("#log li").filter(has_text=text).last.wait_for()

        await page.goto(url + "?community=lutsk&lang=uk")
        await button("🇺🇦 Українська").click()
        # finds a service
        await button("🧭 Знайти допомогу").click()
        await button("📋 За життєвою ситуацією").click()
        await button("Літня людина потребує догляду").click()
        await button("Допомога вдома").click()
        await shown("Соціальний робітник приходить до вас додому")
        # and asks for it, with a photo and a typed phone
        after = await world.client.last_id(group_id)
        await button("📝 Попросити цю допомогу").click()
        await button("✅ Погоджуюся").click()
        await button("🙋 Для себе").click()
        await page.get_by_label("Повідомлення").fill("Мамі 82 роки, сама не справляється з прибиранням")
        await page.keyboard.press("Enter")
        await shown("Можна додати ще 5")
        await page.set_input_files("#file", files=[{"name": "kitchen.png", "mimeType": "image/png",
                                                   "buffer": tiny_png(24, 16)}])
        await shown("Можна додати ще 4")
        await button("Далі ➡️").click()
        await button("📱 Поділитися моїм номером").click()
        await page.get_by_label("Наприклад, 067 123 45 67").fill("067 123 45 67")
        await page.locator("#phoneform button[type=submit]").click()
        await shown("Перевірте, будь ласка, ваше звернення")
        await button("✅ Надіслати").click()
        await shown("прийнято")

        # the card and the photo in the institution's group, marked as from the web chat
        card, photo = await group_messages(world, group_id, after, count=2)
        assert "🌐 вебчат" in message_text(card) and "Мамі 82 роки" in message_text(card)
        assert photo.get("photo") and photo["message_thread_id"] == card["message_thread_id"]
        staff.thread_id = card["message_thread_id"]
        await staff.tap("🙋 Взяти")
        await staff.say("/role соціальний працівник")
        [sent] = await staff.say(ANSWER)
        assert "Надіслано мешканцю" in message_text(sent)

        # the answer, after a reload (the browser was not waiting for it)
        await page.reload()
        await shown("четвер о 11:00")
        await shown("взяв ваше звернення")

        # another device through the one-time link
        await page.get_by_role("button", name="Інший пристрій").click()
        await page.locator("#devcode").filter(has_text="-").wait_for()
        link = await page.locator("#devlink").get_attribute("href")
        await page.locator("#devclose").click()
        other = await (await browser.new_context(viewport={"width": 800, "height": 900})).new_page()
        other.set_default_timeout(WAIT_MS)
        await other.goto(link)
        await other.locator("#log li").filter(has_text="четвер о 11:00").last.wait_for()

        # deletion, from the other device
        await other.get_by_role("button", name="☰ Ще", exact=True).click()
        await other.get_by_role("button", name="⚙️ Налаштування", exact=True).click()
        await other.get_by_role("button", name="🗑 Видалити мої дані", exact=True).last.click()
        await other.get_by_role("button", name="🗑 Так, видалити", exact=True).last.click()
        await other.locator("#log li").filter(has_text="Ваші дані видалено").last.wait_for()
        await page.reload()
        await shown("Ваші дані видалено")
        assert await page.locator("#log li").filter(has_text="Мамі 82 роки").count() == 0
        assert await page.locator("#log li").filter(has_text="четвер о 11:00").count() == 0
        assert await world.services.requests.for_resident(await _web_resident(world)) == []
        assert problems == [], problems


async def _web_resident(world: World) -> int:
    row = await world.services.db.fetchone("SELECT MAX(user_id) FROM residents WHERE channel = 'web'")
    return int(row[0])
