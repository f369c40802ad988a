"""The Bot API over raw HTTP: status codes, Telegram's error wording, parameter formats."""

from __future__ import annotations

import pytest

from sandbox import SandboxClient
from tests.support.sandbox_bots import BOT_TOKEN, RawCall


async def started_user(client: SandboxClient, name: str = "Олена") -> int:
    user = await client.create_user(name)
    await client.send_text(user, "/start")
    return int(user["id"])


@pytest.mark.asyncio
async def test_get_me_in_every_request_format(raw: RawCall) -> None:
    for how in ("json", "form", "query"):
        status, body = await raw("getMe", how=how)
        assert status == 200 and body["ok"] is True
        assert body["result"]["id"] == 7000000001
        assert body["result"]["is_bot"] is True
        assert body["result"]["username"] == "hromada_help_bot"
        assert body["result"]["first_name"] == "Громада: допомога"
    status, body = await raw("GETME")
    assert status == 200 and body["ok"]


@pytest.mark.asyncio
async def test_unknown_method_wrong_token_and_other_bots(raw: RawCall) -> None:
    assert await raw("sendTelepathy") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert await raw("getMe", token="123:short") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert (await raw("getMe", token=BOT_TOKEN[:-1] + "X"))[0] == 401
    other = "7000000099:AAE-another-bot-token-0123456789abcdefg"
    status, body = await raw("getMe", token=other)
    assert status == 200 and body["result"]["id"] == 7000000099


@pytest.mark.asyncio
async def test_send_message_validation(raw: RawCall, client: SandboxClient) -> None:
    user_id = await started_user(client)
    status, body = await raw("sendMessage", text="hello")
    assert (status, body["description"]) == (400, "Bad Request: chat_id is empty")
    status, body = await raw("sendMessage", chat_id=user_id)
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    status, body = await raw("sendMessage", chat_id=user_id, text="   ")
    assert body["description"] == "Bad Request: message text is empty"
    status, body = await raw("sendMessage", chat_id=user_id, text="я" * 4097)
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    status, body = await raw("sendMessage", chat_id=user_id, text="<b>x" + "я" * 4096 + "</b>", parse_mode="HTML")
    assert body["description"] == "Bad Request: message is too long"
    status, body = await raw("sendMessage", chat_id=user_id, text="<b>bold</i>", parse_mode="HTML")
    assert status == 400
    assert body["description"].startswith("Bad Request: can't parse entities: Unmatched end tag")
    status, body = await raw("sendMessage", chat_id=999999, text="hi")
    assert body["description"] == "Bad Request: chat not found"
    status, body = await raw("sendMessage", chat_id={"id": 1}, text="hi")
    assert status == 400 and "chat_id" in body["description"]
    status, body = await raw("sendMessage", chat_id=user_id, text="ok", reply_markup="{not json")
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
    status, body = await raw("sendMessage", chat_id=user_id, text="<b>ok</b> " + "я" * 4093, parse_mode="HTML")
    assert status == 200 and len(body["result"]["text"]) == 4096


@pytest.mark.asyncio
async def test_callback_data_limits(raw: RawCall, client: SandboxClient) -> None:
    user_id = await started_user(client)

    def keyboard(data: str) -> dict:
        return {"inline_keyboard": [[{"text": "Кнопка", "callback_data": data}]]}

    status, body = await raw("sendMessage", chat_id=user_id, text="x", reply_markup=keyboard("d" * 65))
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    status, body = await raw("sendMessage", chat_id=user_id, text="x", reply_markup=keyboard("ї" * 33))
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"
    status, body = await raw("sendMessage", chat_id=user_id, text="x", reply_markup=keyboard("d" * 64))
    assert status == 200 and body["result"]["reply_markup"] == keyboard("d" * 64)
    status, body = await raw(
        "sendMessage",
        chat_id=user_id,
        text="x",
        reply_markup={"inline_keyboard": [[{"text": "a", "callback_data": "a", "url": "https://x.org"}]]},
    )
    assert status == 400 and "inline keyboard button" in body["description"]


