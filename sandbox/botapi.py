"""Bot API methods of the sandbox: parameters in, Telegram-shaped results or errors out.

Methods listed in the schema but not implemented here answer ``true`` when they return a
Boolean and "Bad Request: method not supported by the sandbox" otherwise.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .core import SandboxCore
from .errors import NOT_MODIFIED, ApiError, bad_request, not_found, too_many_requests
from .files import Upload, guess_mime, image_size, is_image
from .formatting import format_text
from .markup import check_reply_markup
from .schema import parse_params
from .state import BotRecord, Conversation, MessageRecord, now

log = logging.getLogger("sandbox")
MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_DOCUMENT = 50 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
MEDIA_KINDS = ("photo", "document", "voice", "audio", "video", "animation")
CONTENT_KEYS = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "voice",
    "audio",
    "video",
    "animation",
    "contact",
    "location",
    "media_group_id",
    "show_caption_above_media",
)
COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


@dataclass
class Request:
    bot: BotRecord
    params: dict[str, Any]
    uploads: dict[str, Upload]


Handler = Callable[["BotApi", Request], Awaitable[Any]]


def method(name: str) -> Callable[[Handler], Handler]:
    """Mark a coroutine as the implementation of a Bot API method."""

    def mark(func: Handler) -> Handler:
        func.api_method = name  # type: ignore[attr-defined]
        return func

    return mark


class BotApi:
    """Runs Bot API calls against a :class:`SandboxCore` and logs each one."""

    def __init__(self, core: SandboxCore) -> None:
        self.core = core
        self.handlers: dict[str, Callable[[Request], Awaitable[Any]]] = {}
        for attribute in dir(type(self)):
            func = getattr(type(self), attribute)
            if hasattr(func, "api_method"):
                self.handlers[func.api_method.lower()] = getattr(self, attribute)
        core.method_runner = self.run_for_bot

    # --- entry points ---------------------------------------------------------------------

    async def call(
        self, token: str, name: str, raw: dict[str, Any], uploads: dict[str, Upload]
    ) -> tuple[int, dict[str, Any]]:
        """One HTTP call: returns the HTTP status and the JSON body."""
        bot_id = 0
        logged: dict[str, Any] = _summarise(raw)
        try:
            bot = self.core.authenticate(token)
            bot_id = bot.id
            result, logged = await self._execute(bot, name, raw, uploads)
            body: dict[str, Any] = {"ok": True, "result": result}
            status = 200
        except ApiError as error:
            body, status = error.to_json(), error.code
        self.core.record_call(bot_id, name, logged, body)
        log.debug("bot %s %s -> %s", bot_id, name, "ok" if body["ok"] else body["description"])
        return status, body

    async def run_for_bot(self, bot: BotRecord, name: str, raw: dict[str, Any]) -> Any:
        """A call made by a bot in its webhook reply."""
        _status, body = await self.call(bot.token, name, raw, {})
        return body.get("result")

    async def _execute(
        self,
        bot: BotRecord,
        name: str,
        raw: dict[str, Any],
        uploads: dict[str, Upload],
    ) -> tuple[Any, dict[str, Any]]:
        spec = self.core.schema.method(name)
        if spec is None:
            raise not_found()
        params = parse_params(spec, raw, uploads)
        handler = self.handlers.get(spec.name.lower())
        if handler is None:
            if spec.returns == "Boolean":
                return True, _summarise(params)
            raise bad_request("method not supported by the sandbox")
        return await handler(Request(bot, params, uploads)), _summarise(params)

    # --- helpers --------------------------------------------------------------------------

    def _flood(self, bot: BotRecord, conv: Conversation, count: int = 1) -> None:
        wait = self.core.flood.check(bot.id, conv.chat_id, count)
        if wait:
            raise too_many_requests(wait)

    def _reply_target(self, conv: Conversation, p: dict[str, Any]) -> MessageRecord | None:
        reply = p.get("reply_parameters") or {}
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or p.get("reply_to_message_id")
        if not message_id:
            return None
        allow = bool(reply.get("allow_sending_without_reply") or p.get("allow_sending_without_reply"))
        record = conv.messages.get(int(message_id)) if str(message_id).lstrip("-").isdigit() else None
        if record is None or record.deleted:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return record

    @staticmethod
    def _markup(p: dict[str, Any], *, inline_only: bool = False) -> dict[str, Any] | None:
        if "reply_markup" not in p:
            return None
        return check_reply_markup(p["reply_markup"], inline_only=inline_only)

    def _send(self, r: Request, content: dict[str, Any], *, markup: bool = True) -> MessageRecord:
        """Common path of every send method: chat, reply, topic, markup, flood, store."""
        p = r.params
        conv = self.core.resolve_chat(r.bot, p["chat_id"])
        reply_to = self._reply_target(conv, p)
        thread = self.core.thread_for_send(conv, p.get("message_thread_id"), reply_to)
        keyboard = self._markup(p) if markup else None
        self._flood(r.bot, conv)
        return self.core.add_message(
            conv,
            sender="bot",
            sender_id=r.bot.id,
            content=content,
            thread_id=thread,
            reply_to=reply_to,
            markup=keyboard,
        )

    @staticmethod
    def _text(p: dict[str, Any]) -> dict[str, Any]:
        text, entities = format_text(p.get("text", ""), p.get("parse_mode"), p.get("entities"))
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return {"text": text, **({"entities": entities} if entities else {})}

    @staticmethod
    def _caption(p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("caption"):
            return {}
        caption, entities = format_text(p["caption"], p.get("parse_mode"), p.get("caption_entities"))
        if len(caption) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        if not caption:
            return {}
        return {"caption": caption, **({"caption_entities": entities} if entities else {})}

    async def _file_bytes(self, value: Upload | str, kind: str) -> tuple[bytes, str, str] | str:
        """Content, file name and MIME of a new file; or the file_id of a known one."""
        if isinstance(value, Upload):
            return value.content, value.filename, value.content_type
        if value in self.core.state.files:
            return value
        if re.match(r"^https?://", value, re.IGNORECASE):
            return await self._download(value)
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def _download(self, url: str) -> tuple[bytes, str, str]:
        assert self.core.http is not None
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with self.core.http.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise bad_request("failed to get HTTP URL content")
                content = await response.read()
                mime = response.headers.get("Content-Type", "").split(";")[0]
        except (aiohttp.ClientError, TimeoutError, OSError):
            raise bad_request("failed to get HTTP URL content") from None
        name = url.rsplit("/", 1)[-1].split("?")[0] or "file"
        return content, name, mime or guess_mime(name)

    async def _media(self, kind: str, value: Upload | str, p: dict[str, Any]) -> dict[str, Any]:
        """The content object of a media message (photo sizes, document, voice...)."""
        source = await self._file_bytes(value, kind)
        if kind == "photo":
            return {"photo": self._photo(source)}
        if isinstance(source, str):
            record = self.core.file(source)
        else:
            content, name, mime = source
            if len(content) > MAX_DOCUMENT:
                raise ApiError(413, "Request Entity Too Large")
            folder = {"document": "documents", "voice": "voice", "audio": "music", "video": "videos"}.get(kind, kind)
            default_mime = {"voice": "audio/ogg", "audio": "audio/mpeg", "video": "video/mp4"}.get(kind, "")
            record = self.core.store_file(
                content, folder, name, mime if mime != "application/octet-stream" else default_mime
            )
        extra: dict[str, Any] = {}
        if kind in ("document", "audio", "video", "animation") and record.file_name:
            extra["file_name"] = record.file_name
        extra["mime_type"] = record.mime_type
        if kind in ("voice", "audio", "video", "animation"):
            extra["duration"] = int(p.get("duration") or 1)
        if kind in ("video", "animation"):
            extra["width"], extra["height"] = int(p.get("width") or 640), int(p.get("height") or 360)
        return {kind: self.core.file_api(record, **extra)}

    def _photo(self, source: tuple[bytes, str, str] | str) -> list[dict[str, Any]]:
        if isinstance(source, str):
            record = self.core.file(source)
            width, height = image_size(record.content) or (1280, 960)
            return [self.core.file_api(record, width=width, height=height)]
        content, name, _ = source
        if not is_image(content):
            raise bad_request("IMAGE_PROCESS_FAILED")
        if len(content) > MAX_PHOTO:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        return self.core.photo(content, name or "photo.jpg")

    def _own_message(self, r: Request, verb: str) -> tuple[Conversation, MessageRecord]:
        """The message an edit refers to, with Telegram's errors."""
        p = r.params
        if p.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        if "chat_id" not in p or "message_id" not in p:
            raise bad_request("message identifier is not specified")
        conv = self.core.resolve_chat(r.bot, p["chat_id"], sending=False)
        record = conv.messages.get(p["message_id"])
        if record is None or record.deleted:
            raise bad_request(f"message to {verb} not found")
        if record.sender != "bot" or record.sender_id != r.bot.id:
            raise bad_request("message can't be edited")
        return conv, record

    @staticmethod
    def _same_markup(record: MessageRecord, markup: dict[str, Any] | None) -> bool:
        current = record.markup if "inline_keyboard" in record.markup else None
        return (current or None) == (markup or None)

    # --- updates and webhooks -------------------------------------------------------------

    @method("getMe")
    async def get_me(self, r: Request) -> dict[str, Any]:
        return {
            **r.bot.to_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    @method("getUpdates")
    async def get_updates(self, r: Request) -> list[dict[str, Any]]:
        p = r.params
        return await self.core.get_updates(
            r.bot,
            p.get("offset"),
            p.get("limit", 100),
            float(p.get("timeout", 0)),
            p.get("allowed_updates"),
        )

    @method("setWebhook")
    async def set_webhook(self, r: Request) -> bool:
        p = r.params
        self.core.set_webhook(
            r.bot,
            p["url"],
            p.get("secret_token", ""),
            p.get("allowed_updates"),
            bool(p.get("drop_pending_updates")),
            int(p.get("max_connections", 40)),
        )
        return True

    @method("deleteWebhook")
    async def delete_webhook(self, r: Request) -> bool:
        self.core.set_webhook(r.bot, "", drop_pending=bool(r.params.get("drop_pending_updates")))
        return True

    @method("getWebhookInfo")
    async def get_webhook_info(self, r: Request) -> dict[str, Any]:
        return self.core.webhook_info(r.bot)

    # --- sending --------------------------------------------------------------------------

    @method("sendMessage")
    async def send_message(self, r: Request) -> dict[str, Any]:
        return self._send(r, self._text(r.params)).data

    async def _send_media(self, r: Request, kind: str) -> dict[str, Any]:
        content = {**await self._media(kind, r.params[kind], r.params), **self._caption(r.params)}
        return self._send(r, content).data

    @method("sendPhoto")
    async def send_photo(self, r: Request) -> dict[str, Any]:
        return await self._send_media(r, "photo")

    @method("sendDocument")
    async def send_document(self, r: Request) -> dict[str, Any]:
        return await self._send_media(r, "document")

    @method("sendVoice")
    async def send_voice(self, r: Request) -> dict[str, Any]:
        return await self._send_media(r, "voice")

    @method("sendAudio")
    async def send_audio(self, r: Request) -> dict[str, Any]:
        return await self._send_media(r, "audio")

    @method("sendVideo")
    async def send_video(self, r: Request) -> dict[str, Any]:
        return await self._send_media(r, "video")

    @method("sendContact")
    async def send_contact(self, r: Request) -> dict[str, Any]:
        p = r.params
        contact = {"phone_number": p["phone_number"], "first_name": p["first_name"]}
        for key in ("last_name", "vcard"):
            if p.get(key):
                contact[key] = p[key]
        return self._send(r, {"contact": contact}).data

    @method("sendLocation")
    async def send_location(self, r: Request) -> dict[str, Any]:
        p = r.params
        if not (-90 <= p["latitude"] <= 90 and -180 <= p["longitude"] <= 180):
            raise bad_request("wrong location specified")
        return self._send(r, {"location": {"latitude": p["latitude"], "longitude": p["longitude"]}}).data

    @method("sendMediaGroup")
    async def send_media_group(self, r: Request) -> list[dict[str, Any]]:
        items = r.params["media"]
        if not 2 <= len(items) <= 10:
            raise bad_request("media group must include 2-10 items")
        kinds = {item.get("type") if isinstance(item, dict) else None for item in items}
        if not (kinds <= {"photo", "video"} or kinds == {"document"} or kinds == {"audio"}):
            raise bad_request("Can't use the media of the specified type in the album")
        contents = [await self._group_item(item, r.uploads) for item in items]
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"])
        reply_to = self._reply_target(conv, r.params)
        thread = self.core.thread_for_send(conv, r.params.get("message_thread_id"), reply_to)
        self._flood(r.bot, conv, len(contents))
        group_id = str(10**17 + secrets.randbelow(10**17))
        return [
            self.core.add_message(
                conv,
                sender="bot",
                sender_id=r.bot.id,
                content={**content, "media_group_id": group_id},
                thread_id=thread,
                reply_to=reply_to,
            ).data
            for content in contents
        ]

    async def _group_item(self, item: dict[str, Any], uploads: dict[str, Upload]) -> dict[str, Any]:
        media = item.get("media")
        if isinstance(media, str) and media.startswith("attach://"):
            media = uploads.get(media[len("attach://") :])
        if not media:
            raise bad_request("can't parse InputMedia: media not found")
        kind = str(item["type"])
        return {**await self._media(kind, media, item), **self._caption(item)}

    @method("copyMessage")
    async def copy_message(self, r: Request) -> dict[str, Any]:
        p = r.params
        source = self._source_message(r, "copy")
        content = {key: value for key, value in source.data.items() if key in CONTENT_KEYS}
        if "caption" in p or "caption_entities" in p:
            content = {k: v for k, v in content.items() if k not in ("caption", "caption_entities")}
            content.update(self._caption(p))
        if source.service:
            raise bad_request("message can't be copied")
        return {"message_id": self._send(r, content).message_id}

    @method("forwardMessage")
    async def forward_message(self, r: Request) -> dict[str, Any]:
        source = self._source_message(r, "forward")
        if source.service:
            raise bad_request("message can't be forwarded")
        content = {key: value for key, value in source.data.items() if key in CONTENT_KEYS}
        content["forward_origin"] = {"type": "user", "date": source.data["date"], "sender_user": source.data["from"]}
        return self._send(r, content, markup=False).data

    def _source_message(self, r: Request, verb: str) -> MessageRecord:
        conv = self.core.resolve_chat(r.bot, r.params["from_chat_id"], sending=False)
        record = conv.messages.get(r.params["message_id"])
        if record is None or record.deleted:
            raise bad_request(f"message to {verb} not found")
        return record

    @method("sendChatAction")
    async def send_chat_action(self, r: Request) -> bool:
        if r.params["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"])
        self.core.chat_actions[conv.key] = (r.params["action"], now())
        self.core.touch()
        return True

    # --- editing and deleting -------------------------------------------------------------

    @method("editMessageText")
    async def edit_message_text(self, r: Request) -> dict[str, Any]:
        content = self._text(r.params)
        _, record = self._own_message(r, "edit")
        if "text" not in record.data:
            raise bad_request("there is no text in the message to edit")
        markup = self._markup(r.params, inline_only=True)
        same_text = record.data["text"] == content["text"] and record.data.get("entities", []) == content.get(
            "entities", []
        )
        if same_text and self._same_markup(record, markup):
            raise bad_request(NOT_MODIFIED)
        return self.core.edit_message(record, content, markup, remove=("entities",)).data

    @method("editMessageCaption")
    async def edit_message_caption(self, r: Request) -> dict[str, Any]:
        _, record = self._own_message(r, "edit")
        if not any(kind in record.data for kind in MEDIA_KINDS):
            raise bad_request("there is no caption in the message to edit")
        content = self._caption(r.params)
        markup = self._markup(r.params, inline_only=True)
        same = record.data.get("caption", "") == content.get("caption", "") and record.data.get(
            "caption_entities", []
        ) == content.get("caption_entities", [])
        if same and self._same_markup(record, markup):
            raise bad_request(NOT_MODIFIED)
        return self.core.edit_message(record, content, markup, remove=("caption", "caption_entities")).data

    @method("editMessageReplyMarkup")
    async def edit_message_reply_markup(self, r: Request) -> dict[str, Any]:
        _, record = self._own_message(r, "edit")
        markup = self._markup(r.params, inline_only=True)
        if self._same_markup(record, markup):
            raise bad_request(NOT_MODIFIED)
        return self.core.edit_message(record, {}, markup).data

    @method("deleteMessage")
    async def delete_message(self, r: Request) -> bool:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        self._delete(r.bot, conv, r.params["message_id"])
        return True

    @method("deleteMessages")
    async def delete_messages(self, r: Request) -> bool:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        ids = [i for i in r.params["message_ids"] if isinstance(i, int)]
        if not 1 <= len(ids) <= 100:
            raise bad_request("too many messages to delete" if ids else "message identifiers are not specified")
        for message_id in ids:
            record = conv.messages.get(message_id)
            if record is not None and not record.deleted:
                self._delete(r.bot, conv, message_id)
        return True

    def _delete(self, bot: BotRecord, conv: Conversation, message_id: int) -> None:
        record = conv.messages.get(message_id)
        if record is None or record.deleted:
            raise bad_request("message to delete not found")
        is_own = record.sender == "bot" and record.sender_id == bot.id
        if conv.chat_id < 0 and not is_own:
            chat = self.core.state.chats[conv.chat_id]
            if chat.status(bot.id) not in ("administrator", "creator"):
                raise bad_request("message can't be deleted")
        if now() - record.data.get("date", 0) > 48 * 3600 and not is_own:
            raise bad_request("message can't be deleted for everyone")
        self.core.delete_message(record)

    # --- callback queries and files -------------------------------------------------------

    @method("answerCallbackQuery")
    async def answer_callback_query(self, r: Request) -> bool:
        p = r.params
        if len(p.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        answer: dict[str, Any] = {key: p[key] for key in ("text", "show_alert", "url", "cache_time") if key in p}
        answer.setdefault("show_alert", False)
        self.core.answer_callback(r.bot, p["callback_query_id"], answer)
        return True

    @method("getFile")
    async def get_file(self, r: Request) -> dict[str, Any]:
        record = self.core.file(r.params["file_id"])
        return self.core.file_api(record, file_path=record.file_path)

    @method("getUserProfilePhotos")
    async def get_user_profile_photos(self, r: Request) -> dict[str, Any]:
        if self.core.state.person(r.params["user_id"]) is None:
            raise bad_request("user not found")
        return {"total_count": 0, "photos": []}

    # --- forum topics ---------------------------------------------------------------------

    def _forum(self, r: Request) -> Any:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        if conv.chat_id > 0:
            raise bad_request("the chat is not a forum")
        chat = self.core.state.chats[conv.chat_id]
        if not chat.is_forum:
            raise bad_request("the chat is not a forum")
        if chat.status(r.bot.id) not in ("administrator", "creator"):
            raise bad_request("not enough rights to manage topics")
        return chat

    @method("createForumTopic")
    async def create_forum_topic(self, r: Request) -> dict[str, Any]:
        chat = self._forum(r)
        p = r.params
        topic = self.core.create_topic(
            chat, p["name"], r.bot.id, p.get("icon_color"), p.get("icon_custom_emoji_id", "")
        )
        return topic.to_api()

    @method("editForumTopic")
    async def edit_forum_topic(self, r: Request) -> bool:
        chat = self._forum(r)
        topic = self.core.topic(chat, r.params["message_thread_id"])
        changes = {k: r.params[k] for k in ("name", "icon_custom_emoji_id") if k in r.params}
        if "name" in changes and not 1 <= len(changes["name"]) <= 128:
            raise bad_request("TOPIC_TITLE_EMPTY")
        if all(getattr(topic, key) == value for key, value in changes.items()):
            raise bad_request("TOPIC_NOT_MODIFIED")
        for key, value in changes.items():
            setattr(topic, key, value)
        self._topic_service(r, chat.id, topic.message_thread_id, {"forum_topic_edited": changes})
        return True

    async def _toggle_topic(self, r: Request, closed: bool) -> bool:
        chat = self._forum(r)
        topic = self.core.topic(chat, r.params["message_thread_id"])
        if topic.is_closed == closed:
            raise bad_request("TOPIC_NOT_MODIFIED")
        topic.is_closed = closed
        key = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._topic_service(r, chat.id, topic.message_thread_id, {key: {}})
        return True

    def _topic_service(self, r: Request, chat_id: int, thread_id: int, content: dict[str, Any]) -> None:
        conv = self.core.group_conversation(chat_id)
        self.core.add_message(conv, sender="bot", sender_id=r.bot.id, content=content, thread_id=thread_id)

    @method("closeForumTopic")
    async def close_forum_topic(self, r: Request) -> bool:
        return await self._toggle_topic(r, True)

    @method("reopenForumTopic")
    async def reopen_forum_topic(self, r: Request) -> bool:
        return await self._toggle_topic(r, False)

    @method("deleteForumTopic")
    async def delete_forum_topic(self, r: Request) -> bool:
        self.core.delete_topic(self._forum(r), r.params["message_thread_id"])
        return True

    # --- chats and members ----------------------------------------------------------------

    @method("getChat")
    async def get_chat(self, r: Request) -> dict[str, Any]:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        info: dict[str, Any] = {
            **self.core.chat_api(conv),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        pinned = self.core.pinned.get(conv.key)
        if pinned and pinned in conv.messages and not conv.messages[pinned].deleted:
            info["pinned_message"] = conv.messages[pinned].data
        return info

    @method("getChatMember")
    async def get_chat_member(self, r: Request) -> dict[str, Any]:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        person_id = r.params["user_id"]
        person = self.core.state.person(person_id)
        if person is None:
            raise bad_request("user not found")
        if conv.chat_id > 0:
            status = "member" if person_id in (conv.chat_id, r.bot.id) else "left"
            return {"status": status, "user": person}
        return self.core.member_api(self.core.state.chats[conv.chat_id], person_id)

    @method("getChatAdministrators")
    async def get_chat_administrators(self, r: Request) -> list[dict[str, Any]]:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        if conv.chat_id > 0:
            raise bad_request("there are no administrators in the private chat")
        chat = self.core.state.chats[conv.chat_id]
        return [
            self.core.member_api(chat, member)
            for member, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    @method("getChatMemberCount")
    async def get_chat_member_count(self, r: Request) -> int:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        if conv.chat_id > 0:
            return 2
        chat = self.core.state.chats[conv.chat_id]
        return sum(1 for member in chat.members if chat.is_active(member))

    @method("leaveChat")
    async def leave_chat(self, r: Request) -> bool:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        if conv.chat_id > 0:
            raise bad_request("chat member status can't be changed in private chats")
        self.core.set_bot_status(self.core.state.chats[conv.chat_id], r.bot, "left", r.bot.id)
        return True

    @method("pinChatMessage")
    async def pin_chat_message(self, r: Request) -> bool:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        record = conv.messages.get(r.params["message_id"])
        if record is None or record.deleted:
            raise bad_request("message to pin not found")
        self.core.pinned[conv.key] = record.message_id
        self.core.touch()
        return True

    @method("unpinChatMessage")
    async def unpin_chat_message(self, r: Request) -> bool:
        conv = self.core.resolve_chat(r.bot, r.params["chat_id"], sending=False)
        self.core.pinned.pop(conv.key, None)
        self.core.touch()
        return True

    # --- commands and menu ----------------------------------------------------------------

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> str:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True) + "|" + str(p.get("language_code", ""))

    @method("setMyCommands")
    async def set_my_commands(self, r: Request) -> bool:
        commands = r.params["commands"]
        if len(commands) > 100:
            raise bad_request("too many commands")
        checked = []
        for item in commands:
            if not isinstance(item, dict) or not COMMAND_RE.match(str(item.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = str(item.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            checked.append({"command": item["command"], "description": description})
        r.bot.commands[self._commands_key(r.params)] = checked
        return True

    @method("getMyCommands")
    async def get_my_commands(self, r: Request) -> list[dict[str, str]]:
        return r.bot.commands.get(self._commands_key(r.params), [])

    @method("deleteMyCommands")
    async def delete_my_commands(self, r: Request) -> bool:
        r.bot.commands.pop(self._commands_key(r.params), None)
        return True

    @method("setChatMenuButton")
    async def set_chat_menu_button(self, r: Request) -> bool:
        button = r.params.get("menu_button") or {"type": "default"}
        if button.get("type") not in ("commands", "web_app", "default"):
            raise bad_request("can't parse menu button: unsupported type")
        r.bot.menu_buttons[str(r.params.get("chat_id", "default"))] = button
        return True

    @method("getChatMenuButton")
    async def get_chat_menu_button(self, r: Request) -> dict[str, Any]:
        buttons = r.bot.menu_buttons
        return buttons.get(str(r.params.get("chat_id", "default"))) or buttons.get("default") or {"type": "default"}


def _summarise(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters for the call log: uploads are replaced by their name and size."""
    return {key: value.summary() if isinstance(value, Upload) else value for key, value in params.items()}
