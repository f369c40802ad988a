"""Russian typed in Latin letters as chat writes it («kak stat priemnoy semyey», «gde pogretsa zimoy»), turned
into Cyrillic the Russian way: y is ы, or й after a vowel; i is и; ye, yo are е; h is х.

bot/catalogue/translit.py reads Latin letters the Ukrainian way (y is и, i is і, ye is є); the search tries both
readings of a Latin query and keeps the one that ranks better, the danger triage the one with more known words.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

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
_ENDS_IN_T = re.compile(r"[а-яё]+т(?![а-яёa-z'’ʼ])")
_SOFT_SIGN = re.compile(r"(?<=[бвгджзклмнпрстфхцчшщ])'")  # «zhit'», «b'yet»: Russian has no apostrophe


def to_russian(text: str, infinitive: Optional[Callable[[str], bool]] = None) -> str:
    """The text with every Latin letter turned into Cyrillic as Russian; anything else stays as it is. With
    `infinitive` (whether a Cyrillic word is a Russian infinitive), a word ending in т gets the soft sign chat
    leaves out when that makes it one: «net sil zhit» is «нет сил жить», not the rye of «жит»."""
    text = text.lower()

    def letter(match: re.Match[str]) -> str:
        latin = match.group(0)
        if latin != "y":
            return _TABLE[latin]
        before = text[match.start() - 1] if match.start() else ""
        return "й" if before and before in _VOWELS else "ы"

    out = _SOFT_SIGN.sub("ь", _TOKEN.sub(letter, text))
    if infinitive is None:
        return out
    return _ENDS_IN_T.sub(lambda m: m.group(0) + "ь" if infinitive(m.group(0) + "ь") else m.group(0), out)
