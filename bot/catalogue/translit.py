"""Ukrainian or Russian typed in Latin letters, as a resident abroad without a Cyrillic keyboard writes
(«ne hochu bilshe zhyty», «pomogite muzh byet»), turned back into Cyrillic so that the danger triage can read it.

The spelling is the usual one of the national transliteration and of chat (zh, kh, ts, ch, sh, shch, ya, yu,
ye, yi; j for й; y for и, i for і). What it cannot know (a soft sign, г or х for h) is left to the reader, which
takes an unknown word for a typo of a known one. The national system writes я, ю, є after a consonant as ia, iu, ie
(«dyakuiu», «vstaie», «poriadku»), which chat spelling reads as іа, іу, іе («sotsialnyi»): given the words a
dictionary knows, a word is read the national way when only that way gives a known word.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from bot.catalogue.text import tokens

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
_NATIONAL = (("iu", "ю"), ("ia", "я"), ("ie", "є"))  # after a consonant, in the national system
_NATIONAL_TABLE = {**_TABLE, **dict(_NATIONAL)}
# ia, iu, ie tried before the pairs: no other pair starts with «i» but «i» itself
_NATIONAL_TOKEN = re.compile("|".join(re.escape(latin) for latin, _ in (*_NATIONAL, *_PAIRS)))
_IOTATED = re.compile("i[uae]")
_WORD = re.compile(r"[a-z]+")
_ENDING = re.compile("(?:yi|ii)$")  # «-yi», «-ii» at a word's end: -ий, -ій («sotsialnyi», «tretii»)
_ENDINGS = {"yi": "ий", "ii": "ій"}
# chat writes the soft sign as an apostrophe («kolys'», «s'ogodni»): after a consonant, at a word's end or before a
# consonant or о; before any other vowel it is the apostrophe («b'ye», «sim'ji», «sim'i» for сім'ї)
_SOFT_SIGN = re.compile(r"(?<=[бвгґджзклмнпрстфхцчшщ])'(?![аеєиіїуюя])")


def in_latin(text: str) -> bool:
    """Whether the text is written in Latin letters only (no Cyrillic letter at all)."""
    return bool(_LATIN.search(text)) and not _CYRILLIC.search(text)


def to_cyrillic(text: str, known: Optional[Callable[[str], bool]] = None) -> str:
    """The text with every Latin letter turned into Cyrillic; anything else stays as it is. With `known` (does a
    dictionary know this Cyrillic word), ia, iu and ie are also tried as я, ю and є (see the module's docstring)."""
    if known is None:
        return _SOFT_SIGN.sub("ь", _cyrillic(text.lower()))

    def word(match: re.Match[str]) -> str:
        latin = match.group(0)
        plain = _cyrillic(latin)
        ending = _ENDING.search(latin)
        if not (ending or _IOTATED.search(latin)) or known(plain):
            return plain  # no other reading to try, or none needed
        stem, tail = (latin[:ending.start()], _ENDINGS[ending.group(0)]) if ending else (latin, "")
        for option in (_national(latin), _cyrillic(stem) + tail, _national(stem) + tail):
            if option != plain and known(option):
                return option
        return plain

    return _SOFT_SIGN.sub("ь", _WORD.sub(word, text.lower()))


def known_share(text: str, known: Callable[[str], bool], shortest: int = 2) -> float:
    """The share of a text's words (of at least `shortest` letters, not numbers) that a dictionary knows: how well a
    text turned into Cyrillic reads as a language («фрее тоотх імплантс», English so turned, reads as none)."""
    words = [word for word in tokens(text) if len(word) >= shortest and not word.isdigit()]
    return sum(map(known, words)) / len(words) if words else 0.0


def reads_as_words(text: str, known: Callable[[str], bool]) -> bool:
    """Whether most words of three letters or more of a text turned into Cyrillic are words a dictionary knows: a
    Ukrainian or Russian text typed in Latin letters does, an English one so turned does not."""
    return known_share(text, known, shortest=3) >= 0.5


def _cyrillic(text: str) -> str:
    return _TOKEN.sub(lambda m: _TABLE[m.group(0)], text)


def _national(text: str) -> str:
    return _NATIONAL_TOKEN.sub(lambda m: _NATIONAL_TABLE[m.group(0)], text)
