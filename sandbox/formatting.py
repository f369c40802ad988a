"""Message text formatting: Telegram HTML parsing, entities back to HTML, auto-detected entities.

Offsets and lengths of entities are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, bad_request

Entity = dict[str, Any]

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
SUPPORTED_TAGS = frozenset(_SIMPLE_TAGS) | {"a", "span", "tg-emoji"}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_TAG_NAME_RE = re.compile(r"[A-Za-z0-9-]*")
_ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_WHITESPACE = " \t\r\n\u00a0"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _parse_error(text: str) -> ApiError:
    return bad_request(f"can't parse entities: {text}")


@dataclass
class _Open:
    tag: str
    start: int
    attrs: dict[str, str]
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _HtmlParser:
    """A strict parser of the HTML subset the Bot API accepts, failing with Telegram's messages."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces: list[str] = []
        self.position = 0  # UTF-16 length of the text produced so far
        self.stack: list[_Open] = []
        self.entities: list[tuple[int, Entity]] = []

    def parse(self) -> tuple[str, list[Entity]]:
        index, source = 0, self.source
        while index < len(source):
            char = source[index]
            if char == "&":
                index = self._entity(index)
            elif char == "<":
                index = self._end_tag(index) if source.startswith("</", index) else self._start_tag(index)
            else:
                self._emit(char)
                index += 1
        if self.stack:
            raise _parse_error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        ordered = sorted(self.entities, key=lambda item: (item[1]["offset"], -item[1]["length"], item[0]))
        return "".join(self.pieces), [entity for _, entity in ordered]

    def _emit(self, text: str) -> None:
        self.pieces.append(text)
        self.position += utf16_len(text)

    def _entity(self, index: int) -> int:
        match = _ENTITY_RE.match(self.source, index)
        if not match:
            self._emit("&")
            return index + 1
        named, decimal, hexadecimal = match.groups()
        if named:
            self._emit(_NAMED[named])
        else:
            code = int(decimal) if decimal else int(hexadecimal, 16)
            self._emit(chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd")
        return match.end()

    def _start_tag(self, index: int) -> int:
        offset = _byte_offset(self.source, index)
        name_match = _TAG_NAME_RE.match(self.source, index + 1)
        name = name_match.group(0).lower() if name_match else ""
        if not name or name_match is None:
            raise _parse_error(f"Empty tag name at byte offset {offset}")
        if name not in SUPPORTED_TAGS:
            raise _parse_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs, end = self._attributes(name_match.end(), offset)
        self._open(name, attrs, offset)
        return end

    def _attributes(self, index: int, offset: int) -> tuple[dict[str, str], int]:
        source, attrs = self.source, dict[str, str]()
        while True:
            while index < len(source) and source[index] in _WHITESPACE:
                index += 1
            if index >= len(source):
                raise _parse_error(f"Unclosed start tag at byte offset {offset}")
            if source[index] == ">":
                return attrs, index + 1
            name_match = _ATTR_NAME_RE.match(source, index)
            if not name_match:
                raise _parse_error(f"Unclosed start tag at byte offset {offset}")
            name, index = name_match.group(0).lower(), name_match.end()
            if index < len(source) and source[index] == "=":
                value, index = self._attribute_value(index + 1, offset)
            else:
                value = ""
            attrs[name] = value

    def _attribute_value(self, index: int, offset: int) -> tuple[str, int]:
        source = self.source
        if index < len(source) and source[index] in "\"'":
            close = source.find(source[index], index + 1)
            if close < 0:
                raise _parse_error(f"Unclosed start tag at byte offset {offset}")
            return html.unescape(source[index + 1 : close]), close + 1
        end = index
        while end < len(source) and source[end] not in _WHITESPACE + ">":
            end += 1
        return html.unescape(source[index:end]), end

    def _open(self, name: str, attrs: dict[str, str], offset: int) -> None:
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _parse_error(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise _parse_error(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        if name == "a" and not attrs.get("href"):
            attrs = {}
        self.stack.append(_Open(name, self.position, attrs))

    def _end_tag(self, index: int) -> int:
        offset = _byte_offset(self.source, index)
        close = self.source.find(">", index)
        if close < 0:
            raise _parse_error(f"Unclosed end tag at byte offset {offset}")
        name = self.source[index + 2 : close].strip().lower()
        if not self.stack:
            raise _parse_error(f"Unexpected end tag at byte offset {offset}")
        top = self.stack[-1]
        if name != top.tag:
            raise _parse_error(f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", found "</{name}>"')
        self.stack.pop()
        self._close(top)
        return close + 1

    def _close(self, item: _Open) -> None:
        length = self.position - item.start
        if item.tag == "code" and self.stack and self.stack[-1].tag == "pre":
            language = item.attrs.get("class", "")
            if language.startswith("language-"):
                self.stack[-1].language = language[len("language-") :]
            return
        entity = _entity_for(item, length)
        if entity is not None and length > 0:
            self.entities.append((len(self.entities), entity))


def _entity_for(item: _Open, length: int) -> Entity | None:
    base: Entity = {"offset": item.start, "length": length}
    if item.tag in _SIMPLE_TAGS:
        kind = _SIMPLE_TAGS[item.tag]
        if kind == "blockquote" and "expandable" in item.attrs:
            kind = "expandable_blockquote"
        entity = {"type": kind, **base}
        if kind == "pre" and item.language:
            entity["language"] = item.language
        return entity
    if item.tag == "span":
        return {"type": "spoiler", **base}
    if item.tag == "tg-emoji":
        return {"type": "custom_emoji", **base, "custom_emoji_id": item.attrs["emoji-id"]}
    href = item.attrs.get("href", "")
    if not href:
        return None
    user = re.fullmatch(r"tg://user\?id=(\d+)", href)
    if user:
        return {"type": "text_mention", **base, "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""}}
    return {"type": "text_link", **base, "url": href}


def parse_html(source: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and entities, or raise "can't parse entities"."""
    return _HtmlParser(source).parse()


def check_entities(text: str, entities: Any) -> list[Entity]:
    """Validate an explicit ``entities`` array."""
    if not isinstance(entities, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    result = []
    for item in entities:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise _parse_error("entity must be an Object with a type")
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or not isinstance(length, int) or offset < 0 or length < 0:
            raise _parse_error("entity offset and length must be non-negative Integers")
        if length and offset + length <= total:
            result.append(dict(item))
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Drop leading and trailing whitespace like Telegram does, moving entities along."""
    stripped_left = text.lstrip(_WHITESPACE)
    shift = utf16_len(text) - utf16_len(stripped_left)
    result = stripped_left.rstrip(_WHITESPACE)
    total = utf16_len(result)
    moved = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            moved.append({**entity, "offset": start, "length": end - start})
    return result, moved


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[Entity]]:
    """Text and entities of a message from the request parameters (then trimmed)."""
    mode = (parse_mode or "").strip()
    if mode.lower() == "html":
        plain, found = parse_html(text)
    elif mode.lower() in ("", "markdown", "markdownv2"):
        # Markdown modes are accepted but not parsed by the sandbox: the text is kept as sent.
        plain, found = text, (check_entities(text, entities) if entities is not None and not mode else [])
    else:
        raise bad_request("unsupported parse_mode")
    plain, found = trim(plain, found)
    return plain, merge_entities(found, detect_entities(plain))


# --- automatically detected entities -------------------------------------------------------

_DETECTORS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("url", re.compile(r"(?<![\w@/])(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)),
    ("email", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")),
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("phone_number", re.compile(r"(?<![\w+])(?:\+\d|\b0)[\d \-()]{7,16}\d(?!\w)")),
)


def detect_entities(text: str) -> list[Entity]:
    """Entities Telegram finds by itself: links, e-mails, commands, mentions, hashtags, phones."""
    found: list[Entity] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DETECTORS:
        for match in pattern.finditer(text):
            start, end = match.span()
            if kind == "url":
                end = start + len(match.group(0).rstrip(".,;:!?)"))
            if kind == "phone_number" and not 10 <= sum(ch.isdigit() for ch in text[start:end]) <= 15:
                continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            offset = utf16_len(text[:start])
            found.append({"type": kind, "offset": offset, "length": utf16_len(text[start:end])})
    return sorted(found, key=lambda e: e["offset"])


def merge_entities(explicit: list[Entity], detected: list[Entity]) -> list[Entity]:
    """Add detected entities that do not overlap explicit ones."""
    result = list(explicit)
    for entity in detected:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if not any(start < e["offset"] + e["length"] and e["offset"] < end for e in explicit):
            result.append(entity)
    return sorted(result, key=lambda e: (e["offset"], -e["length"]))


# --- entities back to HTML -----------------------------------------------------------------

_PLAIN_TAGS = {
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strikethrough": "s",
    "spoiler": "tg-spoiler",
    "code": "code",
    "blockquote": "blockquote",
}


def _open_tag(entity: Entity, text: str) -> tuple[str, str]:
    kind = entity["type"]
    if kind in _PLAIN_TAGS:
        tag = _PLAIN_TAGS[kind]
        return f"<{tag}>", f"</{tag}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        if entity.get("language"):
            return f'<pre><code class="language-{html.escape(entity["language"])}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "custom_emoji":
        return f'<tg-emoji emoji-id="{html.escape(str(entity.get("custom_emoji_id", "")))}">', "</tg-emoji>"
    href = _href(entity, text)
    if href:
        return f'<a href="{html.escape(href)}">', "</a>"
    return "", ""


def _href(entity: Entity, text: str) -> str:
    kind = entity["type"]
    if kind == "text_link":
        return str(entity.get("url", ""))
    if kind == "text_mention":
        return f"tg://user?id={entity.get('user', {}).get('id', '')}"
    if kind == "url":
        return text if re.match(r"https?://", text, re.IGNORECASE) else f"http://{text}"
    if kind == "email":
        return f"mailto:{text}"
    if kind == "phone_number":
        return "tel:" + re.sub(r"[^\d+]", "", text)
    return ""


def entities_to_html(text: str, entities: list[Entity]) -> str:
    """Render text with entities as Telegram HTML (properly nested, everything else escaped)."""
    units = text.encode("utf-16-le")
    total = len(units) // 2

    def part(start: int, end: int) -> str:
        return units[start * 2 : end * 2].decode("utf-16-le", errors="replace")

    events = sorted({0, total} | {e["offset"] for e in entities} | {e["offset"] + e["length"] for e in entities})
    ordered = sorted(entities, key=lambda e: (e["offset"], -e["length"]))
    out: list[str] = []
    stack: list[tuple[Entity, str]] = []
    for index, point in enumerate(events):
        _close_finished(stack, point, out, text, part)
        for entity in ordered:
            if entity["offset"] == point and entity["length"] > 0:
                opening, closing = _open_tag(entity, part(point, point + entity["length"]))
                out.append(opening)
                stack.append((entity, closing))
        if index + 1 < len(events):
            out.append(html.escape(part(point, events[index + 1]), quote=False))
    _close_finished(stack, total + 1, out, text, part)
    return "".join(out)


def _close_finished(stack: list[tuple[Entity, str]], point: int, out: list[str], text: str, part: Any) -> None:
    """Close entities ending at ``point``, reopening inner ones that continue (overlaps)."""
    if not any(e["offset"] + e["length"] <= point for e, _ in stack):
        return
    first = min(i for i, (e, _) in enumerate(stack) if e["offset"] + e["length"] <= point)
    reopen = [(e, c) for e, c in stack[first:] if e["offset"] + e["length"] > point]
    for _, closing in reversed(stack[first:]):
        out.append(closing)
    del stack[first:]
    for entity, _ in reopen:
        end = entity["offset"] + entity["length"]
        opening, closing = _open_tag(entity, part(entity["offset"], end))
        out.append(opening)
        stack.append((entity, closing))
