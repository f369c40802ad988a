"""Long texts in HTML messages: split before escaping, each message valid and within Telegram's limit, nothing lost
or repeated. Each message is parsed as Telegram does (the sandbox's parser refuses broken entities and tags)."""
from __future__ import annotations

import re

import pytest
from aiogram.utils.i18n import I18n

from bot.config import PROJECT_ROOT
from bot.requests.models import Event, Request, Status
from dialogs.common import (
    MESSAGE_LIMIT,
    Entry,
    clip_plain,
    html_messages,
    pack,
    shown_length,
    split_plain,
    units,
)
from dialogs.requests_view import resident_history, staff_card
from dialogs.requests_view.group import open_entries
from sandbox.formatting import parse_html, utf16_len
from tests.support.clock import IN_HOURS, KYIV

NASTY = "<b>&amp; 😀 Мама&тато <i>не</b> бачать 👨‍👩‍👧 ґанок\n"  # tags, an entity, emoji (one of 5 code points)


def shown(message: str) -> str:
    """What Telegram shows for one HTML message; fails as Telegram would refuse it."""
    text, _entities = parse_html(message)
    assert 0 < utf16_len(text.strip()) <= MESSAGE_LIMIT, utf16_len(text)
    return text


def words(text: str) -> list[str]:
    return text.split()


def test_a_long_text_of_markup_characters_and_emoji_arrives_whole():
    text = (NASTY * 400)[:10_000]
    messages = html_messages(text, head="👤 <b>Мешканець</b>:", joiner=" ", each=True)
    assert len(messages) > 2
    seen = [shown(m) for m in messages]
    body = [s.removeprefix("👤 Мешканець: ") for s in seen]
    assert all(s.startswith("👤 Мешканець: ") for s in seen)
    assert words(" ".join(body)) == words(text)  # nothing lost, nothing twice, in order


def test_pieces_end_at_lines_or_words_and_never_tear_an_emoji():
    text = "Перший абзац. " * 300 + "\n\n" + ("слово " * 900)
    pieces = split_plain(text, 1000)
    assert all(units(p) <= 1000 for p in pieces)
    assert all(not p[-1].isalpha() or p.endswith("слово") or p.endswith("абзац.") for p in pieces)
    family = "👨‍👩‍👧" * 400  # no blank to split at: cut between families, never inside one
    for piece in split_plain(family, 101):
        assert units(piece) <= 101 and len(piece) % 5 == 0
    accents = "й" * 10 + "е\u0301" * 200
    assert all(not p.startswith("\u0301") for p in split_plain(accents, 25))


def test_without_blanks_a_text_is_still_split_and_kept():
    text = "&" * 9000
    messages = html_messages(text)
    assert "".join(shown(m) for m in messages) == text


def test_the_budget_leaves_room_for_the_markup_around():
    head = "💬 <b>" + "Відповідь на ваше звернення № 2026-000001" + "</b>\n<i>соціальна працівниця, ЦНСП</i>"
    messages = html_messages("а" * 4090 + " " + "б" * 4090, head=head, tail="<i>кінець</i>")
    assert len(messages) >= 3
    for message in messages:
        shown(message)
    assert messages[0].startswith(head) and messages[-1].endswith("<i>кінець</i>")


def test_empty_texts_send_only_the_markup():
    assert html_messages("", head="<b>Заголовок</b>") == ["<b>Заголовок</b>"]
    assert html_messages("   \n ") == []


def test_lists_split_between_items_never_inside_one():
    items = [Entry(f"№ 2026-{i:06d} · 🛠 В роботі · <b>{'юрист ' * 8}</b>", f"Довгий опис & <теми> {i} " * 20)
             for i in range(120)]
    messages = pack(items, head="<b>Відкриті звернення: 120</b>", sep="\n\n")
    assert len(messages) > 3
    seen = [shown(m) for m in messages]
    numbers = [n for s in seen for n in re.findall(r"№ (2026-\d{6})", s)]
    assert numbers == [f"2026-{i:06d}" for i in range(120)]  # each once, in order
    for s in seen:  # an item and its text always in one message
        for i in map(int, re.findall(r"№ 2026-(\d{6})", s)):
            assert s.count(f"Довгий опис & <теми> {i} ") == 20


