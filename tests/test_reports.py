"""Reports: period arithmetic, medians, the figures on a database written row by row, the text, charts and workbook."""
from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
import zipfile
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.config import PROJECT_ROOT
from bot.reports.charts import PNG_SIGNATURE, all_charts, consultation_target
from bot.reports.export import export, sheet_title
from bot.reports.figures import Collector, median
from bot.reports.periods import Period, add_months, months_of, preset, weeks
from bot.reports.text import plain, render, split
from bot.storage.db import Database
from tests.support.config import seed_text

KYIV = ZoneInfo("Europe/Kyiv")


def identity(message: str) -> str:
    return message


# ----- periods -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, today, period, previous", [
    ("this_month", date(2026, 11, 24), ("2026-11-01", "2026-11-24"), ("2026-10-01", "2026-10-24")),
    ("this_month", date(2026, 3, 31), ("2026-03-01", "2026-03-31"), ("2026-02-01", "2026-02-28")),
    ("this_month", date(2026, 3, 30), ("2026-03-01", "2026-03-30"), ("2026-02-01", "2026-02-28")),
    ("last_month", date(2026, 3, 15), ("2026-02-01", "2026-02-28"), ("2026-01-01", "2026-01-31")),
    ("last_month", date(2026, 1, 10), ("2025-12-01", "2025-12-31"), ("2025-11-01", "2025-11-30")),
    ("last_month", date(2024, 4, 2), ("2024-03-01", "2024-03-31"), ("2024-02-01", "2024-02-29")),
    ("this_quarter", date(2026, 11, 24), ("2026-10-01", "2026-11-24"), ("2026-07-01", "2026-08-24")),
    ("this_quarter", date(2026, 2, 14), ("2026-01-01", "2026-02-14"), ("2025-10-01", "2025-11-14")),
    ("this_quarter", date(2026, 6, 30), ("2026-04-01", "2026-06-30"), ("2026-01-01", "2026-03-31")),
    ("this_year", date(2026, 11, 24), ("2026-01-01", "2026-11-24"), ("2025-01-01", "2025-11-24")),
    ("last_year", date(2026, 11, 24), ("2025-01-01", "2025-12-31"), ("2024-01-01", "2024-12-31")),
])
def test_presets_and_the_period_before(name, today, period, previous):
    current = preset(name, today)
    assert (str(current.start), str(current.end)) == period
    before = current.previous()
    assert (str(before.start), str(before.end)) == previous


def test_spans_of_days_and_whole_months():
    days = Period.between(date(2026, 11, 10), date(2026, 11, 16))
    assert days.days == 7 and days.months is None
    assert days.previous() == Period(date(2026, 11, 3), date(2026, 11, 9))
    quarter = Period.between(date(2026, 1, 1), date(2026, 3, 31))
    assert quarter.months == 3 and quarter.previous() == Period(date(2025, 10, 1), date(2025, 12, 31), 3)
    year = Period.between(date(2025, 1, 1), date(2025, 12, 31))
    assert year.previous().start == date(2024, 1, 1) and year.previous().end == date(2024, 12, 31)
    with pytest.raises(ValueError):
        Period(date(2026, 2, 2), date(2026, 2, 1))
    with pytest.raises(ValueError):
        preset("next_week", date(2026, 1, 1))


def test_month_arithmetic():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert add_months(date(2026, 1, 15), -13) == date(2024, 12, 15)
    assert add_months(date(2026, 4, 30), -1, to_month_end=True) == date(2026, 3, 31)
    assert months_of(Period(date(2025, 11, 20), date(2026, 2, 3))) == [
        date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1)]
    assert weeks(Period(date(2026, 11, 1), date(2026, 11, 10))) == [date(2026, 10, 26), date(2026, 11, 2),
                                                                   date(2026, 11, 9)]


def test_local_days_in_utc_including_the_clock_change():
    # Kyiv moves to summer time on 29.03.2026: that day has 23 hours
    begin, end = Period(date(2026, 3, 29), date(2026, 3, 29)).utc_bounds(KYIV)
    assert begin == "2026-03-28T22:00:00+00:00" and end == "2026-03-29T21:00:00+00:00"
    begin, end = Period(date(2026, 1, 1), date(2026, 12, 31)).utc_bounds(KYIV)
    assert begin == "2025-12-31T22:00:00+00:00" and end == "2026-12-31T22:00:00+00:00"


def test_medians():
    assert median([]) is None
    assert median([5.0]) == 5.0
    assert median([3, 1, 2]) == 2
    assert median([1, 2, 3, 10]) == 2.5


