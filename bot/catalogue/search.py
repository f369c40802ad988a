"""Free-text search of a community's services in the resident's own words."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional

from bot.catalogue.loader import Catalogue, CommunityView
from bot.catalogue.models import Service
from bot.catalogue.reader import reader_for
from bot.catalogue.triage import Triage
from bot.catalogue.text import STOPWORDS, Morphology, morphology, tokens

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
SYNONYM_WEIGHT = 0.6
TYPO_WEIGHT = 0.8
K1, B = 1.2, 0.5
YOUNG_CHILD_TERMS = ("малюк", "раннє", "рання", "розвиток")


@dataclass(frozen=True)
class Hit:
    service: Service
    score: float


@dataclass(frozen=True)
class Answer:
    """What the search found, and whether the catalogue has anything for these words at all."""

    hits: list[Hit]
    served: bool
    refer: tuple[str, ...] = ()  # whom to ask when not served: ids of hotlines or institution kinds


class CommunityIndex:
    """BM25 over lemmas of every service of one community, fields weighted."""

    def __init__(self, catalogue: Catalogue, community: CommunityView, morph: Morphology):
        self.community = community
        self.morph = morph
        self.docs: list[tuple[Service, Counter[str], float]] = []
        df: Counter[str] = Counter()
        for service in community.services.values():
            tf = self._terms(catalogue, community, service)
            length = sum(tf.values())
            self.docs.append((service, tf, length))
            df.update(tf.keys())
        self.vocabulary = set(df)
        n = max(len(self.docs), 1)
        self.idf = {term: math.log(1 + (n - count + 0.5) / (count + 0.5)) for term, count in df.items()}
        self.avg_len = sum(length for _, _, length in self.docs) / n
        self.postings: dict[str, list[int]] = defaultdict(list)
        for index, (_, tf, _) in enumerate(self.docs):
            for term in tf:
                self.postings[term].append(index)

    def _terms(self, catalogue: Catalogue, community: CommunityView, service: Service) -> Counter[str]:
        fields: dict[str, list[str]] = defaultdict(list)
        fields["name"] += [service.name.uk, service.name.en]
        fields["keywords"] += service.keywords
        fields["summary"].append(service.summary.uk)
        fields["who"].append(service.who.uk)
        for sid in service.situations:
            situation = catalogue.situations.get(sid)
            if situation:
                fields["situation"] += [situation.name.uk, *situation.keywords]
        for gid in service.target_groups:
            group = catalogue.target_groups.get(gid)
            if group:
                fields["group"].append(group.name.uk)
        if service.service_type and service.service_type in catalogue.service_types:
            fields["type"].append(catalogue.service_types[service.service_type].name.uk)
        provider = community.institutions.get(service.provider)
        if provider:
            fields["provider"] += [provider.name.uk, provider.short_name.uk]
        tf: Counter[str] = Counter()
        for field, texts in fields.items():
            weight = FIELD_WEIGHTS[field]
            for text in texts:
                for lemma in set(self.morph.lemmas(text)):
                    tf[lemma] += weight
        return tf

    def score(self, query_terms: dict[str, float]) -> list[Hit]:
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, float] = defaultdict(float)
        for term, qweight in query_terms.items():
            idf = self.idf.get(term)
            if idf is None:
                continue
            for index in self.postings[term]:
                _, tf, length = self.docs[index]
                freq = tf[term]
                norm = freq * (K1 + 1) / (freq + K1 * (1 - B + B * length / self.avg_len))
                scores[index] += qweight * idf * norm
                matched[index] += qweight
        total = sum(query_terms.values()) or 1.0
        hits = []
        for index, value in scores.items():
            coverage = matched[index] / total
            service = self.docs[index][0]
            planned_penalty = 0.85 if service.status.value == "planned" else 1.0
            hits.append(Hit(service, value * (0.5 + coverage) * planned_penalty))
        hits.sort(key=lambda hit: (-hit.score, hit.service.id))
        return hits


class SearchEngine:
    """Search every community of a catalogue. Built once at start-up."""

    def __init__(self, catalogue: Catalogue, morph: Optional[Morphology] = None):
        self.catalogue = catalogue
        self.morph = morph or morphology()
        self.synonyms: dict[str, list[str]] = {}
        for key, values in catalogue.shared.synonyms.items():
            lemma_key = self.morph.lemma(tokens(key)[0]) if tokens(key) else key
            expanded = [lemma for value in values for lemma in self.morph.lemmas(value)]
            self.synonyms.setdefault(lemma_key, []).extend(expanded)
            self.synonyms.setdefault(key, []).extend(expanded)
        self.indexes = {
            slug: CommunityIndex(catalogue, view, self.morph) for slug, view in catalogue.communities.items()
        }
        self.reader = reader_for(catalogue.shared.ru_uk)
        # danger triage reads the same way; built here so every catalogue (and a reloaded one) has its own
        self.triage = Triage(catalogue.shared.triage, self.reader)

    def query_terms(self, text: str, vocabulary: set[str]) -> dict[str, float]:
        """Lemmas of the query with synonyms and typo corrections, each with its weight."""
        terms: dict[str, float] = {}

        def add(term: str, weight: float) -> None:
            terms[term] = max(terms.get(term, 0.0), weight)

        words = tokens(text)
        for position, word in enumerate(words):
            lemma = self.morph.lemma(word)
            if word in STOPWORDS or lemma in STOPWORDS:
                continue
            add(lemma, 1.0)
            if lemma not in vocabulary and word not in vocabulary and not self.morph.known(word):
                for fixed in self._corrections(word, vocabulary):
                    add(fixed, TYPO_WEIGHT)
                    for synonym in self.synonyms.get(fixed, []):
                        add(synonym, SYNONYM_WEIGHT * TYPO_WEIGHT)
            for synonym in self.synonyms.get(lemma, []) + self.synonyms.get(word, []):
                add(synonym, SYNONYM_WEIGHT)
            if word.isdigit() and position + 1 < len(words):
                unit = self.morph.lemma(words[position + 1])
                if (unit == "рік" and int(word) <= 3) or unit == "місяць":
                    for term in YOUNG_CHILD_TERMS:
                        add(term, SYNONYM_WEIGHT)
        return terms

    def _corrections(self, word: str, vocabulary: set[str]) -> list[str]:
        """Corrections that the catalogue or the synonym list knows, best three."""
        fixed = [lemma for lemma in self.morph.corrections(word) if lemma in vocabulary or lemma in self.synonyms]
        return fixed[:3]

    def answer(self, community: str, text: str, limit: int = 5) -> Answer:
        hits = self.search(community, text, limit)
        return Answer(hits, bool(hits))

    def search(self, community: str, text: str, limit: int = 5) -> list[Hit]:
        index = self.indexes.get(community)
        if index is None or not text.strip():
            return []
        terms = self.query_terms(text[:500], index.vocabulary)
        hits = index.score(terms)
        if not hits:
            return []
        best = hits[0].score
        return [hit for hit in hits if hit.score >= best * 0.2][:limit]