def test_an_item_longer_than_a_message_is_split_in_its_text_only():
    big = Entry("• <b>Відповідь</b>", "&lt; " * 3000, tail="📎 файли: 2")
    messages = pack(["<b>Історія</b>", Entry("• коротке"), big, Entry("• після")])
    seen = [shown(m) for m in messages]
    joined = "\n".join(seen)
    assert joined.count("&lt;") == 3000 and joined.count("📎 файли: 2") == 1
    assert seen[-1].endswith("• після")


def test_shown_length_counts_as_telegram_does():
    assert shown_length("<b>&amp;</b> 😀") == utf16_len(parse_html("<b>&amp;</b> 😀")[0]) == 4
    assert clip_plain("😀" * 10, 7) == "😀" * 3 + "…"


@pytest.fixture
def uk():
    i18n = I18n(path=PROJECT_ROOT / "locales", default_locale="uk", domain="messages")
    with i18n.context(), i18n.use_locale("uk"):
        yield


def request(**values) -> Request:
    base = dict(id=1, public_id="2026-000001", community="lutsk", resident_id=100, kind="help", anonymous=False,
                service_id="home-care", situation_id=None, for_whom="self", institution_id="tcso",
                description="опис", contact_method="chat", contact_phone=None, contact_name=None, urgent=False,
                danger=None, status=Status.in_progress, assignee_id=7, assignee_label="соціальна працівниця",
                created_at="2026-12-01T08:00:00+00:00", updated_at="2026-12-01T08:00:00+00:00",
                due_at="2026-12-04T08:00:00+00:00", first_response_at=None, closed_at=None, rating=None,
                rating_comment=None, group_chat_id=None, thread_id=None, card_message_id=None, purged_at=None)
    base.update(values)
    return Request(**{k: v for k, v in base.items() if k in Request.__dataclass_fields__})


def test_a_history_of_many_long_answers_comes_whole_in_valid_messages(catalogue, uk):
    answers = [f"Лист {i}: <b>&amp; 😀 " + ("довгий текст & ще " * 120) for i in range(12)]
    events = [Event(i + 1, 1, "2026-12-01T09:00:00+00:00", "staff", 7, "соціальна <працівниця>", "reply", text,
                    True, "tcso", ()) for i, text in enumerate(answers)]
    messages = resident_history(catalogue, request(), events, KYIV)
    assert len(messages) > 1
    seen = "\n".join(shown(m) for m in messages)
    flat = " ".join(seen.split())
    for text in answers:  # each answer whole, once (each is shorter than a message, so never split)
        assert flat.count(" ".join(text.split())) == 1
    assert seen.count("довгий текст & ще") == 12 * 120  # every word of every answer, once
    assert seen.count("(соціальна <працівниця>)") == 12


def test_a_card_stays_one_message_whatever_the_description(catalogue, uk):
    for description in ("😀" * 3500, "&" * 3500, "<b>" * 1200):
        card = staff_card(catalogue, request(description=description, contact_method="telegram",
                                             contact_phone="+380671234567", contact_name="Я" * 100, urgent=True),
                          3, KYIV)
        assert shown_length(card) <= MESSAGE_LIMIT - 300
        shown(card)


def test_the_open_list_splits_between_requests(catalogue, uk):
    requests = [request(id=i, public_id=f"2026-{i:06d}", assignee_label="ю" * 60) for i in range(150)]
    messages = pack(open_entries(catalogue, requests, IN_HOURS, KYIV), head="<b>Відкриті</b>",
                    sep="\n\n")
    assert len(messages) > 1
    numbers = [n for m in messages for n in re.findall(r"№ (2026-\d{6})", shown(m))]
    assert numbers == [f"2026-{i:06d}" for i in range(150)]
