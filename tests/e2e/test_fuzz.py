"""Thousands of random and malformed updates against the running bot (plan drawn by hypothesis, see fuzz_updates).

Before the fuzz, resident A files a real request with a unique marker and phone, resident B exists, a staff
group is bound to the institution and another group never was. Afterwards: the bot still answers /start;
nothing was logged as a failed handler or an aiogram error; the sandbox accepted every Bot API call (apart
from calls naming file ids or chats the fuzzer made up, which Telegram never sends); and no bot message
outside A's chat and the institution's group carries A's marker or phone. The per-person limit on updates
and the pacing of sends are off here (the sandbox has no flood control either): every update reaches the
handlers, and no answer waits its turn behind Telegram's 20 messages a minute in a group.

FUZZ_UPDATES sets the number of updates (default 300), FUZZ_SEED the plan.
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberBanned,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
)

from sandbox.client import SandboxError, inline_buttons, keyboard_buttons, message_text
from tests.support.fuzz_updates import RID, draw_plan
from tests.support.staff import new_group, staff_group
from tests.support.world import (
    BOT_ID,
    LogRecords,
    Person,
    World,
    last_call_seq,
    serving_world,
    settle_calls,
    summarise,
)

pytestmark = [pytest.mark.asyncio(loop_scope="package"),
              pytest.mark.filterwarnings("ignore:Detected unknown update type:RuntimeWarning")]

UPDATES = int(os.environ.get("FUZZ_UPDATES", "300"))
SEED = int(os.environ.get("FUZZ_SEED", "20260501"))
BATCH = 25
MARKER = "QZX7781JV"  # in A's description: no other text has it
PHONE = "067 391 58 24"
PHONE_DIGITS = "673915824"
INVENTED_FILE = "FUZZinvented"  # prefix of file ids no upload made
INVENTED_QUERY = "FUZZquery"  # prefix of callback query ids no button press made
OTHER_BOT = {"id": 6000000017, "is_bot": True, "first_name": "Other bot", "username": "other_fuzz_bot"}
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
INVENTED_USERS = {OTHER_BOT["id"], ANONYMOUS_ADMIN["id"]}  # senders the sandbox does not know
MEMBER_TYPES = {"member": ChatMemberMember, "administrator": ChatMemberAdministrator, "left": ChatMemberLeft,
                "kicked": ChatMemberBanned, "restricted": ChatMemberRestricted, "creator": ChatMemberOwner}


def member_fields(status: str) -> dict[str, Any]:
    """The fields a chat member of this status must have (rights all false, no end date)."""
    fields = MEMBER_TYPES[status].model_fields
    return {name: 0 if name == "until_date" else False for name, info in fields.items()
            if info.is_required() and name not in ("status", "user")}


@dataclass
class Cast:
    """Who is who in the sandbox, and what the fuzz did so far."""

    world: World
    people: dict[str, Person]
    strangers: list[dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    channel: dict[str, Any]
    files: dict[str, str]
    a_request: int
    sent: list[dict[str, Any]] = field(default_factory=list)  # raw updates, for replays
    invented_chats: set[int] = field(default_factory=set)
    invented_files: set[str] = field(default_factory=set)
    updates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    step: int = 0

    @property
    def client(self) -> Any:
        return self.world.client

    def user(self, who: str) -> dict[str, Any]:
        if who == "C":
            return self.strangers[self.step % len(self.strangers)]
        return {k: v for k, v in self.people[who].user.items() if k != "phone_number"}

    def chat_of(self, who: str, where: str) -> int:
        """Where `who` writes: their private chat, or the group they belong to (S: the bound one)."""
        if where in ("group", "bound") and who in ("S", "U"):
            return int(self.groups["bound" if who == "S" else "unbound"]["id"])
        return int(self.user(who)["id"])

    def chat_object(self, chat_id: int) -> dict[str, Any]:
        for group in (*self.groups.values(), self.channel):
            if group["id"] == chat_id:
                return {k: group[k] for k in ("id", "type", "title") if k in group} | (
                    {"is_forum": True} if group.get("is_forum") else {})
        user = next((u for u in (*map(self.user, "ABSU"), *self.strangers) if u["id"] == chat_id), None)
        return {"id": chat_id, "type": "private", "first_name": (user or {}).get("first_name", "X")}

    def skip(self, why: str) -> None:
        """An action with nothing to act on (no button to press yet, a message the sandbox cannot edit)."""
        self.skipped[why] += 1

    def fill(self, text: str) -> str:
        return text.replace(RID, str(self.a_request))


async def plant(world: World) -> Cast:
    """A with a real request (marker, typed phone), B, a bound forum group, an unbound group, a channel,
    people the bot never saw, and files that really exist in the sandbox."""
    client = world.client
    bound_id, staff = await staff_group(world, "tcso")
    a = await world.resident("lutsk", name="Марта")
    consent = await a.say("📝 Попросити допомогу")
    if "Перш ніж надіслати звернення" in message_text(consent[-1]):
        await a.tap("✅ Погоджуюся", new=1)
    await a.tap("Літня людина потребує догляду", new=1)
    await a.tap("🙋 Для себе", new=1)
    await a.say(f"Мамі 80 років, сама вдома не справляється. Код {MARKER}")
    await a.tap("Далі ➡️", new=1)
    await a.tap("☎️ Написати номер", count=1)
    await a.say(PHONE, count=1)
    await asyncio.sleep(0.3)
    await a.refresh()
    accepted = (await a.tap("✅ Надіслати", new=1))[-1]
    assert "прийнято" in message_text(accepted)
    [request] = await world.services.requests.for_resident(a.id)
    assert MARKER in (request.description or "")
    b = await world.resident("lutsk", name="Богдан")
    outsider = await client.create_user("Остап", language_code="uk")
    unbound = await new_group(client, "Сусідський чат", members=[outsider])
    u = Person(client, outsider)
    u.chat_id = unbound["id"]
    channel = await client._post("/sandbox/groups", {"title": "Новини громади", "type": "channel"})
    strangers = [{"id": i, "is_bot": False, "first_name": f"Гість {n}", "language_code": "uk"}
                 for n, i in enumerate(await client.create_users(3, name="Гість", started=True))]
    donor = strangers[0]
    photo = await client.send_photo(donor)
    document = await client.send_document(donor, "довідка.pdf", b"%PDF-1.4 fuzz")
    voice = await client.send_voice(donor)
    files = {"photo": photo["photo"][-1]["file_id"], "document": document["document"]["file_id"],
             "voice": voice["voice"]["file_id"]}
    groups = {"bound": (await client.state())["groups"], "unbound": unbound}
    groups["bound"] = next(g for g in groups["bound"] if g["id"] == bound_id)
    staff.chat_id = bound_id
    for person in (staff, u):  # they have opened the bot too, so a private message from them is possible
        sent = await client.send_text(person.id, "/start")
        await client.wait_bot_messages(person.id, sent["message_id"], 1, timeout=10)
    return Cast(world, {"A": a, "B": b, "S": staff, "U": u}, strangers, groups, channel, files, request.id)


# --- building updates ---------------------------------------------------------------------------------------

def file_obj(cast: Cast, kind: str, invented: bool, serial: int) -> dict[str, Any]:
    if invented:
        file_id = f"{INVENTED_FILE}{kind}{serial}"
        cast.invented_files.add(file_id)
    else:
        file_id = cast.files["photo" if kind in ("photo", "sticker") else "voice" if kind in ("voice", "audio")
                             else "document"]
    base = {"file_id": file_id, "file_unique_id": f"u{serial}{kind}", "file_size": 1000 + serial}
    extra = {
        "photo": {"width": 90, "height": 90},
        "document": {"file_name": "файл <b>.pdf", "mime_type": "application/pdf"},
        "voice": {"duration": 3, "mime_type": "audio/ogg"},
        "video": {"width": 640, "height": 360, "duration": 5, "mime_type": "video/mp4"},
        "audio": {"duration": 100, "title": "<i>пісня</i>", "performer": "*x*"},
        "animation": {"width": 200, "height": 200, "duration": 2},
        "video_note": {"length": 240, "duration": 4},
        "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False,
                    "emoji": "😀"},
    }[kind]
    return {**base, **extra}


def media_content(cast: Cast, kind: str, invented: bool, caption: str | None) -> dict[str, Any]:
    obj = file_obj(cast, kind, invented, cast.step)
    content: dict[str, Any] = {kind: [obj] if kind == "photo" else obj}
    if kind == "animation":
        content["document"] = obj
    if caption and kind not in ("sticker", "video_note"):
        content["caption"] = caption
    return content


def other_content(cast: Cast, what: str, text: str, whose: str, value: int) -> dict[str, Any]:
    if what == "location":
        return {"location": {"latitude": value / 11.0, "longitude": value / 5.5}}
    if what == "venue":
        location = {"latitude": 50.75, "longitude": 25.33}
        return {"location": location, "venue": {"location": location, "title": text or "x", "address": text[::-1]}}
    if what == "poll":
        return {"poll": {"id": str(value), "question": text or "?", "options": [
            {"text": "так", "voter_count": 0}, {"text": text[:100] or "ні", "voter_count": 1}],
            "total_voter_count": 1, "is_closed": False, "is_anonymous": True, "type": "regular",
            "allows_multiple_answers": False}}
    if what == "dice":
        return {"dice": {"emoji": "🎲", "value": abs(value) % 6 + 1}}
    contact: dict[str, Any] = {"first_name": text[:30] or "Контакт"}
    if whose in ("A", "B"):  # another resident's card, as Telegram shares it: their number and user id
        person = cast.people[whose]
        contact["user_id"] = person.id
        contact["phone_number"] = "+380" + PHONE_DIGITS if whose == "A" else "+380501112233"
    elif whose == "stranger":
        contact["phone_number"] = f"+38050{abs(value):07d}"
    else:
        contact["phone_number"] = "+380931234567"
    return {"contact": contact}


async def base_message(cast: Cast, who: str, where: str, thread: bool = False) -> dict[str, Any]:
    """A message as Telegram would send it from `who` in their chat, with a real message id of that chat."""
    chat_id = cast.chat_of(who, where)
    last = await cast.client.last_id(chat_id)
    message: dict[str, Any] = {"message_id": max(last, 1), "date": int(time.time()), "chat": cast.chat_object(chat_id),
                               "from": cast.user(who)}
    if thread and chat_id < 0:
        topics = [m.get("message_thread_id") for m in await cast.client.messages(chat_id) if m.get("message_thread_id")]
        if topics:
            message["message_thread_id"] = topics[cast.step % len(topics)]
            message["is_topic_message"] = True
    return message


async def decorate(cast: Cast, message: dict[str, Any], flags: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Apply the drawn variations; returns the update kind and the message."""
    kind = "message"
    if flags.get("from_bot"):
        message["from"] = OTHER_BOT
    if flags.get("sender_chat") and message["chat"]["id"] < 0:
        message["sender_chat"] = cast.chat_object(message["chat"]["id"])
        message["from"] = ANONYMOUS_ADMIN
    if flags.get("forward"):
        message["forward_origin"] = {"type": "user", "date": 1, "sender_user": cast.user("A")}
    if flags.get("entities") and "text" in message:
        message["entities"] = flags["entities"]
    if flags.get("reply") is not None:
        bot_messages = [m for m in await cast.client.messages(message["chat"]["id"]) if m.get("sender") == "bot"]
        if bot_messages:
            replied = bot_messages[-1 - flags["reply"] % len(bot_messages)]
            message["reply_to_message"] = {k: v for k, v in replied.items() if k not in ("sender", "html", "rev")}
    if flags.get("edited"):
        kind = "edited_message"
        message["edit_date"] = message["date"]
    return kind, message


