"""Free-text search of a community's services in the resident's own words.

A query is read word by word by the reader (bot/catalogue/reader.py): a Ukrainian, Russian, surzhyk or
misspelled word gives the Ukrainian lemmas it may stand for, the first one the likeliest. Each word of the
query is one group of terms: its lemmas (the first at full weight, the others a little less), their synonyms
(data/shared/synonyms.yaml) and, for a word no dictionary knows, the catalogue's words one letter away.
A service scores, per query word, its best term (BM25 over the service's fields, weighted by field), so a
word with many synonyms does not count more than a word with one; the sum is scaled by how much of the
query the service covers. Running services come before planned ones unless the planned one fits clearly
better.

`answer` also says whether the catalogue has anything for the words at all (`served`): it does not when the
best service shares only words nearly every service has with a query it barely covers, or when the query is
about a topic social services do not handle (data/shared/out_of_scope.yaml: a passport to be made, a pension,
a dentist, a roof to mend, a care home where the community has none) and none of the first three services is
about that topic, nor does the best one fit the rest of the query. Then the answer names whom to ask
(`refer`, `referrals`); the hits are still the nearest services.
"""
from __future__ import annotations

import itertools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Optional

from bot.catalogue.loader import Catalogue, CommunityView
from bot.catalogue.models import OutOfScopeTopic, Referral, Service
from bot.catalogue.reader import LATIN, RU_STOPWORDS, Reader, reader_for
from bot.catalogue.text import APOSTROPHES, STOPWORDS, Morphology, morphology, tokens
from bot.catalogue.triage import Triage

# How much a word counts depending on where in the service it stands.
FIELD_WEIGHTS = {
    "name": 3.0,
    "keywords": 2.5,
    "situation": 1.6,
    "group": 1.2,
    "summary": 1.0,
    "who": 0.8,
    "type": 0.8,
    "provider": 0.4,
}
ALTERNATIVE_WEIGHT = 0.85  # another lemma the same word may stand for
SYNONYM_WEIGHT = 0.6
EQUIVALENT_WEIGHT = 0.95  # a synonym that means the same ("=переселенець" for "впо")
TYPO_WEIGHT = 0.8
OTHER_TERMS = 0.3  # how much a word's other terms add to its best one in the same service
K1, B = 1.2, 0.5
# A planned service keeps this share of its score: a running service that fits about as well comes first,
# a planned one that is the only fit still shows.
PLANNED_FACTOR = 0.6
PLANNED_ALONE = 0.9
# Hits scoring below this share of the best are dropped.
RELATIVE_FLOOR = 0.2
YOUNG_CHILD_TERMS = ("малюк", "раннє", "рання", "розвиток")
AGE_UNITS = frozenset("рік роки років року год года лет годик годика годиків місяць місяці місяців місяця "
                      "месяц месяца месяцев".split())
LONG_QUERY = 8  # words that say something; a longer query is a story, where a topic may come up in passing
LOW_IDF_SHARE = 0.5  # a term in more than this share of a community's services says little on its own

# Words a resident's query is full of that say nothing about which service fits (Ukrainian and Russian,
# as written and as lemmas); text.STOPWORDS and reader.RU_STOPWORDS hold the function words.
QUERY_STOPWORDS = frozenset(
    """
    після перед такий такой такое такая такие бо б би бы хоч хоча хотя навіть даже тепер зараз сейчас тоді тогда
    потім потом ніде нигде ніхто никто ніщо нічого ничего кілька несколько хтось якийсь щось десь кудись якось
    ось вот ну адже ж же лише просто взагалі вообще зовсім совсем ще еще вже уже знову снова опять завжди всегда
    часто іноді інколи иногда постійно постоянно кожний каждый цілий целый весь увесь усе інший другой свій свой
    собі себе себя мен знати знать сказати сказать підказати подсказать робити делать зробити сделать шо чтоб
    щоб чтобы ласка пожалуйста здравствуйте добрий добре доброго вечір дякувати привіт привет то таки
    який какой хто кто де где коли когда чи ли якщо если тому поэтому вона воно бути
    """.replace("ё", "е").split()
)
# Who the query is for and how it asks: not what it is about (see SearchEngine._serves).
NEUTRAL_WORDS = frozenset(
    """
    мама мати тато батько батьки син донька дочка дитина діти онук онука онучка дід дідусь баба бабуся чоловік
    дружина брат сестра сім'я родина людина особа сусід сусідка оформити отримати зробити записати записатися
    взяти дати шукати знайти дізнатися влаштувати потрібний безкоштовно безкоштовний платно терміново допомога
    допомогти можна треба де куди як хто сам самий один
    """.split()
)
# Words that help a little: most services are some kind of help, and most queries ask where to turn.
WEAK_WORDS = {"допомога": 0.5, "допомогти": 0.5, "звернутися": 0.5, "звертатися": 0.5, "послуга": 0.5}

