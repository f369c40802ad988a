"""Reading a resident's words as Ukrainian lemmas, whatever language they wrote in.

Residents write Ukrainian, Russian, surzhyk (both in one sentence) and sometimes English. The catalogue,
the synonyms and the danger rules are all kept in Ukrainian lemmas, so each word a resident wrote is turned
into the Ukrainian lemmas it can stand for:

* a Ukrainian word gives its lemma (pymorphy3's Ukrainian dictionary);
* a Russian word gives the Ukrainian lemmas of its Russian lemma, from the lexicon in
  data/shared/ru_uk.yaml, or, for a word the lexicon lacks, the Ukrainian word that differs from it only by
  the usual spelling correspondences (пенсия → пенсія, инвалид → інвалід, жить → жити);
* a word neither dictionary knows is taken for a typo and gives the known words one edit away.

Which language the text is in decides the words both languages have in different senses; the letters
only one of them has (і ї є ґ against ы э ъ ё) decide most texts, a statistical identifier made for short
texts the rest.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Mapping, Optional

import pymorphy3

from bot.catalogue.langid_model import load as load_language_identifier
from bot.catalogue.text import APOSTROPHES, KnownEdits, Morphology, _edits1, common_parse, en_stem, morphology

UK_ONLY = set("іїєґ")
RU_ONLY = set("ыэъё")
CYRILLIC = re.compile(r"[а-яіїєґёыэъ]")
LATIN = re.compile(r"[a-z]")
WORD = re.compile(r"[a-zа-яіїєґёыэъ0-9']+")
# A laughing or eye-rolling face is kept as a word of its own: it tells a joke from a cry for help.
JOKE_FACES = "😂🤣😄😅😆🙄😁😀😉😜🙃😹"
CLAUSE = re.compile(r"([a-zа-яіїєґёыэъ0-9']+|[" + JOKE_FACES + r"])|[.,!?;:()\n…—]")
SENTENCE_END = frozenset(".!?\n…")
# Numbers written as words, by their lemmas in either language, read as digits («мені чотирнадцять», «ему десять»):
# an age in a danger rule is written in digits. «один»/«одна» also mean «alone» and stay words.
NUMERALS = {lemma: str(n) for n, lemmas in enumerate((
    (), (), ("два", "дві"), ("три",), ("чотири", "четыре"), ("п'ять", "пять"), ("шість", "шесть"), ("сім", "семь"),
    ("вісім", "восемь"), ("дев'ять", "девять"), ("десять",), ("одинадцять", "одиннадцать"),
    ("дванадцять", "двенадцать"), ("тринадцять", "тринадцать"), ("чотирнадцять", "четырнадцать"),
    ("п'ятнадцять", "пятнадцать"), ("шістнадцять", "шестнадцать"), ("сімнадцять", "семнадцать"),
)) for lemma in lemmas}
TENS = {lemma: 10 * n for n, lemmas in enumerate((
    (), (), ("двадцять", "двадцать"), ("тридцять", "тридцать"), ("сорок",), ("п'ятдесят", "пятьдесят"),
    ("шістдесят", "шестьдесят"), ("сімдесят", "семьдесят"), ("вісімдесят", "восемьдесят"), ("дев'яносто", "девяносто"),
)) for lemma in lemmas}


def number_of(lemma: str) -> Optional[str]:
    """The digits a number word stands for («п'ять» → «5», «сорок» → «40»), or None."""
    return NUMERALS.get(lemma) or (str(TENS[lemma]) if lemma in TENS else None)


LONGEST_WORD = 40
# Unknown words of one text that get their corrections: a resident's typos are a few, and a pasted page of
# gibberish would otherwise cost about a millisecond a word
CORRECTED_WORDS = 60
GLUED_AT_MOST = 60  # a longer run of letters is not a sentence typed without spaces (and would cost seconds)
GLUED = 11  # a word this long or longer that no dictionary knows may be several typed without spaces
DIGITS_OR_LETTERS = re.compile(r"[0-9]+|[^0-9]+")
# Words of one or two letters a glued text may hold; other pieces need three letters at least.
SHORT_WORDS = frozenset("в у і й з а я о та не ні на до по за за ти ми ви він що як чи би б ж же вже ще "
                        "с и к ко во со он мы вы ты да нет но ли уж ей ему им их мне".split())

# Russian function words that carry nothing for search; the Ukrainian ones are in text.STOPWORDS.
RU_STOPWORDS = frozenset(
    """
    я мы ты вы он она оно они меня мне мной нас нам нами тебя тебе вас вам его ему её ей их им мой моя моё мои
    наш наша наше наши ваш ваша свой своя своё свои этот эта это эти тот та то те который какой какая какое
    в во на с со из к ко от для по под над за при про без через между у и а но или ни не что чтобы как где куда
    когда почему кто чем чего тут там так уже ещё тоже также только очень можно надо нужно нужен нужна хочу
    хотеть быть есть был была было были будет все всё весь вся пожалуйста помогите помочь подскажите скажите
    мочь могу может бы же ли вот
    """.replace("ё", "е").split()
)


def normalise(text: str) -> str:
    """Lower case, one apostrophe; ё is kept here because it tells Russian apart."""
    return text.lower().translate(APOSTROPHES)


def words_of(text: str) -> list[str]:
    return [w.strip("'") for w in WORD.findall(normalise(text)) if w.strip("'")]


@dataclass(frozen=True)
class Reading:
    """What a text says, word by word: the words as written and the Ukrainian lemmas each may stand for."""

    language: str
    words: tuple[str, ...]
    lemmas: tuple[tuple[str, ...], ...]
    ends: frozenset[int] = frozenset()  # positions of words a clause ends with (. , ! ? ; : — or a new line)
    stops: frozenset[int] = frozenset()  # positions of words a sentence ends with (. ! ? … or a new line)

    def all_lemmas(self) -> set[str]:
        return {lemma for options in self.lemmas for lemma in options}


class LanguageIdentifier:
    """uk / ru / en / other for a short text: letters first, then py3langid restricted to the three."""

    def __init__(self, dictionaries: Optional[Callable[[str], tuple[bool, bool]]] = None) -> None:
        self._model = None
        self.dictionaries = dictionaries

    def _langid(self):
        if self._model is None:
            self._model = _langid_model()
        return self._model

    def identify(self, text: str) -> str:
        plain = normalise(text)
        uk = sum(ch in UK_ONLY for ch in plain)
        ru = sum(ch in RU_ONLY for ch in plain)
        cyrillic = len(CYRILLIC.findall(plain))
        latin = len(LATIN.findall(plain))
        if not cyrillic and not latin:
            return "other"
        if latin > cyrillic:
            return "en"
        if uk or ru:
            # surzhyk carries both; the letters that are more frequent decide, Ukrainian on a tie
            return "ru" if ru > uk else "uk"
        if self.dictionaries is not None:
            # words only one language's dictionary knows ("бьет", "дети" against "б'є", "діти")
            only_ru = only_uk = 0
            for word in WORD.findall(plain):
                in_uk, in_ru = self.dictionaries(word)
                only_ru += in_ru and not in_uk
                only_uk += in_uk and not in_ru
            if only_ru != only_uk:
                return "ru" if only_ru > only_uk else "uk"
        language, _ = self._langid().classify(plain)
        return language if language in ("uk", "ru") else "uk"


class Reader:
    """Turns text into `Reading`s. One per process, built with the lexicon from data/."""

    def __init__(self, lexicon: Mapping[str, Iterable[str]] | None = None, morph: Optional[Morphology] = None,
                 english: Mapping[str, Iterable[str]] | None = None):
        self.morph = morph or morphology()
        self._ru = _russian()
        self.lexicon = {key.replace("ё", "е"): tuple(values) for key, values in (lexicon or {}).items()}
        self.english = english_lexicon(english or {})
        self.ru_known = lru_cache(maxsize=100_000)(self._ru.word_is_known)
        self.identifier = LanguageIdentifier(lambda word: (self.morph.known(word), self.ru_known(word)))
        self._ru_lemma = lru_cache(maxsize=100_000)(self._ru_lemma_of)
        self._word = lru_cache(maxsize=200_000)(self._word_lemmas)
        self.ru_corrections = lru_cache(maxsize=50_000)(self._ru_corrections)
        self.ru_edits = KnownEdits(self._ru, RU_ALPHABET, {"е": "ё"})
        self._split = lru_cache(maxsize=20_000)(self._glued)
        self._last: Optional[tuple[str, Reading]] = None

    def _pieces(self, word: str) -> tuple[str, ...]:
        """Digits apart from letters («3роки»), then each run of letters through `_glued`."""
        return tuple(piece for run in DIGITS_OR_LETTERS.findall(word)
                     for piece in (self._split(run) if GLUED <= len(run) <= GLUED_AT_MOST and not run.isdigit()
                                   else (run,)))

    def warm_up(self) -> None:
        """Load what is otherwise loaded on the first text that needs it (the language identifier's model)."""
        self.identifier._langid()

    def read(self, text: str) -> Reading:
        last = self._last
        if last is not None and last[0] == text:
            return last[1]  # the search and the triage read the same query one after the other
        reading = self._read(text)
        self._last = (text, reading)
        return reading

    def _read(self, text: str) -> Reading:
        language = self.identifier.identify(text)
        plain = normalise(text)
        words: list[str] = []
        ends: set[int] = set()
        stops: set[int] = set()
        for match in CLAUSE.finditer(plain):
            if match.group(1):
                word = match.group(1).strip("'")
                if word:
                    words.extend(self._pieces(word) if len(word) >= GLUED else (word,))
            elif words:
                ends.add(len(words) - 1)
                if match.group(0) in SENTENCE_END:
                    stops.add(len(words) - 1)
        if words:
            ends.add(len(words) - 1)
            stops.add(len(words) - 1)
        lemmas = []
        unknown = 0
        for word in words:
            correct = unknown < CORRECTED_WORDS
            options = self._word(word, language == "ru", correct)
            unknown += correct and not word.isdigit() and not LATIN.search(word) and not self.known(word)
            lemmas.append(options)
        _numbers(words, lemmas)
        return Reading(language, tuple(words), tuple(lemmas), frozenset(ends), frozenset(stops))

    def lemmas(self, text: str) -> list[str]:
        """The main Ukrainian lemma of each word (the first option), for indexing Ukrainian text."""
        return [options[0] for options in self.read(text).lemmas if options]

    # --- one word ---

    def known(self, word: str) -> bool:
        """Whether the Ukrainian or the Russian dictionary knows the word."""
        return self.morph.known(word.replace("ё", "е")) or self.ru_known(word)

    def russian_infinitive(self, word: str) -> bool:
        """Whether the Russian dictionary reads the word first as an infinitive («жить»)."""
        return bool(self.ru_known(word)) and self._ru.parse(word)[0].tag.POS == "INFN"

    def russian_lemmas(self, word: str) -> list[str]:
        """The Ukrainian lemmas a Russian word stands for (the lexicon, else a cognate, else its Russian lemma)."""
        return self._from_russian(self._ru_lemma(word))

    def _glued(self, word: str) -> tuple[str, ...]:
        """A long word neither dictionary knows, typed without spaces («дідупавнеможевстати», «малий3рокисамвдома»):
        the known words it is made of, or the word itself. Each piece costs one, a little more when it has three
        letters or only the other language's dictionary knows it, and a negation glued to a known word («неможе»)
        more than the two words; every piece but the short function words has three letters at least, so a
        misspelt long word is left to the corrections."""
        if self.known(word):
            return (word,)
        ukrainian = any(ch in UK_ONLY for ch in word)
        best: list[Optional[tuple[float, tuple[str, ...]]]] = [(0.0, ())] + [None] * len(word)
        for end in range(1, len(word) + 1):
            for start in range(max(0, end - 24), end):
                cost = best[start] and self._piece_cost(word[start:end], ukrainian)
                if cost and (best[end] is None or best[start][0] + cost < best[end][0]):
                    best[end] = (best[start][0] + cost, best[start][1] + (word[start:end],))
        found = best[len(word)]
        pieces = found[1] if found else ()
        if len(pieces) < 3 or sum(len(p) == 3 and p not in SHORT_WORDS for p in pieces) > 1 \
                or len(pieces[-1]) == 1 or any(len(a) == len(b) == 1 for a, b in zip(pieces, pieces[1:])):
            return (word,)  # «гума нит арку», «этаж к и»: a misspelt or unknown word, not several
        if self.morph.corrections(word.replace("ё", "е")) or self.ru_corrections(word):
            return (word,)  # one letter off a known word
        return pieces

    def _piece_cost(self, piece: str, ukrainian: bool) -> float:
        """What a piece of a glued word costs (0: it is not a word)."""
        if piece in SHORT_WORDS or piece.isdigit():
            return 1.0
        if len(piece) < 3:
            return 0.0
        plain = piece.replace("ё", "е")
        in_uk = self.morph.common(plain)
        if not in_uk and not (self.ru_known(piece) and common_parse(self._ru.parse(piece))):
            return 0.0
        cost = 1.0 + (0.2 if len(piece) == 3 else 0.0) + (0.4 if ukrainian and not in_uk else 0.0)
        if piece.startswith("не") and len(piece) > 4 and self.morph.known(plain[2:]):
            cost += 1.1
        return cost

    def _word_lemmas(self, word: str, russian_text: bool, correct: bool = True) -> tuple[str, ...]:
        """The Ukrainian lemmas a word may stand for; an unknown word's corrections only when `correct`."""
        if word.isdigit() or len(word) > LONGEST_WORD:
            return (word,)  # no dictionary word is longer; its corrections alone took seconds for 4,000 letters
        if LATIN.search(word):
            return (word, *self.english.get(word, self.english.get(en_stem(word), ())))
        plain = word.replace("ё", "е")
        has_uk = any(ch in UK_ONLY for ch in word) or "'" in word
        has_ru = any(ch in RU_ONLY for ch in word)
        uk_known = not has_ru and self.morph.known(plain)
        ru_known = not has_uk and self.ru_known(word)
        out: list[str] = []
        # In a Russian text a word both languages know is read as Russian first ("мать", "он")
        if ru_known and (russian_text or has_ru or not uk_known):
            out += self._from_russian(self._ru_lemma(word))
        if uk_known:
            out += self.morph.lemma_options(plain)
        if not out and correct:
            out += self.morph.corrections(plain)[:3] if not has_ru else []
            if not has_uk and len(word) > 3:
                out += [lemma for lemma in self.ru_corrections(word)[:2] if lemma not in out]
        if not out:
            out.append(plain)
        return tuple(dict.fromkeys(out))

    def _ru_lemma_of(self, word: str) -> str:
        """The word's Russian lemma: the analyser's first guess, unless only another of its guesses is in the
        lexicon («горячего» is first «горячее», the lexicon has «горячий»)."""
        lemmas = [p.normal_form.replace("ё", "е") for p in self._ru.parse(word)]
        if lemmas[0] not in self.lexicon:
            for lemma in lemmas[1:]:
                if lemma in self.lexicon:
                    return lemma
        return lemmas[0]

    def _from_russian(self, lemma: str) -> list[str]:
        mapped = self.lexicon.get(lemma)
        if mapped:
            return list(mapped)
        if lemma in RU_STOPWORDS:
            return [lemma]
        cognate = self._cognate(lemma)
        return [cognate] if cognate else [lemma]

    def _cognate(self, lemma: str) -> Optional[str]:
        """The Ukrainian word a Russian lemma differs from only by regular spelling correspondences."""
        candidates = [c for c in _spellings(lemma) if self.morph.known(c)]
        # a candidate that is a dictionary form itself first: "жити", not "житі" (a form of "жито")
        for candidate in candidates:
            if self.morph.lemma(candidate) == candidate:
                return candidate
        return self.morph.lemma(candidates[0]) if candidates else None

    def _ru_corrections(self, word: str) -> list[str]:
        """A Russian word with one letter wrong: the Ukrainian lemmas of the Russian words one edit away."""
        found: list[str] = []
        known = self.ru_edits.find(word)
        for candidate in _ru_edits(word):
            if candidate in known:
                for lemma in self._from_russian(self._ru_lemma(candidate)):
                    if lemma not in found:
                        found.append(lemma)
            if len(found) >= 2:
                break
        return found


def _numbers(words: list[str], lemmas: list) -> None:
    """Numbers written as words become digits, in place: «чотирнадцять» is 14, «шістдесят вісім» 68 in both places
    (a unit after a tens word is never an age of its own)."""
    at = 0
    while at < len(words):
        tens = next((TENS[o] for o in lemmas[at] if o in TENS), None)
        unit = next((NUMERALS[o] for o in lemmas[at] if o in NUMERALS), None)
        if tens is not None:
            following = lemmas[at + 1] if at + 1 < len(words) else ()
            extra = next((int(NUMERALS[o]) for o in following if o in NUMERALS),
                         1 if {"один", "одна"} & set(following) else 0)
            number = str(tens + extra)
            for place in (at, at + 1) if extra else (at,):
                words[place], lemmas[place] = number, (number,)
            at += 2 if extra else 1
            continue
        if unit is not None:
            words[at], lemmas[at] = unit, (unit,)
        at += 1


RU_ALPHABET = "абвгдежзийклмнопрстуфхцчшщъыьэюя"


def _ru_edits(word: str) -> list[str]:
    return _edits1(word, RU_ALPHABET)


ENDINGS = (("ться", "тися"), ("чься", "чися"), ("ть", "ти"), ("чь", "чи"), ("ый", "ий"), ("ой", "ий"),
           ("ия", "ія"), ("ие", "ія"), ("ье", "'я"), ("ья", "'я"))
LETTERS = str.maketrans({"ы": "и", "э": "е", "ъ": "'"})
VARIANTS = {"и": ("и", "і"), "е": ("е", "і", "є"), "о": ("о", "і")}


def _spellings(lemma: str, limit: int = 48) -> list[str]:
    """Ukrainian spellings a Russian lemma may have: endings, then и/і, е/і/є, о/і in turn."""
    base = lemma.translate(LETTERS)
    for ru_end, uk_end in ENDINGS:
        if base.endswith(ru_end):
            base = base[: -len(ru_end)] + uk_end
            break
    spots = [i for i, ch in enumerate(base) if ch in VARIANTS][:5]
    out = []
    for combo in itertools.product(*(VARIANTS[base[i]] for i in spots)):
        chars = list(base)
        for i, ch in zip(spots, combo):
            chars[i] = ch
        out.append("".join(chars))
        if len(out) >= limit:
            break
    return out


@lru_cache(maxsize=1)
def _russian() -> pymorphy3.MorphAnalyzer:
    """pymorphy3's Russian dictionary, loaded once per process and shared by every reader."""
    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=1)