# --- carrying actions out ----------------------------------------------------------------------------------

async def raw(cast: Cast, update: dict[str, Any], keep_id: bool = False) -> None:
    update_id = await cast.client.raw_update(update, keep_id=keep_id)
    cast.sent.append({**update, "update_id": update_id})
    cast.updates += 1


async def bot_messages(cast: Cast, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in await cast.client.messages(chat_id) if m.get("sender") == "bot" and not m.get("service")]


def destructive(who: str, data: str, text: str = "") -> bool:
    """Resident A's own data stays in place for the leak check: A never deletes it."""
    return who == "A" and (data.startswith(("n:del", "r:withdraw")) or "🗑" in text or "Видалити" in text)


async def press(cast: Cast, action: dict[str, Any], who: str, chat_id: int, user: dict[str, Any],
                group: int | None) -> bool:
    """A tap on a button shown now, a forged one, or an old button pressed again; False if there is none."""
    client, kind = cast.client, action["kind"]
    messages = await bot_messages(cast, chat_id)
    if not messages:
        return False
    if kind == "tap":
        chat = await client.chat(chat_id)
        keys = [b for b in keyboard_buttons(chat.get("reply_keyboard")) if not destructive(who, "", b["text"])]
        recent = [(m, b) for m in messages[-3:] for b in inline_buttons(m)
                  if "callback_data" in b and not destructive(who, b["callback_data"], b["text"])]
        choices: list[Any] = [("key", b) for b in keys] + [("inline", pair) for pair in recent]
        if not choices:
            return False
        how, picked = choices[action["pick"] % len(choices)]
        if how == "key":
            if picked.get("request_contact"):
                await client.send_contact(user["id"], chat_id=group)
            else:
                await client.send_text(user["id"], picked["text"], group)
            return True
        message, button = picked
        data = button["callback_data"]
    elif kind == "forge":
        data = cast.fill(action["data"])
        if destructive(who, data):
            return False
        message = messages[-1 - action["pick"] % len(messages)]
    else:
        old = [(m, b) for m in messages for b in inline_buttons(m)
               if "callback_data" in b and not destructive(who, b["callback_data"], b["text"])]
        if not old:
            return False
        message, button = old[action["pick"] % len(old)]
        data = button["callback_data"]
    # a forged press names any data; a tap, or a press on an old message, names a button the message still has
    await client.press_data(user["id"], message["message_id"], data, chat_id=group, force=kind == "forge")
    return True