EN_STOPWORDS = frozenset(
    """
    a an the i me my we us our you your he him his she her it its they them their is am are was were be been
    being have has had do does did to of in on at for from with by about as into and or but not no so if
    then there here this that these those what which who whom where when why how can could would should will
    shall may might must need needs needed want wants please help any some is there one someone anyone
    """.split()
)


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


EN_WORD = re.compile(r"[a-z]+")


def en_terms(text: str) -> list[str]:
    return [en_stem(w) for w in EN_WORD.findall(text.lower()) if w not in EN_STOPWORDS]


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


@dataclass
class QueryWord:
    """One word of the query: the terms it may stand for, each with its weight (the best is 1.0 or less)."""

    text: str
    terms: dict[str, float] = field(default_factory=dict)
    known: bool = True  # a dictionary knows the word (not a guess from a typo)
    lemmas: set[str] = field(default_factory=set)  # what the word itself may be, synonyms left out

    def add(self, term: str, weight: float, synonym: bool = False) -> None:
        if not synonym:
            self.lemmas.add(term[3:] if term.startswith("en:") else term)
        if weight > self.terms.get(term, 0.0):
            self.terms[term] = weight

    @property
    def weight(self) -> float:
        return max(self.terms.values(), default=0.0)


@dataclass
class Query:
    words: list[QueryWord]
    lemmas: set[str]  # every lemma and word as written, stopwords too: what out-of-scope topics are matched on

    def terms(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for word in self.words:
            for term, weight in word.terms.items():
                out[term] = max(out.get(term, 0.0), weight)
        return out


@dataclass
class Scored:
    index: int
    score: float
    covered: float  # weight of the query words the service matched, out of the query's total
    specific: float  # weight of words matched by a term that few of the community's services have
    matched: set[int]  # positions of the query words matched
    specific_words: set[int]  # ... of those matched by a term few of the community's services have


class CommunityIndex:
    """BM25 over lemmas of every service of one community, fields weighted."""

    def __init__(self, catalogue: Catalogue, community: CommunityView, forms):
        self.community = community
        self.forms = forms
        self.docs: list[tuple[Service, Counter[str], float]] = []
        df: Counter[str] = Counter()
        for service in community.services.values():
            tf = self._terms(catalogue, community, service)
            length = sum(tf.values())
            self.docs.append((service, tf, length))
            df.update(tf.keys())
        self.vocabulary = set(df)
        n = max(len(self.docs), 1)
        self.df = df
        self.size = n
        self.idf = {term: math.log(1 + (n - count + 0.5) / (count + 0.5)) for term, count in df.items()}
        self.avg_len = sum(length for _, _, length in self.docs) / n
        # the words of each service's name, and of its name and keywords: what it is about, not what it mentions
        self.names = [
            {form for token in tokens(service.name.uk) for form in self.forms(token)}
            | {"en:" + term for term in en_terms(service.name.en)}
            for service, _, _ in self.docs
        ]
        self.strong = [
            {form for text in (service.name.uk, *service.keywords) for token in tokens(text)
             for form in self.forms(token)} | {"en:" + term for term in en_terms(service.name.en)}
            for service, _, _ in self.docs
        ]
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, (_, tf, _) in enumerate(self.docs):
            for term in tf:
                self.postings[term].append(index)

    def _terms(self, catalogue: Catalogue, community: CommunityView, service: Service) -> Counter[str]:
        fields: dict[str, list[str]] = defaultdict(list)
        english: dict[str, list[str]] = defaultdict(list)
        fields["name"].append(service.name.uk)
        english["name"].append(service.name.en)
        fields["keywords"] += service.keywords
        fields["summary"].append(service.summary.uk)
        english["summary"].append(service.summary.en)
        fields["who"].append(service.who.uk)
        english["who"].append(service.who.en)
        for sid in service.situations:
            situation = catalogue.situations.get(sid)
            if situation:
                fields["situation"] += [situation.name.uk, *situation.keywords]
                english["situation"].append(situation.name.en)
        for gid in service.target_groups:
            group = catalogue.target_groups.get(gid)
            if group:
                fields["group"].append(group.name.uk)
                english["group"].append(group.name.en)
        if service.service_type and service.service_type in catalogue.service_types:
            kind = catalogue.service_types[service.service_type]
            fields["type"].append(kind.name.uk)
            english["type"].append(kind.name.en)
        provider = community.institutions.get(service.provider)
        if provider:
            fields["provider"] += [provider.name.uk, provider.short_name.uk]
        tf: Counter[str] = Counter()
        for name, texts in fields.items():
            weight = FIELD_WEIGHTS[name]
            for text in texts:
                lemmas = {form for token in tokens(text) if token not in STOPWORDS for form in self.forms(token)}
                for lemma in lemmas - STOPWORDS:
                    tf[lemma] += weight
        for name, texts in english.items():
            weight = FIELD_WEIGHTS[name]
            for text in texts:
                for term in set(en_terms(text)):
                    tf["en:" + term] += weight
        return tf

    def specific(self, term: str) -> bool:
        return self.df.get(term, 0) <= self.size * LOW_IDF_SHARE

    def score(self, query: Query) -> list[Scored]:
        # doc -> word -> [best term's score, all its terms' scores, the best weight of a term found]
        found: dict[int, dict[int, list[float]]] = defaultdict(dict)
        special: dict[int, dict[int, float]] = defaultdict(dict)
        for position, word in enumerate(query.words):
            for term, qweight in word.terms.items():
                idf = self.idf.get(term)
                if idf is None:
                    continue
                is_specific = self.specific(term)
                for index in self.postings[term]:
                    _, tf, length = self.docs[index]
                    freq = tf[term]
                    norm = freq * (K1 + 1) / (freq + K1 * (1 - B + B * length / self.avg_len))
                    value = qweight * idf * norm
                    entry = found[index].setdefault(position, [0.0, 0.0, 0.0])
                    entry[0] = max(entry[0], value)
                    entry[1] += value
                    entry[2] = max(entry[2], qweight)
                    if is_specific and qweight > special[index].get(position, 0.0):
                        special[index][position] = qweight
        total = sum(word.weight for word in query.words) or 1.0
        out = []
        for index, per_word in found.items():
            # a word counts by its best term, and a little more when the service has its other terms too
            value = sum(top + OTHER_TERMS * (every - top) for top, every, _ in per_word.values())
            covered = sum(weight for _, _, weight in per_word.values()) / total
            specific = sum(special[index].values()) / total
            out.append(Scored(index, value * (0.5 + covered), covered, specific, set(per_word),
                              set(special[index])))
        # Running services first: a planned one keeps PLANNED_FACTOR of its score when a running service covers
        # as much of the query, and PLANNED_ALONE when none does (it is the fit, but cannot be had yet).
        running = max((s.covered for s in out if self.docs[s.index][0].status.value != "planned"), default=0.0)
        for scored in out:
            if self.docs[scored.index][0].status.value == "planned":
                scored.score *= PLANNED_FACTOR if running >= scored.covered - 1e-9 else PLANNED_ALONE
        out.sort(key=lambda s: (-s.score, self.docs[s.index][0].id))
        return out


class SearchEngine:
    """Search every community of a catalogue. Built once at start-up."""

    def __init__(self, catalogue: Catalogue, morph: Optional[Morphology] = None):
        self.catalogue = catalogue
        self.morph = morph or morphology()
        self.reader: Reader = reader_for(catalogue.shared.ru_uk)
        self._forms = lru_cache(maxsize=200_000)(self._forms_of)
        self._fixes = lru_cache(maxsize=50_000)(self._corrections_of)
        # lemma -> {its synonym's lemma: weight}; a value written "=слово" in synonyms.yaml means the same
        # ("впо" and "переселенець") and weighs as the word itself, any other is a related word
        self.synonyms: dict[str, dict[str, float]] = {}
        for key, values in catalogue.shared.synonyms.items():
            keys = {key}
            for token in tokens(key)[:1]:
                keys.add(self.morph.lemma(token))
            for value in values:
                weight = EQUIVALENT_WEIGHT if value.startswith("=") else SYNONYM_WEIGHT
                for form in (f for token in tokens(value.lstrip("=")) for f in self._forms(token)):
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
        others = {p.normal_form.translate(APOSTROPHES) for p in self.morph._morph.parse(token)} - {main}
        return (main, *sorted(others))

    def _corrections_of(self, word: str) -> tuple[str, ...]:
        """Lemmas of known words one edit away from an unknown word (Ukrainian and Russian), that the
        catalogue or the synonym list knows; the reader's own guesses when none is."""
        found: list[str] = []
        # letters residents mix up, typing Ukrainian from a Russian keyboard or by ear: и/і/ї, е/є, ы, э, ъ
        for variant in _letter_variants(word):
            if self.morph.known(variant):
                found += [f for f in self._forms(variant) if f in self.known_terms]
        if not found:
            found += sorted(f for f in self.morph.corrections(word) if f in self.known_terms)
        if not found and len(word) > 3:
            found += [lemma for lemma in self.reader.ru_corrections(word) if lemma in self.known_terms]
        return tuple(dict.fromkeys(found))[:4]

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
                query_word.add("en:" + en_stem(word), 1.0)
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
        return index, query, index.score(query)

    def answer(self, community: str, text: str, limit: int = 5) -> Answer:
        index, query, ranked = self._ranked(community, text)
        found = self.topics_of(query)
        served = bool(index and query.words and ranked) and self._serves(index, query, ranked[0], found)
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
        _, patterns = topics[0]
        if not any(not name.isdisjoint(_terms_of(pattern[0]))
                   or all(not strong.isdisjoint(_terms_of(options)) for options in pattern) for pattern in patterns):
            return False
        rest = self._rest(query, topics)
        return not rest or any(i in candidate.specific_words for i in rest)

    def _serves(self, index: CommunityIndex, query: Query, best: Scored,
                topics: list[tuple[OutOfScopeTopic, list[list[frozenset[str]]]]]) -> bool:
        """Whether the best service is about what was asked, not only about some of its common words."""
        if best.specific <= 0 and best.covered < 0.5:
            return False  # it matched little, and only words nearly every service has ("допомога", "дитина")
        if not topics:
            return True
        # The query is about something social services do not do (a topic's pattern): served when this
        # community's service is about the topic too ...
        if self._about_topic(index, query, best, topics):
            return True
        # ... or fits most of the rest (the topic is not all the query is about), or the query is a long story
        # the topic comes up in.
        rest = self._rest(query, topics)
        covered = [i for i in rest if i in best.specific_words]
        if len(covered) >= 2 and len(covered) * 2 >= len(rest):
            return True
        return len(query.words) >= LONG_QUERY and bool(covered)

    def _hits(self, index: Optional[CommunityIndex], ranked: list[Scored], limit: int) -> list[Hit]:
        if index is None or not ranked:
            return []
        best = ranked[0].score
        return [Hit(index.docs[s.index][0], s.score) for s in ranked if s.score >= best * RELATIVE_FLOOR][:limit]

    def search(self, community: str, text: str, limit: int = 5) -> list[Hit]:
        index, _, ranked = self._ranked(community, text)
        return self._hits(index, ranked, limit)


LETTER_SWAPS = {"и": "иі", "і": "іи", "ї": "їі", "е": "еє", "є": "єе", "ы": "иі", "э": "еє", "ъ": "'", "ё": "е"}


def _letter_variants(word: str, limit: int = 64) -> list[str]:
    """The word with the letters people confuse swapped for their neighbours, the word itself left out."""
    spots = [i for i, ch in enumerate(word) if ch in LETTER_SWAPS][:6]
    out: list[str] = []
    for combo in itertools.product(*(LETTER_SWAPS[word[i]] for i in spots)):
        chars = list(word)
        for i, ch in zip(spots, combo):
            chars[i] = ch
        variant = "".join(chars)
        if variant != word:
            out.append(variant)
        if len(out) >= limit:
            break
    return out


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
