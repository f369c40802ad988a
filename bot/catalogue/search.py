"""Free-text search of a community's services in the resident's own words.

A query is read word by word by the reader (bot/catalogue/reader.py): a Ukrainian, Russian, surzhyk or
misspelled word gives the Ukrainian lemmas it may stand for, the first one the likeliest. Each word of the
query is one group of terms: its lemmas (the first at full weight, the others a little less), their synonyms
(data/shared/synonyms.yaml) and, for a word no dictionary knows, the catalogue's words one letter away. An
English word stands for its stem in the services' English text; its synonyms are English keys of the same file,
and a misspelled English word is read as the known English words one letter away.
A service scores, per query word, its best term (BM25 over the service's fields, weighted by field), so a
word with many synonyms does not count more than a word with one; the sum is scaled by how much of the
query the service covers. Running services come before planned ones unless the planned one fits clearly
better.

`answer` also says whether the catalogue has anything for the words at all (`served`): it does not when the
best service shares only words nearly every service has with a query it barely covers, when a short query's first
services share only who it is for or how it asks with it and its other words name things this community's services
never mention ("хоспіс для мами, рак" where there is no hospice, "усиновити дитину" where there is no adoption:
bot/catalogue/search_served.py), or when the query is
about a topic social services do not handle (data/shared/out_of_scope.yaml: a passport to be made, a pension,
a dentist, a roof to mend, a care home where the community has none) and none of the first three services is
about that topic, nor does the best one fit the rest of the query. Then the answer names whom to ask
(`refer`, `referrals`); the hits are still the nearest services.

This module reads the query and decides; the index of a community and its scoring are in
bot/catalogue/search_index.py.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

from bot.catalogue.loader import Catalogue
from bot.catalogue.models import OutOfScopeTopic, Referral, Service
from bot.catalogue.reader import LATIN, RU_STOPWORDS, Reader, reader_for
from bot.catalogue.search_index import EN_STOPWORDS, CommunityIndex, Query, QueryWord, Scored
from bot.catalogue.search_served import AGE_UNITS, NEUTRAL_WORDS, asks_for_missing
from bot.catalogue.text import APOSTROPHES, STOPWORDS, Morphology, en_stem, morphology, tokens
from bot.catalogue.translit import in_latin, reads_as_words, to_cyrillic
from bot.catalogue.translit_ru import to_russian
from bot.catalogue.triage import Triage

ALTERNATIVE_WEIGHT = 0.85  # another lemma the same word may stand for
SYNONYM_WEIGHT = 0.6
EQUIVALENT_WEIGHT = 0.95  # a synonym that means the same ("=переселенець" for "впо")
TYPO_WEIGHT = 0.8
# Hits scoring below this share of the best are dropped.
RELATIVE_FLOOR = 0.2
YOUNG_CHILD_TERMS = ("малюк", "раннє", "рання", "розвиток")
LONG_QUERY = 8  # words that say something; a longer query is a story, where a topic may come up in passing
# Words a resident's query is full of that say nothing about which service fits (Ukrainian and Russian,
# as written and as lemmas); text.STOPWORDS and reader.RU_STOPWORDS hold the function words.
QUERY_STOPWORDS = frozenset(
    """
    після перед такий такой такое такая такие бо б би бы хоч хоча хотя навіть даже тепер зараз сейчас тоді тогда
    потім потом ніде нигде ніхто никто ніщо нічого ничего кілька несколько хтось якийсь щось десь кудись якось
    ось вот ну адже ж же лише просто взагалі вообще зовсім совсем ще еще вже уже знову снова опять завжди всегда
    часто іноді інколи иногда постійно постоянно кожний каждый цілий целый весь увесь усе інший другой свій свой
    собі себе себя мен знати знать сказати сказать підказати подсказать робити делать зробити сделать шо чтоб
    щоб чтобы нема ласка пожалуйста здравствуйте добрий добре доброго вечір дякувати привіт привет то таки
    який какой хто кто де где коли когда чи ли якщо если тому поэтому вона воно бути
    """.replace("ё", "е").split()
)
# Words that help a little: most services are some kind of help, and most queries ask where to turn.
WEAK_WORDS = {"допомога": 0.5, "допомогти": 0.5, "звернутися": 0.5, "звертатися": 0.5, "послуга": 0.5}


@dataclass(frozen=True)
class Hit:
    service: Service
    score: float


@dataclass(frozen=True)
class Answer:
    """What the search found, and whether the catalogue has anything for these words at all.

    When `served` is False the hits are only the nearest services (the words did not match what they do),
    `refer` names whom to ask instead (ids of national lines in hotlines.yaml, institution kinds and
    referrals of data/shared/out_of_scope.yaml) and `referrals` carries their names to show.
    """

    hits: list[Hit]
    served: bool
    refer: tuple[str, ...] = ()  # whom to ask when not served: ids of hotlines, institution kinds or referrals
    referrals: tuple[Referral, ...] = ()
    topic: Optional[str] = None  # the out-of-scope topic the words are about, when one is


class SearchEngine:
    """Search every community of a catalogue. Built once at start-up."""

    def __init__(self, catalogue: Catalogue, morph: Optional[Morphology] = None):
        self.catalogue = catalogue
        self.morph = morph or morphology()
        self.reader: Reader = reader_for(catalogue.shared.ru_uk, catalogue.shared.en_uk)
        self._forms = lru_cache(maxsize=200_000)(self._forms_of)
        self._fixes = lru_cache(maxsize=50_000)(self._corrections_of)
        self._en_fixes = lru_cache(maxsize=20_000)(self._en_corrections_of)
        # lemma -> {its synonym's lemma: weight}; a value written "=слово" in synonyms.yaml means the same
        # ("впо" and "переселенець") and weighs as the word itself, any other is a related word
        self.synonyms: dict[str, dict[str, float]] = {}
        for key, values in catalogue.shared.synonyms.items():
            keys = {key}
            for token in tokens(key)[:1]:
                keys = {"en:" + en_stem(token)} if LATIN.search(token) else keys | {self.morph.lemma(token)}
            for value in values:
                weight = EQUIVALENT_WEIGHT if value.startswith("=") else SYNONYM_WEIGHT
                for form in (f for token in tokens(value.lstrip("=")) for f in self._synonym_forms(token)):
                    for k in keys - {form}:
                        mine = self.synonyms.setdefault(k, {})
                        mine[form] = max(mine.get(form, 0.0), weight)
        self.indexes = {
            slug: CommunityIndex(catalogue, view, self._forms) for slug, view in catalogue.communities.items()
        }
        self.known_terms = set(self.synonyms)
        for index in self.indexes.values():
            self.known_terms |= index.vocabulary
        scope = catalogue.shared.out_of_scope
        self.referrals = {r.id: r for r in scope.referrals}
        self.topics = [(topic, [_pattern(p) for p in topic.when]) for topic in scope.topics]
        self.patterns = dict((topic.id, patterns) for topic, patterns in self.topics)
        # what each topic is about: the first word of each of its patterns
        self.topical = {option for _, patterns in self.topics for pattern in patterns for option in pattern[0]}
        self.reader.warm_up()
        # danger triage reads the same way; built here so every catalogue (and a reloaded one) has its own
        self.triage = Triage(catalogue.shared.triage, self.reader, catalogue.shared.triage_weights)

    # --- words ---

    def _forms_of(self, token: str) -> tuple[str, ...]:
        """Every lemma a Ukrainian word form may have, pymorphy3's first choice first."""
        if token.isdigit() or not self.morph.known(token):
            return (token,)
        main = self.morph.lemma(token)
        others = {p.normal_form.translate(APOSTROPHES) for p in self.morph.parses(token)} - {main}
        return (main, *sorted(others))

    def _synonym_forms(self, token: str) -> tuple[str, ...]:
        """A synonym's terms: an English word stands for its stem in the services' English text."""
        return ("en:" + en_stem(token),) if LATIN.search(token) else self._forms(token)

    def _corrections_of(self, word: str) -> tuple[str, ...]:
        """Lemmas of known words one edit away from an unknown word (Ukrainian and Russian), that the
        catalogue or the synonym list knows; the reader's own guesses when none is."""
        found: list[str] = []
        # letters residents mix up, typing Ukrainian from a Russian keyboard or by ear: и/і/ї, е/є, ы, э, ъ
        for variant in _letter_variants(word):
            if self.morph.known(variant):
                found += [f for f in self._forms(variant) if f in self.known_terms]
        if not found:
            # Russian written as it sounds: an unstressed «о» as «а» («саабщить»), «ться» as «ца» («пагреца»)
            for variant in _spoken_variants(word):
                if self.reader.ru_known(variant):
                    found += [f for f in self.reader.russian_lemmas(variant)
                              if f in self.known_terms]
        if not found:
            found += sorted(f for f in self.morph.corrections(word) if f in self.known_terms)
        if not found and len(word) > 3:
            found += [lemma for lemma in self.reader.ru_corrections(word) if lemma in self.known_terms]
        return tuple(dict.fromkeys(found))[:4]

    def _en_corrections_of(self, word: str) -> tuple[str, ...]:
        """The English terms one letter away from a word the services' English text does not have
        ("servises", "disabilty"): none for a word that is known or short."""
        if len(word) < 5 or "en:" + en_stem(word) in self.known_terms:
            return ()
        letters = "abcdefghijklmnopqrstuvwxyz"
        splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
        variants = [a + b[1:] for a, b in splits if b]
        variants += [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
        variants += [a + c + b[1:] for a, b in splits if b for c in letters]
        variants += [a + c + b for a, b in splits for c in letters]
        found = dict.fromkeys(t for t in ("en:" + en_stem(v) for v in variants) if t in self.known_terms)
        return tuple(found)[:3]

    def _english(self, word: QueryWord, text: str) -> None:
        fixes = self._en_fixes(text)
        for term in fixes:
            self._add(word, term, TYPO_WEIGHT)
        if not fixes:
            self._add(word, "en:" + en_stem(text), 1.0)

    def read(self, text: str) -> Query:
        reading = self.reader.read(text)
        words: list[QueryWord] = []
        seen: set[str] = set()
        every: set[str] = set()
        for position, (word, options) in enumerate(zip(reading.words, reading.lemmas)):
            plain = word.replace("ё", "е")
            every.add(plain)
            every.update(options)
            if plain in STOPWORDS or plain in RU_STOPWORDS or plain in EN_STOPWORDS or plain in QUERY_STOPWORDS:
                continue
            if not options or _stopword(options[0]):
                continue
            query_word = QueryWord(word, lemmas={plain})
            if LATIN.search(word):
                self._english(query_word, plain)
                every.add(en_stem(word))
            else:
                known = word.isdigit() or self.morph.known(plain) or self.reader.ru_known(word)
                query_word.known = known
                if known:
                    for rank, lemma in enumerate(options):
                        if not _stopword(lemma):
                            weight = 1.0 if rank == 0 else ALTERNATIVE_WEIGHT
                            self._add(query_word, lemma, weight * WEAK_WORDS.get(lemma, 1.0))
                    if self.morph.known(plain):
                        for form in self._forms(plain)[1:]:
                            self._add(query_word, form, ALTERNATIVE_WEIGHT)
                elif plain in self.known_terms:
                    # no dictionary has it, the catalogue does ("дбст", "соцтаксі", a new keyword)
                    self._add(query_word, plain, 1.0)
                else:
                    fixes = self._fixes(plain) or tuple(options)
                    every.update(fixes)
                    for lemma in fixes:
                        self._add(query_word, lemma, TYPO_WEIGHT)
            if word.isdigit() and position + 1 < len(reading.words):
                unit = reading.words[position + 1]
                if unit in AGE_UNITS and (int(word) <= 3 or unit.startswith(("міся", "меся"))):
                    for term in YOUNG_CHILD_TERMS:
                        query_word.add(term, SYNONYM_WEIGHT, synonym=True)
            if not query_word.terms:
                continue
            key = max(query_word.terms, key=query_word.terms.get)
            if key in seen:
                continue
            seen.add(key)
            words.append(query_word)
            every |= query_word.lemmas
        # a word's synonym that is another word of the query is that word's, not counted twice
        direct = {term for word in words for term in word.lemmas}
        for word in words:
            for term in [t for t in word.terms if t in direct and t not in word.lemmas]:
                del word.terms[term]
        return Query(words, every)

    def _add(self, word: QueryWord, lemma: str, weight: float) -> None:
        word.add(lemma, weight)
        for synonym, factor in self.synonyms.get(lemma, {}).items():
            word.add(synonym, factor * weight, synonym=True)

    def query_terms(self, text: str, vocabulary: Optional[set[str]] = None) -> dict[str, float]:
        """Lemmas of the query with synonyms and typo corrections, each with its weight."""
        return self.read(text).terms()

    # --- out of scope ---

    def topics_of(self, query: Query) -> list[tuple[OutOfScopeTopic, list[list[frozenset[str]]]]]:
        """The out-of-scope topics the query has a pattern of, in the file's order, each with its patterns
        found (a pattern: the options of each of its words)."""
        out = []
        for topic, patterns in self.topics:
            found = [p for p in patterns if all(not options.isdisjoint(query.lemmas) for options in p)]
            if found:
                out.append((topic, found))
        return out

    def refer_for(self, topic: Optional[OutOfScopeTopic]) -> tuple[tuple[str, ...], tuple[Referral, ...]]:
        if topic is None:
            return (), ()
        referrals = tuple(self.referrals[rid] for rid in topic.refer if rid in self.referrals)
        ids: list[str] = []
        for referral in referrals:
            ids.append(referral.id)
            if referral.hotline:
                ids.append(referral.hotline)
            if referral.institution_kind:
                ids.append(referral.institution_kind.value)
        return tuple(dict.fromkeys(ids)), referrals

    # --- search ---

    def _ranked(self, community: str, text: str) -> tuple[Optional[CommunityIndex], Query, list[Scored]]:
        index = self.indexes.get(community)
        if index is None or not text.strip():
            return index, Query([], set()), []
        query = self.read(text[:500])
        ranked = index.score(query)
        if not in_latin(text):
            return index, query, ranked
        # «usynovlennya», «gde pogretsa zimoy»: Ukrainian or Russian without a Cyrillic keyboard, read both ways
        readings = [to_cyrillic(text[:500], self.reader.known)]
        english = [word for word in query.words if any(term in self.known_terms for term in word.terms)]
        if len(english) * 2 < len(query.words):
            readings.append(to_russian(text[:500]))  # not English words the services' English text has
        for cyrillic in dict.fromkeys(readings):
            if reads_as_words(cyrillic, self.reader.known):  # not English so turned
                also = index.score(other := self.read(cyrillic))
                if also and (not ranked or also[0].score > ranked[0].score):
                    query, ranked = other, also
        return index, query, ranked

    def answer(self, community: str, text: str, limit: int = 5) -> Answer:
        index, query, ranked = self._ranked(community, text)
        found = self.topics_of(query)
        served = bool(index and query.words and ranked) and self._serves(index, query, ranked, found)
        if not served and found and ranked:
            # the service about the topic may be second or third ("сурдоперекладач до лікаря"): it goes first
            floor = ranked[0].score * RELATIVE_FLOOR
            for position, candidate in enumerate(ranked[1:3], 1):
                if candidate.score >= floor and self._about_topic(index, query, candidate, found):
                    ranked = [candidate, *ranked[:position], *ranked[position + 1:]]
                    served = True
                    break
        hits = self._hits(index, ranked, limit)
        if served:
            return Answer(hits, True)
        topic = found[0][0] if found else None
        refer, referrals = self.refer_for(topic)
        return Answer(hits, False, refer, referrals, topic.id if topic else None)

    def _rest(self, query: Query, topics: list[tuple[OutOfScopeTopic, list[list[frozenset[str]]]]]) -> list[int]:
        """Positions of what the query says besides its topics' words, the words any topic is about ("лікар" in
        "сурдоперекладач до лікаря"), who it is for and words of asking."""
        topical = self.topical | {option for topic, _ in topics for pattern in self.patterns[topic.id]
                                  for options in pattern for option in options}
        return [i for i, word in enumerate(query.words)
                if topical.isdisjoint(word.lemmas) and NEUTRAL_WORDS.isdisjoint(word.lemmas)
                and not word.text.isdigit()]

    def _about_topic(self, index: CommunityIndex, query: Query, candidate: Scored,
                     topics: list[tuple[OutOfScopeTopic, list[list[frozenset[str]]]]]) -> bool:
        """The service is about the query's topic (its name has a pattern's first word, or its name and keywords
        have all of a pattern's words) and has some of the rest of the query, if there is a rest."""
        strong, name = index.strong[candidate.index], index.names[candidate.index]
        topic, patterns = topics[0]
        if index.docs[candidate.index][0].service_type in topic.types:
            return True  # a service of the kind the topic is about («доглядальниця»: home care), whatever its words
        named = any(not name.isdisjoint(_terms_of(pattern[0])) for pattern in patterns)
        if topic.whole_story and not topic.types and named:
            # a topic no service type stands for (free meals, a wheelchair on loan): a service whose name says it
            # is the answer, whatever else the query tells («ходунки на час після операції»)
            return True
        if not named and not any(all(not strong.isdisjoint(_terms_of(options)) for options in pattern)
                                 for pattern in patterns):
            return False
        rest = self._rest(query, topics)
        return not rest or any(i in candidate.specific_words for i in rest)

    def _serves(self, index: CommunityIndex, query: Query, ranked: list[Scored],
                topics: list[tuple[OutOfScopeTopic, list[list[frozenset[str]]]]]) -> bool:
        """Whether the best service is about what was asked, not only about some of its common words."""
        best = ranked[0]
        if best.specific <= 0 and best.covered < 0.5:
            return False  # it matched little, and only words nearly every service has ("допомога", "дитина")
        if asks_for_missing(index, query, ranked, self._names, self.known_terms):
            return False
        if not topics:
            return True
        # The query is about something social services do not do (a topic's pattern): served when this
        # community's service is about the topic too ...
        if self._about_topic(index, query, best, topics):
            return True
        topic = topics[0][0]
        if topic.whole_story and index.service_types.isdisjoint(topic.types):
            return False  # care at home asked where there is none: words of the rest in another service are no answer
        # ... or fits most of the rest (the topic is not all the query is about), or the query is a long story
        # the topic comes up in.
        rest = self._rest(query, topics)
        covered = [i for i in rest if i in best.specific_words]
        if len(covered) >= 2 and len(covered) * 2 >= len(rest):
            return True
        return len(query.words) >= LONG_QUERY and bool(covered)

    def _names(self, word: QueryWord) -> bool:
        """Whether a word, a real one and not a guess at a typo, names a thing ("хоспіс", "tooth"), or is a word the
        catalogue knows residents ask for a service with ("усиновити"): not a word of a situation ("справлятися")."""
        if not word.known:
            return False
        if LATIN.search(word.text):
            # the services' English text is short (no keywords): only a word no community's text has counts
            return all(term not in self.known_terms for term in word.terms)
        lemma = max(word.terms, key=word.terms.get)
        return lemma in self.synonyms or any(p.tag.POS == "NOUN" for p in self.morph.parses(lemma)[:1])

    def _hits(self, index: Optional[CommunityIndex], ranked: list[Scored], limit: int) -> list[Hit]:
        if index is None or not ranked:
            return []
        best = ranked[0].score
        return [Hit(index.docs[s.index][0], s.score) for s in ranked if s.score >= best * RELATIVE_FLOOR][:limit]

    def search(self, community: str, text: str, limit: int = 5) -> list[Hit]:
        index, _, ranked = self._ranked(community, text)
        return self._hits(index, ranked, limit)


LETTER_SWAPS = {"и": "иі", "і": "іи", "ї": "їі", "е": "еє", "є": "єе", "ы": "иі", "э": "еє", "ъ": "'", "ё": "е"}


def _substituted(word: str, spots: list[int], choices: list[str]) -> Iterable[str]:
    """The word with each of its letters at `spots` replaced by each of that spot's `choices` in turn."""
    for combo in itertools.product(*choices):
        chars = list(word)
        for i, ch in zip(spots, combo):
            chars[i] = ch
        yield "".join(chars)


def _letter_variants(word: str, limit: int = 64) -> list[str]:
    """The word with the letters people confuse swapped for their neighbours, the word itself left out."""
    spots = [i for i, ch in enumerate(word) if ch in LETTER_SWAPS][:6]
    out: list[str] = []
    for variant in _substituted(word, spots, [LETTER_SWAPS[word[i]] for i in spots]):
        if variant != word:
            out.append(variant)
        if len(out) >= limit:
            break
    return out


def _spoken_variants(word: str, limit: int = 16) -> list[str]:
    """The word with some of its «а» turned into «о», and a final «ца» into «ться» or «тся» («пагреца»), the word
    itself left out."""
    stems = [word] + ([word[:-2] + "ться", word[:-2] + "тся"] if word.endswith("ца") else [])
    out: list[str] = []
    for stem in stems:
        spots = [i for i, ch in enumerate(stem) if ch == "а"][:4]
        out += [variant for variant in _substituted(stem, spots, ["ао"] * len(spots)) if variant != word]
    return out[:limit]


def _stopword(lemma: str) -> bool:
    return lemma in STOPWORDS or lemma in RU_STOPWORDS or lemma in QUERY_STOPWORDS


def _terms_of(options: Iterable[str]) -> list[str]:
    return [term for option in options for term in (option, "en:" + en_stem(option))]


def _pattern(text: str) -> list[frozenset[str]]:
    out = []
    for part in text.split():
        options = set()
        for option in part.split("|"):
            option = option.strip().lower().translate(APOSTROPHES).replace("ё", "е")
            if option:
                options.add(option)
        if options:
            out.append(frozenset(options))
    return out