def _langid_model():
    """py3langid's model of uk, ru and en, loaded once per process: the small model derived from the installed
    one (bot/catalogue/langid_model.py; the full model is never loaded), or the full one when it cannot be."""
    return load_language_identifier()


def load_language_model() -> None:
    """Load the language model now, before the catalogue and its index are built. With the full model this
    lowered the peak (its loading frees what they then use: 346 → 293 MB); the derived one is small either way."""
    _langid_model()


def english_lexicon(by_lemma: Mapping[str, Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """data/shared/en_uk.yaml turned round: each English word, and its stem («punch» for «punches»,
    «punching»), with the Ukrainian lemmas it is read as."""
    out: dict[str, list[str]] = {}
    for lemma, words in by_lemma.items():
        for word in words:
            for form in dict.fromkeys((word.lower(), en_stem(word.lower()))):
                out.setdefault(form, [])
                if lemma not in out[form]:
                    out[form].append(lemma)
    return {form: tuple(lemmas) for form, lemmas in out.items()}


_shared: dict[tuple, Reader] = {}


def reader_for(lexicon: Mapping[str, Iterable[str]] | None,
               english: Mapping[str, Iterable[str]] | None = None) -> Reader:
    """One reader per pair of lexicons (the catalogue's), so a reloaded catalogue with the same lexicons reads with
    the same reader and its caches; a changed lexicon gets a new reader, and only the last two are kept."""
    key = tuple(tuple(sorted((k, tuple(v)) for k, v in (words or {}).items())) for words in (lexicon, english))
    reader = _shared.pop(key, None) or Reader(lexicon, english=english)
    _shared[key] = reader  # the most recent last
    while len(_shared) > 2:
        del _shared[next(iter(_shared))]
    return reader
