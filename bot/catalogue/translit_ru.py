"""Russian typed in Latin letters as chat writes it («kak stat priemnoy semyey», «gde pogretsa zimoy»), turned
into Cyrillic the Russian way: y is ы, or й after a vowel; i is и; ye, yo are е; h is х.

bot/catalogue/translit.py reads Latin letters the Ukrainian way (y is и, i is і, ye is є); the search tries both
readings of a Latin query and keeps the one that ranks better.
"""
from __future__ import annotations

import re

_VOWELS = "aeiouy"
# longest first; the order of the alternatives decides
_PAIRS = (
    ("shch", "щ"), ("sch", "щ"), ("tsya", "тся"), ("zh", "ж"), ("kh", "х"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("ya", "я"), ("yu", "ю"), ("ye", "е"), ("yo", "е"), ("ja", "я"), ("ju", "ю"), ("je", "е"), ("jo", "е"),
    ("a", "а"), ("b", "б"), ("c", "ц"), ("d", "д"), ("e", "е"), ("f", "ф"), ("g", "г"), ("h", "х"), ("i", "и"),
    ("j", "й"), ("k", "к"), ("l", "л"), ("m", "м"), ("n", "н"), ("o", "о"), ("p", "п"), ("q", "к"), ("r", "р"),
    ("s", "с"), ("t", "т"), ("u", "у"), ("v", "в"), ("w", "в"), ("x", "кс"), ("z", "з"),
)
_TABLE = dict(_PAIRS)
_TOKEN = re.compile("|".join(re.escape(latin) for latin, _ in _PAIRS) + "|y")


def to_russian(text: str) -> str:
    """The text with every Latin letter turned into Cyrillic as Russian; anything else stays as it is."""
    text = text.lower()

    def letter(match: re.Match[str]) -> str:
        latin = match.group(0)
        if latin != "y":
            return _TABLE[latin]
        before = text[match.start() - 1] if match.start() else ""
        return "й" if before and before in _VOWELS else "ы"

    return _TOKEN.sub(letter, text)
