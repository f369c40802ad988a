"""Shortening a label (a button, a printed sheet's title, a chart's legend) at a word boundary with an ellipsis.

Every place that cuts a label uses ``shorten``: a word is never cut in the middle, except a single word that alone
is longer than the room (then there is nothing else to do). ``measure`` says how long a text is: characters for a
button, the width in pixels of a font for a printed sheet.
"""
from __future__ import annotations

import unicodedata
from typing import Callable

ELLIPSIS = "…"
# what should not stay at the end of a shortened label, right before the ellipsis
TRAILING = " ,;:.-–—·/(«\"'’"


def _clean_end(text: str) -> str:
    """No dangling punctuation, joiner, variation selector or combining mark before the ellipsis."""
    while text and (text[-1] in TRAILING or text[-1] in "\u200d\ufe0f" or unicodedata.combining(text[-1])):
        text = text[:-1]
    return text


def shorten(text: str, limit: float, measure: Callable[[str], float] = len) -> str:
    """`text` on one line, whole when it fits into `limit`; otherwise as many whole words as fit, then «…»."""
    text = " ".join((text or "").split())
    if measure(text) <= limit:
        return text
    kept = ""
    for word in text.split(" "):
        candidate = f"{kept} {word}" if kept else word
        if measure(_clean_end(candidate) + ELLIPSIS) > limit:
            break
        kept = candidate
    kept = _clean_end(kept)
    if not kept:  # the first word alone does not fit: the only case where a word is cut
        cut = len(text)
        while cut > 0 and measure(_clean_end(text[:cut]) + ELLIPSIS) > limit:
            cut -= 1
        kept = _clean_end(text[:cut])
    return kept + ELLIPSIS
