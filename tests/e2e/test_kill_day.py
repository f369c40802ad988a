"""A short scripted day with kill -9 of the bot at random moments (`make soak` runs the long one): every
confirmed request exists once with one card, every answer and consultation message arrives once, every
campaign recipient has one copy."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.soakday import Plan, run_day

pytestmark = pytest.mark.asyncio(loop_scope="function")


async def test_a_day_with_kill_9_at_random_moments(tmp_path: Path) -> None:
    report = await run_day(Plan(kills=3, residents=3, talkers=1, recipients=60, seed=7), tmp_path)
    print("\n" + "\n".join(report.lines() + report.details))
    assert report.kills == 3
    assert report.requests_confirmed > 0 and report.answers > 0 and report.consult_messages > 0
    assert report.lost == 0, report.details
    # Telegram has no idempotency key: a message whose call was under way at the kill may arrive twice (it is
    # sent again rather than risk losing it); a duplicate without such a call would be a defect
    assert report.duplicates <= report.outbox_interrupted, report.details
    assert report.errors == 0, report.error_lines
