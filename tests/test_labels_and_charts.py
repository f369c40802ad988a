"""Labels shortened at a word boundary (buttons, printed sheets, legends) and the value axis of the report charts."""
from __future__ import annotations

from datetime import date

import pytest

from bot.labels import shorten
from bot.qr import TITLE_MAX_LINES, layout
from bot.reports import charts
from bot.reports.figures import Figures, Report, RequestRow
from bot.reports.periods import preset

LONG = "Соціальна послуга денного догляду за дітьми з інвалідністю, у тому числі з тяжкими порушеннями розвитку"


def identity(message: str) -> str:
    return message


# ----- labels --------------------------------------------------------------------------------------------------

def test_a_label_that_fits_stays_whole_and_on_one_line() -> None:
    assert shorten("Денний   догляд\nдля дітей", 60) == "Денний догляд для дітей"


@pytest.mark.parametrize("limit", [12, 20, 33, 41, 60, 64])
def test_a_long_label_ends_with_whole_words_and_an_ellipsis(limit: int) -> None:
    label = shorten(LONG, limit)
    assert len(label) <= limit and label.endswith("…")
    kept = label[:-1]
    assert LONG.startswith(kept)
    # the cut falls between words: what follows the kept part in the full text is a space or punctuation
    assert LONG[len(kept)] in " ,", (limit, label)
    assert not kept.endswith((",", " "))


def test_the_cut_never_splits_a_word_the_old_way_did() -> None:
    assert LONG[:30] == "Соціальна послуга денного догл"  # what `[:30]` showed
    assert shorten(LONG, 30) == "Соціальна послуга денного…"


def test_only_a_single_overlong_word_is_cut() -> None:
    assert shorten("Найпрекрасніший", 8) == "Найпрек…"


def test_a_measure_other_than_characters() -> None:
    def width(text: str) -> int:
        return 2 * len(text)

    assert shorten("один два три чотири", 20, width) == "один два…"


def test_a_printed_title_too_long_for_the_sheet_ends_at_a_word() -> None:
    title = " ".join([LONG] * 4)
    lines = [line.text for line in layout("https://t.me/hromada_bot?start=Hlutsk", title).lines]
    title_lines = lines[:TITLE_MAX_LINES]
    assert title_lines[-1].endswith("…")
    shown = " ".join(title_lines)[:-1]
    assert title.startswith(shown) and title[len(shown)] in " ,"


# ----- charts --------------------------------------------------------------------------------------------------

def row(day: date, first: float | None, closing: float | None) -> RequestRow:
    return RequestRow(day, "lutsk", "tcso", "", "", (), "resolved", 1, first, closing, False)


def report_of(requests: list[RequestRow]) -> Report:
    period = preset("this_month", date(2026, 11, 24))
    previous = preset("last_month", date(2026, 11, 24))
    return Report("lutsk", Figures(period, requests=requests), Figures(previous))


def tick_labels(fig) -> list[str]:
    fig.canvas.draw()
    return [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]


@pytest.mark.parametrize("figure", [charts.requests_per_week_figure, charts.response_times_figure,
                                    charts.consultations_per_month_figure])
def test_an_empty_chart_has_an_axis_from_zero_up(figure, catalogue) -> None:
    fig = figure(report_of([]), catalogue, identity, "uk")
    bottom, top = fig.axes[0].get_ylim()
    assert bottom == 0 and top >= 1
    labels = tick_labels(fig)
    assert labels[0] == "0" and not any(label.startswith(("−", "-")) for label in labels)
    charts.pyplot().close(fig)


def test_hours_use_the_decimal_comma_in_ukrainian(catalogue) -> None:
    requests = [row(date(2026, 11, 3), 1.5, 2.5), row(date(2026, 11, 10), 0.5, 1.25)]
    fig = charts.response_times_figure(report_of(requests), catalogue, identity, "uk")
    labels = tick_labels(fig)
    assert fig.axes[0].get_ylim()[0] == 0
    assert any("," in label for label in labels) and not any("." in label for label in labels), labels
    charts.pyplot().close(fig)
    fig = charts.response_times_figure(report_of(requests), catalogue, identity, "en")
    labels = tick_labels(fig)
    assert any("." in label for label in labels) and not any("," in label for label in labels), labels
    charts.pyplot().close(fig)
