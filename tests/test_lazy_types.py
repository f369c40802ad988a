"""bot/__init__.py: aiogram's types built on first use read, dump and refuse exactly as when built at import."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USER = {"id": 5, "is_bot": False, "first_name": "Ольга", "language_code": "uk"}
CHAT = {"id": 5, "type": "private", "first_name": "Ольга"}
GROUP = {"id": -100, "type": "supergroup", "title": "Служба", "is_forum": True}
MESSAGE = {"message_id": 7, "date": 1700000000, "chat": CHAT, "from": USER, "text": "/start abc",
           "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
           "reply_markup": {"inline_keyboard": [[{"text": "Так", "callback_data": "p:lang:uk"}]]}}
PAYLOADS = [
    {"update_id": 1, "message": MESSAGE},
    {"update_id": 2, "callback_query": {"id": "q", "from": USER, "chat_instance": "c", "data": "n:menu",
                                        "message": MESSAGE}},
    {"update_id": 3, "message": {"message_id": 8, "date": 1700000001, "chat": GROUP, "from": USER,
                                 "message_thread_id": 4, "is_topic_message": True, "caption": "фото",
                                 "photo": [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}],
                                 "reply_to_message": {"message_id": 4, "date": 1700000000, "chat": GROUP,
                                                      "forum_topic_created": {"name": "2026-000123",
                                                                              "icon_color": 7322096}}}},
    {"update_id": 4, "my_chat_member": {"chat": GROUP, "from": USER, "date": 1700000002,
                                        "old_chat_member": {"status": "left", "user": USER},
                                        "new_chat_member": {"status": "administrator", "user": USER,
                                                            "can_be_edited": False, "is_anonymous": False,
                                                            "can_manage_chat": True, "can_delete_messages": True,
                                                            "can_manage_video_chats": True,
                                                            "can_restrict_members": True,
                                                            "can_promote_members": False, "can_change_info": True,
                                                            "can_invite_users": True, "can_post_stories": False,
                                                            "can_edit_stories": False, "can_delete_stories": False,
                                                            "can_manage_topics": True}}},
    {"update_id": 5, "message": {"message_id": 9, "date": 1700000003, "chat": CHAT, "from": USER,
                                 "contact": {"phone_number": "+380000000000", "first_name": "Ольга", "user_id": 5},
                                 "voice": {"file_id": "v", "file_unique_id": "w", "duration": 3}}},
    {"update_id": 6, "message": {"message_id": "x", "date": "yesterday", "chat": {"id": 5}}},  # refused
    {"update_id": 7, "callback_query": {"id": "q", "from": {"id": 5}, "chat_instance": "c"}},  # refused
    {"update_id": "eight"},  # refused
]

READ = """
import json, sys
first = sys.argv[1]
if first == "aiogram":
    import aiogram.types
import bot
import aiogram.types as types
from aiogram.methods import SendMessage
from pydantic import ValidationError
deferred = len(bot.DEFERRED)
out = []
for payload in json.loads(sys.stdin.read()):
    try:
        out.append(types.Update.model_validate(payload).model_dump(mode="json", exclude_none=True))
    except ValidationError as exc:
        out.append(sorted((".".join(map(str, e["loc"])), e["type"]) for e in exc.errors()))
keyboard = types.InlineKeyboardMarkup(inline_keyboard=[[types.InlineKeyboardButton(text="a", callback_data="b")]])
method = SendMessage(chat_id=5, text="x", reply_markup=keyboard)
out.append([method.chat_id, method.text, method.reply_markup.model_dump(mode="json", exclude_none=True)])
out.append(types.Message.model_validate(dict(
    message_id=1, date=0, chat={"id": 1, "type": "private"}, sticker={"file_id": "s", "file_unique_id": "t",
    "type": "regular", "width": 1, "height": 1, "is_animated": False, "is_video": False})).sticker.file_id)
print(json.dumps({"deferred": deferred, "out": out}, ensure_ascii=False, default=str))
"""


def read_in_process(first: str) -> dict:
    done = subprocess.run([sys.executable, "-c", READ, first], input=json.dumps(PAYLOADS), capture_output=True,
                          text=True, cwd=ROOT, check=True)
    return json.loads(done.stdout)


def test_types_built_on_first_use_read_as_those_built_at_import():
    lazy, eager = read_in_process("bot"), read_in_process("aiogram")
    assert lazy["deferred"] > 300 and eager["deferred"] == 0  # bot imported after aiogram's types: as before
    assert lazy["out"] == eager["out"]
    assert all(isinstance(refused, list) and refused for refused in lazy["out"][5:8])
    assert lazy["out"][0]["message"]["text"] == "/start abc"


def test_a_type_is_built_when_first_used():
    check = ("import bot, aiogram.types as t; assert not t.Sticker.__pydantic_complete__; "
             "t.Update.model_validate({'update_id': 1}); assert t.Update.__pydantic_complete__; "
             "assert not t.Sticker.__pydantic_complete__; t.Sticker.model_validate({'file_id': 's', "
             "'file_unique_id': 't', 'type': 'regular', 'width': 1, 'height': 1, 'is_animated': False, "
             "'is_video': False}); assert t.Sticker.__pydantic_complete__")
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True)
