"""The bot's translations: locales/*/LC_MESSAGES/messages.mo, for the bot and for the command lines that print
its texts. aiogram loads slowly, so a command line imports this module when it runs, not at its top."""
from __future__ import annotations

import html
import re

from aiogram.utils.i18n import I18n

from bot.config import PROJECT_ROOT, Settings

LOCALES_DIR = PROJECT_ROOT / "locales"


def make_i18n(settings: Settings) -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=settings.default_locale, domain="messages")


def plain_text(messages: list[str]) -> str:
    """Messages written in Telegram's HTML as plain text, for a terminal."""
    text = "\n".join(messages)
    return html.unescape(re.sub(r"</?[a-z]+>", "", text))
