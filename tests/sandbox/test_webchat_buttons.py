"""Inline buttons in the web chat at a phone's width: a label breaks between words only (never «Частков / о»),
and an emoji that the system font also draws in black and white (🌓) is drawn in colour."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Bot
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from sandbox import Sandbox, SandboxClient

TIMEOUT_MS = 5000
ROW = ["✅ Так", "🌓 Частково", "❌ Ні"]
LONG_ROW = ["Територіальний центр соціального обслуговування", "Служба у справах дітей"]

# Each word of each button's label: its parts on the screen (a word drawn on two lines has two tops).
WORD_LINES = """(buttons) => buttons.map((button) => {
  const lines = {};
  const walker = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const match of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      lines[match[0]] = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    }
  }
  return lines;
})"""

# Draw the emoji with the button's own font in black: a colour font leaves coloured pixels, a black and white
# one only greys.
COLOURED_PIXELS = """async (button, emoji) => {
  const style = getComputedStyle(button);
  await document.fonts.load(`32px ${style.fontFamily}`, emoji);
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const context = canvas.getContext("2d");
  context.fillStyle = "#000";
  context.font = `32px ${style.fontFamily}`;
  context.fillText(emoji, 8, 44);
  const data = context.getImageData(0, 0, 64, 64).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
    if (a > 0 && Math.max(r, g, b) - Math.min(r, g, b) > 40) coloured += 1;
  }
  return coloured;
}"""


@pytest.mark.asyncio
async def test_button_labels_break_between_words_and_emoji_are_in_colour(
    browser: Any, sandbox: Sandbox, client: SandboxClient, bot: Bot
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 400, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(sandbox.chat_url)
    await page.click("#new-user")
    await page.fill("#new-user-name", "Марія")
    await page.click("#create-user")
    await expect(page.locator("#user-select option:checked")).to_contain_text("Марія")
    person = (await client.state())["users"][0]["id"]
    await page.fill("#message-input", "/start")  # a bot writes only to one who wrote to it
    await page.click("#send-button")
    await expect(page.locator(".message.mine .body").last).to_have_text("/start")

    def row(labels: list[str]) -> list[InlineKeyboardButton]:
        return [InlineKeyboardButton(text=label, callback_data=f"b{i}") for i, label in enumerate(labels)]

    await bot.send_message(person, "Чи отримали ви допомогу?",
                           reply_markup=InlineKeyboardMarkup(inline_keyboard=[row(ROW), row(LONG_ROW)]))
    buttons = page.locator(".message.from-bot").last.locator(".inline-keyboard button")
    await expect(buttons).to_have_count(len(ROW) + len(LONG_ROW))

    words = await buttons.evaluate_all(WORD_LINES)
    broken = {word: parts for label in words for word, parts in label.items() if parts != 1}
    assert broken == {}, f"words broken across lines in the buttons: {broken}"
    assert [set(label) for label in words] == [set(text.split()) for text in ROW + LONG_ROW]
    tops = [box["y"] for box in [await buttons.nth(i).bounding_box() for i in range(len(ROW))]]
    assert len(set(tops)) == 1, "the three short buttons stay side by side in one row"

    partly = buttons.nth(1)
    assert await partly.evaluate(COLOURED_PIXELS, "🌓") > 20, "🌓 is drawn in black and white"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone: {width}px"
    await context.close()
