"""Charts of a report as PNG pictures, drawn with matplotlib's Agg backend (no display, fonts shipped with it)."""
from __future__ import annotations

import os
import tempfile
from collections import Counter, defaultdict
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path
from typing import Optional

from babel.numbers import format_decimal

from bot.catalogue.loader import Catalogue
from bot.catalogue.models import Indicators
from bot.labels import shorten
from bot.reports.figures import Report, median
from bot.reports.periods import weeks
from bot.reports.text import N_, Names, Tr

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOP_INSTITUTIONS = 7
MONTHS = {
    "uk": ["січ", "лют", "бер", "кві", "тра", "чер", "лип", "сер", "вер", "жов", "лис", "гру"],
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
}
_pyplot = None


def pyplot():
    """matplotlib's pyplot on the Agg backend; its cache goes to a temporary folder unless MPLCONFIGDIR is set,
    so a read-only or missing home folder never matters."""
    global _pyplot
    if _pyplot is None:
        if not os.environ.get("MPLCONFIGDIR"):
            folder = Path(tempfile.gettempdir()) / f"hromada-matplotlib-{os.getuid() if hasattr(os, 'getuid') else 0}"
            folder.mkdir(parents=True, exist_ok=True)
            os.environ["MPLCONFIGDIR"] = str(folder)
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        plt.rcParams.update({"font.family": "DejaVu Sans", "font.size": 10, "axes.spines.top": False,
                             "axes.spines.right": False, "figure.dpi": 100})
        _pyplot = plt
    return _pyplot


def _png(fig) -> bytes:
    plt = pyplot()
    buffer = BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


def _day(day: date) -> str:
    return f"{day:%d.%m}"


def _month(day: date, locale: str) -> str:
    return f"{MONTHS.get(locale, MONTHS['en'])[day.month - 1]} {day:%y}"


def from_zero(ax, values: list[float], locale: str) -> None:
    """The value axis starts at 0 and goes up, to 1 when there is nothing to show (matplotlib's own choice for an
    empty chart is −0.06…0.06), and its numbers are written as the text writes them (a decimal comma in
    Ukrainian)."""
    from matplotlib.ticker import FuncFormatter

    shown = [v for v in values if v == v and v is not None]  # NaN marks a week without data
    top = max(shown, default=0)
    ax.set_ylim(0, top * 1.08 if top > 0 else 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _pos: format_decimal(round(value, 2), locale=locale)))


def requests_per_week(report: Report, catalogue: Catalogue, tr: Tr, locale: str) -> bytes:
    return _png(requests_per_week_figure(report, catalogue, tr, locale))


def requests_per_week_figure(report: Report, catalogue: Catalogue, tr: Tr, locale: str):
    """Stacked bars: requests sent each week, by institution (the busiest ones, the rest together)."""
    plt = pyplot()
    names = Names(catalogue, locale, tr)
    several = report.community is None and len(catalogue.communities) > 1
    mondays = weeks(report.current.period)
    totals = Counter((r.community, r.institution) for r in report.current.requests)
    top = [key for key, _ in totals.most_common(TOP_INSTITUTIONS)]
    series: dict[object, list[int]] = defaultdict(lambda: [0] * len(mondays))
    for r in report.current.requests:
        index = (r.day - mondays[0]).days // 7
        key = (r.community, r.institution) if (r.community, r.institution) in top else "other"
        series[key][index] += 1
    fig, ax = plt.subplots(figsize=(9, 4.8))
    x = range(len(mondays))
    bottom = [0] * len(mondays)
    for key in top + (["other"] if "other" in series else []):
        label = tr(N_("Other institutions")) if key == "other" else names.institution(*key, with_community=several)
        ax.bar(x, series[key], bottom=bottom, label=shorten(label, 60))
        bottom = [a + b for a, b in zip(bottom, series[key])]
    if not top:
        ax.text(0.5, 0.5, tr(N_("No requests in this period")), ha="center", va="center", transform=ax.transAxes)
    ax.set_title(tr(N_("Requests per week by institution")))
    ax.set_xlabel(tr(N_("Week starting")))
    ax.set_ylabel(tr(N_("Requests")))
    ax.set_xticks(list(x), [_day(m) for m in mondays], rotation=45 if len(mondays) > 8 else 0)
    from_zero(ax, bottom, locale)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if top:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def response_times(report: Report, catalogue: Catalogue, tr: Tr, locale: str) -> bytes:
    return _png(response_times_figure(report, catalogue, tr, locale))


