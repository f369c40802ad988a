"""`python -m bot stats` (the report of a period) and `python -m bot export` (its spreadsheet). bot/cli.py imports
this module when one of them runs; their arguments are in bot/reports/arguments.py."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Optional

from bot.catalogue.loader import load_catalogue
from bot.config import Settings
from bot.i18n import make_i18n, plain_text
from bot.reports.charts import all_charts
from bot.reports.export import export, file_name
from bot.reports.figures import Collector
from bot.reports.periods import Period, preset
from bot.reports.text import plain, render
from bot.storage.db import Database


def period_from(args: argparse.Namespace, settings: Settings) -> Period:
    """--from/--to (YYYY-MM-DD); without them this month so far; --from alone runs to today."""
    today = datetime.now(settings.tz).date()
    start = date.fromisoformat(args.date_from) if args.date_from else None
    end = date.fromisoformat(args.date_to) if args.date_to else None
    if start is None and end is None:
        return preset("this_month", today)
    if start is None:
        assert end is not None
        start = end.replace(day=1)
    if end is None and start.day == 1 and start <= today:
        # from the first of a month to today: those months so far, against the same days of the months before
        return Period(start, today, (today.year - start.year) * 12 + today.month - start.month + 1)
    return Period.between(start, end or today)


def translator(settings: Settings, locale: str):
    i18n = make_i18n(settings)
    return lambda message: i18n.gettext(message, locale=locale)


async def _report(settings: Settings, period: Period, community: Optional[str]):
    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    db = await Database(settings.database_path).connect()
    try:
        return catalogue, await Collector(db, catalogue, settings.tz).report(period, community)
    finally:
        await db.close()


def _prepare(settings: Settings, args: argparse.Namespace) -> Optional[Period]:
    try:
        period = period_from(args, settings)
    except ValueError as exc:
        message = str(exc) if "ends before" in str(exc) else "dates are written as YYYY-MM-DD, e.g. --from 2026-01-01"
        print(message, file=sys.stderr)
        return None
    return period


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    period = _prepare(settings, args)
    if period is None:
        return 2
    locale = args.locale or settings.default_locale
    tr = translator(settings, locale)
    catalogue, report = asyncio.run(_report(settings, period, args.community))
    if args.json:
        print(json.dumps({"period": [str(period.start), str(period.end)],
                          "previous": [str(report.previous.period.start), str(report.previous.period.end)],
                          "current": plain(report.current), "before": plain(report.previous)},
                         ensure_ascii=False, indent=2))
    else:
        print(plain_text(render(report, catalogue, tr, locale)))
    if args.charts:
        folder = Path(args.charts)
        folder.mkdir(parents=True, exist_ok=True)
        for name, png in all_charts(report, catalogue, tr, locale):
            (folder / name).write_bytes(png)
            print(f"chart: {folder / name}", file=sys.stderr)
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    period = _prepare(settings, args)
    if period is None:
        return 2
    locale = args.locale or settings.default_locale
    catalogue, report = asyncio.run(_report(settings, period, args.community))
    content = export(report, catalogue, translator(settings, locale), locale, args.format)
    out = Path(args.out) if args.out else Path(file_name(report, args.format))
    if out.is_dir():
        out = out / file_name(report, args.format)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(out)
    return 0
