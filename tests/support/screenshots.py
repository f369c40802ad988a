"""A day in the desk, in screenshots of the web chat: `.venv/bin/python -m tests.support.screenshots docs/desk/`.

The real bot runs against the sandbox on a temporary database (as in tests/e2e/); the day is scripted through the
sandbox's control client: a resident files a request, the card arrives in the request's topic of the institution's
group, a staff member takes it and answers with a ready answer, hands it over to a colleague, who resolves it with a
reason and a confirmation; three days later the resident is asked «Чи отримали ви допомогу?». Both the requests'
clock and the sandbox's message dates run on one controlled clock (Tuesday 1 December 2026, 10:00 in Kyiv, moved by
hand), so the pictures read the same whenever they are made. Debian's Chromium (`make browser`) shows the web chat
at a phone's size through Playwright; each picture is reduced to a palette of 256 colours to stay small.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
from contextlib import ExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Optional
from unittest import mock

from PIL import Image
from playwright.async_api import Page, async_playwright

import sandbox.botapi
import sandbox.control
import sandbox.core
import sandbox.state
from bot.runtime.housekeeping import ask_whether_helped
from sandbox.client import inline_buttons, message_text
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.consult import TUESDAY_10
from tests.support.staff import file_request, new_group, number_of
from tests.support.world import Person, World, serving_world

WIDTH, HEIGHT = 400, 800  # a phone's screen
SITUATION = "Літня людина потребує догляду"  # the request goes to the social services centre (tcso)
DESCRIPTION = "Мамі 82 роки, живе сама. Потрібна допомога з покупками і ліками двічі на тиждень."


class DeskClock:
    """One controlled moment for the bot's requests and for the dates the sandbox stamps on messages."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def stamp(self) -> int:
        return int(self.moment.timestamp())

    def move(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


async def until(check, what: str, tries: int = 200) -> Any:
    for _ in range(tries):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise RuntimeError(f"waited in vain for {what}")


async def bot_message(world: World, chat_id: int, after: int, words: str) -> dict[str, Any]:
    """The first message of the bot in the chat after `after` whose text has `words`."""
    async def found() -> Optional[dict[str, Any]]:
        return next((m for m in await world.client.messages(chat_id, since_id=after)
                     if m.get("sender") == "bot" and words in message_text(m)), None)

    return await until(found, repr(words))


def button_starting(message: dict[str, Any], start: str) -> str:
    return next(b["text"] for b in inline_buttons(message) if b["text"].startswith(start))


class Camera:
    """The web chat in a phone-sized Chromium window: who looks, at which chat and topic, saved as a small PNG."""

    def __init__(self, page: Page, url: str, folder: Path) -> None:
        self.page, self.url, self.folder = page, url, folder
        self.saved: list[Path] = []

    async def shot(self, name: str, user_id: int, chat_id: Optional[int] = None, thread_id: int = 0,
                   top: Optional[int] = None) -> None:
        """`user_id` looks at their private chat with the bot, or at the group's topic; the newest messages are
        shown, or the message `top` from its beginning."""
        page = self.page
        await page.goto(self.url)
        await page.wait_for_selector(f"#user-select option[value='{user_id}']", state="attached")
        await page.select_option("#user-select", str(user_id))
        if chat_id is not None:
            await page.wait_for_selector(f"#chat-select option[value='{chat_id}']", state="attached")
            await page.select_option("#chat-select", str(chat_id))
            if thread_id:
                await page.click(f"#topic-tabs button[data-thread='{thread_id}']")
        await page.wait_for_selector("#messages .message")
        await page.wait_for_timeout(400)  # the last messages drawn and the chat scrolled to them
        if top is None:
            await page.evaluate("document.getElementById('chat').scrollTop = 1e9")
        else:
            await page.evaluate(f"document.querySelector('#messages [data-id=\"{int(top)}\"]')"
                                ".scrollIntoView({block: 'start'})")
        await page.wait_for_timeout(150)
        picture = Image.open(io.BytesIO(await page.screenshot())).convert("RGB")
        path = self.folder / f"{name}.png"
        picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        self.saved.append(path)
        print(f"{path} ({path.stat().st_size // 1024} KB)")


async def day_in_the_desk(world: World, camera: Camera, clock: DeskClock) -> None:
    client, services = world.client, world.services
    services.requests.clock = clock
    oksana_user = await client.create_user("Оксана", language_code="uk")
    petro_user = await client.create_user("Петро", language_code="uk")
    group = await new_group(client, "ТЦСО: звернення", forum=True, members=[oksana_user, petro_user])
    group_id = group["id"]
    oksana, petro = Person(client, oksana_user), Person(client, petro_user)
    oksana.chat_id = petro.chat_id = group_id
    code = await services.groups.create_bind_code("lutsk", "tcso", None)
    await oksana.say(f"/bind {code}")
    await oksana.say("/role соціальна працівниця")
    await petro.say("/role соціальний працівник")

    # 10:00 a resident files a request
    clock.move(minutes=2)
    maria = await world.resident("lutsk", name="Марія")
    after = await client.last_id(group_id)
    number = number_of(await file_request(maria, situation=SITUATION, description=DESCRIPTION, contact="chat"))
    card = await bot_message(world, group_id, after, number)
    thread = card["message_thread_id"]
    oksana.thread_id = petro.thread_id = thread
    await camera.shot("1-resident-files-a-request", maria.id)
    await camera.shot("2-card-in-the-topic", oksana.id, group_id, thread, top=card["message_id"])

    # 10:20 Oksana takes it and answers with a ready answer
    clock.move(minutes=18)
    await oksana.tap("🙋 Взяти")
    await camera.shot("3-taken-who-and-until-when", oksana.id, group_id, thread, top=card["message_id"])
    [offer] = await oksana.tap("💬 Відповісти", new=1)
    await camera.shot("4-ready-answers", oksana.id, group_id, thread)
    await oksana.tap(button_starting(offer, "📋 Добрий день"), new=1)
    mark = await client.last_id(maria.id)
    await oksana.tap("✅ Надіслати як є", new=1)
    await bot_message(world, maria.id, mark, "Добрий день! Ми отримали ваше звернення")
    await camera.shot("5-resident-reads-the-answer", maria.id)

    # 11:05 Oksana hands it over to Petro, who goes to the resident; 14:30 he resolves it with a reason
    clock.move(minutes=45)
    [colleagues] = await oksana.tap("👥 Передати колезі", new=1)
    mark = await client.last_id(group_id)
    await oksana.tap(button_starting(colleagues, "соціальний працівник Петро"), new=1)
    await bot_message(world, group_id, mark, "вам передано звернення")
    await camera.shot("6-handed-over-to-a-colleague", petro.id, group_id, thread)
    clock.move(hours=3, minutes=25)
    await petro.tap("✅ Вирішено", new=1)
    await petro.tap("Допомогли")
    await camera.shot("7-a-reason-and-a-confirmation", petro.id, group_id, thread)
    mark = await client.last_id(maria.id)
    await petro.tap("✅ Так, вирішено")
    await bot_message(world, maria.id, mark, "вирішене")

    # three days later the resident is asked whether the help came
    clock.move(days=3, minutes=1)
    mark = await client.last_id(maria.id)
    await ask_whether_helped(services)
    await bot_message(world, maria.id, mark, "Чи отримали ви допомогу?")
    await camera.shot("8-three-days-later", maria.id)
    await maria.tap("🌓 Частково", new=1)
    clock.move(minutes=3)
    mark = await client.last_id(group_id)
    await maria.say("Ліки приносять, а з покупками досі ніхто не допоміг.")
    await bot_message(world, group_id, mark, "з покупками досі")
    await camera.shot("9-partly-back-in-the-topic", petro.id, group_id, thread)


async def main(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    clock = DeskClock(TUESDAY_10)
    with ExitStack() as patches, tempfile.TemporaryDirectory() as temporary:
        for module in (sandbox.state, sandbox.core, sandbox.botapi, sandbox.control):  # the dates on messages
            if hasattr(module, "now"):
                patches.enter_context(mock.patch.object(module, "now", clock.stamp))
        async with serving_world(Path(temporary)) as world, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                context = await browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, locale="uk-UA",
                                                    timezone_id="Europe/Kyiv")
                page = await context.new_page()
                page.set_default_timeout(10_000)
                camera = Camera(page, world.sandbox.chat_url, folder)
                await day_in_the_desk(world, camera, clock)
                await context.close()
            finally:
                await browser.close()
    total = sum(p.stat().st_size for p in camera.saved)
    print(f"{len(camera.saved)} pictures, {total // 1024} KB in all")
    return camera.saved


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="docs/desk", type=Path)
    asyncio.run(main(parser.parse_args().folder))
    sys.exit(0)
