"""The figures of a report, read from the database for one period (and the period before it).

Everything is counted by the moment things happened, in the deployment's time zone:

* requests by the day they were sent; their status is the status now;
* time to the first answer and to closing: hours from sending, over the period's requests that have them
  (closing: resolved or closed by staff, not withdrawn);
* overdue: the period's requests not answered by their answer date (answered later, or still unanswered
  when the date passed);
* consultations held: asked in the period, taken by a specialist and ended (or turned into a request);
* campaigns: started in the period, with their recipients, deliveries, blocks and deep-link opens;
* new residents: first /start in the period;
* active residents: anyone who in the period started the bot or changed their settings, sent or followed
  up a request, asked or wrote in a consultation, or opened a deep link. The bot does not keep who sent
  which update, so this is read from those records.
"""
from __future__ import annotations

import asyncio
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from bot import links
from bot.campaigns import figures as campaign_figures
from bot.catalogue.loader import Catalogue
from bot.consult import figures as consult_figures
from bot.reports import confirmed
from bot.reports.confirmed import ConfirmationRow, Confirmed
from bot.reports.periods import Period, add_months
from bot.requests import figures as request_figures
from bot.storage import residents
from bot.storage.db import Database

UNSPECIFIED = ""  # a request without a service, situation or target group
HELD = ("ended", "converted")


