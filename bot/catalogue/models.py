"""Pydantic models of the catalogue: everything in data/ is validated by them at load."""
from __future__ import annotations

import re
from datetime import date, time
from enum import Enum
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,40}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A text in both languages; both must be present and non-empty."""

    uk: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @field_validator("uk", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    def get(self, locale: str) -> str:
        return self.en if locale == "en" else self.uk


PHONE_NOISE = re.compile(r"[\s\-().]")
EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")
WEBSITE = re.compile(r"^https://[^\s/?#<>\"]+\.[^\s/?#<>\"]+([/?#][^\s<>\"]*)?$")


def ukrainian_phone(text: str) -> bool:
    """A Ukrainian number: +380 and 9 digits, 0 and 9 digits, or a short national line (102, 1545); spaces,
    dashes, dots and brackets between the digits are allowed."""
    digits = PHONE_NOISE.sub("", text)
    return bool(re.fullmatch(r"\+?380\d{9}|0\d{9}|1\d{2,3}", digits))


def email_address(text: str) -> bool:
    return bool(EMAIL.match(text)) and len(text) <= 254


def https_link(text: str) -> bool:
    return bool(WEBSITE.match(text))


class Contacts(Strict):
    """Known contacts of an institution. Empty means "уточнюється": never invent."""

    phones: list[str] = []
    address: Optional[Text] = None
    email: Optional[str] = None
    website: Optional[str] = None
    hours: Optional[Text] = None

    @field_validator("phones")
    @classmethod
    def _ukrainian_phones(cls, value: list[str]) -> list[str]:
        for phone in value:
            if not ukrainian_phone(phone):
                raise ValueError(f"'{phone}' is not a Ukrainian phone number (+380 XX XXX XX XX or 0XX XXX XX XX)")
        return [phone.strip() for phone in value]

    @field_validator("email")
    @classmethod
    def _email(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not email_address(value.strip()):
            raise ValueError(f"'{value}' is not an e-mail address")
        return value.strip() if value is not None else None

    @field_validator("website")
    @classmethod
    def _https(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not https_link(value.strip()):
            raise ValueError(f"'{value}' is not a web address starting with https://")
        return value.strip() if value is not None else None

    @property
    def empty(self) -> bool:
        return not (self.phones or self.address or self.email or self.website or self.hours)


class InstitutionKind(str, Enum):
    css = "css"  # центр соціальних служб
    ssd = "ssd"  # служба у справах дітей
    uszn = "uszn"  # управління / департамент соціального захисту
    tcso = "tcso"  # територіальний центр соціального обслуговування
    irc = "irc"  # інклюзивно-ресурсний центр
    rehab = "rehab"  # реабілітаційна установа
    health = "health"  # заклад охорони здоров'я
    education = "education"  # управління / заклад освіти
    cnap = "cnap"  # ЦНАП
    police = "police"  # ювенальна превенція, поліція
    ngo = "ngo"  # громадська / благодійна організація
    other = "other"


class Institution(Strict):
    id: str = Field(pattern=ID_PATTERN)
    kind: InstitutionKind
    name: Text
    short_name: Text
    description: Text
    contacts: Contacts = Contacts()
    response_days: Optional[int] = Field(default=None, ge=1, le=60)
    # "seed": the programme names it (seed_ref quotes where); "law": the programme does not, but the law gives it a
    # task residents need (law_ref names the act), e.g. the children's service of a community whose programme has none
    source: Literal["seed", "law"] = "seed"
    seed_ref: Optional[str] = Field(default=None, min_length=1, description="where the seed names it")
    law_ref: Optional[str] = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _sourced(self) -> "Institution":
        if self.source == "seed" and not self.seed_ref:
            raise ValueError("seed_ref: an institution from the programme needs the phrase that names it")
        if self.source == "law" and not self.law_ref:
            raise ValueError("law_ref: an institution the programme does not name needs the law that gives it its task")
        return self


class Access(str, Enum):
    application = "application"  # written application of the person or representative
    referral = "referral"  # referral by another body (ССД, УСЗН, school, doctor, ...)
    on_record = "on_record"  # for people on a register (e.g. families in СЖО, ВПО)
    direct = "direct"  # just come / call, no paperwork
    identified = "identified"  # the institution finds the person itself (outreach)


class Cost(str, Enum):
    free = "free"
    paid = "paid"
    mixed = "mixed"  # free for some, paid for others
    unknown = "unknown"


class Status(str, Enum):
    active = "active"  # the programme describes it as provided (an institution's existing work, a funded measure)
    introducing = "introducing"  # the programme introduces or extends it over its years: it may not be there yet
    planned = "planned"  # the programme plans to create it (or only a draft decision or agreement exists)


Source = Literal["seed", "law"]


class Claim(Strict):
    """Something a card tells residents that needs a source: an age limit, who pays, who refers, free of charge.

    `source` "seed": the programme says it and `ref` quotes the phrase; "law": only the law says it and `ref`
    names the act (and article)."""

    text: Text
    source: Source
    ref: str = Field(min_length=1)


class Service(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text
    provider: str
    co_providers: list[str] = []
    service_type: Optional[str] = None
    summary: Text
    who: Text
    how: Text
    access: list[Access] = Field(min_length=1)
    cost: Cost = Cost.unknown
    cost_note: Optional[Text] = None
    # where "free" or "paid" comes from: the programme (cost_ref quotes it) or only the law (cost_ref names the act)
    cost_source: Optional[Source] = None
    cost_ref: Optional[str] = None
    status: Status = Status.active
    # The years the programme gives for the measure, first and last (for any status; planned and introducing
    # services need them). Without planned_until the measure is for planned_year alone.
    planned_year: Optional[int] = Field(default=None, ge=2020, le=2035)
    planned_until: Optional[int] = Field(default=None, ge=2020, le=2035)
    only_years: list[int] = []  # held only in these years of the span (one-off events: a summer school in 2021, 2024)
    # "seed": the programme names who provides it; "routing": it names nobody, and `provider` is whom the bot
    # suggests asking (provider_note says why)
    provider_source: Literal["seed", "routing"] = "seed"
    provider_note: Optional[Text] = None
    claims: list[Claim] = []
    not_covered: Optional[Text] = None  # what the programme does not cover that a resident would expect here
    # "law": the programme has no such measure, but the law gives residents this help (law_ref names the act)
    source: Source = "seed"
    law_ref: Optional[str] = None
    target_groups: list[str] = Field(min_length=1)
    situations: list[str] = []
    keywords: list[str] = []
    consultation: bool = False
    seed_ref: Optional[str] = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "Service":
        if self.source == "seed" and not self.seed_ref:
            raise ValueError("seed_ref: a service from the programme needs the phrase that describes it")
        if self.source == "law" and not self.law_ref:
            raise ValueError("law_ref: a service the programme does not describe needs the law behind it")
        first, last = self.planned_year, self.planned_until or self.planned_year
        if self.only_years and (first is None or any(not first <= year <= last for year in self.only_years)):
            raise ValueError("only_years: must lie between planned_year and planned_until")
        return self

    @property
    def first_year(self) -> Optional[int]:
        return self.planned_year

    @property
    def last_year(self) -> Optional[int]:
        return self.planned_until or self.planned_year

    @property
    def available(self) -> bool:
        """Running or being introduced (a resident may ask for it), not only planned."""
        return self.status is not Status.planned


Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Hours(Strict):
    """When a consultation line works, in the deployment's time zone."""

    days: list[Day] = Field(min_length=1)
    start: time
    end: time
    slot_minutes: int = Field(ge=10, le=240)
    wait_minutes: int = Field(ge=1, le=240)
    booking_days_ahead: int = Field(ge=1, le=30)

    @model_validator(mode="after")
    def _order(self) -> "Hours":
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self

    def works_on(self, day: date) -> bool:
        return DAYS[day.weekday()] in self.days


