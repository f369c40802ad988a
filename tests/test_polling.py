"""Polling reads the good updates of an answer and steps past one it cannot read."""
from __future__ import annotations

import json
import logging

from aiogram import Bot
from aiogram.methods import GetUpdates

from bot.runtime.polling import TolerantSession

TOKEN = "42:polling-test-token"


def answer(*updates: object) -> str:
    return json.dumps({"ok": True, "result": list(updates)})


def good(update_id: int) -> dict:
    return {"update_id": update_id, "message": {"message_id": 1, "date": 1, "text": "hi",
                                                "chat": {"id": 5, "type": "private"}}}


async def test_a_bad_update_is_left_out_and_confirmed(caplog) -> None:
    session = TolerantSession()
    bot = Bot(TOKEN, session=session)
    method = GetUpdates(offset=10)
    with caplog.at_level(logging.WARNING, logger="bot.polling"):
        response = session.check_response(bot, method, 200, answer(good(10), {"update_id": 11, "message": "x"},
                                                                   good(12), {"update_id": 13, "message": {}}))
    assert [u.update_id for u in response.result] == [10, 12]
    assert method.offset == 14
    method.offset = 13  # aiogram confirms up to the last update it was given (12): 13 comes once more
    assert "update=11 skipped" in caplog.text and "update=13 skipped" in caplog.text

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="bot.polling"):
        response = session.check_response(bot, method, 200, answer({"update_id": 13, "message": {}}))
    assert response.result == [] and method.offset == 14
    assert "skipped" not in caplog.text  # logged once
    await session.close()


async def test_other_answers_are_untouched() -> None:
    session = TolerantSession()
    bot = Bot(TOKEN, session=session)
    response = session.check_response(bot, GetUpdates(), 200, answer(good(1)))
    assert [u.update_id for u in response.result] == [1]
    await session.close()