async def perform(cast: Cast, action: dict[str, Any]) -> None:
    client = cast.client
    kind = action["kind"]
    who = action.get("who", "C")
    where = action.get("where", "private")
    chat_id = cast.chat_of(who, where)
    user = cast.user(who)
    group = chat_id if chat_id < 0 else None
    if kind == "say":
        text = cast.fill(action["text"])
        if 0 < len(text.strip()) <= 4096 and not destructive(who, "", text):
            thread = None
            if group is not None and action["thread"]:
                topics = sorted({m.get("message_thread_id") for m in await bot_messages(cast, chat_id)} - {None})
                thread = topics[action["thread"] % len(topics)] if topics else None
            await client.send_text(user["id"], text, group, thread)
            cast.updates += 1
        else:
            message = await base_message(cast, who, where)
            await raw(cast, {"message": {**message, "text": text}})
    elif kind in ("tap", "forge", "replay_button"):
        if not await press(cast, action, who, chat_id, user, group):
            # nothing to press (the bot has not shown a button here yet): type a command instead
            await client.send_text(user["id"], "/start" if group is None else "/open", group)
        cast.updates += 1
    elif kind == "edit":
        mine = [m for m in await client.messages(chat_id)
                if m.get("sender") == "user" and (m.get("from") or {}).get("id") == user["id"] and "text" in m]
        text = cast.fill(action["text"])
        if not mine or not 0 < len(text.strip()) <= 4096:
            message = await base_message(cast, who, where)
            await raw(cast, {"edited_message": {**message, "text": text, "edit_date": message["date"]}})
            return
        target = mine[-1 - action["pick"] % len(mine)]
        await client.edit_text(user["id"], target["message_id"], text, chat_id=group)
        cast.updates += 1
    elif kind == "raw_text":
        message = await base_message(cast, who, where, thread=bool(action["flags"].get("thread")))
        message["text"] = cast.fill(action["text"])
        update_kind, message = await decorate(cast, message, action["flags"])
        await raw(cast, {update_kind: message})
    elif kind == "media":
        message = await base_message(cast, who, where, thread=bool(action["flags"].get("thread")))
        message.update(media_content(cast, action["media"], action["invented"], action["caption"]))
        update_kind, message = await decorate(cast, message, action["flags"])
        await raw(cast, {update_kind: message})
    elif kind == "content":
        message = await base_message(cast, who, where)
        message.update(other_content(cast, action["content"], action["text"], action["whose"], action["value"]))
        update_kind, message = await decorate(cast, message, action["flags"])
        await raw(cast, {update_kind: message})
    elif kind == "channel":
        chat = cast.chat_object(cast.channel["id"])
        last = await client.last_id(cast.channel["id"])
        post: dict[str, Any] = {"message_id": last + 1, "date": int(time.time()), "chat": chat, "sender_chat": chat}
        if action["media"]:
            post.update(media_content(cast, action["media"], False, action["text"][:1024]))
        else:
            post["text"] = action["text"]
        if action["edited"]:
            post["edit_date"] = post["date"]
        await raw(cast, {"edited_channel_post" if action["edited"] else "channel_post": post})
    elif kind == "member":
        await raw(cast, member_update(cast, action))
    elif kind == "unknown_chat":
        uid = action["user_id"]
        chat = {"id": -uid, "type": "supergroup", "title": "?"} if action["group"] else {
            "id": uid, "type": "private", "first_name": "Nobody"}
        cast.invented_chats.update({uid, -uid})
        await raw(cast, {"message": {"message_id": 5, "date": int(time.time()), "chat": chat,
                                     "from": {"id": uid, "is_bot": False, "first_name": "Nobody"},
                                     "text": action["text"]}})
    elif kind == "other_kind":
        await raw(cast, other_kind(cast, action["update_kind"], who, action["text"]))
    elif kind == "malformed":
        await raw(cast, await malformed(cast, action["shape"], action["text"], action["value"]))
    elif kind == "replay_update":
        if not cast.sent:
            return cast.skip(kind)
        old = copy.deepcopy(cast.sent[action["pick"] % len(cast.sent)])
        await cast.client.raw_update(old, keep_id=True)
        cast.updates += 1