class ConsultationLine(Strict):
    """A community's line for one topic: who answers and, if not the default, when."""

    topic: str
    institution: Optional[str] = None
    hours: Optional[Hours] = None


class Indicators(Strict):
    """Targets the community's programme sets, drawn as target lines in the reports.

    A target counts only what it measures: with `topic`, the online consultations on that consultation topic
    (`measures` says in words what the programme counts), without it every online consultation."""

    consultations_per_year: int = Field(ge=1, le=1_000_000)  # online consultations in `base_year`
    yearly_growth: float = Field(default=0.0, ge=0.0, le=5.0)  # 0.15 = the target grows by 15 % a year
    base_year: int = Field(ge=2020, le=2035)
    until_year: Optional[int] = Field(default=None, ge=2020, le=2035)  # the last year the programme sets it for
    topic: Optional[str] = None  # id of the consultation topic the target counts
    measures: Optional[Text] = None  # what exactly the programme counts, for the report's reader
    seed_ref: Optional[str] = None  # where the programme sets it

    def consultations_target(self, year: int) -> Optional[float]:
        """The yearly target for `year`; none before the programme's base year or after its last one."""
        if year < self.base_year or (self.until_year is not None and year > self.until_year):
            return None
        return self.consultations_per_year * (1 + self.yearly_growth) ** (year - self.base_year)


class Community(Strict):
    slug: str = Field(pattern=ID_PATTERN)
    name: Text
    short_name: Text
    oblast: Text
    programme: Text
    programme_from: Optional[int] = Field(default=None, ge=2000, le=2050)  # the years the programme runs
    programme_until: Optional[int] = Field(default=None, ge=2000, le=2050)
    source_file: str
    intake_institution: str
    children_institution: str
    institutions: list[Institution] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    # life situation -> institution that receives requests about it; unmatched ones go to intake
    situation_routes: dict[str, str] = {}
    consultation: list[ConsultationLine] = []
    indicators: Optional[Indicators] = None


