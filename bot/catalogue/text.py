"""Ukrainian word handling: normalisation, lemmas through pymorphy3, one-letter typo correction."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable, Optional

import pymorphy3

APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'", "ʹ": "'"})
WORD = re.compile(r"[a-zа-яіїєґё0-9']+")
ALPHABET = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'"
STOPWORDS = frozenset(
    """
    я ми ти ви він вона воно вони мене мені мною нас нам нами тебе тобі вас вам його йому її їй їх їм
    мій моя моє мої наш наша наше наші свій своя своє свої цей ця це ці той та те ті який яка яке які
    у в на з із зі до від для по під над за при про без через між біля коло та і й а але чи або ні не
    що як де куди коли чому хто чим чого тут там так вже ще теж також лише тільки дуже можна треба
    потрібно потрібен потрібна хочу хотіти бути є був була було були буде мати маю має все весь вся
    усе усі всі який-небудь будь ласка допоможіть допомогти підкажіть скажіть який де можу могти
    """.split()
)


def normalise(text: str) -> str:
    return text.lower().translate(APOSTROPHES).replace("ё", "е")


def tokens(text: str) -> list[str]:
    return [t.strip("'") for t in WORD.findall(normalise(text)) if t.strip("'")]


class Morphology:
    """Lemmas of Ukrainian words, cached, with correction of one wrong, missing, extra or swapped letter."""

    def __init__(self) -> None:
        self._morph = pymorphy3.MorphAnalyzer(lang="uk")
        self.lemma = lru_cache(maxsize=200_000)(self._lemma)
        self.known = lru_cache(maxsize=200_000)(self._morph.word_is_known)

    def _lemma(self, word: str) -> str:
        if word.isdigit() or not self._morph.word_is_known(word):
            return word
        return self._morph.parse(word)[0].normal_form.translate(APOSTROPHES)

    def lemmas(self, text: str, *, drop_stopwords: bool = True) -> list[str]:
        out = []
        for token in tokens(text):
            if drop_stopwords and token in STOPWORDS:
                continue
            lemma = self.lemma(token)
            if drop_stopwords and lemma in STOPWORDS:
                continue
            out.append(lemma)
        return out

    def corrections(self, word: str, vocabulary: Optional[set[str]] = None) -> list[str]:
        """Known words one edit away from an unknown word, as lemmas (preferring ones in `vocabulary`).

        A missing apostrophe ("бє" for "б'є") is tried first and for short words too.
        """
        if word.isdigit() or len(word) < 2:
            return []
        found: list[str] = []
        with_apostrophe = [word[:i] + "'" + word[i:] for i in range(1, len(word))]
        candidates = with_apostrophe if len(word) < 4 else [*with_apostrophe, *_edits1(word)]
        for candidate in candidates:
            if self.known(candidate):
                lemma = self.lemma(candidate)
                if lemma not in found:
                    found.append(lemma)
        if vocabulary is not None:
            preferred = [lemma for lemma in found if lemma in vocabulary]
            return preferred
        return found


def _edits1(word: str) -> Iterable[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    seen = set()
    for left, right in splits:
        if right:
            seen.add(left + right[1:])
        if len(right) > 1:
            seen.add(left + right[1] + right[0] + right[2:])
        for ch in ALPHABET:
            if right:
                seen.add(left + ch + right[1:])
            seen.add(left + ch + right)
    seen.discard(word)
    return seen


_shared: Optional[Morphology] = None


def morphology() -> Morphology:
    """One analyser per process: loading the dictionaries takes memory."""
    global _shared
    if _shared is None:
        _shared = Morphology()
    return _shared
