"""Polling that survives an update it cannot read, and keeps each update's JSON as Telegram sent it.

aiogram reads a whole getUpdates answer as one list: a single update that does not follow the Bot API
(a field missing, a wrong type) fails the list, the offset never moves past it, and polling retries the
same answer for ever while every later update waits. Here such an update is logged (its id and what is
wrong, never its content) and left out; the others are handled, and the offset moves past the bad one.

The durable inbox (bot/runtime/inbox.py) stores each update of a batch before it is handled. It takes the
update's own JSON from `raw_updates` (the objects of the answer, written again by the json module's C
encoder) rather than serialising aiogram's model back, which costs more than twice as much and writes the
field names of the model ("from_user") instead of Telegram's ("from").
"""
from __future__ import annotations

import json
import logging
from typing import Any

from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates
from aiogram.methods.base import Response
from aiogram.types import Update
from pydantic import ValidationError

from bot.runtime.session import JsonSession

log = logging.getLogger("bot.polling")
REMEMBERED = 1000  # ids of skipped updates kept, so that each is logged once


class TolerantSession(JsonSession):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skipped: set[int] = set()
        self.raw_updates: dict[int, str] = {}  # the last getUpdates answer's updates, by id, as Telegram sent them

    def take_raw_updates(self) -> dict[int, str]:
        raw, self.raw_updates = self.raw_updates, {}
        return raw

    def check_response(self, bot: Any, method: Any, status_code: int, content: str) -> Response[Any]:
        if isinstance(method, GetUpdates):
            self.raw_updates = raw_updates(content)
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError:
            if not isinstance(method, GetUpdates):
                raise
            answer = self._readable_updates(bot, method, content)
            if answer is None:
                raise
            return answer

    def _readable_updates(self, bot: Any, method: GetUpdates, content: str) -> Response[list[Update]] | None:
        try:
            data = self.json_loads(content)
        except Exception:  # noqa: BLE001 - not JSON at all: aiogram's own error stands
            return None
        if not isinstance(data, dict) or data.get("ok") is not True or not isinstance(data.get("result"), list):
            return None
        updates: list[Update] = []
        last_skipped = None
        for raw in data["result"]:
            try:
                updates.append(Update.model_validate(raw, context={"bot": bot}))
            except ValidationError as exc:
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                if not isinstance(update_id, int):
                    continue  # Telegram always numbers updates; nothing to confirm
                last_skipped = update_id if last_skipped is None else max(last_skipped, update_id)
                if update_id not in self.skipped:
                    if len(self.skipped) >= REMEMBERED:
                        self.skipped.clear()
                    self.skipped.add(update_id)
                    where = ".".join(str(part) for part in exc.errors()[0]["loc"][:4]) if exc.errors() else "?"
                    log.warning("update=%s skipped: not a valid Bot API update (%d problem(s), first at %s)",
                                update_id, exc.error_count(), where)
        if last_skipped is not None and all(update.update_id < last_skipped for update in updates):
            # aiogram confirms up to the last update it is given; past a bad last one, the offset moves here
            method.offset = last_skipped + 1
        return Response[list[Update]](ok=True, result=updates)


def raw_updates(content: str) -> dict[int, str]:
    """Each update of a getUpdates answer as JSON, by id ({} for an answer that is not a list of updates)."""
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    result = data.get("result") if isinstance(data, dict) else None
    if not isinstance(result, list):
        return {}
    return {raw["update_id"]: json.dumps(raw, ensure_ascii=False) for raw in result
            if isinstance(raw, dict) and isinstance(raw.get("update_id"), int)}