def member_update(cast: Cast, action: dict[str, Any]) -> dict[str, Any]:
    who, where = action["who"], action["where"]
    chat_id = cast.chat_of("S" if where == "bound" else who, where)
    if where == "group" and chat_id > 0:
        chat_id = int(cast.groups["unbound"]["id"])
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "Громада", "username": "gromada_bot"}
    subject = bot if action["mine"] else cast.user(who)

    def member(status: str) -> dict[str, Any]:
        return {"status": status, "user": subject, **member_fields(status)}

    payload = {"chat": cast.chat_object(chat_id), "from": cast.user(who), "date": int(time.time()),
               "old_chat_member": member(action["old"]), "new_chat_member": member(action["new"])}
    return {"my_chat_member" if action["mine"] else "chat_member": payload}


def other_kind(cast: Cast, kind: str, who: str, text: str) -> dict[str, Any]:
    user = cast.user(who)
    chat = cast.chat_object(user["id"])
    payloads: dict[str, Any] = {
        "inline_query": {"id": "1", "from": user, "query": text, "offset": ""},
        "chosen_inline_result": {"result_id": "r", "from": user, "query": text},
        "poll_answer": {"poll_id": "p", "user": user, "option_ids": [0]},
        "message_reaction": {"chat": chat, "message_id": 1, "user": user, "date": 1, "old_reaction": [],
                             "new_reaction": [{"type": "emoji", "emoji": "👍"}]},
        "chat_join_request": {"chat": cast.chat_object(int(cast.groups["unbound"]["id"])), "from": user,
                              "user_chat_id": user["id"], "date": 1},
        "shipping_query": {"id": "s", "from": user, "invoice_payload": text,
                           "shipping_address": {"country_code": "UA", "state": "", "city": "Луцьк",
                                                "street_line1": text, "street_line2": "", "post_code": "43000"}},
        "pre_checkout_query": {"id": "q", "from": user, "currency": "UAH", "total_amount": 1,
                               "invoice_payload": text},
        "chat_boost": {"chat": cast.chat_object(int(cast.groups["unbound"]["id"])),
                       "boost": {"boost_id": "b", "add_date": 1, "expiration_date": 2,
                                 "source": {"source": "premium", "user": user}}},
        "business_message": {"message_id": 1, "date": 1, "chat": chat, "from": user, "text": text,
                             "business_connection_id": "bc"},
        "some_future_update": {"what": text},
        "message_reaction_count": {"chat": cast.chat_object(int(cast.groups["unbound"]["id"])), "message_id": 1,
                                   "date": 1, "reactions": []},
        "removed_chat_boost": {"chat": cast.chat_object(int(cast.groups["unbound"]["id"])), "boost_id": "b",
                               "remove_date": 1, "source": {"source": "premium", "user": user}},
        "deleted_business_messages": {"business_connection_id": "bc", "chat": chat, "message_ids": [1]},
    }
    return {kind: payloads[kind]}


