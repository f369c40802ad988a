"""The per-person limit on incoming updates: burst, refill, the pause, albums, forgetting idle people."""
from __future__ import annotations

from bot.config import load_settings
from bot.runtime.ratelimit import Limit, RateLimiter, Verdict, limiter_of


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, per_minute: float = 30, burst: int = 20, pause: float = 60) -> RateLimiter:
    return RateLimiter(Limit(per_minute, burst), Limit(300, 100), pause, clock=clock)


def test_a_burst_passes_and_the_next_one_pauses_once() -> None:
    clock = Clock()
    limits = limiter(clock)
    assert [limits.check(1, limits.resident) for _ in range(20)] == [Verdict.PASS] * 20
    assert limits.check(1, limits.resident) is Verdict.PAUSED
    assert {limits.check(1, limits.resident) for _ in range(200)} == {Verdict.DROP}
    assert limits.check(2, limits.resident) is Verdict.PASS  # someone else is not touched


def test_the_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(20):
        limits.check(1, limits.resident)
    clock.now += 2.0  # 30 a minute: one more every 2 s
    assert limits.check(1, limits.resident) is Verdict.PASS
    assert limits.check(1, limits.resident) is Verdict.PAUSED


def test_a_steady_human_pace_is_never_paused() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(600):  # one message every 2 s for 20 minutes, plus a burst of 10 every minute
        clock.now += 2.0
        assert limits.check(1, limits.resident) is Verdict.PASS
    for _ in range(10):
        assert limits.check(1, limits.resident) is Verdict.PASS


def test_after_the_pause_a_fresh_start() -> None:
    clock = Clock()
    limits = limiter(clock, pause=5)
    for _ in range(21):
        limits.check(1, limits.resident)
    clock.now += 4.9
    assert limits.check(1, limits.resident) is Verdict.DROP
    clock.now += 0.2
    assert [limits.check(1, limits.resident) for _ in range(20)] == [Verdict.PASS] * 20
    assert limits.check(1, limits.resident) is Verdict.PAUSED


def test_an_album_counts_once() -> None:
    clock = Clock()
    limits = limiter(clock, burst=3)
    for album in ("a", "b", "c"):
        assert [limits.check(1, limits.resident, album) for _ in range(10)] == [Verdict.PASS] * 10
    assert limits.check(1, limits.resident, "d") is Verdict.PAUSED


def test_an_album_of_more_than_ten_is_charged_again() -> None:
    clock = Clock()
    limits = limiter(clock, burst=2)
    verdicts = [limits.check(1, limits.resident, "forged") for _ in range(25)]
    assert verdicts[:20] == [Verdict.PASS] * 20 and verdicts[20] is Verdict.PAUSED


def test_staff_have_their_own_bucket() -> None:
    clock = Clock()
    limits = limiter(clock)
    assert [limits.check((1, True), limits.staff) for _ in range(100)] == [Verdict.PASS] * 100
    assert limits.check((1, False), limits.resident) is Verdict.PASS
    assert limits.check((1, True), limits.staff) is Verdict.PAUSED


def test_idle_people_are_forgotten() -> None:
    clock = Clock()
    limits = limiter(clock)
    for user in range(1000):
        limits.check(user, limits.resident)
    assert len(limits.buckets) == 1000
    clock.now += limits.idle_after + 1
    limits.check("new", limits.resident)
    assert list(limits.buckets) == ["new"]


def test_a_paused_person_is_not_forgotten_early() -> None:
    clock = Clock()
    limits = limiter(clock, pause=600)
    for _ in range(21):
        limits.check(1, limits.resident)
    clock.now += 100
    limits.check(2, limits.resident)
    assert limits.check(1, limits.resident) is Verdict.DROP


def test_memory_is_bounded() -> None:
    clock = Clock()
    limits = RateLimiter(Limit(30, 20), Limit(300, 100), 60, clock=clock, max_people=100)
    for user in range(1000):
        limits.check(user, limits.resident)
    assert len(limits.buckets) <= 101


def test_settings_switch_it_off(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    assert limiter_of(load_settings()) is not None
    assert limiter_of(load_settings(RATE_LIMIT_PER_MINUTE=0, RATE_LIMIT_STAFF_PER_MINUTE=0)) is None
    resident_off = limiter_of(load_settings(RATE_LIMIT_BURST=0))
    assert resident_off is not None and not resident_off.resident.on and resident_off.staff.on
