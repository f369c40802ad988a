"""The control API and the Resident helper, with a real aiogram bot polling the sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiogram import Bot

from sandbox import Sandbox, SandboxClient
from sandbox.client import SandboxError, WaitTimeout
from tests.support.sandbox_bots import BOT_TOKEN, ECHO_TOKEN, echo_dispatcher, make_bot


@pytest.mark.asyncio
async def test_resident_says_and_taps(echo_bot: Bot, client: SandboxClient) -> None:
    olena = await client.resident("Олена")
    answer = await olena.say("/start")
    assert answer[0]["text"] == "Вітаю! Оберіть дію."
    assert answer[0]["html"] == "<b>Вітаю!</b> Оберіть дію."
    assert olena.buttons == ["Так", "Ні", "Мій номер"]
    assert (await olena.tap("Так"))[0]["text"] == "Так"
    assert (await olena.tap("Мій номер"))[0]["text"] == f"Номер: +38050{olena.id:07d}"
    await olena.say("menu")
    assert [b for b in olena.buttons if b.startswith("Кнопка")] == ["Кнопка А", "Кнопка Б"]
    edited = await olena.tap("Кнопка Б")
    assert edited[0]["text"] == "Ви обрали B" and "reply_markup" not in edited[0]
    assert olena.last_answer is not None and olena.last_answer["text"] == "Обрано B"
    assert olena.text == "Ви обрали B"
    with pytest.raises(AssertionError, match="no button"):
        await olena.tap("Немає такої")
    photo = await olena.send_photo()
    assert photo[0]["text"] == "Фото 8x8"
    await olena.expect_silence(0.2)


@pytest.mark.asyncio
async def test_messages_wait_and_edits(echo_bot: Bot, client: SandboxClient) -> None:
    user = await client.create_user("Іван", language_code="en")
    sent = await client.send_text(user, "перше")
    replies = await client.wait_bot_messages(user["id"], after_id=sent["message_id"])
    assert replies[0]["text"] == "перше" and replies[0]["from"]["is_bot"]
    chat = await client.chat(user["id"])
    assert [m["sender"] for m in chat["messages"]] == ["user", "bot"]
    assert chat["chat"] == {"id": user["id"], "first_name": "Іван", "type": "private"}
    with pytest.raises(WaitTimeout):
        await client.wait_bot_messages(user["id"], after_id=replies[0]["message_id"], timeout=0.2)
    rev = await client.rev()
    await echo_bot.edit_message_text("змінено", chat_id=user["id"], message_id=replies[0]["message_id"])
    result = await client.wait(user["id"], after_id=replies[0]["message_id"], since_rev=rev, timeout=2)
    assert not result["timed_out"] and result["edited"][0]["text"] == "змінено"
    edited = await client.edit_text(user, sent, "перше (виправлено)")
    assert edited["edit_date"] and edited["text"] == "перше (виправлено)"
    since = await client.messages(user["id"], since_id=replies[0]["message_id"])
    assert since == []


@pytest.mark.asyncio
async def test_groups_topics_and_staff(client: SandboxClient, bot: Bot) -> None:
    admin = await client.create_user("Адмін", user_id=42)
    assert admin["id"] == 42
    staff = await client.resident("Марія")
    group = await client.create_group("Працівники", forum=True, admins=[admin], members=[staff.user])
    topic = await client.create_topic(group["id"], admin, "Черга")
    assert topic["message_thread_id"] == 2
    updates = await bot.get_updates(timeout=0)
    assert [u.event_type for u in updates] == ["my_chat_member", "message"]
    assert updates[1].message and updates[1].message.forum_topic_created
    staff.chat_id, staff.thread_id = group["id"], topic["message_thread_id"]
    await staff.say("Я на зв'язку", expect=False)
    sent = await bot.send_message(group["id"], "Прийнято", message_thread_id=topic["message_thread_id"])
    await staff.refresh()
    assert staff.last is not None and staff.last["message_id"] == sent.message_id
    stranger = await client.create_user("Сторонній")
    with pytest.raises(SandboxError, match="not a member"):
        await client.send_text(stranger, "hi", chat_id=group["id"])
    state = await client.state()
    assert {m["status"] for m in state["groups"][0]["members"]} == {"creator", "member", "administrator"}
    assert state["bots"][0]["username"] == "hromada_help_bot" and state["bots"][0]["default"]


@pytest.mark.asyncio
async def test_two_bots_on_one_sandbox(sandbox: Sandbox, client: SandboxClient, echo_bot: Bot) -> None:
    other = make_bot(sandbox, ECHO_TOKEN)
    dp = echo_dispatcher()
    task = asyncio.create_task(dp.start_polling(other, handle_signals=False, polling_timeout=5))
    try:
        await client.wait_bot_ready(bot_id=7000000002)
        taras = await client.create_user("Тарас")
        second = SandboxClient(sandbox.url, bot_id=7000000002)
        try:
            sent = await second.send_text(taras, "до другого")
            replies = await second.wait_bot_messages(taras["id"], after_id=sent["message_id"])
            assert replies[0]["from"]["id"] == 7000000002
        finally:
            await second.close()
        assert await client.messages(taras["id"]) == []
        me = await other.get_me()
        assert me.username == "sandbox7000000002_bot"
    finally:
        await dp.stop_polling()
        await task


@pytest.mark.asyncio
async def test_state_file_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    first = await Sandbox(bot_token=BOT_TOKEN, state_file=path).start()
    async with SandboxClient(first.url) as control:
        user = await control.create_user("Олена")
        await control.send_document(user, "a.txt", "вміст")
        await control.create_group("Група", forum=True, members=[user])
    await first.stop()
    assert path.exists()
    second = await Sandbox(bot_token=BOT_TOKEN, state_file=path).start()
    try:
        async with SandboxClient(second.url) as control:
            messages = await control.messages(user["id"])
            assert messages[0]["document"]["file_name"] == "a.txt"
            assert await control.file_content(messages[0]["document"]["file_id"]) == "вміст".encode()
            assert (await control.create_user("Петро"))["id"] == user["id"] + 1
            state = await control.state()
            assert state["groups"][0]["title"] == "Група"
            await control.reset()
            assert (await control.state())["users"] == []
    finally:
        await second.stop()
