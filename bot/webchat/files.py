"""Files in the web chat: their ids and what their bytes say they are (never what the browser claims)."""
from __future__ import annotations

from typing import Optional

# The largest upload the web chat takes: its files are kept whole in the bot's database (web_files), so this stays
# well under Telegram's 20 MB; the request form tells a web resident this figure (bot/requests/models.py).
UPLOAD_BYTES = 5 * 1024 * 1024
FILE_PREFIX = "web:"  # a web chat file id; Telegram's file ids never hold a colon
# What a web resident may upload, by the first bytes of the file.
MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"%PDF-", "application/pdf"))
# What the bot itself may send as bytes (exports, QR codes) besides those.
MADE_BY_BOT = ((b"PK\x03\x04", "application/zip"),)
KIND = {"image/jpeg": "photo", "image/png": "photo", "application/pdf": "document"}


def sniff(content: bytes) -> Optional[str]:
    """The content type the bytes are, of those the web chat knows; None for anything else."""
    for magic, content_type in MAGIC + MADE_BY_BOT:
        if content.startswith(magic):
            return content_type
    return None


def uploadable(content: bytes) -> Optional[str]:
    """The content type of an upload a resident may send (JPEG, PNG or PDF), or None."""
    for magic, content_type in MAGIC:
        if content.startswith(magic):
            return content_type
    return None
