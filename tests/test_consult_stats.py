"""Consultation figures: held, waits, lengths, ratings, kept and missed bookings, per institution and month."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.config import PROJECT_ROOT
from bot.consult.service import ConsultService
from bot.consult.stats import consultation_stats, render
from bot.requests.service import RequestService
from bot.storage.db import Database

KYIV = ZoneInfo("Europe/Kyiv")


async def test_figures(tmp_path, catalogue):
    db = await Database(tmp_path / "s.sqlite3").connect()
    now = {"t": datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)}  # 10:00 in Kyiv, Tuesday
    requests = RequestService(db, catalogue, KYIV)
    consult = ConsultService(db, catalogue, KYIV, requests, clock=lambda: now["t"])
    line = consult.line("lutsk", "psychological")
    code = await requests.groups.create_bind_code("lutsk", line.institution_id, 1)
    await requests.groups.bind(-5, code, title="g", is_forum=True, user_id=9)
    for resident, wait, length, rating in ((1, 2, 20, 5), (2, 6, 10, 3)):
        now["t"] = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
        c = await consult.start(resident, "lutsk", "psychological", "питання")
        now["t"] += timedelta(minutes=wait)
        await consult.take(-5, c.id, 9, "психолог Ірина")
        now["t"] += timedelta(minutes=length)
        await consult.end_by_resident(resident)
        await consult.rate(resident, c.id, rating)
    now["t"] = datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)  # Saturday: book Monday twice
    free = await consult.free_slots("lutsk", "psychological")
    kept = await consult.book(3, "lutsk", "psychological", free[0])
    await consult.book(4, "lutsk", "psychological", free[1])
    now["t"] = datetime.fromisoformat(kept.starts_at)
    [opened] = await consult.open_due_bookings()
    await consult.take(-5, opened.id, 9, "психолог Ірина")
    now["t"] += timedelta(hours=3)
    await consult.open_due_bookings()  # the second booking opens but nobody takes it
    rows = await consultation_stats(db, KYIV, community="lutsk", now=now["t"])
    [row] = [r for r in rows if r.month == "2026-12"]
    assert row.held == 2 and row.waits == [2, 6, 0] and row.median_wait == 2  # the booked one waited 0
    assert row.median_length == 15 and row.rating == 4
    assert (row.kept, row.missed) == (1, 1)
    assert "2026-12" in render(rows)
    await db.close()


def test_stats_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bot", "stats", "consultations", "--from", "2026-01-01"],
                            cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "x.db")},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "no consultations in this period" in result.stdout
    bad = subprocess.run([sys.executable, "-m", "bot", "stats", "consultations", "--from", "1.1.2026"],
                         cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "x.db")},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


async def test_deletion_and_retention_cover_consultations(tmp_path, catalogue):
    db = await Database(tmp_path / "d.sqlite3").connect()
    now = {"t": datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)}
    requests = RequestService(db, catalogue, KYIV)
    consult = ConsultService(db, catalogue, KYIV, requests, clock=lambda: now["t"])
    mine = await consult.start(1, "lutsk", "psychological", "моя таємниця")
    now["t"] = datetime(2026, 12, 5, 10, 0, tzinfo=timezone.utc)
    free = await consult.free_slots("lutsk", "psychological")
    await consult.book(1, "lutsk", "psychological", free[0])
    other = await consult.start(2, "lutsk", "legal", "чуже питання")
    await consult.end_by_resident(2)
    assert await consult.delete_personal_data(1) == 1
    gone = await consult.get(mine.id)
    assert gone.resident_id is None and gone.status == "ended" and gone.purged_at
    assert all(s.text is None for s in await consult.transcript(mine.id))
    assert await consult.bookings_of(1) == []
    assert (await consult.transcript(other.id))[0].text == "чуже питання"
    now["t"] += timedelta(days=400)
    assert await consult.purge_ended(365) == 1  # the other one, ended long ago
    assert (await consult.transcript(other.id))[0].text is None
    await db.close()