def response_times_figure(report: Report, catalogue: Catalogue, tr: Tr, locale: str):
    """Median hours to the first answer and to closing, per week of sending."""
    plt = pyplot()
    mondays = weeks(report.current.period)
    first: dict[date, list[float]] = defaultdict(list)
    closing: dict[date, list[float]] = defaultdict(list)
    for r in report.current.requests:
        monday = r.day - timedelta(days=r.day.weekday())
        if r.first_answer_hours is not None:
            first[monday].append(r.first_answer_hours)
        if r.closing_hours is not None:
            closing[monday].append(r.closing_hours)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = list(range(len(mondays)))
    drawn: list[float] = []
    for values, label, marker in ((first, N_("Median time to the first answer"), "o"),
                                  (closing, N_("Median time to closing"), "s")):
        ys = [median(values[m]) if values.get(m) else float("nan") for m in mondays]
        drawn += ys
        ax.plot(x, ys, marker=marker, label=tr(label))
    if not first and not closing:
        ax.text(0.5, 0.5, tr(N_("No answered requests in this period")), ha="center", va="center",
                transform=ax.transAxes)
    else:
        ax.legend(fontsize=8, frameon=False)
    ax.set_title(tr(N_("Response times by week")))
    ax.set_xlabel(tr(N_("Week starting")))
    ax.set_ylabel(tr(N_("Hours")))
    ax.set_xticks(x, [_day(m) for m in mondays], rotation=45 if len(mondays) > 8 else 0)
    from_zero(ax, drawn, locale)
    return fig


def consultation_target(report: Report, catalogue: Catalogue) -> Optional[Indicators]:
    """The programme's indicators that apply: the community's, or the only served community's."""
    slug = report.community
    if slug is None and len(catalogue.communities) == 1:
        slug = next(iter(catalogue.communities))
    view = catalogue.communities.get(slug) if slug else None
    return view.model.indicators if view is not None else None


def consultations_per_month(report: Report, catalogue: Catalogue, tr: Tr, locale: str) -> bytes:
    return _png(consultations_per_month_figure(report, catalogue, tr, locale))


def consultations_per_month_figure(report: Report, catalogue: Catalogue, tr: Tr, locale: str):
    """Consultations held each month (the year up to the period's end) against the programme's monthly target.

    A target on one consultation topic is drawn against the consultations on that topic only (a second, narrower
    bar), never against the whole line."""
    plt = pyplot()
    months = sorted(report.consultations_by_month)
    values = [report.consultations_by_month[m] for m in months]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    x = list(range(len(months)))
    ax.bar(x, values, color="#3b7dd8", label=tr(N_("Consultations held")))
    indicators = consultation_target(report, catalogue)
    topic = None
    if indicators is not None and indicators.topic is not None:
        topic = Names(catalogue, locale, tr).topic(indicators.topic)
        measured = [report.indicator_by_month.get(m, 0) for m in months]
        ax.bar(x, measured, width=0.4, color="#f0a030", label=tr(N_("Of them on «{topic}»")).format(topic=topic))
    if indicators is not None:
        targets = [indicators.consultations_target(m.year) for m in months]
        line = [t / 12 if t is not None else float("nan") for t in targets]
        if any(t is not None for t in targets):
            label = (tr(N_("Programme target per month for «{topic}»")).format(topic=topic) if topic
                     else tr(N_("Programme target per month")))
            ax.step([i - 0.5 for i in x] + [x[-1] + 0.5], line + [line[-1]], where="post", color="#d8503b",
                    linestyle="--", label=label)
            yearly = next(t for t in reversed(targets) if t is not None)
            if topic:
                ax.set_title(tr(N_("Online consultations per month (programme target for «{topic}»: {target} a "
                                   "year)")).format(topic=topic, target=round(yearly)), fontsize=10)
            else:
                ax.set_title(tr(N_("Online consultations per month (target {target} a year)")).format(
                    target=round(yearly)))
    if indicators is None or not ax.get_title():
        ax.set_title(tr(N_("Online consultations per month")))
    ax.set_ylabel(tr(N_("Consultations")))
    ax.set_xticks(x, [_month(m, locale) for m in months], rotation=45 if len(months) > 12 else 0)
    from_zero(ax, values + [t / 12 for t in targets if t is not None] if indicators is not None else values,
              locale)
    ax.yaxis.get_major_locator().set_params(integer=True)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, frameon=False)
    return fig


def all_charts(report: Report, catalogue: Catalogue, tr: Tr, locale: str) -> list[tuple[str, bytes]]:
    """(file name, PNG) of every chart of the report."""
    return [
        ("requests-per-week.png", requests_per_week(report, catalogue, tr, locale)),
        ("response-times.png", response_times(report, catalogue, tr, locale)),
        ("consultations-per-month.png", consultations_per_month(report, catalogue, tr, locale)),
    ]
