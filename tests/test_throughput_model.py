"""The open-loop benchmark's arithmetic and the day model, on synthetic data (nothing is timed here)."""
from __future__ import annotations

import math
import random
import statistics
import sys

import pytest

from bot.config import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))

import day_model  # noqa: E402
import throughput  # noqa: E402


def test_poisson_schedule_has_the_rate_and_exponential_gaps() -> None:
    times = throughput.poisson_schedule(200, 100, random.Random(7))
    assert all(0 <= t < 100 for t in times)
    assert times == sorted(times)
    # 20,000 expected; a Poisson count's standard deviation is its square root (about 141)
    assert abs(len(times) - 20_000) < 5 * math.sqrt(20_000)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert statistics.fmean(gaps) == pytest.approx(1 / 200, rel=0.05)
    # exponential gaps: the standard deviation equals the mean, and about 1/e of them exceed the mean
    assert statistics.pstdev(gaps) == pytest.approx(1 / 200, rel=0.05)
    assert sum(gap > 1 / 200 for gap in gaps) / len(gaps) == pytest.approx(math.exp(-1), abs=0.02)


def test_poisson_schedule_is_reproducible_and_empty_without_a_rate() -> None:
    schedule = throughput.poisson_schedule
    assert schedule(50, 10, random.Random(1)) == schedule(50, 10, random.Random(1))
    assert schedule(50, 10, random.Random(1)) != schedule(50, 10, random.Random(2))
    assert throughput.poisson_schedule(0, 10, random.Random(1)) == []
    assert throughput.poisson_schedule(50, 0, random.Random(1)) == []


def test_percentile_is_the_nearest_rank_and_unanswered_count_as_late() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100 ms
    random.Random(3).shuffle(values)
    assert throughput.percentile(values, 50) == 50
    assert throughput.percentile(values, 99) == 99
    assert throughput.percentile(values, 100) == 100
    assert throughput.percentile([5.0], 99) == 5
    assert math.isnan(throughput.percentile([], 50))
    load = throughput.OpenLoad(rate=100, seconds=1, offered=100, latencies=[1.0] * 98, unanswered=2)
    assert load.percentile(50) == 1
    assert load.percentile(99) == math.inf  # two of a hundred never answered: the p99 is not met
    point = throughput.Point("ours", load, cpu_s=0.196, wall_s=1.0, rss_mb=200, peak_rss_mb=210)
    assert point.cpu_ms_per_update == pytest.approx(2.0)
    assert not point.within
    fine = throughput.Point("ours", throughput.OpenLoad(100, 1, 100, [1.0] * 100), 0.1, 1.0, 200, 210)
    assert fine.within


def test_the_search_brackets_then_bisects_where_p99_passes_the_limit() -> None:
    limit = 333.0  # a bot whose p99 passes 100 ms above 333 updates/s
    points = [(rate, rate <= limit) for rate in (50.0, 100.0, 200.0)]
    tried = []
    while (probe := throughput.next_probe(points, ceiling=3000)) is not None:
        tried.append(probe)
        points.append((probe, probe <= limit))
        assert len(tried) < 20
    assert tried[0] == 400  # doubling from the best good rate until a bad one
    best, worst = throughput.limit_between(points)
    assert best is not None and worst is not None
    assert best <= limit < worst and worst <= best * 1.1


def test_the_search_stops_at_the_ceiling_and_halves_when_nothing_is_within() -> None:
    assert throughput.next_probe([(2000.0, True)], ceiling=3000) == 3000
    assert throughput.next_probe([(2000.0, True), (3000.0, True)], ceiling=3000) is None
    assert throughput.next_probe([(50.0, False)], ceiling=3000) == 25
    assert throughput.next_probe([(8.0, False)], ceiling=3000) is None  # below the floor: give up
    assert throughput.limit_between([(50.0, False), (100.0, False)]) == (None, 50.0)
    # noise: a bad rate below the best good one is not the bracket's top
    assert throughput.limit_between([(100.0, False), (200.0, True), (400.0, False)]) == (200.0, 400.0)


def test_the_table_puts_both_bots_side_by_side_and_marks_a_missed_p99() -> None:
    slow = throughput.OpenLoad(100, 1, 100, [150.0] * 100)
    quick = throughput.OpenLoad(100, 1, 100, [3.0] * 100)
    rows = throughput.table([throughput.Point("ours", slow, 0.2, 1.0, 210.4, 220),
                             throughput.Point("echo", quick, 0.1, 1.0, 99.6, 100)])
    assert rows[2] == "| 100 | 150.0 / 150.0 / 150.0 ✗ | 3.0 / 3.0 / 3.0 | 2.00 | 1.00 | 210 | 100 |"


def test_pinning_puts_the_bot_on_one_core_and_the_rest_on_another() -> None:
    pin = throughput.pinning(True, taskset="/usr/bin/taskset", cpus=[3, 1])
    assert pin.bot == ["/usr/bin/taskset", "-c", "1"]
    assert pin.sandbox == ["/usr/bin/taskset", "-c", "3"] and pin.residents == 3
    missing = throughput.pinning(True, taskset="", cpus=[0, 1])
    assert missing.bot == [] and missing.residents is None and "taskset" in missing.shown
    assert throughput.pinning(True, taskset="/usr/bin/taskset", cpus=[0]).bot == []
    assert throughput.pinning(False).shown == "unpinned (--no-pin)"


def test_the_day_model_adds_up() -> None:
    model = day_model.DayModel(recipient_share=0.1, requests_per_recipient_year=1.2,
                               consultations_per_resident_year=0.001,
                               consultation_topics=6, browsing_visits_per_request=3, updates_per_visit=6,
                               searches_per_request=3, form_updates_per_request=10, follow_up_updates_per_request=3,
                               messages_per_consultation=20, updates_around_consultation=4, days_per_month=20,
                               peak_hour_share=0.25)
    assert model.requests_per_month(10_000) == pytest.approx(100)  # 10,000 x 0.1 x 1.2 / 12
    assert model.consultations_per_month(10_000) == pytest.approx(5)  # 10,000 x 0.001 x 6 / 12
    assert model.updates_per_request() == 40  # 4 visits x 6 + 3 + 10 + 3
    assert model.updates_per_month(10_000) == pytest.approx(100 * 40 + 5 * 24)
    assert model.peak_rate(10_000) == pytest.approx(4120 / 20 * 0.25 / 3600)
    capacity = 50.0
    largest = model.largest_community(capacity)
    assert model.peak_rate(largest) == pytest.approx(capacity)
    assert model.headroom(capacity, 10_000) == pytest.approx(capacity / model.peak_rate(10_000))
    assert model.headroom(capacity, largest) == pytest.approx(1.0)


def test_the_day_model_cites_the_programmes() -> None:
    # Первомайська §3.1: 3,442 people in the listed groups of 29,720 residents
    assert sum(day_model.PERVOMAISKYI_RECIPIENTS.values()) == 3442
    assert day_model.recipient_share() == pytest.approx(3442 / 29720)
    # task 2.3.4: 30 a year in 2023, +15 % a year, in 2027
    assert day_model.consultations_per_resident_year() * 29720 == pytest.approx(30 * 1.15 ** 4)
    text = "\n".join(day_model.assumptions(day_model.DayModel()))
    assert "(assumed)" in text and "§3.1" in text and "2.3.4" in text
    lines = day_model.summary(day_model.DayModel(), None, 29720)
    assert "not measured" in lines[-1]