@pytest.mark.asyncio
async def test_edit_delete_and_not_modified(raw: RawCall, client: SandboxClient) -> None:
    user_id = await started_user(client)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    _, sent = await raw("sendMessage", chat_id=user_id, text="Привіт", reply_markup=markup)
    message_id = sent["result"]["message_id"]
    status, body = await raw(
        "editMessageText", chat_id=user_id, message_id=message_id, text="Привіт", reply_markup=markup
    )
    assert status == 400
    assert body["description"] == (
        "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
        "same as a current content and reply markup of the message"
    )
    status, body = await raw("editMessageText", chat_id=user_id, message_id=message_id, text="Привіт")
    assert status == 200 and "reply_markup" not in body["result"] and body["result"]["edit_date"]
    status, body = await raw("editMessageReplyMarkup", chat_id=user_id, message_id=message_id)
    assert body["description"].startswith("Bad Request: message is not modified")
    status, body = await raw("editMessageText", chat_id=user_id, message_id=9999, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    status, body = await raw("editMessageText", chat_id=user_id, message_id=1, text="x")
    assert body["description"] == "Bad Request: message can't be edited"
    status, body = await raw("editMessageCaption", chat_id=user_id, message_id=message_id, caption="x")
    assert body["description"] == "Bad Request: there is no caption in the message to edit"
    assert (await raw("deleteMessage", chat_id=user_id, message_id=message_id))[1]["result"] is True
    status, body = await raw("deleteMessage", chat_id=user_id, message_id=message_id)
    assert body["description"] == "Bad Request: message to delete not found"
    shown = await client.messages(user_id)
    assert [m["message_id"] for m in shown] == [1]


@pytest.mark.asyncio
async def test_blocked_user_and_user_who_never_started(raw: RawCall, client: SandboxClient) -> None:
    user_id = await started_user(client)
    stranger = await client.create_user("Тарас")
    await client.block(user_id)
    status, body = await raw("sendMessage", chat_id=user_id, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    status, body = await raw("sendMessage", chat_id=stranger["id"], text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot can't initiate conversation with a user")
    _, updates = await raw("getUpdates")
    kinds = [next(k for k in u if k != "update_id") for u in updates["result"]]
    assert kinds == ["message", "my_chat_member"]
    assert updates["result"][1]["my_chat_member"]["new_chat_member"]["status"] == "kicked"


@pytest.mark.asyncio
async def test_flood_control_answers_429_with_retry_after(raw: RawCall, client: SandboxClient) -> None:
    user_id = await started_user(client)
    assert (await raw("sendMessage", chat_id=user_id, text="1"))[0] == 200
    assert (await raw("sendMessage", chat_id=user_id, text="2"))[0] == 200
    await client.set_flood(True)
    assert (await raw("sendMessage", chat_id=user_id, text="3"))[0] == 200
    status, body = await raw("sendMessage", chat_id=user_id, text="4")
    assert status == 429
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await client.set_flood(True, per_chat_burst=3)  # a short burst to one chat, then one a second again
    assert [(await raw("sendMessage", chat_id=user_id, text=str(n)))[0] for n in range(4)] == [200, 200, 200, 429]
    group = await client.create_group("Працівники", members=[user_id])
    await client.set_flood(True, per_group_per_min=2, per_chat_burst=1)
    assert (await raw("sendMessage", chat_id=group["id"], text="a"))[0] == 200
    assert (await raw("sendMessage", chat_id=group["id"], text="b"))[0] == 200
    status, body = await raw("sendMessage", chat_id=group["id"], text="c")
    assert status == 429 and 55 <= body["parameters"]["retry_after"] <= 60
    assert (await raw("getChat", chat_id=group["id"]))[0] == 200
    await client.set_flood(False)
    assert (await raw("sendMessage", chat_id=group["id"], text="d"))[0] == 200


@pytest.mark.asyncio
async def test_not_implemented_methods(raw: RawCall) -> None:
    assert await raw("setChatTitle", chat_id=-1, title="x") == (200, {"ok": True, "result": True})
    status, body = await raw("sendPoll", chat_id=1, question="q", options=[{"text": "a"}, {"text": "b"}])
    assert (status, body["description"]) == (400, "Bad Request: method not supported by the sandbox")
    status, body = await raw("answerCallbackQuery", callback_query_id="nope")
    assert body["description"] == "Bad Request: query is too old and response timeout expired or query ID is invalid"


@pytest.mark.asyncio
async def test_calls_are_logged(raw: RawCall, client: SandboxClient) -> None:
    await raw("getMe")
    await raw("sendMessage", chat_id=5, text="x")
    calls = await client.calls()
    assert [c["method"] for c in calls] == ["getMe", "sendMessage"]
    assert calls[1]["ok"] is False and calls[1]["error_code"] == 400
    assert calls[1]["description"] == "Bad Request: chat not found"
    assert calls[1]["params"] == {"chat_id": 5, "text": "x"}
    assert [c["method"] for c in await client.calls(since=calls[0]["seq"])] == ["sendMessage"]