async def malformed(cast: Cast, shape: int, text: str, value: Any) -> dict[str, Any]:
    """Updates that do not follow the Bot API: missing fields, wrong types, nothing at all."""
    message = await base_message(cast, "B", "private")
    user = cast.user("B")
    if str(value).lstrip("-").isdigit():
        cast.invented_chats.add(int(str(value)))  # the chat of shape 4, when its id reads as a number
    shapes: list[dict[str, Any]] = [
        {},
        {"message": {"text": text}},
        {"message": text},
        {"message": None},
        {"message": {**message, "chat": {"id": str(value), "type": "private"}, "text": text}},
        {"message": {**message, "date": "yesterday", "text": text}},
        {"message": {**message, "from": {"id": value}, "text": text}},
        {"message": {**message, "text": value}},
        {"message": {**message, "entities": value, "text": text}},
        {"callback_query": {"id": value, "data": text}},
        {"callback_query": {"id": f"{INVENTED_QUERY}1", "from": user, "chat_instance": "x", "data": text,
                            "message": value}},
        {"edited_message": {**message, "photo": value}},
        {"message": {**message, "contact": {"phone_number": value}}},
        {"message": message, "callback_query": {"id": f"{INVENTED_QUERY}2", "from": user, "chat_instance": "x",
                                                "data": text}},
        {"update_id": "text", "message": {**message, "text": text}},
    ]
    return shapes[shape % len(shapes)]