def test_the_programme_target(catalogue):
    indicators = catalogue.communities["pervomaiskyi"].model.indicators
    assert indicators.consultations_target(2022) is None
    assert indicators.consultations_target(2023) == 30
    assert indicators.consultations_target(2025) == pytest.approx(30 * 1.15 ** 2)
    seed = seed_text(catalogue.communities["pervomaiskyi"].model.source_file)
    assert " ".join(indicators.seed_ref.split()) in " ".join(seed.split())
    assert all(catalogue.communities[c].model.indicators is None for c in ("lutsk", "volodymyr"))
    # it measures follow-up consultations of families of children with disabilities (task 2.3.4, 2023–2027)
    assert indicators.topic == "child_disability" and indicators.consultations_target(2028) is None
    assert "після завершення курсу реабілітації" in indicators.seed_ref


def test_split_keeps_whole_lines_within_the_limit():
    lines = [f"<b>row {i}</b>: {'x' * 50}" for i in range(300)]
    parts = split(lines)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts).split("\n") == lines


# ----- figures on a database written row by row -------------------------------------------------------------------

def at(day: date, hour: int = 12, minutes: int = 0) -> str:
    return datetime(day.year, day.month, day.day, hour, minutes, tzinfo=KYIV).astimezone(timezone.utc).isoformat(
        timespec="seconds")


async def add_request(db, n, day, *, community="lutsk", institution="tcso", service=None, situation=None,
                      for_whom="self", status="new", resident=1, first=None, closed=None, due_days=3):
    created = at(day)
    due = at(day + timedelta(days=due_days))
    await db.execute(
        "INSERT INTO requests (public_id, community, resident_id, kind, service_id, situation_id, for_whom, "
        "institution_id, description, status, created_at, updated_at, due_at, first_response_at, closed_at) "
        "VALUES (?, ?, ?, 'help', ?, ?, ?, ?, 'опис', ?, ?, ?, ?, ?, ?)",
        (f"2026-{n:06d}", community, resident, service, situation, for_whom, institution, status, created, created,
         due, first, closed))


async def add_consultation(db, day, *, community="lutsk", resident=1, held=True, rating=None, topic="psychological"):
    await db.execute(
        "INSERT INTO consultations (community, resident_id, topic, institution_id, status, asked_at, taken_at, "
        "ended_at, rating) VALUES (?, ?, ?, 'css', ?, ?, ?, ?, ?)",
        (community, resident, topic, "ended" if held else "timed_out", at(day, 10), at(day, 10, 5) if held else None,
         at(day, 10, 30) if held else at(day, 10, 15), rating))


@pytest.fixture
async def filled(tmp_path, catalogue):
    """Two months of activity in Lutsk and a little in Pervomaiskyi."""
    db = await Database(tmp_path / "r.sqlite3").connect()
    nov, octo = date(2026, 11, 10), date(2026, 10, 10)
    service = next(iter(catalogue.communities["lutsk"].services))
    # November: answered in 2 h and closed in 26 h; answered after its date; unanswered and past its date;
    # withdrawn before its date; a request in another community
    await add_request(db, 1, nov, service=service, status="resolved", resident=1,
                      first=at(nov, 14), closed=at(nov + timedelta(days=1), 14))
    await add_request(db, 2, nov, situation="older_care", status="in_progress", resident=2,
                      first=at(nov + timedelta(days=5)), due_days=3)
    await add_request(db, 3, nov, situation="older_care", for_whom="child", status="new", resident=2, due_days=1)
    await add_request(db, 4, nov, situation="legal", status="withdrawn", resident=3,
                      closed=at(nov, 13))
    await add_request(db, 5, nov, community="pervomaiskyi", institution="uszn", status="new", resident=9)
    # October: one request, answered in 4 h
    await add_request(db, 6, octo, situation="older_care", status="closed", resident=1,
                      first=at(octo, 16), closed=at(octo, 16))
    await add_consultation(db, nov, resident=4, rating=5)
    await add_consultation(db, nov, resident=5, rating=3)
    await add_consultation(db, nov, resident=6, held=False)
    await add_consultation(db, date(2026, 2, 3), community="pervomaiskyi", resident=9, rating=4)
    await add_consultation(db, octo, resident=4)
    for user, community, created in ((1, "lutsk", octo), (2, "lutsk", nov), (3, "lutsk", nov), (4, "lutsk", nov),
                                     (7, "lutsk", nov), (9, "pervomaiskyi", nov)):
        await db.execute("INSERT INTO residents (user_id, community, created_at, updated_at) VALUES (?, ?, ?, ?)",
                         (user, community, at(created), at(created)))
    # a campaign to everyone: two Lutsk residents and one from Pervomaiskyi
    await db.execute(
        "INSERT INTO campaigns (id, created_by, created_at, status, topic, text, audience, started_at) "
        "VALUES (1, 1, ?, 'done', 'news', 'т', ?, ?)", (at(nov), json.dumps({"community": None}), at(nov)))
    for user, status in ((1, "delivered"), (2, "blocked"), (9, "delivered")):
        await db.execute("INSERT INTO campaign_recipients (campaign_id, user_id, status) VALUES (1, ?, ?)",
                         (user, status))
    await db.execute("INSERT INTO link_opens (code, kind, community, campaign_id, user_id, opened_at) "
                     "VALUES ('x', 'community', 'lutsk', 1, 7, ?)", (at(nov, 18),))
    yield db
    await db.close()


