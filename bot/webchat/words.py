"""The web chat page's own words (its title, buttons, labels and status lines), kept with every other text of the
bot: English message ids here, Ukrainian in locales/uk. The server puts them into the page in the language asked
for (http.py): the labels into the HTML, the rest as JSON for chat.js, so the page needs no build step and no
words of its own."""
from __future__ import annotations

import gettext
import html
import json
import re
from functools import lru_cache

from bot.config import LOCALES, PROJECT_ROOT
from bot.msgid import N_

LOCALES_DIR = PROJECT_ROOT / "locales"
SLOT = re.compile(r"\{\{(\w+)\}\}")


WORDS = {
    "title": N_("Community help: chat"),
    "heading": N_("Community help"),
    "device": N_("Another device"),
    "log": N_("Conversation"),
    "keys": N_("Menu buttons"),
    "attach": N_("Attach a photo or PDF"),
    "message": N_("Message"),
    "placeholder": N_("Type a message"),
    "send": N_("Send"),
    "device_title": N_("Continue on another device"),
    "device_help": N_("Open this link or type the code on another device within 15 minutes. The code works once."),
    "have_code": N_("I have a code from another device:"),
    "continue": N_("Continue"),
    "close": N_("Close"),
    "phone_title": N_("Your phone number"),
    "phone_help": N_("For example, 067 123 45 67"),
    "cancel": N_("Cancel"),
    "checking": N_("Getting the chat ready…"),
    "offline": N_("No connection. Trying again…"),
    "slow": N_("Too many messages. Wait a minute."),
    "too_big": N_("The file is too big: up to 5 MB."),
    "file_type": N_("Only photos (JPEG, PNG) or PDF files can be attached."),
    "too_many_files": N_("Too many files today."),
    "no_code": N_("The code did not work or was already used."),
    "failed": N_("Could not send. Please try again."),
    "email": N_("E-mail notice"),
    "email_title": N_("A notice by e-mail"),
    "email_help": N_("When something arrives while this page is closed, we send one short e-mail with a link to "
                     "the chat, never the message itself, at most once in {hours} hours. Leave the field empty to "
                     "stop."),
    "email_label": N_("Your e-mail address"),
    "save": N_("Save"),
    "email_saved": N_("Saved: we will write when something arrives."),
    "email_removed": N_("No more e-mails will be sent."),
    "bad_email": N_("This does not look like an e-mail address."),
    "file": N_("File"),
    "photo": N_("Photo"),
    "you": N_("You"),
    "bot": N_("Bot"),
}

# the widget's own two words, on the community's page
WIDGET = {"open": N_("💬 Chat: ask for help"), "close": N_("Close the chat")}


@lru_cache(maxsize=None)
def words(locale: str) -> dict[str, str]:
    """Every word of the page in `locale` (English where a translation is missing)."""
    catalogue = gettext.translation("messages", localedir=str(LOCALES_DIR), languages=[locale], fallback=True)
    return {key: catalogue.gettext(message) for key, message in WORDS.items()}


@lru_cache(maxsize=None)
def widget_script(template: str) -> str:
    """widget.js with the widget's words in every language (its "{{widget_words}}" slot)."""
    every = {}
    for locale in LOCALES:
        catalogue = gettext.translation("messages", localedir=str(LOCALES_DIR), languages=[locale], fallback=True)
        every[locale] = {key: catalogue.gettext(message) for key, message in WIDGET.items()}
    return template.replace('"{{widget_words}}"', json.dumps(every, ensure_ascii=False))


def choose(asked: str | None, chosen: str | None, default: str) -> str:
    """The page's language: the one its address asks for, else the resident's choice, else the default."""
    for locale in (asked, chosen):
        if locale in LOCALES:
            return locale
    return default


def render(template: str, locale: str) -> str:
    """The page with its slots ({{key}}) filled in `locale`; {{lang}} is the language and {{words}} all the words
    as JSON for chat.js (in an attribute, so no inline script is needed)."""
    said = words(locale)
    filled = {**{key: html.escape(text) for key, text in said.items()}, "lang": locale,
              "words": html.escape(json.dumps(said, ensure_ascii=False), quote=True)}
    return SLOT.sub(lambda m: filled[m.group(1)], template)
