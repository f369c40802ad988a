"""Telegram HTML parsing, entities back to HTML, detected entities, schema coercion."""

from __future__ import annotations

import pytest

from sandbox.errors import ApiError
from sandbox.formatting import detect_entities, entities_to_html, format_text, parse_html
from sandbox.markup import check_reply_markup
from sandbox.schema import Schema, parse_params


def test_html_tags_become_entities_with_utf16_offsets() -> None:
    text, entities = parse_html('😀 <b>Привіт</b>, <a href="https://x.org/?a=1&amp;b=2">сайт</a> &lt;3')
    assert text == "😀 Привіт, сайт <3"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 6},
        {"type": "text_link", "offset": 11, "length": 4, "url": "https://x.org/?a=1&b=2"},
    ]


def test_pre_with_language_spoilers_blockquote_and_mentions() -> None:
    source = (
        '<pre><code class="language-python">x = 1</code></pre><tg-spoiler>a</tg-spoiler>'
        '<span class="tg-spoiler">b</span><blockquote expandable>q</blockquote><a href="tg://user?id=5">u</a>'
    )
    text, entities = parse_html(source)
    assert text == "x = 1abqu"
    kinds = [(e["type"], e.get("language")) for e in entities]
    assert kinds == [
        ("pre", "python"),
        ("spoiler", None),
        ("spoiler", None),
        ("expandable_blockquote", None),
        ("text_mention", None),
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("text</b>", "Unexpected end tag at byte offset 4"),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
def test_bad_html_is_rejected_with_telegram_wording(source: str, message: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_html(source)
    assert caught.value.code == 400
    assert caught.value.description.startswith("Bad Request: can't parse entities: ")
    assert message in caught.value.description


def test_unknown_named_entity_stays_text_and_whitespace_is_trimmed() -> None:
    text, entities = format_text("  <i> &nbsp;x </i>\n", "HTML")
    assert text == "&nbsp;x"
    assert entities == [{"type": "italic", "offset": 0, "length": 7}]


def test_entities_render_back_to_nested_html() -> None:
    text, entities = parse_html("<b>a<i>b</i></b> <u>c&amp;</u>")
    assert entities_to_html(text, entities) == "<b>a<i>b</i></b> <u>c&amp;</u>"
    overlapping = [{"type": "bold", "offset": 0, "length": 4}, {"type": "italic", "offset": 2, "length": 4}]
    assert entities_to_html("abcdef", overlapping) == "<b>ab<i>cd</i></b><i>ef</i>"


def test_detected_entities_commands_links_phones() -> None:
    text = "/start@hromada_help_bot або https://gov.ua. Телефон +380 44 123 45 67, mail a@b.ua"
    kinds = {e["type"] for e in detect_entities(text)}
    assert kinds == {"bot_command", "url", "phone_number", "email"}
    html = entities_to_html(text, detect_entities(text))
    assert '<a href="tel:+380441234567">+380 44 123 45 67</a>' in html
    assert '<a href="https://gov.ua">https://gov.ua</a>.' in html


def test_reply_markup_checks() -> None:
    with pytest.raises(ApiError, match="BUTTON_DATA_INVALID"):
        check_reply_markup({"inline_keyboard": [[{"text": "x", "callback_data": "é" * 33}]]})
    with pytest.raises(ApiError, match="Text buttons are unallowed"):
        check_reply_markup({"inline_keyboard": [[{"text": "x"}]]})
    with pytest.raises(ApiError, match="must be an Array of Arrays"):
        check_reply_markup({"inline_keyboard": [{"text": "x", "callback_data": "y"}]})
    assert check_reply_markup({"keyboard": [["a", {"text": "b", "request_contact": True}]]})["keyboard"] == [
        [{"text": "a"}, {"text": "b", "request_contact": True}]
    ]


def test_schema_coerces_form_strings() -> None:
    schema = Schema.load()
    spec = schema.method("SENDMESSAGE")
    assert spec is not None and spec.params["chat_id"].type == "Integer or String"
    params = parse_params(
        spec,
        {
            "chat_id": "-100123",
            "text": "hi",
            "disable_notification": "true",
            "reply_markup": '{"remove_keyboard": true}',
        },
        {},
    )
    assert params == {
        "chat_id": -100123,
        "text": "hi",
        "disable_notification": True,
        "reply_markup": {"remove_keyboard": True},
    }
    with pytest.raises(ApiError, match="chat_id is empty"):
        parse_params(spec, {"text": "hi"}, {})
    with pytest.raises(ApiError, match='parameter "message_thread_id" must be of type Integer'):
        parse_params(spec, {"chat_id": 1, "text": "x", "message_thread_id": "abc"}, {})