async def test_figures(filled, catalogue):
    now = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    period = preset("this_month", date(2026, 11, 24))
    report = await Collector(filled, catalogue, KYIV).report(period, "lutsk", now=now)
    cur, prev = report.current, report.previous
    assert cur.request_count == 4 and prev.request_count == 1
    assert dict(cur.by("status")) == {"resolved": 1, "in_progress": 1, "new": 1, "withdrawn": 1}
    assert dict(cur.by("situation")) == {"": 1, "older_care": 2, "legal": 1}
    groups = cur.by("group")
    service = catalogue.communities["lutsk"].services[next(iter(catalogue.communities["lutsk"].services))]
    assert all(groups[g] >= 1 for g in service.target_groups)
    assert groups["children_families"] >= 1 and groups[""] == 2
    assert cur.median_first_answer == pytest.approx((2 + 5 * 24 - 12 + 12) / 2)  # 2 h and 5 days
    assert cur.median_closing == 26 and prev.median_closing == 4
    assert cur.overdue == 2 and prev.overdue == 0  # answered late; unanswered past its date
    assert cur.consultations_held == 2 and cur.consultation_rating == 4 and prev.consultations_held == 1
    assert cur.new_residents == 4 and prev.new_residents == 1
    # active in November: residents 1-3 (requests), 4-5 and 6 (consultations), 7 (a link), 2-4 and 7 (joined)
    assert cur.active_residents == 7
    [campaign] = cur.campaigns
    assert (campaign.recipients, campaign.delivered, campaign.blocked, campaign.opens) == (2, 1, 1, 1)
    assert report.consultations_by_month[date(2026, 11, 1)] == 2
    assert report.consultations_by_month[date(2026, 10, 1)] == 1 and len(report.consultations_by_month) == 11

    everyone = await Collector(filled, catalogue, KYIV).report(period, None, now=now)
    assert everyone.current.request_count == 5 and everyone.current.campaigns[0].recipients == 3
    assert plain(everyone.current)["delivered"] == 2

    text = "\n".join(render(report, catalogue, identity, "en"))
    assert "Requests</b>: <b>4</b> (+3)" in text and "Overdue (not answered by the answer date): <b>2</b> (+2)" in text
    assert "Median time to closing: <b>26.0 h</b> (+22.0)" in text
    assert "01.10.2026–24.10.2026" in text and "опис" not in text


async def test_the_target_counts_only_what_it_measures(tmp_path, catalogue):
    """Pervomaiskyi's target is for consultations on a child's disability: the line of psychological consultations
    is not set against it, in the figures, the text or the chart."""
    db = await Database(tmp_path / "target.sqlite3").connect()
    try:
        nov = date(2026, 11, 10)
        for resident in (1, 2, 3):
            await add_consultation(db, nov, community="pervomaiskyi", resident=resident)  # psychological
        await add_consultation(db, nov, community="pervomaiskyi", resident=4, topic="child_disability")
        await add_consultation(db, date(2026, 10, 2), community="pervomaiskyi", resident=5, topic="child_disability")
        period = preset("this_month", date(2026, 11, 24))
        report = await Collector(db, catalogue, KYIV).report(period, "pervomaiskyi")
        assert report.current.consultations_held == 4 and report.current.consultations_held_on("child_disability") == 1
        assert report.indicator_by_month[date(2026, 11, 1)] == 1 and report.indicator_by_month[date(2026, 10, 1)] == 1
        assert report.consultations_by_month[date(2026, 11, 1)] == 4
        text = "\n".join(render(report, catalogue, identity, "en"))
        assert "Of them on «A child with a disability»: <b>1</b>" in text
        assert "Programme target: 46 a year (online follow-up consultations" in text  # 30 × 1.15³ in 2026
        lutsk = await Collector(db, catalogue, KYIV).report(period, "lutsk")
        assert lutsk.indicator_by_month == {} and "Programme target" not in "\n".join(
            render(lutsk, catalogue, identity, "en"))
        charts = dict(all_charts(report, catalogue, identity, "en"))
        assert charts["consultations-per-month.png"].startswith(PNG_SIGNATURE)
    finally:
        await db.close()