class TargetGroup(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text
    order: int = 100


class Situation(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text  # as a resident would say it, first person where natural
    danger: bool = False
    keywords: list[str] = []
    order: int = 100


class ServiceType(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text
    basic: bool = False


class Hotline(Strict):
    id: str = Field(pattern=ID_PATTERN)
    number: str
    dial: str  # what goes after tel:
    name: Text
    hours: Text
    topics: list[str] = []
    source: str
    check_before_deployment: bool = True
    order: int = 100


class ConsultationTopic(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text
    situation: Optional[str] = None
    target_groups: list[str] = []  # whom the topic serves, for the reports' per-group figures
    order: int = 100


class NewsTopic(Strict):
    """A topic of the information campaigns a resident may subscribe to."""

    id: str = Field(pattern=ID_PATTERN)
    name: Text
    target_groups: list[str] = []
    order: int = 100


class Schedule(Strict):
    default: Hours
    holidays: list[date] = []


class DangerRule(Strict):
    """One way words signal a danger. Patterns are read by bot/catalogue/triage.py; see data/shared/triage.yaml."""

    all: list[str] = Field(min_length=1)  # every pattern must occur somewhere in the text
    not_before: list[str] = []  # the first pattern's match is void right after one of these words
    not_after: list[str] = []  # ... or right before one of these
    unless: list[str] = []  # any of these patterns anywhere voids the rule
    after: list[str] = []  # kinds found by the other rules first («мені 14 і не хочу жити»: a child, too)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"all": [value]} if isinstance(value, str) else value


class DangerKind(Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: Text
    lines: list[str] = Field(min_length=1)  # national line numbers, in the order a resident sees them
    rules: list[DangerRule] = Field(min_length=1)
    # patterns of ordinary phrasings that look like this kind: they silence the learned model (never a rule)
    calm: list[str] = []
    # the learned model may raise this kind only when one of these patterns occurs (a child is mentioned)
    needs: list[str] = []


class DangerFrame(Strict):
    """Words that make a danger word speak of something else: a film, an animal, a year long past."""

    kinds: list[str] = []  # the kinds it applies to (none: every kind)
    patterns: list[str] = Field(min_length=1)  # any of these in the same sentence as a rule's match voids it
    within: Optional[int] = None  # ... only this many words from the match, when set
    but: list[str] = []  # the frame does not count in a sentence that also has one of these
    reach: int = 0  # ... and counts for the matches of this many sentences after its own (without `within`)


class QuietShape(Strict):
    """An ordinary shape of a whole text (a service asked for, an all-clear): the learned model's guess of any kind
    stands down when one of `patterns` occurs and none of `but` (now, fear, a call for help) does; never a rule."""

    patterns: list[str] = Field(min_length=1)
    but: list[str] = []


class TriageRules(Strict):
    groups: dict[str, list[str]] = {}  # named word lists a pattern refers to as @name
    frames: dict[str, DangerFrame] = {}
    quiet: dict[str, QuietShape] = {}
    kinds: list[DangerKind] = []


class Referral(Strict):
    """Whom to ask about something the community's social services do not do. Names only: a number is
    given only through a national line of hotlines.yaml, never a local phone or address."""

    id: str = Field(pattern=ID_PATTERN)
    name: Text
    hotline: Optional[str] = None  # id of a national line in hotlines.yaml
    institution_kind: Optional[InstitutionKind] = None  # the community's own institution of this kind, if any
    intake: bool = False  # the community's intake institution (intake_institution)


class OutOfScopeTopic(Strict):
    """Something residents ask the bot about that social services do not provide (a passport, a loan, a dentist).

    `when`: patterns over the lemmas of the query; a pattern is words separated by spaces that must all occur
    (in any order), each word one lemma or several joined by | ("пенсія вік|підвищити"). `types`: service types
    (service_types.yaml) whose services are about the topic whatever their words (home care for «доглядальниця»).
    `whole_story`: a query with one of the patterns asks for the topic, however long, not for something it mentions
    in passing; where the community has no service of `types`, words of the rest in some other service are no
    answer. Without `types` (free meals, a wheelchair on loan), the answer is a service whose name has a pattern's
    first word, whatever else the query tells, and where there is none, the honest answer."""

    id: str = Field(pattern=ID_PATTERN)
    name: Text
    when: list[str] = Field(min_length=1)
    refer: list[str] = Field(min_length=1)  # ids of referrals, in the order the resident sees them
    types: list[str] = []
    whole_story: bool = False


class OutOfScope(Strict):
    referrals: list[Referral] = []
    topics: list[OutOfScopeTopic] = []


class SharedData(Strict):
    target_groups: list[TargetGroup]
    situations: list[Situation]
    service_types: list[ServiceType]
    hotlines: list[Hotline]
    synonyms: dict[str, list[str]] = {}
    ru_uk: dict[str, list[str]] = {}
    en_uk: dict[str, list[str]] = {}  # a Ukrainian lemma: the English words that mean it
    out_of_scope: OutOfScope = OutOfScope()
    triage: TriageRules = TriageRules()
    triage_weights: dict[str, dict[str, Any]] = {}  # data/shared/triage_weights.json, see triage_model.py
    consultation_topics: list[ConsultationTopic] = []
    news_topics: list[NewsTopic] = []
    schedule: Schedule
