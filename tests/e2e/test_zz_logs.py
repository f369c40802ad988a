"""The log never carries what people wrote: runs last in the package (files run in alphabetical order).

Every log record of every logger, DEBUG and up, emitted while the e2e package ran (tests/e2e/conftest.py keeps
them) is searched for what users sent in the sandboxes during the run: message texts and captions, file
names, shared contacts (phone and name), and the users' names. Commands and the bot's own button labels
that people tap are the bot's words and are not searched for. The sandbox's own logger stands for
Telegram's servers, not for the bot, and is left out.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import pytest

from tests.support.world import LOG_RECORDS, SANDBOXES

MIN_LENGTH = 4  # shorter words ("Так", "5") are everywhere
PREFIX = 20  # a long text is also looked for by its beginning: a log that cut it short still shows that
NOT_THE_BOT = ("sandbox",)  # the emulated Telegram side
PHONE_LIKE = re.compile(r"\+?\d[\d\s\-()]{6,}\d")


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def labels(markup: Any) -> Iterable[str]:
    """The texts of a markup's buttons (inline or reply keyboard)."""
    if not isinstance(markup, dict):
        return
    for key in ("inline_keyboard", "keyboard"):
        for row in markup.get(key) or []:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if isinstance(text, str):
                    yield text


def what_people_sent() -> tuple[set[str], set[str]]:
    """(texts and names, phone numbers as their last 9 digits) from every sandbox of the run."""
    texts: set[str] = set()
    phones: set[str] = set()
    bot_words: set[str] = set()
    for sandbox in SANDBOXES:
        state = sandbox.core.state
        for user in state.users.values():
            texts.update(n for n in (user.first_name, user.last_name, user.username) if n)
        for conversation in state.conversations.values():
            for record in conversation.messages.values():
                data = record.data
                if record.sender != "user":
                    bot_words.update(labels(record.markup))
                    bot_words.update(labels(data.get("reply_markup")))
                    continue
                for key in ("text", "caption"):
                    value = data.get(key)
                    if isinstance(value, str) and not value.startswith("/"):
                        texts.add(value.strip())
                        if len(digits(value)) >= 9 and PHONE_LIKE.fullmatch(value.strip()):
                            phones.add(digits(value)[-9:])
                contact = data.get("contact") or {}
                if contact.get("phone_number"):
                    phones.add(digits(contact["phone_number"])[-9:])
                texts.update(contact.get(k) for k in ("first_name", "last_name") if contact.get(k))
                name = (data.get("document") or {}).get("file_name")
                if name:
                    texts.add(name)
    texts = {t for t in texts - bot_words if len(t) >= MIN_LENGTH}
    return texts | {t[:PREFIX] for t in texts if len(t) > 2 * PREFIX}, phones


def leaks(message: str, typed: re.Pattern[str], phones: set[str]) -> list[str]:
    found = [f"text {t!r}" for t in sorted(set(typed.findall(message)))]
    for candidate in PHONE_LIKE.findall(message):
        number = digits(candidate)
        found += [f"phone …{p[-4:]}" for p in phones if p in number]
    return found


def test_the_log_has_no_texts_phones_or_names() -> None:
    if not SANDBOXES:
        pytest.skip("no end-to-end test ran before this one: run it with the whole tests/e2e package")
    texts, phones = what_people_sent()
    assert texts, "the run typed nothing to look for"
    typed = re.compile("|".join(re.escape(t) for t in sorted(texts, key=len, reverse=True)))
    hits, seen = [], set()
    for name, level, message in LOG_RECORDS:
        if name.startswith(NOT_THE_BOT) or (name, message) in seen:
            continue
        seen.add((name, message))
        found = leaks(message, typed, phones)
        if found:
            shown = message if len(message) <= 500 else message[:500] + "…"
            hits.append(f"{name} {level}: {', '.join(sorted(found))}\n    {shown!r}")
    assert not hits, f"{len(hits)} log record(s) carry what people wrote:\n" + "\n".join(hits)
