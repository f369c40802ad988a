"""The sandbox used by aiogram's own Bot: results parse into aiogram types, errors into its exceptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    ChatMemberAdministrator,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    MenuButtonCommands,
    ReplyParameters,
)
from aiohttp import web

from sandbox import Sandbox, SandboxClient
from sandbox.files import tiny_png


async def started_user(client: SandboxClient, name: str = "Олена") -> dict[str, Any]:
    user = await client.create_user(name)
    await client.send_text(user, "/start")
    return user


def keyboard(*pairs: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=t, callback_data=d) for t, d in pairs]])


@pytest.mark.asyncio
async def test_send_message_and_see_it_in_the_chat(bot: Bot, client: SandboxClient) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (7000000001, "hromada_help_bot", True)
    user = await started_user(client)
    sent = await bot.send_message(
        user["id"],
        "<b>Вітаю</b>, <i>Олено</i>! Тел.: +380 67 000 11 22",
        parse_mode="HTML",
        reply_markup=keyboard(("Далі", "next")),
    )
    assert sent.text == "Вітаю, Олено! Тел.: +380 67 000 11 22"
    assert [e.type for e in sent.entities or []] == ["bold", "italic", "phone_number"]
    assert sent.from_user is not None and sent.from_user.id == me.id
    shown = (await client.messages(user["id"]))[-1]
    assert shown["sender"] == "bot"
    assert shown["html"].startswith("<b>Вітаю</b>, <i>Олено</i>!")
    assert shown["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "next"
    reply = await bot.send_message(user["id"], "Так", reply_parameters=ReplyParameters(message_id=1))
    assert reply.reply_to_message is not None and reply.reply_to_message.text == "/start"
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(user["id"], "x", reply_parameters=ReplyParameters(message_id=999))
    forced = await bot.send_message(user["id"], "Ваше ім'я?", reply_markup=ForceReply())
    assert forced.reply_markup is None  # only inline keyboards are part of a Message


@pytest.mark.asyncio
async def test_errors_become_aiogram_exceptions(bot: Bot, client: SandboxClient) -> None:
    user = await started_user(client)
    sent = await bot.send_message(user["id"], "Текст")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Текст", chat_id=user["id"], message_id=sent.message_id)
    edited = await bot.edit_message_text("Новий", chat_id=user["id"], message_id=sent.message_id)
    assert not isinstance(edited, bool) and edited.edit_date is not None
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(user["id"], "<b>x", parse_mode="HTML")
    await client.block(user)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(user["id"], "ще раз")
    await client.block(user, blocked=False)
    await client.set_flood(True)
    await bot.send_message(user["id"], "1")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(user["id"], "2")
    assert caught.value.retry_after == 1


@pytest.mark.asyncio
async def test_long_polling_returns_a_user_message_and_offset_confirms(bot: Bot, client: SandboxClient) -> None:
    user = await client.create_user("Олена", username="olena")
    assert await bot.get_updates(timeout=0) == []
    waiting = asyncio.create_task(bot.get_updates(timeout=5))
    await client.wait_bot_ready()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.send_text(user, "/start")
    updates = await waiting
    assert loop.time() - started < 1.0
    assert len(updates) == 1 and updates[0].message is not None
    message = updates[0].message
    assert message.text == "/start" and message.chat.type == "private"
    assert message.from_user is not None and message.from_user.username == "olena"
    assert message.entities and message.entities[0].type == "bot_command"
    assert len(await bot.get_updates(timeout=0)) == 1  # not confirmed yet
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == []
    await client.send_text(user, "one")
    await client.send_text(user, "two")
    only_messages = await bot.get_updates(timeout=0, limit=1, allowed_updates=["message"])
    assert [u.message.text for u in only_messages if u.message] == ["one"]


@pytest.mark.asyncio
async def test_webhook_delivery_with_secret_header(bot: Bot, client: SandboxClient) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, Any]]] = asyncio.Queue()

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        await received.put((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), update))
        message = update.get("message", {})
        if message.get("text") == "reply in body":
            return web.json_response({"method": "sendMessage", "chat_id": message["chat"]["id"], "text": "з вебхука"})
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = await client.create_user("Олена")
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t-Token_1")
        info = await bot.get_webhook_info()
        assert info.url.endswith("/hook") and info.pending_update_count == 0
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()
        await client.send_text(user, "привіт")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cr3t-Token_1"
        assert update["message"]["text"] == "привіт" and update["update_id"] >= 1
        sent = await client.send_text(user, "reply in body")
        await asyncio.wait_for(received.get(), 5)
        answer = await client.wait_bot_messages(user["id"], after_id=sent["message_id"])
        assert answer[0]["text"] == "з вебхука"
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_forum_topics(bot: Bot, client: SandboxClient) -> None:
    staff = await client.create_user("Марія")
    group = await client.create_group("Працівники громади", forum=True, admins=[staff])
    chat_id = group["id"]
    assert chat_id == -1001000000001
    updates = await bot.get_updates(timeout=0)
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "administrator"
    topic = await bot.create_forum_topic(chat_id, "Заявка №1 · Олена")
    assert topic.name == "Заявка №1 · Олена" and topic.message_thread_id > 0
    sent = await bot.send_message(chat_id, "Нова заявка", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(chat_id, "x", message_thread_id=9999)
    staff_msg = await client.send_text(staff, "Беру в роботу", chat_id=chat_id, thread_id=topic.message_thread_id)
    update = (await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1))[0]
    assert update.message is not None and update.message.message_thread_id == topic.message_thread_id
    assert update.message.reply_to_message is not None
    assert update.message.reply_to_message.forum_topic_created is not None
    reply = await client.send_text(staff, "Відповідь", chat_id=chat_id, reply_to=sent.message_id)
    assert reply["message_thread_id"] == topic.message_thread_id
    assert reply["reply_to_message"]["message_id"] == sent.message_id
    assert await bot.close_forum_topic(chat_id, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_CLOSED"):
        await bot.send_message(chat_id, "ще", message_thread_id=topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(chat_id, topic.message_thread_id)
    assert await bot.reopen_forum_topic(chat_id, topic.message_thread_id)
    assert await bot.edit_forum_topic(chat_id, topic.message_thread_id, name="Заявка №1 · виконано")
    state = await client.state()
    assert state["groups"][0]["topics"][0]["name"] == "Заявка №1 · виконано"
    thread = await client.messages(chat_id, thread_id=topic.message_thread_id)
    assert staff_msg["message_id"] in [m["message_id"] for m in thread]
    member = await bot.get_chat_member(chat_id, bot.id)
    assert isinstance(member, ChatMemberAdministrator) and member.can_manage_topics
    assert (await bot.get_chat_member(chat_id, staff["id"])).status == "creator"
    admins = await bot.get_chat_administrators(chat_id)
    assert {a.user.id for a in admins} == {staff["id"], bot.id}
    chat = await bot.get_chat(chat_id)
    assert chat.is_forum and chat.title == "Працівники громади" and chat.type == "supergroup"
    plain = await client.create_group("Без тем", members=[staff])
    with pytest.raises(TelegramBadRequest, match="the chat is not a forum"):
        await bot.create_forum_topic(plain["id"], "x")


@pytest.mark.asyncio
async def test_files_upload_get_file_and_download(bot: Bot, client: SandboxClient) -> None:
    user = await started_user(client)
    image = tiny_png(1600, 900)
    photo = await bot.send_photo(
        user["id"], BufferedInputFile(image, "map.png"), caption="<b>Карта</b>", parse_mode="HTML"
    )
    assert photo.photo is not None and (photo.photo[-1].width, photo.photo[-1].height) == (1600, 900)
    assert [p.width for p in photo.photo] == [90, 320, 800, 1600]
    assert photo.caption == "Карта" and photo.caption_entities
    file = await bot.get_file(photo.photo[-1].file_id)
    assert file.file_path and file.file_size == len(image)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == image
    again = await bot.send_photo(user["id"], photo.photo[-1].file_id)
    assert again.photo is not None and again.photo[-1].file_id == photo.photo[-1].file_id
    doc = await bot.send_document(user["id"], BufferedInputFile(b"%PDF-1.4 test", "довідка.pdf"))
    assert doc.document is not None and doc.document.file_name == "довідка.pdf"
    assert doc.document.mime_type == "application/pdf"
    voice = await bot.send_voice(user["id"], BufferedInputFile(b"OggS....", "v.ogg"), duration=4)
    assert voice.voice is not None and voice.voice.duration == 4
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(user["id"], BufferedInputFile(b"not an image", "x.jpg"))
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(user["id"], "no-such-file-id")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(user["id"], doc.document.file_id, caption="я" * 1025)
    sent = await client.send_document(user, "заява.txt", "Прошу допомогти")
    path = (await bot.get_file(sent["document"]["file_id"])).file_path
    assert path is not None
    content = await bot.download_file(path)
    assert content is not None and content.read().decode() == "Прошу допомогти"
    album = await bot.send_media_group(
        user["id"],
        [
            InputMediaPhoto(media=BufferedInputFile(tiny_png(), "a.png"), caption="1"),
            InputMediaPhoto(media=BufferedInputFile(tiny_png(), "b.png")),
        ],
    )
    assert len(album) == 2 and album[0].media_group_id == album[1].media_group_id


@pytest.mark.asyncio
async def test_press_button_callback_query_and_answer(bot: Bot, client: SandboxClient) -> None:
    user = await started_user(client)
    first = await bot.get_updates(timeout=0)
    offset = first[-1].update_id + 1
    menu = await bot.send_message(user["id"], "Оберіть", reply_markup=keyboard(("Так", "yes"), ("Ні", "no")))
    shown = (await client.messages(user["id"]))[-1]
    pressed = await client.press(user, shown, "Ні")
    assert pressed["data"] == "no"
    updates = await bot.get_updates(offset=offset, timeout=1)
    query = updates[0].callback_query
    assert query is not None and query.data == "no" and query.from_user.id == user["id"]
    assert query.message is not None and query.message.message_id == menu.message_id
    assert await bot.answer_callback_query(query.id, text="Записано", show_alert=True)
    answer = await client.callback_answer(pressed)
    assert answer["answered"] and answer["text"] == "Записано" and answer["show_alert"] is True
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)
    calls = await client.calls(method="answerCallbackQuery")
    assert calls[0]["params"]["text"] == "Записано" and calls[0]["ok"]


@pytest.mark.asyncio
async def test_other_methods_parse_in_aiogram(bot: Bot, client: SandboxClient, sandbox: Sandbox) -> None:
    user = await started_user(client)
    uid = user["id"]
    group = await client.create_group("Група", members=[user])
    copied = await bot.copy_message(group["id"], uid, 1)
    assert copied.message_id > 0
    forwarded = await bot.forward_message(group["id"], uid, 1)
    assert forwarded.forward_origin is not None and forwarded.text == "/start"
    contact = await bot.send_contact(uid, "+380501112233", "Служба")
    assert contact.contact is not None and contact.contact.phone_number == "+380501112233"
    location = await bot.send_location(uid, 50.45, 30.52)
    assert location.location is not None
    assert await bot.send_chat_action(uid, "typing")
    assert (await client.chat(uid))["action"] == "typing"
    commands = [BotCommand(command="start", description="Почати"), BotCommand(command="help", description="Довідка")]
    assert await bot.set_my_commands(commands, language_code="uk")
    assert [c.command for c in await bot.get_my_commands(language_code="uk")] == ["start", "help"]
    assert await bot.get_my_commands() == []
    assert await bot.delete_my_commands(language_code="uk")
    assert await bot.set_chat_menu_button(uid, MenuButtonCommands())
    assert (await bot.get_chat_menu_button(uid)).type == "commands"
    assert await bot.pin_chat_message(uid, contact.message_id)
    private = await bot.get_chat(uid)
    assert private.type == "private" and private.pinned_message is not None
    photos = await bot.get_user_profile_photos(uid)
    assert photos.total_count == 0
    assert await bot.delete_messages(uid, [contact.message_id, location.message_id])
    assert await bot.get_chat_member_count(group["id"]) == 2
    assert await bot.leave_chat(group["id"])
    with pytest.raises(TelegramForbiddenError, match="bot is not a member of the supergroup chat"):
        await bot.send_message(group["id"], "x")
