"""Checking a campaign's text against Telegram's HTML before anything is sent.

Telegram accepts a small set of tags (Bot API, "HTML style"): b strong i em u ins s strike del
span class="tg-spoiler" tg-spoiler a href code pre blockquote (expandable) tg-emoji emoji-id, and the
entities &lt; &gt; &amp; &quot; plus numeric ones. A message holds 4096 characters of visible text, a
caption 1024. A text that breaks these rules would be refused for every recipient: it is refused here,
with the reason in plain words.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Optional
from urllib.parse import urlsplit

ALLOWED = {
    "b": (), "strong": (), "i": (), "em": (), "u": (), "ins": (), "s": (), "strike": (), "del": (),
    "tg-spoiler": (), "span": ("class",), "a": ("href",), "code": ("class",), "pre": (),
    "blockquote": ("expandable",), "tg-emoji": ("emoji-id",),
}
NAMED_ENTITIES = {"lt", "gt", "amp", "quot"}
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")
LINK_SCHEMES = ("http", "https", "tg", "mailto", "tel")


@dataclass(frozen=True)
class Checked:
    ok: bool
    problem: Optional[str] = None  # what is wrong, for the administrator (English; the dialog translates kinds)
    kind: Optional[str] = None  # tag | attribute | unclosed | nesting | entity | link | length | empty
    length: int = 0  # visible characters


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.visible = 0
        self.error: Optional[tuple[str, str]] = None

    def fail(self, kind: str, problem: str) -> None:
        if self.error is None:
            self.error = (kind, problem)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        if tag not in ALLOWED:
            self.fail("tag", f"<{tag}> is not allowed")
            return
        for name, value in attrs:
            if name not in ALLOWED[tag]:
                self.fail("attribute", f"<{tag} {name}> is not allowed")
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.fail("attribute", '<span> needs class="tg-spoiler"')
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if urlsplit(href).scheme.lower() not in LINK_SCHEMES:
                self.fail("link", f"the link {href!r} is not a web address")
        if tag == "tg-emoji" and not dict(attrs).get("emoji-id"):
            self.fail("attribute", "<tg-emoji> needs emoji-id")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        self.fail("tag", f"<{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            self.fail("nesting", f"</{tag}> closes nothing")
        elif self.stack[-1] != tag:
            self.fail("nesting", f"</{tag}> closes <{self.stack[-1]}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.fail("entity", "write < and > as &lt; and &gt;")
        self.visible += len(data.encode("utf-16-le")) // 2

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            self.fail("entity", f"&{name}; is not known to Telegram")
        self.visible += 1

    def handle_charref(self, name: str) -> None:
        self.visible += 1

    def handle_comment(self, data: str) -> None:
        self.fail("tag", "comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        self.fail("tag", "declarations are not allowed")

    def unknown_decl(self, data: str) -> None:
        self.fail("tag", "declarations are not allowed")

    def handle_pi(self, data: str) -> None:
        self.fail("tag", "processing instructions are not allowed")


def check_html(text: str, limit: int = 4096) -> Checked:
    """Is `text` valid Telegram HTML within `limit` visible characters (UTF-16 units, as Telegram counts)?"""
    if not text or not text.strip():
        return Checked(False, "the text is empty", "empty")
    for match in re.finditer(r"&", text):  # a bare & must be written &amp;
        if not ENTITY.match(text, match.start()):
            return Checked(False, "write & as &amp;", "entity")
    checker = _Checker()
    try:
        checker.feed(text)
        checker.close()
    except Exception as exc:  # HTMLParser is lenient, but guard all the same
        return Checked(False, f"the markup cannot be read ({type(exc).__name__})", "tag")
    if checker.error is None and checker.rawdata.strip():
        checker.fail("tag", "a tag is not finished")
    if checker.error is None and checker.stack:
        checker.fail("unclosed", f"<{checker.stack[-1]}> is not closed")
    if checker.error is not None:
        kind, problem = checker.error
        return Checked(False, problem, kind, checker.visible)
    if checker.visible == 0:
        return Checked(False, "the text is empty", "empty")
    if checker.visible > limit:
        return Checked(False, f"{checker.visible} characters, at most {limit}", "length", checker.visible)
    return Checked(True, length=checker.visible)


def plain(text: str) -> str:
    """The visible text of valid Telegram HTML (for lists and logs of campaigns)."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))