async def test_charts_are_pictures(filled, catalogue, tmp_path):
    from PIL import Image

    period = preset("this_month", date(2026, 11, 24))
    for community in ("lutsk", "pervomaiskyi", None):
        report = await Collector(filled, catalogue, KYIV).report(period, community)
        charts = all_charts(report, catalogue, identity, "uk")
        assert [name for name, _ in charts] == ["requests-per-week.png", "response-times.png",
                                                "consultations-per-month.png"]
        for name, png in charts:
            assert png.startswith(PNG_SIGNATURE)
            with Image.open(io.BytesIO(png)) as picture:
                picture.verify()
    assert consultation_target(await Collector(filled, catalogue, KYIV).report(period, "pervomaiskyi"),
                               catalogue).consultations_per_year == 30
    assert consultation_target(await Collector(filled, catalogue, KYIV).report(period, "lutsk"), catalogue) is None


async def test_the_workbook(filled, catalogue):
    from openpyxl import load_workbook

    period = Period.between(date(2026, 1, 1), date(2026, 12, 31))
    report = await Collector(filled, catalogue, KYIV).report(period, None)
    book = load_workbook(io.BytesIO(export(report, catalogue, identity, "en", "xlsx")))
    assert book.sheetnames == ["Summary", "Services", "Target groups", "Institutions", "Help confirmed",
                               "Life situations", "Statuses", "Consultations", "By month", "Campaigns"]
    summary = {row[0].value: row for row in book["Summary"].iter_rows(min_row=2)}
    assert summary["From"][1].value.date() == date(2026, 1, 1) and summary["From"][1].number_format == "DD.MM.YYYY"
    assert summary["From"][2].value.date() == date(2025, 1, 1)
    assert summary["Requests"][1].value == 6 and summary["Requests"][3].value == 6
    assert summary["Online consultations held"][1].value == 4
    assert summary["People served (requests and consultations)"][1].value == 6  # residents 1-5 and 9
    services = [[c.value for c in row] for row in book["Services"].iter_rows(min_row=2)]
    assert sum(r[3] for r in services) == 6 and sum(r[4] for r in services) == 4
    assert any(r[1] == "Online consultation: Psychological support" for r in services)
    months = list(book["By month"].iter_rows(min_row=2))
    assert len(months) == 12 and all(m[0].number_format == "DD.MM.YYYY" for m in months)
    assert [m[1].value for m in months][9:11] == [1, 5]
    assert isinstance(months[10][1].value, int)
    [campaign] = list(book["Campaigns"].iter_rows(min_row=2))
    assert campaign[0].value.date() == date(2026, 11, 10) and campaign[2].value == 3
    institutions = {(r[0].value, r[1].value): r for r in book["Institutions"].iter_rows(min_row=2)}
    assert isinstance(next(iter(institutions.values()))[6].value, (float, type(None)))
    cells = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
    assert not any("опис" in c or c in ("2026-000001",) for c in cells)

    archive = zipfile.ZipFile(io.BytesIO(export(report, catalogue, identity, "en", "csv")))
    assert archive.namelist()[0] == "01 Summary.csv" and len(archive.namelist()) == 10
    assert "From,01.01.2026,01.01.2025," in archive.read("01 Summary.csv").decode("utf-8-sig")


def test_sheet_titles():
    used: set[str] = set()
    assert sheet_title("Звернення за послугами/установами: підсумок", used) == "Звернення за послугами установа"
    assert sheet_title("Звернення за послугами/установами: підсумок", used) == "Звернення за послугами устано 2"


def test_stats_command_prints_the_report(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "x.db"), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    result = subprocess.run([sys.executable, "-m", "bot", "stats", "--from", "2026-01-01", "--to", "2026-03-31",
                             "--charts", str(tmp_path / "charts"), "--locale", "en"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Period: 01.01.2026–31.03.2026" in result.stdout and "01.10.2025–31.12.2025" in result.stdout
    assert "<b>" not in result.stdout
    assert sorted(p.name for p in (tmp_path / "charts").iterdir()) == [
        "consultations-per-month.png", "requests-per-week.png", "response-times.png"]
    bad = subprocess.run([sys.executable, "-m", "bot", "export", "--from", "2026-03-01", "--to", "2026-01-01"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "ends before" in bad.stderr


async def test_the_report_read_aside_is_the_same(filled, catalogue):
    """/stats reads in a worker thread on a read-only connection of its own; the figures are the same, and the
    bot's own connection keeps writing meanwhile."""
    now = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
    period = preset("this_year", date(2026, 11, 24))
    collector = Collector(filled, catalogue, KYIV)
    for community in ("lutsk", None):
        assert await collector.report_aside(period, community, now=now) == await collector.report(period, community,
                                                                                                  now=now)
    aside = asyncio.ensure_future(collector.report_aside(period, None, now=now))
    await add_request(filled, 99, date(2026, 11, 20), resident=7)
    before = await aside
    assert before.current.request_count in (6, 7)  # read before or after the write, never half of it
    assert (await collector.report_aside(period, None, now=now)).current.request_count == 7
