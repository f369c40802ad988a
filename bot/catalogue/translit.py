"""Ukrainian or Russian typed in Latin letters, as a resident abroad without a Cyrillic keyboard writes
(«ne hochu bilshe zhyty», «pomogite muzh byet»), turned back into Cyrillic so that the danger triage can read it.

The spelling is the usual one of the national transliteration and of chat (zh, kh, ts, ch, sh, shch, ya, yu,
ye, yi; j for й; y for и, i for і). What it cannot know (a soft sign, г or х for h) is left to the reader, which
takes an unknown word for a typo of a known one.
"""
from __future__ import annotations

import re

_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_CYRILLIC = re.compile(r"[а-яіїєґё]", re.IGNORECASE)
# longest first; the order of the alternatives decides
_PAIRS = (
    ("shch", "щ"), ("sch", "щ"), ("tsya", "ться"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"),
    ("sh", "ш"), ("ya", "я"), ("yu", "ю"), ("ye", "є"), ("yi", "ї"), ("yo", "йо"), ("ja", "я"), ("ju", "ю"),
    ("je", "є"), ("ji", "ї"), ("jo", "йо"), ("a", "а"), ("b", "б"), ("c", "ц"), ("d", "д"), ("e", "е"), ("f", "ф"),
    ("g", "г"), ("h", "г"), ("i", "і"), ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"),
    ("p", "п"), ("q", "к"), ("r", "р"), ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"), ("x", "кс"),
    ("y", "и"), ("z", "з"),
)
_TABLE = dict(_PAIRS)
_TOKEN = re.compile("|".join(re.escape(latin) for latin, _ in _PAIRS))


def in_latin(text: str) -> bool:
    """Whether the text is written in Latin letters only (no Cyrillic letter at all)."""
    return bool(_LATIN.search(text)) and not _CYRILLIC.search(text)


def to_cyrillic(text: str) -> str:
    """The text with every Latin letter turned into Cyrillic; anything else stays as it is."""
    return _TOKEN.sub(lambda m: _TABLE[m.group(0)], text.lower())
