"""What a resident sends, read: a message's text and file with what is wrong with them, a phone number in any
usual spelling; and the buttons taken off a message once pressed. Shared by the request form, the follow-ups,
the consultations (and the staff's answers, which are read the same way)."""
from __future__ import annotations

import re
from typing import Optional

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.requests.models import MAX_FILE_BYTES, Attachment
from dialogs.common import too_long

PHONE = re.compile(r"^(?:\+?38)?0(\d{9})$")


def normalise_phone(text: str) -> Optional[str]:
    """A Ukrainian number in any usual spelling as +380XXXXXXXXX, or None."""
    digits = re.sub(r"[\s()\-.]", "", text.strip())
    match = PHONE.match(digits)
    return f"+380{match.group(1)}" if match else None


def attachment_of(message: Message) -> Optional[Attachment]:
    if message.photo:
        photo = message.photo[-1]
        return Attachment("photo", photo.file_id, None, photo.file_size)
    if message.document:
        doc = message.document
        return Attachment("document", doc.file_id, doc.file_name, doc.file_size)
    if message.voice:
        return Attachment("voice", message.voice.file_id, None, message.voice.file_size)
    return None


def read_input(message: Message, limit: int,
               max_bytes: Optional[int] = MAX_FILE_BYTES) -> tuple[str, list[Attachment], Optional[str]]:
    """What a person sent: its text (or caption), its file, and what is wrong with it if anything:
    'empty' (nothing we can pass on), 'too_long' (over `limit` characters) or 'too_big' (a file over
    `max_bytes`; staff answers pass None, since files are passed on by their Telegram id)."""
    attachment = attachment_of(message)
    text = message.text or message.caption or ""
    files = [attachment] if attachment else []
    if not text and not files:
        return text, files, "empty"
    if len(text) > limit:
        return text, files, "too_long"
    if max_bytes and attachment is not None and attachment.size and attachment.size > max_bytes:
        return text, files, "too_big"
    return text, files, None


def too_much(problem: Optional[str], limit: int) -> Optional[str]:
    """What to tell a resident whose message is too long or whose file is too big (read_input's problem)."""
    if problem == "too_long":
        return too_long(limit)
    if problem == "too_big":
        return too_big()
    return None


def too_big() -> str:
    return _("This file is larger than {mb} MB. Please send a smaller one or a photo of it.").format(
        mb=MAX_FILE_BYTES // (1024 * 1024))


async def drop_buttons(message: Message) -> None:
    """Take the buttons off the message pressed; a made-up press on a message without them changes nothing."""
    if not message.reply_markup:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            raise