def hours(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 3600


def median(values: Iterable[float]) -> Optional[float]:
    values = list(values)
    return statistics.median(values) if values else None


def mean(values: Iterable[float]) -> Optional[float]:
    values = list(values)
    return statistics.fmean(values) if values else None


@dataclass(frozen=True)
class RequestRow:
    """One request as the reports see it: no texts, no contacts."""

    day: date
    community: str
    institution: str
    service: str
    situation: str
    groups: tuple[str, ...]
    status: str
    resident: Optional[int]
    first_answer_hours: Optional[float]
    closing_hours: Optional[float]
    overdue: bool


@dataclass(frozen=True)
class ConsultationRow:
    day: date
    community: str
    institution: str
    topic: str
    groups: tuple[str, ...]
    resident: Optional[int]
    held: bool
    rating: Optional[int]


@dataclass(frozen=True)
class CampaignRow:
    id: int
    day: date
    community: Optional[str]
    topic: str
    recipients: int
    delivered: int
    blocked: int
    opens: int
    openers: int


@dataclass
class Figures:
    period: Period
    requests: list[RequestRow] = field(default_factory=list)
    consultations: list[ConsultationRow] = field(default_factory=list)
    campaigns: list[CampaignRow] = field(default_factory=list)
    new_residents: int = 0
    active_residents: int = 0
    confirmations: list[ConfirmationRow] = field(default_factory=list)  # whether the help came

    # ----- requests --------------------------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return len(self.requests)

    def by(self, key: str) -> Counter:
        """Requests per institution ((community, id)), service ((community, id)), situation, group or status."""
        counts: Counter = Counter()
        for r in self.requests:
            if key == "institution":
                counts[(r.community, r.institution)] += 1
            elif key == "service":
                counts[(r.community, r.service)] += 1
            elif key == "situation":
                counts[r.situation] += 1
            elif key == "group":
                counts.update(r.groups)
            elif key == "status":
                counts[r.status] += 1
            else:
                raise ValueError(key)
        return counts

    @property
    def median_first_answer(self) -> Optional[float]:
        return median(r.first_answer_hours for r in self.requests if r.first_answer_hours is not None)

    @property
    def median_closing(self) -> Optional[float]:
        return median(r.closing_hours for r in self.requests if r.closing_hours is not None)

    @property
    def overdue(self) -> int:
        return sum(r.overdue for r in self.requests)

    @property
    def confirmed(self) -> Confirmed:
        """Whether the help came, by the residents' answers (bot/reports/confirmed.py)."""
        return Confirmed.of(self.confirmations)

    # ----- consultations ---------------------------------------------------------------------------------------

    @property
    def consultations_held(self) -> int:
        return sum(c.held for c in self.consultations)

    def consultations_held_on(self, topic: str) -> int:
        """Consultations held on one topic (what a programme's target on that topic counts)."""
        return sum(c.held for c in self.consultations if c.topic == topic)

    @property
    def consultation_rating(self) -> Optional[float]:
        return mean(c.rating for c in self.consultations if c.rating)

    @property
    def consultation_ratings(self) -> int:
        return sum(1 for c in self.consultations if c.rating)

    # ----- campaigns -------------------------------------------------------------------------------------------

    def campaign_total(self, what: str) -> int:
        if what == "campaigns":
            return len(self.campaigns)
        return sum(getattr(c, what) for c in self.campaigns)


@dataclass
class Report:
    community: Optional[str]  # None: every community the deployment serves
    current: Figures
    previous: Figures
    consultations_by_month: dict[date, int] = field(default_factory=dict)  # the year up to the period's end
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # the same months, counting only the consultations a programme's target measures (its topic); empty when the
    # report has no target with a topic
    indicator_by_month: dict[date, int] = field(default_factory=dict)


class Collector:
    """Reads figures from the database; `community=None` means all communities."""

    def __init__(self, db: Database, catalogue: Catalogue, tz: ZoneInfo):
        self.db = db
        self.catalogue = catalogue
        self.tz = tz

    def local_day(self, moment: str) -> date:
        return datetime.fromisoformat(moment).astimezone(self.tz).date()

    async def report(self, period: Period, community: Optional[str] = None,
                     now: Optional[datetime] = None) -> Report:
        now = now or datetime.now(timezone.utc)
        current = await self.figures(period, community, now)
        previous = await self.figures(period.previous(), community, now)
        first = date(period.end.year, 1, 1)
        if period.start < first:
            first = period.start.replace(day=1)
        months = await self.consultations_per_month(Period(first, period.end), community)
        indicators = self.indicators(community)
        measured: dict[date, int] = {}
        if indicators is not None and indicators.topic is not None:
            measured = await self.consultations_per_month(Period(first, period.end), community, indicators.topic)
        return Report(community, current, previous, months, now, measured)

    def indicators(self, community: Optional[str]):
        """The programme targets that apply to a report: the community's, or the only served community's."""
        slug = community
        if slug is None and len(self.catalogue.communities) == 1:
            slug = next(iter(self.catalogue.communities))
        view = self.catalogue.communities.get(slug) if slug else None
        return view.model.indicators if view is not None else None

    async def report_aside(self, period: Period, community: Optional[str] = None,
                           now: Optional[datetime] = None) -> Report:
        """The same report, read in a worker thread on a read-only connection of its own. The bot runs every
        other statement on the event loop's thread; a year of a large community read there would stop every
        resident's answer until it is done. (A database only in memory cannot be opened twice: read here.)"""
        if self.db.path == ":memory:":
            return await self.report(period, community, now)

        async def read() -> Report:
            reader = await Database(self.db.path, self.db.busy_timeout).connect_reader()
            try:
                return await Collector(reader, self.catalogue, self.tz).report(period, community, now)
            finally:
                await reader.close()

        return await asyncio.to_thread(asyncio.run, read())

    async def figures(self, period: Period, community: Optional[str], now: datetime) -> Figures:
        figures = Figures(period)
        begin, end = period.utc_bounds(self.tz)
        figures.requests = await self._requests(begin, end, community, now)
        figures.consultations = await self._consultations(begin, end, community)
        figures.campaigns = await self._campaigns(begin, end, community)
        figures.new_residents, figures.active_residents = await self._residents(begin, end, community)
        figures.confirmations = await confirmed.read(self.db, begin, end, community)
        return figures

    # ----- requests --------------------------------------------------------------------------------------------

    def request_groups(self, community: str, service: Optional[str], for_whom: Optional[str]) -> tuple[str, ...]:
        view = self.catalogue.communities.get(community)
        if service and view is not None and service in view.services:
            return tuple(view.services[service].target_groups)
        if for_whom == "child":
            return ("children_families",)
        return (UNSPECIFIED,)

    async def _requests(self, begin: str, end: str, community: Optional[str], now: datetime) -> list[RequestRow]:
        moment = min(now.astimezone(timezone.utc).isoformat(timespec="seconds"), end)
        rows = []
        for r in await request_figures.sent_in(self.db, begin, end, community):
            first = r["first_response_at"]
            closing = None
            if r["closed_at"] and r["status"] in ("resolved", "closed"):
                closing = hours(r["created_at"], r["closed_at"])
            if first:
                overdue = first > r["due_at"]
            else:
                overdue = (r["closed_at"] or moment) > r["due_at"]
            rows.append(RequestRow(
                day=self.local_day(r["created_at"]),
                community=r["community"],
                institution=r["institution_id"],
                service=r["service_id"] or UNSPECIFIED,
                situation=r["situation_id"] or UNSPECIFIED,
                groups=self.request_groups(r["community"], r["service_id"], r["for_whom"]),
                status=r["status"],
                resident=r["resident_id"],
                first_answer_hours=hours(r["created_at"], first) if first else None,
                closing_hours=closing,
                overdue=overdue,
            ))
        return rows

    # ----- consultations ---------------------------------------------------------------------------------------

    async def _consultations(self, begin: str, end: str, community: Optional[str]) -> list[ConsultationRow]:
        topics = {t.id: t for t in self.catalogue.consultation_topics}
        rows = []
        for c in await consult_figures.asked_in(self.db, begin, end, community):
            topic = topics.get(c["topic"])
            rows.append(ConsultationRow(
                day=self.local_day(c["asked_at"]),
                community=c["community"],
                institution=c["institution_id"],
                topic=c["topic"],
                groups=tuple(topic.target_groups) if topic and topic.target_groups else (UNSPECIFIED,),
                resident=c["resident_id"],
                held=bool(c["taken_at"] and c["ended_at"] and c["status"] in HELD),
                rating=c["rating"],
            ))
        return rows

    async def consultations_per_month(self, period: Period, community: Optional[str],
                                      topic: Optional[str] = None) -> dict[date, int]:
        """Consultations held per month, or only those on `topic`."""
        begin, end = period.utc_bounds(self.tz)
        months: dict[date, int] = {}
        current = period.start.replace(day=1)
        while current <= period.end:
            months[current] = 0
            current = add_months(current, 1)
        for c in await self._consultations(begin, end, community):
            if c.held and (topic is None or c.topic == topic):
                months[c.day.replace(day=1)] += 1
        return months

    # ----- campaigns -------------------------------------------------------------------------------------------

    async def _campaigns(self, begin: str, end: str, community: Optional[str]) -> list[CampaignRow]:
        out = []
        for c in await campaign_figures.started_in(self.db, begin, end):
            try:
                audience = json.loads(c["audience"] or "{}")
            except ValueError:
                audience = {}
            target = audience.get("community") if isinstance(audience, dict) else None
            if community and target not in (None, community):
                continue
            # a campaign to everyone counts, in one community's report, with that community's residents only
            only = community if community and target is None else None
            recipients, delivered, blocked = await campaign_figures.outcomes(self.db, c["id"], only)
            opens, openers = await links.campaign_opens(self.db, c["id"], only)
            if only and not recipients and not opens:
                continue
            out.append(CampaignRow(
                id=c["id"], day=self.local_day(c["started_at"]), community=target, topic=c["topic"],
                recipients=recipients, delivered=delivered, blocked=blocked, opens=opens, openers=openers,
            ))
        return out

    # ----- residents -------------------------------------------------------------------------------------------

    async def _residents(self, begin: str, end: str, community: Optional[str]) -> tuple[int, int]:
        """New residents, and residents active in the period: what still names a resident. Link opens whose
        opener was replaced by a stand-in number (retention, "delete my data") are left out, as are requests
        and consultations whose resident was removed: counted, they would be people counted twice."""
        new = await residents.count_new(self.db, begin, end, community)
        parts = [owner.active_sql(begin, end, community)
                 for owner in (residents, request_figures, consult_figures, links)]
        union = "\nUNION ".join(sql for sql, _ in parts)
        params = [value for _, values in parts for value in values]
        active = await self.db.fetchone(f"SELECT COUNT(*) AS n FROM ({union}) WHERE user_id IS NOT NULL", params)
        return new, active["n"]


def change(current: Optional[float], previous: Optional[float]) -> Optional[float]:
    """The difference against the previous period, or None when either side is unknown."""
    if current is None or previous is None:
        return None
    return current - previous
