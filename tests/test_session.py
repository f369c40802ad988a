"""Bot API calls go as JSON bodies; files and anything unusual go as aiogram's form, and both arrive whole."""
from __future__ import annotations

import json

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import SendDocument, SendMessage
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
)

from bot.runtime.session import JsonSession, json_body
from sandbox.client import SandboxClient, inline_buttons, message_text
from sandbox.server import Sandbox

TOKEN = "7000000077:json-session-token-for-tests"
TEXT = "Ваш запит <b>№ 12</b> прийнято: «Допомога з продуктами» — фахівець зв'яжеться з вами ✅"


def test_the_json_body_carries_what_the_form_would() -> None:
    bot = Bot(TOKEN, default=DefaultBotProperties(parse_mode="HTML",
                                                  link_preview=LinkPreviewOptions(is_disabled=True)))
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="🏠 Меню", callback_data="nav:menu")]])
    body = json.loads(json_body(bot, SendMessage(chat_id=5, text=TEXT, reply_markup=markup)))
    assert body == {"chat_id": 5, "text": TEXT, "parse_mode": "HTML", "link_preview_options": {"is_disabled": True},
                    "reply_markup": {"inline_keyboard": [[{"text": "🏠 Меню", "callback_data": "nav:menu"}]]}}
    # a file is left to the multipart form
    assert json_body(bot, SendDocument(chat_id=5, document=BufferedInputFile(b"x", "a.txt"))) is None


async def test_messages_keyboards_and_files_arrive_whole() -> None:
    sandbox = await Sandbox(bot_token=TOKEN, flood_control=False).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url)
    bot = Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(sandbox.url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    try:
        user = await client.create_user("Оксана")
        await client.send_text(user["id"], "/start")
        menu = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="🧭 Знайти допомогу")]], resize_keyboard=True)
        await bot.send_message(user["id"], TEXT, reply_markup=menu)
        buttons = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Так", callback_data="yes")]])
        sent = await bot.send_message(user["id"], "Підтвердити?", reply_markup=buttons)
        await bot.send_document(user["id"], BufferedInputFile("дані".encode(), "мої-дані.txt"), caption="📄 Ваші дані")
        seen = [m for m in await client.messages(user["id"]) if m.get("sender") == "bot"]
        assert message_text(seen[0]) == TEXT.replace("<b>", "").replace("</b>", "")  # the markup was read as HTML
        assert [b["text"] for b in inline_buttons(seen[1])] == ["Так"]
        assert seen[1]["message_id"] == sent.message_id
        assert seen[2]["document"]["file_name"] == "мої-дані.txt"
        assert await client.file_content(seen[2]["document"]["file_id"]) == "дані".encode()
    finally:
        await bot.session.close()
        await client.close()
        await sandbox.stop()


def test_an_unread_answer_reads_as_the_library_would() -> None:
    from aiogram.types import Message

    from bot.runtime.session import UnreadMessage, unread_message

    bot = Bot(TOKEN)
    raw = {"message_id": 77, "date": 1700000000, "chat": {"id": 5, "type": "private", "first_name": "Ольга"},
           "from": {"id": 7000000077, "is_bot": True, "first_name": "Бот"}, "text": "Меню",
           "entities": [{"type": "bold", "offset": 0, "length": 4}],
           "reply_markup": {"inline_keyboard": [[{"text": "Так", "callback_data": "n:yes::0"}]]}}
    read = Message.model_validate(json.loads(json.dumps(raw)), context={"bot": bot})
    for use in (lambda m: m.model_dump(), lambda m: m.model_dump_json(), lambda m: m.message_id,
                lambda m: m.reply_markup.inline_keyboard[0][0].callback_data, lambda m: m.model_fields_set,
                lambda m: repr(m).split("(", 1)[1], lambda m: m.bot, lambda m: m.html_text):
        unread = unread_message(json.loads(json.dumps(raw)), bot)
        assert isinstance(unread, Message) and isinstance(unread, UnreadMessage)
        assert use(unread) == use(read)
    assert unread_message(json.loads(json.dumps(raw)), bot).reply_markup.inline_keyboard[0][0].bot is bot


async def test_sent_and_edited_messages_come_back_unread_and_errors_still_raise() -> None:
    from aiogram.exceptions import TelegramBadRequest

    from bot.runtime.session import UnreadMessage

    sandbox = await Sandbox(bot_token=TOKEN, flood_control=False).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url)
    bot = Bot(TOKEN, session=JsonSession(api=TelegramAPIServer.from_base(sandbox.url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    try:
        user = await client.create_user("Оксана")
        await client.send_text(user["id"], "/start")
        sent = await bot.send_message(user["id"], "Перше")
        edited = await bot.edit_message_text("Друге", chat_id=user["id"], message_id=sent.message_id)
        assert type(sent) is UnreadMessage and type(edited) is UnreadMessage
        assert (edited.message_id, edited.text, edited.chat.id) == (sent.message_id, "Друге", user["id"])
        assert await bot.send_chat_action(user["id"], "typing") is True
        assert await bot.delete_message(user["id"], sent.message_id) is True
        try:
            await bot.delete_message(user["id"], sent.message_id)
        except TelegramBadRequest:
            pass
        else:
            raise AssertionError("deleting a message that is gone must fail as before")
        try:
            await bot.edit_message_text("Третє", chat_id=user["id"], message_id=sent.message_id + 100)
        except TelegramBadRequest:
            pass
        else:
            raise AssertionError("an edit of a message that is not there must fail as before")
    finally:
        await bot.session.close()
        await client.close()
        await sandbox.stop()
