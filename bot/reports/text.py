"""The report as HTML messages for Telegram (each within 4096 characters), in the reader's language.

Texts are gettext message ids marked with `N_` and translated by the `tr` function the caller passes
(the bot's gettext in a chat, the I18n catalogue of a locale on the command line).
"""
from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any, Callable, Iterable, Optional

from babel.numbers import format_decimal

from bot.catalogue.loader import Catalogue
from bot.msgid import N_
from bot.reports.confirmed import Confirmed, by_institution
from bot.reports.figures import UNSPECIFIED, Figures, Report, change

Tr = Callable[[str], str]
LIMIT = 4096


STATUS = {
    "new": N_("Received"),
    "in_progress": N_("In progress"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "withdrawn": N_("Withdrawn"),
}
PERIODS = {
    "this_month": N_("This month"),
    "last_month": N_("Last month"),
    "this_quarter": N_("This quarter"),
    "this_year": N_("This year"),
    "last_year": N_("Last year"),
}


def h(text: Any) -> str:
    return escape(str(text), quote=False)


class Names:
    """Names of the catalogue's things in one language."""

    def __init__(self, catalogue: Catalogue, locale: str, tr: Tr):
        self.catalogue = catalogue
        self.locale = locale
        self.tr = tr

    def community(self, slug: Optional[str]) -> str:
        if slug is None:
            return self.tr(N_("All communities"))
        view = self.catalogue.communities.get(slug)
        return view.model.short_name.get(self.locale) if view else slug

    def institution(self, community: str, institution: str, *, with_community: bool = False) -> str:
        view = self.catalogue.communities.get(community)
        inst = view.institutions.get(institution) if view else None
        name = inst.short_name.get(self.locale) if inst else institution
        return f"{self.community(community)} · {name}" if with_community else name

    def service(self, community: str, service: str, *, with_community: bool = False) -> str:
        if service == UNSPECIFIED:
            name = self.tr(N_("No service chosen"))
        else:
            view = self.catalogue.communities.get(community)
            svc = view.services.get(service) if view else None
            name = svc.name.get(self.locale) if svc else service
        return f"{self.community(community)} · {name}" if with_community else name

    def situation(self, situation: str) -> str:
        if situation == UNSPECIFIED:
            return self.tr(N_("Not specified"))
        found = self.catalogue.situations.get(situation)
        return found.name.get(self.locale) if found else situation

    def group(self, group: str) -> str:
        if group == UNSPECIFIED:
            return self.tr(N_("Not specified"))
        found = self.catalogue.target_groups.get(group)
        return found.name.get(self.locale) if found else group

    def topic(self, topic: str) -> str:
        found = {t.id: t for t in self.catalogue.consultation_topics}.get(topic)
        return found.name.get(self.locale) if found else topic

    def status(self, status: str) -> str:
        return self.tr(STATUS[status]) if status in STATUS else status


class Formatter:
    def __init__(self, locale: str, tr: Tr):
        self.locale = locale
        self.tr = tr

    def number(self, value: Optional[float], digits: int = 1) -> str:
        if value is None:
            return "—"
        if isinstance(value, int):
            return format_decimal(value, locale=self.locale)
        return format_decimal(round(value, digits), format="#,##0." + "0" * digits, locale=self.locale)

    def delta(self, current: Optional[float], previous: Optional[float], digits: int = 1) -> str:
        diff = change(current, previous)
        if diff is None:
            return "(—)"
        if isinstance(current, int) and isinstance(previous, int):
            text = format_decimal(abs(diff), locale=self.locale)
        else:
            diff = round(diff, digits)
            text = format_decimal(abs(diff), format="#,##0." + "0" * digits, locale=self.locale)
        sign = "±" if diff == 0 else ("+" if diff > 0 else "−")
        return f"({sign}{text})"

    def count(self, current: int, previous: int) -> str:
        return f"<b>{self.number(current)}</b> {self.delta(current, previous)}"

    def hours(self, current: Optional[float], previous: Optional[float]) -> str:
        if current is None:
            shown = "—"
        else:
            shown = self.tr(N_("{value} h")).format(value=self.number(current))
        return f"<b>{shown}</b> {self.delta(current, previous)}"

    def share(self, current: Optional[float], previous: Optional[float]) -> str:
        """A share (0..1) as a percentage, its change in percentage points."""
        pct = [None if v is None else v * 100 for v in (current, previous)]
        shown = "—" if pct[0] is None else f"{self.number(pct[0])} %"
        return f"<b>{shown}</b> {self.delta(pct[0], pct[1])}"

    def days(self, current: Optional[float], previous: Optional[float]) -> str:
        shown = "—" if current is None else self.tr(N_("{value} d")).format(value=self.number(current))
        return f"<b>{shown}</b> {self.delta(current, previous)}"


def breakdown(title: str, current: Counter, previous: Counter, name: Callable[[Any], str],
              fmt: Formatter) -> list[str]:
    keys = [k for k in set(current) | set(previous) if current.get(k) or previous.get(k)]
    if not keys:
        return []
    keys.sort(key=lambda k: (-current.get(k, 0), -previous.get(k, 0), name(k)))
    lines = [f"\n<b>{h(title)}</b>"]
    for key in keys:
        lines.append(f"• {h(name(key))}: {fmt.count(current.get(key, 0), previous.get(key, 0))}")
    return lines


def render(report: Report, catalogue: Catalogue, tr: Tr, locale: str, *, title: Optional[str] = None) -> list[str]:
    """The whole report as HTML messages."""
    names = Names(catalogue, locale, tr)
    fmt = Formatter(locale, tr)
    cur, prev = report.current, report.previous
    several = report.community is None and len(catalogue.communities) > 1
    lines = [
        "📊 <b>{}</b>".format(h(tr(N_("Report: {community}")).format(community=names.community(report.community)))),
        h(tr(N_("Period: {period}{title}")).format(period=cur.period.label(), title=f" ({title})" if title else "")),
        "<i>{}</i>".format(h(tr(N_("In brackets: the change against {period}.")).format(
            period=prev.period.label()))),
        "",
        "<b>{}</b>: {}".format(h(tr(N_("Requests"))), fmt.count(cur.request_count, prev.request_count)),
        "{}: {}".format(h(tr(N_("Median time to the first answer"))),
                        fmt.hours(cur.median_first_answer, prev.median_first_answer)),
        "{}: {}".format(h(tr(N_("Median time to closing"))), fmt.hours(cur.median_closing, prev.median_closing)),
        "{}: {}".format(h(tr(N_("Overdue (not answered by the answer date)"))), fmt.count(cur.overdue, prev.overdue)),
    ]
    lines += confirmation_lines(report, names, fmt, tr, several)
    lines += breakdown(tr(N_("By status")), cur.by("status"), prev.by("status"), names.status, fmt)
    lines += breakdown(tr(N_("By institution")), cur.by("institution"), prev.by("institution"),
                       lambda k: names.institution(*k, with_community=several), fmt)
    lines += breakdown(tr(N_("By service")), cur.by("service"), prev.by("service"),
                       lambda k: names.service(*k, with_community=several), fmt)
    lines += breakdown(tr(N_("By life situation")), cur.by("situation"), prev.by("situation"), names.situation, fmt)
    groups = breakdown(tr(N_("By target group")), cur.by("group"), prev.by("group"), names.group, fmt)
    if groups:
        lines += groups + ["<i>{}</i>".format(h(tr(N_(
            "A request counts in every target group of its service.")))) ]
    lines += [
        "",
        "<b>{}</b>".format(h(tr(N_("Online consultations")))),
        "{}: {}".format(h(tr(N_("Held"))), fmt.count(cur.consultations_held, prev.consultations_held)),
        "{}: <b>{}</b> {} · {}".format(
            h(tr(N_("Average rating"))), fmt.number(cur.consultation_rating, 2),
            fmt.delta(cur.consultation_rating, prev.consultation_rating, 2),
            h(tr(N_("ratings: {n}")).format(n=cur.consultation_ratings))),
    ]
    lines += indicator_lines(report, catalogue, names, fmt, tr)
    lines += [
        "",
        "<b>{}</b>".format(h(tr(N_("Information campaigns")))),
    ]
    for key, label in (("campaigns", N_("Started")), ("recipients", N_("Recipients")),
                       ("delivered", N_("Delivered")), ("blocked", N_("Blocked the bot")),
                       ("opens", N_("Link opens from campaigns"))):
        lines.append("{}: {}".format(h(tr(label)), fmt.count(cur.campaign_total(key), prev.campaign_total(key))))
    lines += [
        "",
        "<b>{}</b>".format(h(tr(N_("Residents")))),
        "{}: {}".format(h(tr(N_("New (first start of the bot)"))), fmt.count(cur.new_residents, prev.new_residents)),
        "{}: {}".format(h(tr(N_("Active"))), fmt.count(cur.active_residents, prev.active_residents)),
        "<i>{}</i>".format(h(tr(N_(
            "Active: started the bot or changed settings, sent or followed up a request, asked or wrote in a "
            "consultation, or opened a link in the period. The bot does not keep who sent each message, so this is "
            "read from those records.")))),
    ]
    return split(lines)


def confirmation_lines(report: Report, names: Names, fmt: Formatter, tr: Tr, several: bool) -> list[str]:
    """Whether the help came, by the residents' answers some days after a request was resolved: overall and per
    institution, each with its change against the previous period."""
    cur, prev = report.current.confirmed, report.previous.confirmed
    lines = [
        "",
        "<b>{}</b>: {}".format(h(tr(N_("Residents asked whether the help came"))), fmt.count(cur.asked, prev.asked)),
        "{}: {}".format(h(tr(N_("Help confirmed (answered «yes»)"))), fmt.share(cur.confirmed, prev.confirmed)),
        "{}: {}".format(h(tr(N_("Reopened by the resident («partly» or «no»)"))),
                        fmt.share(cur.reopened, prev.reopened)),
        "{}: {}".format(h(tr(N_("Median days to confirmed help"))), fmt.days(cur.median_days, prev.median_days)),
    ]
    now, before = by_institution(report.current.confirmations), by_institution(report.previous.confirmations)
    empty = Confirmed.of(())
    for key in sorted(now, key=lambda k: (-now[k].asked, names.institution(*k))):
        one, earlier = now[key], before.get(key, empty)
        lines.append("• {}: {} · {} {} · {} {}".format(
            h(names.institution(*key, with_community=several)), fmt.share(one.confirmed, earlier.confirmed),
            h(tr(N_("reopened"))), fmt.share(one.reopened, earlier.reopened),
            h(tr(N_("days"))), fmt.days(one.median_days, earlier.median_days)))
    if cur.asked or prev.asked:
        lines.append("<i>{}</i>".format(h(tr(N_(
            "Counted by the day the request was resolved; a question still waiting for its answer is not counted, "
            "no answer within a week counts as not confirmed.")))))
    return lines


def report_indicators(report: Report, catalogue: Catalogue):
    """The programme targets that apply: the community's, or the only served community's."""
    slug = report.community
    if slug is None and len(catalogue.communities) == 1:
        slug = next(iter(catalogue.communities))
    view = catalogue.communities.get(slug) if slug else None
    return view.model.indicators if view is not None else None


def indicator_lines(report: Report, catalogue: Catalogue, names: Names, fmt: Formatter, tr: Tr) -> list[str]:
    """A target on one consultation topic, with the consultations on that topic only: what the target measures."""
    indicators = report_indicators(report, catalogue)
    if indicators is None or indicators.topic is None:
        return []
    cur, prev = report.current, report.previous
    topic = names.topic(indicators.topic)
    lines = ["{}: {}".format(h(tr(N_("Of them on «{topic}»")).format(topic=topic)),
                             fmt.count(cur.consultations_held_on(indicators.topic),
                                       prev.consultations_held_on(indicators.topic)))]
    target = indicators.consultations_target(cur.period.end.year)
    if target is not None:
        measures = indicators.measures.get(names.locale) if indicators.measures else topic
        lines.append("<i>{}</i>".format(h(tr(N_(
            "Programme target: {target} a year ({measures}). The bot counts every consultation on «{topic}», so "
            "the figure may include some the programme does not count.")).format(
                target=round(target), measures=measures, topic=topic))))
    return lines


def split(lines: Iterable[str], limit: int = LIMIT) -> list[str]:
    """Messages of whole lines, each within the limit (a line longer than the limit is cut)."""
    messages: list[str] = []
    current = ""
    for line in lines:
        line = line[:limit]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            messages.append(current.strip("\n"))
            current = line
        else:
            current = candidate
    if current.strip():
        messages.append(current.strip("\n"))
    return [m for m in messages if m]


def plain(figures: Figures) -> dict[str, Any]:
    """The headline figures as plain numbers (for the command line's --json and the tests)."""
    return {
        "requests": figures.request_count,
        "median_first_answer_hours": figures.median_first_answer,
        "median_closing_hours": figures.median_closing,
        "overdue": figures.overdue,
        "asked_whether_helped": figures.confirmed.asked,
        "confirmed_share": figures.confirmed.confirmed,
        "reopened_share": figures.confirmed.reopened,
        "median_days_to_confirmed_help": figures.confirmed.median_days,
        "consultations_held": figures.consultations_held,
        "consultation_rating": figures.consultation_rating,
        "campaigns": figures.campaign_total("campaigns"),
        "recipients": figures.campaign_total("recipients"),
        "delivered": figures.campaign_total("delivered"),
        "blocked": figures.campaign_total("blocked"),
        "link_opens": figures.campaign_total("opens"),
        "new_residents": figures.new_residents,
        "active_residents": figures.active_residents,
    }