# --- checking -----------------------------------------------------------------------------------------------

def needles(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    return MARKER.casefold() in text.casefold() or PHONE_DIGITS in digits


def explained(cast: Cast, call: dict[str, Any]) -> bool:
    """A refusal caused by what Telegram never sends (a file id, a button press, a chat or a user the fuzzer
    made up), or Telegram's answer to two quick presses of one button: both carry the message as it was, the
    first changes it, the second's edit changes nothing (refused, and harmless when nothing fails)."""
    if "message is not modified" in str(call.get("description")):
        return True
    params = json.dumps(call.get("params") or {}, ensure_ascii=False)
    description = str(call.get("description") or "")
    if INVENTED_FILE in params and "wrong file identifier" in description:
        return True
    if call["method"] == "answerCallbackQuery" and str(call["params"].get("callback_query_id")).startswith(
            INVENTED_QUERY):
        return True
    params_ = call.get("params") or {}
    if "user not found" in description and str(params_.get("user_id")).isdigit() and int(
            params_["user_id"]) in INVENTED_USERS:
        return True
    chat = params_.get("chat_id")
    return "chat not found" in description and str(chat).lstrip("-").isdigit() and int(chat) in cast.invented_chats


async def leaks(cast: Cast, since: int) -> list[str]:
    """Bot messages and answers with A's marker or phone anywhere but A's chat and the institution's group."""
    allowed = {cast.people["A"].id, int(cast.groups["bound"]["id"])}
    found = []
    state = await cast.client.state()
    chats = [u["id"] for u in state["users"]] + [g["id"] for g in state["groups"]]
    for chat_id in chats:
        if chat_id in allowed:
            continue
        try:
            messages = await cast.client.messages(chat_id)
        except SandboxError:
            continue
        for m in messages:
            if m.get("sender") == "bot" and needles(json.dumps(m, ensure_ascii=False)):
                found.append(f"chat {chat_id} message {m['message_id']}: {message_text(m)[:200]!r}")
    callbacks = cast.world.sandbox.core.state.callbacks
    for call in await cast.client.calls(since=since):
        if not call["ok"]:
            continue
        params = call.get("params") or {}
        chat = params.get("chat_id")
        if call["method"] == "answerCallbackQuery":
            query = callbacks.get(str(params.get("callback_query_id")))
            chat = query.chat_id if query is not None else None
        if chat is None or (str(chat).lstrip("-").isdigit() and int(chat) in allowed):
            continue
        if needles(json.dumps(params, ensure_ascii=False)) or (
                call["method"] in ("copyMessage", "forwardMessage") and params.get("from_chat_id") in allowed):
            gist = json.dumps(params, ensure_ascii=False)[:200]
            found.append(f"call #{call['seq']} {call['method']} to {chat}: {gist}")
    return found


async def wait_idle(cast: Cast, since: int, timeout: float = 60.0) -> None:
    """Until the bot has confirmed every queued update and made no call for a moment."""
    record = cast.world.sandbox.core.state.bots[BOT_ID]
    if not await cast.world.sandbox.core.wait_until(lambda: not record.updates, timeout):
        raise AssertionError(f"the bot stopped taking updates: {len(record.updates)} still queued")
    await settle_calls(cast.client, since, quiet=0.1)


async def test_fuzz(tmp_path: Path) -> None:
    plan = draw_plan(UPDATES, SEED)
    async def no_limits(client: Any, admin: Any) -> dict[str, str]:
        return {"RATE_LIMIT_PER_MINUTE": "0", "RATE_LIMIT_STAFF_PER_MINUTE": "0", "SEND_PER_GROUP_PER_MINUTE": "0",
                "SEND_PER_SECOND": "0"}

    async with serving_world(tmp_path, no_limits) as world:
        cast = await plant(world)
        await wait_idle(cast, await last_call_seq(world.client))
        since = await last_call_seq(world.client)
        handler = LogRecords()
        watched = [logging.getLogger(name) for name in ("bot", "aiogram")]
        updates_log = logging.getLogger("bot.updates")
        level = updates_log.level
        updates_log.setLevel(logging.INFO)
        for logger in watched:
            logger.addHandler(handler)
        try:
            for number, action in enumerate(plan):
                cast.step = number
                try:
                    await perform(cast, action)
                except SandboxError as exc:
                    cast.skip(f"{action['kind']}: {exc.message[:40]}")  # e.g. a message the sandbox cannot edit
                if number % BATCH == BATCH - 1:
                    await wait_idle(cast, await last_call_seq(world.client))
            await wait_idle(cast, await last_call_seq(world.client))
        finally:
            for logger in watched:
                logger.removeHandler(handler)
            updates_log.setLevel(level)

        activity = world.services.activity
        for _ in range(300):
            if activity.in_flight <= 0:
                break
            await asyncio.sleep(0.1)
        else:
            stuck = [t for t in asyncio.all_tasks() if "_process_update" in repr(t.get_coro())
                     or "feed_update" in repr(t.get_coro())]
            for task in stuck[:4]:
                coro, frames = task.get_coro(), []
                while coro is not None:
                    frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
                    if frame is not None:
                        frames.append(f"{frame.f_code.co_filename.split('/work/main/')[-1]}:{frame.f_lineno}")
                    coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
                print("stuck:", " > ".join(frames[-8:]))
            raise AssertionError(f"{activity.in_flight} update(s) still being handled 30 s after the fuzz")
        calls = await world.client.calls(since=since)
        refused = [c for c in calls if not c["ok"] and not c.get("fault")]
        unexplained = [c for c in refused if not explained(cast, c)]
        for call in refused:
            if call not in unexplained:
                world.reported.add(call["seq"])
        not_modified = sum("message is not modified" in str(c.get("description")) for c in refused)
        errors = [r for r in handler.records if r.levelno >= logging.ERROR]
        outcomes = [r.getMessage() for r in handler.records if r.name == "bot.updates"]
        handled = sum("outcome=ok" in line for line in outcomes)
        found = await leaks(cast, since)
        card = [m for m in await world.client.messages(int(cast.groups["bound"]["id"])) if m.get("sender") == "bot"
                and MARKER in message_text(m)]
        assert card and PHONE_DIGITS in re.sub(r"\D", "", message_text(card[0])), "the leak check would miss A's data"
        if os.environ.get("FUZZ_DEBUG"):
            print(cast.skipped)
            print(Counter((c["method"], c["description"]) for c in refused))
            print(Counter(re.sub(r"update=\d+ |ms=[\d.]+ ", "", line) for line in outcomes).most_common(60))
        print(f"\nfuzz: updates={cast.updates} handled={handled} errors={len(errors)} refused={len(unexplained)} "
              f"leaks={len(found)} explained={len(refused) - len(unexplained)} not_modified={not_modified} "
              f"skipped={sum(cast.skipped.values())} "
              f"seed={SEED}")

        # still alive: a newcomer and resident A get their answers
        newcomer = await world.person("Нова")
        [hello] = await newcomer.say("/start", timeout=15)
        assert message_text(hello)
        await cast.people["A"].say("/start", timeout=15)
        request = next(r for r in await world.services.requests.for_resident(cast.people["A"].id)
                       if r.id == cast.a_request)
        assert MARKER in (request.description or ""), "A's request lost its description: the leak check saw nothing"

        problems = []
        for record in errors:
            problems.append(f"{record.name}: {record.getMessage()[:300]}")
            if record.exc_info and len(problems) < 10:
                problems.append("".join(traceback.format_exception(*record.exc_info)[-6:]))
        problems += [summarise(c) for c in unexplained]
        problems += found
        assert not problems, "\n".join(problems[:60])
