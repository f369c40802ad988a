"""The search's index of one community: BM25 over the lemmas of every service's fields, each field weighted, and
the query it scores (bot/catalogue/search.py reads a resident's words into a `Query`)."""
from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bot.catalogue.loader import Catalogue, CommunityView
from bot.catalogue.models import Service
from bot.catalogue.text import STOPWORDS, en_stem, tokens

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
OTHER_TERMS = 0.3  # how much a word's other terms add to its best one in the same service
K1, B = 1.2, 0.5
# A planned service keeps this share of its score: a running service that fits about as well comes first,
# a planned one that is the only fit still shows.
PLANNED_FACTOR = 0.6
PLANNED_ALONE = 0.9
LOW_IDF_SHARE = 0.5  # a term in more than this share of a community's services says little on its own

EN_STOPWORDS = frozenset(
    """
    a an the i me my we us our you your he him his she her it its they them their is am are was were be been
    being have has had do does did to of in on at for from with by about as into and or but not no so if
    then there here this that these those what which who whom where when why how can could would should will
    shall may might must need needs needed want wants please help any some is there one someone anyone
    """.split()
)


EN_WORD = re.compile(r"[a-z]+")


def en_terms(text: str) -> list[str]:
    return [en_stem(w) for w in EN_WORD.findall(text.lower()) if w not in EN_STOPWORDS]


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
        self.service_types = frozenset(service.service_type for service, _, _ in self.docs)
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
