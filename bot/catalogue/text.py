"""Ukrainian word handling: normalisation, lemmas through pymorphy3, one-letter typo correction."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

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


RARE = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Abbr", "Dist", "Init"})


def common_parse(parses) -> bool:
    """Whether one of pymorphy3's parses of a word is a common word (not a name, an abbreviation, a distorted form)."""
    return any(parse.tag.grammemes.isdisjoint(RARE) for parse in parses)


class Morphology:
    """Lemmas of Ukrainian words, cached, with correction of one wrong, missing, extra or swapped letter."""

    def __init__(self) -> None:
        self._morph = pymorphy3.MorphAnalyzer(lang="uk")
        self.lemma = lru_cache(maxsize=200_000)(self._lemma)
        self.known = lru_cache(maxsize=200_000)(self._morph.word_is_known)
        self._corrections = lru_cache(maxsize=50_000)(self._corrections_of)
        self.edits = KnownEdits(self._morph, ALPHABET)
        self.lemma_options = lru_cache(maxsize=200_000)(self._lemma_options)

    def parses(self, word: str) -> list:
        """pymorphy3's parses of the word, the likeliest first."""
        return self._morph.parse(word)

    def common(self, word: str) -> bool:
        """Whether the dictionary knows the word as something other than a name, an abbreviation or a distorted
        form («імама» yes, «неможе» no)."""
        return self.known(word) and common_parse(self._morph.parse(word))

    def _lemma(self, word: str) -> str:
        if word.isdigit() or not self._morph.word_is_known(word):
            return word
        return self._morph.parse(word)[0].normal_form.translate(APOSTROPHES)

    def _lemma_options(self, word: str) -> tuple[str, ...]:
        """Every dictionary form the word may be a form of, the most likely first: «прийшла» is «прийшлий» to
        the dictionary's first guess but also «прийти», «мене» is «мен» and «я»."""
        if word.isdigit() or not self._morph.word_is_known(word):
            return (word,)
        forms = [p.normal_form.translate(APOSTROPHES) for p in self._morph.parse(word)]
        return tuple(dict.fromkeys(forms))[:4]

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
        found = list(self._corrections(word))
        if vocabulary is not None:
            preferred = [lemma for lemma in found if lemma in vocabulary]
            return preferred
        return found


    def _corrections_of(self, word: str) -> tuple[str, ...]:
        if word.isdigit() or len(word) < 2:
            return ()
        found: list[str] = []
        with_apostrophe = [word[:i] + "'" + word[i:] for i in range(1, len(word))]
        # the edits in a fixed order, so that the same word is always corrected the same way
        known = self.edits.find(word) if len(word) >= 4 else set()
        candidates = [*with_apostrophe, *sorted(known)]
        for candidate in candidates:
            if candidate in known or self._morph.word_is_known(candidate):
                lemma = self.lemma(candidate)
                if lemma not in found:
                    found.append(lemma)
        return tuple(found)


class KnownEdits:
    """The words of a pymorphy3 dictionary one edit (a wrong, missing, extra or swapped letter) away from a word.

    Walks the dictionary's word graph instead of looking up each of the ~70 × length candidates from its
    start: the nodes of the word's prefixes are followed once, and a candidate stops at its first letter the
    graph does not have. Finds what checking every candidate with `word_is_known` finds, several times faster.
    """

    SEPARATOR = b"\x01"  # what follows a whole word in pymorphy3's word graph

    def __init__(self, analyzer: pymorphy3.MorphAnalyzer, alphabet: str, replaces: Optional[dict[str, str]] = None):
        self.dct = analyzer.dictionary.words.dct
        self.alphabet = alphabet
        self.replaces = replaces or {}  # letters the dictionary may spell otherwise ("е" for "ё" in Russian)
        self._bytes = {ch: ch.encode("utf8") for ch in set(alphabet) | set(self.replaces.values())}

    def _step(self, nodes: list[int], ch: str) -> list[int]:
        out = []
        for letter in (ch, *self.replaces.get(ch, ())):
            label = self._bytes.get(letter) or letter.encode("utf8")
            for node in nodes:
                following = self.dct.follow_bytes(label, node)
                if following is not None:
                    out.append(following)
        return out

    def _is_word(self, nodes: list[int], rest: str) -> bool:
        for ch in rest:
            nodes = self._step(nodes, ch)
            if not nodes:
                return False
        return any(self.dct.follow_bytes(self.SEPARATOR, node) is not None for node in nodes)

    def find(self, word: str) -> set[str]:
        prefixes = [[self.dct.ROOT]]
        for ch in word:
            prefixes.append(self._step(prefixes[-1], ch))
        found: set[str] = set()
        for i in range(len(word) + 1):
            nodes = prefixes[i]
            if not nodes:
                break
            left, right = word[:i], word[i:]
            rests = []
            if right:
                rests.append(right[1:])
            if len(right) > 1:
                rests.append(right[1] + right[0] + right[2:])
            for ch in self.alphabet:
                after = self._step(nodes, ch)
                if not after:
                    continue
                if right and ch != right[0] and self._is_word(after, right[1:]):
                    found.add(left + ch + right[1:])
                if self._is_word(after, right):
                    found.add(left + ch + right)
            for rest in rests:
                if self._is_word(nodes, rest):
                    found.add(left + rest)
        found.discard(word)
        return found


def _edits1(word: str, alphabet: str = ALPHABET) -> list[str]:
    """Every string one edit away (a letter dropped, two swapped, one replaced or added), in a fixed order."""
    out: dict[str, None] = {}
    for i in range(len(word) + 1):
        left, right = word[:i], word[i:]
        if right:
            out[left + right[1:]] = None
        if len(right) > 1:
            out[left + right[1] + right[0] + right[2:]] = None
        for ch in alphabet:
            if right:
                out[left + ch + right[1:]] = None
            out[left + ch + right] = None
    out.pop(word, None)
    return list(out)


_shared: Optional[Morphology] = None


def morphology() -> Morphology:
    """One analyser per process: loading the dictionaries takes memory."""
    global _shared
    if _shared is None:
        _shared = Morphology()
    return _shared


def en_stem(word: str) -> str:
    """A light English stem: enough for "families" to meet "family" and "interpreters" to meet "interpreter"."""
    if len(word) <= 3:
        return word
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + repl
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "ls":
                word = word[:-1]
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word
