"""A period's figures as a spreadsheet for a programme's yearly report: a sheet per indicator.

Only counts: no names, phones, Telegram ids or texts. Dates are date cells shown as dd.mm.yyyy, numbers
are numbers. `xlsx` is one workbook; `csv` is a zip with one UTF-8 file per sheet (dates written dd.mm.yyyy).
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Optional

from bot.catalogue.loader import Catalogue
from bot.reports.confirmed import Confirmed, by_institution
from bot.reports.figures import Figures, Report, mean, median
from bot.reports.text import N_, Names, Tr

DATE_FORMAT = "DD.MM.YYYY"
FORMATS = ("xlsx", "csv")


@dataclass
class Sheet:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _people(residents) -> int:
    return len({r for r in residents if r is not None})


def _round(value: Optional[float], digits: int = 1) -> Optional[float]:
    return None if value is None else round(value, digits)


def sheets(report: Report, catalogue: Catalogue, tr: Tr, locale: str) -> list[Sheet]:
    names = Names(catalogue, locale, tr)
    cur = report.current
    out = [_summary(report, names, tr)]
    out.append(_services(cur, names, tr))
    out.append(_groups(cur, names, tr, catalogue))
    out.append(_institutions(cur, names, tr))
    out.append(_confirmations(report, names, tr))
    out.append(_situations(cur, names, tr))
    statuses = Sheet(tr(N_("Statuses")), [tr(N_("Status")), tr(N_("Requests"))])
    for status, count in sorted(cur.by("status").items(), key=lambda kv: -kv[1]):
        statuses.rows.append([names.status(status), count])
    out.append(statuses)
    out.append(_consultations(cur, names, tr))
    out.append(_months(report, tr))
    campaigns = Sheet(tr(N_("Campaigns")), [tr(N_("Started on")), tr(N_("Community")), tr(N_("Recipients")),
                                             tr(N_("Delivered")), tr(N_("Blocked the bot")),
                                             tr(N_("Link opens")), tr(N_("People who opened the link"))])
    for c in cur.campaigns:
        campaigns.rows.append([c.day, names.community(c.community), c.recipients, c.delivered, c.blocked, c.opens,
                               c.openers])
    out.append(campaigns)
    return out


def _summary(report: Report, names: Names, tr: Tr) -> Sheet:
    cur, prev = report.current, report.previous
    sheet = Sheet(tr(N_("Summary")), [tr(N_("Indicator")), tr(N_("This period")), tr(N_("Previous period")),
                                      tr(N_("Change"))])
    sheet.rows += [
        [tr(N_("Community")), names.community(report.community), None, None],
        [tr(N_("From")), cur.period.start, prev.period.start, None],
        [tr(N_("To")), cur.period.end, prev.period.end, None],
    ]
    people_now = _people([r.resident for r in cur.requests] + [c.resident for c in cur.consultations if c.held])
    people_before = _people([r.resident for r in prev.requests] + [c.resident for c in prev.consultations if c.held])
    figures: list[tuple[str, Any, Any]] = [
        (N_("People served (requests and consultations)"), people_now, people_before),
        (N_("Requests"), cur.request_count, prev.request_count),
        (N_("Median time to the first answer, hours"), _round(cur.median_first_answer),
         _round(prev.median_first_answer)),
        (N_("Median time to closing, hours"), _round(cur.median_closing), _round(prev.median_closing)),
        (N_("Overdue (not answered by the answer date)"), cur.overdue, prev.overdue),
        (N_("Residents asked whether the help came"), cur.confirmed.asked, prev.confirmed.asked),
        (N_("Help confirmed by residents, %"), _percent(cur.confirmed.confirmed), _percent(prev.confirmed.confirmed)),
        (N_("Reopened by residents, %"), _percent(cur.confirmed.reopened), _percent(prev.confirmed.reopened)),
        (N_("Median days to confirmed help"), _round(cur.confirmed.median_days), _round(prev.confirmed.median_days)),
        (N_("Online consultations held"), cur.consultations_held, prev.consultations_held),
        (N_("Average rating of consultations"), _round(cur.consultation_rating, 2),
         _round(prev.consultation_rating, 2)),
        (N_("Campaigns started"), cur.campaign_total("campaigns"), prev.campaign_total("campaigns")),
        (N_("Campaign recipients"), cur.campaign_total("recipients"), prev.campaign_total("recipients")),
        (N_("Campaign messages delivered"), cur.campaign_total("delivered"), prev.campaign_total("delivered")),
        (N_("Recipients who blocked the bot"), cur.campaign_total("blocked"), prev.campaign_total("blocked")),
        (N_("Link opens from campaigns"), cur.campaign_total("opens"), prev.campaign_total("opens")),
        (N_("New residents"), cur.new_residents, prev.new_residents),
        (N_("Active residents"), cur.active_residents, prev.active_residents),
    ]
    for label, now, before in figures:
        diff = None if now is None or before is None else _round(now - before, 2)
        if isinstance(now, int) and isinstance(before, int):
            diff = now - before
        sheet.rows.append([tr(label), now, before, diff])
    return sheet


def _services(cur: Figures, names: Names, tr: Tr) -> Sheet:
    sheet = Sheet(tr(N_("Services")), [tr(N_("Community")), tr(N_("Service")), tr(N_("People served")),
                                       tr(N_("Requests")), tr(N_("Consultations"))])
    people: dict[tuple[str, str], set] = defaultdict(set)
    requests: dict[tuple[str, str], int] = defaultdict(int)
    for r in cur.requests:
        requests[(r.community, r.service)] += 1
        people[(r.community, r.service)].add(r.resident)
    rows = [[names.community(c), names.service(c, s), _people(people[(c, s)]), n, 0]
            for (c, s), n in requests.items()]
    consulted: dict[tuple[str, str], set] = defaultdict(set)
    held: dict[tuple[str, str], int] = defaultdict(int)
    for c in cur.consultations:
        if c.held:
            held[(c.community, c.topic)] += 1
            consulted[(c.community, c.topic)].add(c.resident)
    for (community, topic), n in held.items():
        label = tr(N_("Online consultation: {topic}")).format(topic=names.topic(topic))
        rows.append([names.community(community), label, _people(consulted[(community, topic)]), 0, n])
    rows.sort(key=lambda row: (row[0], -row[3] - row[4], row[1]))
    sheet.rows = rows
    return sheet


def _groups(cur: Figures, names: Names, tr: Tr, catalogue: Catalogue) -> Sheet:
    sheet = Sheet(tr(N_("Target groups")), [tr(N_("Target group")), tr(N_("People served")), tr(N_("Requests")),
                                            tr(N_("Consultations"))])
    people: dict[str, set] = defaultdict(set)
    requests: dict[str, int] = defaultdict(int)
    consultations: dict[str, int] = defaultdict(int)
    for r in cur.requests:
        for g in r.groups:
            requests[g] += 1
            people[g].add(r.resident)
    for c in cur.consultations:
        if c.held:
            for g in c.groups:
                consultations[g] += 1
                people[g].add(c.resident)
    order = {g: i for i, g in enumerate(catalogue.target_groups)}
    for g in sorted(set(requests) | set(consultations), key=lambda g: order.get(g, len(order))):
        sheet.rows.append([names.group(g), _people(people[g]), requests.get(g, 0), consultations.get(g, 0)])
    return sheet


def _institutions(cur: Figures, names: Names, tr: Tr) -> Sheet:
    sheet = Sheet(tr(N_("Institutions")), [
        tr(N_("Community")), tr(N_("Institution")), tr(N_("People served")), tr(N_("Requests")),
        tr(N_("Consultations")), tr(N_("Overdue")), tr(N_("Median time to the first answer, hours")),
        tr(N_("Median time to closing, hours"))])
    keys = sorted({(r.community, r.institution) for r in cur.requests}
                  | {(c.community, c.institution) for c in cur.consultations if c.held})
    for community, inst in keys:
        mine = [r for r in cur.requests if (r.community, r.institution) == (community, inst)]
        held = [c for c in cur.consultations if c.held and (c.community, c.institution) == (community, inst)]
        sheet.rows.append([
            names.community(community), names.institution(community, inst),
            _people([r.resident for r in mine] + [c.resident for c in held]), len(mine), len(held),
            sum(r.overdue for r in mine),
            _round(median(r.first_answer_hours for r in mine if r.first_answer_hours is not None)),
            _round(median(r.closing_hours for r in mine if r.closing_hours is not None)),
        ])
    return sheet


def _percent(share: Optional[float]) -> Optional[float]:
    return None if share is None else round(share * 100, 1)


def _confirmations(report: Report, names: Names, tr: Tr) -> Sheet:
    """Whether the help came, per institution, this period and the one before (bot/reports/confirmed.py)."""
    sheet = Sheet(tr(N_("Help confirmed")), [
        tr(N_("Community")), tr(N_("Institution")), tr(N_("Residents asked")), tr(N_("Help confirmed, %")),
        tr(N_("Before: help confirmed, %")), tr(N_("Reopened, %")), tr(N_("Before: reopened, %")),
        tr(N_("Median days to confirmed help")), tr(N_("Before: median days"))])
    now, before = by_institution(report.current.confirmations), by_institution(report.previous.confirmations)
    empty = Confirmed.of(())
    for community, inst in sorted(set(now) | set(before)):
        one, earlier = now.get((community, inst), empty), before.get((community, inst), empty)
        sheet.rows.append([names.community(community), names.institution(community, inst), one.asked,
                           _percent(one.confirmed), _percent(earlier.confirmed), _percent(one.reopened),
                           _percent(earlier.reopened), _round(one.median_days), _round(earlier.median_days)])
    return sheet


def _situations(cur: Figures, names: Names, tr: Tr) -> Sheet:
    sheet = Sheet(tr(N_("Life situations")), [tr(N_("Life situation")), tr(N_("People served")),
                                              tr(N_("Requests"))])
    people: dict[str, set] = defaultdict(set)
    for r in cur.requests:
        people[r.situation].add(r.resident)
    for situation, count in sorted(cur.by("situation").items(), key=lambda kv: (-kv[1], kv[0])):
        sheet.rows.append([names.situation(situation), _people(people[situation]), count])
    return sheet


def _consultations(cur: Figures, names: Names, tr: Tr) -> Sheet:
    sheet = Sheet(tr(N_("Consultations")), [tr(N_("Community")), tr(N_("Topic")), tr(N_("Asked")),
                                            tr(N_("Held")), tr(N_("People served")), tr(N_("Average rating"))])
    keys = sorted({(c.community, c.topic) for c in cur.consultations})
    for community, topic in keys:
        mine = [c for c in cur.consultations if (c.community, c.topic) == (community, topic)]
        held = [c for c in mine if c.held]
        sheet.rows.append([names.community(community), names.topic(topic), len(mine), len(held),
                           _people(c.resident for c in held), _round(mean(c.rating for c in mine if c.rating), 2)])
    return sheet


def _months(report: Report, tr: Tr) -> Sheet:
    cur = report.current
    sheet = Sheet(tr(N_("By month")), [tr(N_("Month")), tr(N_("Requests")), tr(N_("People served")),
                                       tr(N_("Online consultations held"))])
    requests: dict[date, int] = defaultdict(int)
    people: dict[date, set] = defaultdict(set)
    held: dict[date, int] = defaultdict(int)
    for r in cur.requests:
        requests[r.day.replace(day=1)] += 1
        people[r.day.replace(day=1)].add(r.resident)
    for c in cur.consultations:
        if c.held:
            held[c.day.replace(day=1)] += 1
            people[c.day.replace(day=1)].add(c.resident)
    month = cur.period.start.replace(day=1)
    while month <= cur.period.end:
        sheet.rows.append([month, requests.get(month, 0), _people(people[month]), held.get(month, 0)])
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return sheet


def sheet_title(title: str, used: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\ and unique in the workbook."""
    clean = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate.lower() in used:
        suffix = f" {n}"
        candidate, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def to_xlsx(tables: list[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for table in tables:
        ws = book.create_sheet(sheet_title(table.title, used))
        ws.append(table.headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for row in table.rows:
            ws.append(row)
        widths = [len(str(h)) for h in table.headers]
        for row in ws.iter_rows(min_row=2):
            for i, cell in enumerate(row):
                if isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
                    widths[i] = max(widths[i], 11)
                elif isinstance(cell.value, float):
                    cell.number_format = "0.0#"
                else:
                    widths[i] = max(widths[i], min(len(str(cell.value or "")), 70))
        for i, width in enumerate(widths, 1):
            ws.column_dimensions[get_column_letter(i)].width = min(max(width + 2, 10), 72)
        ws.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    if isinstance(value, date):
        return f"{value:%d.%m.%Y}"
    return "" if value is None else value


def to_csv_zip(tables: list[Sheet]) -> bytes:
    buffer = io.BytesIO()
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for number, table in enumerate(tables, 1):
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(table.headers)
            for row in table.rows:
                writer.writerow([_csv_cell(v) for v in row])
            name = f"{number:02d} {sheet_title(table.title, used)}.csv"
            archive.writestr(name, "\ufeff" + text.getvalue())  # the BOM lets spreadsheet programs see UTF-8
    return buffer.getvalue()


def export(report: Report, catalogue: Catalogue, tr: Tr, locale: str, fmt: str = "xlsx") -> bytes:
    tables = sheets(report, catalogue, tr, locale)
    if fmt == "xlsx":
        return to_xlsx(tables)
    if fmt == "csv":
        return to_csv_zip(tables)
    raise ValueError(f"unknown format {fmt!r}")


def file_name(report: Report, fmt: str) -> str:
    period = report.current.period
    who = report.community or "all"
    return f"report-{who}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{'xlsx' if fmt == 'xlsx' else 'zip'}"

