"""Figures of the consultation line per institution and month (the programmes report online consultations)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Optional
from zoneinfo import ZoneInfo

from bot.storage.db import Database


@dataclass
class Row:
    community: str
    institution: str
    month: str
    held: int = 0
    waits: list[float] = field(default_factory=list)
    lengths: list[float] = field(default_factory=list)
    ratings: list[int] = field(default_factory=list)
    kept: int = 0
    missed: int = 0

    @property
    def median_wait(self) -> Optional[float]:
        return statistics.median(self.waits) if self.waits else None

    @property
    def median_length(self) -> Optional[float]:
        return statistics.median(self.lengths) if self.lengths else None

    @property
    def rating(self) -> Optional[float]:
        return statistics.fmean(self.ratings) if self.ratings else None


def _minutes(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60


async def consultation_stats(db: Database, tz: ZoneInfo, *, community: Optional[str] = None,
                             start: Optional[date] = None, end: Optional[date] = None,
                             now: Optional[datetime] = None) -> list[Row]:
    rows: dict[tuple[str, str, str], Row] = {}

    def row(comm: str, inst: str, moment: str) -> Optional[Row]:
        local = datetime.fromisoformat(moment).astimezone(tz).date()
        if (start and local < start) or (end and local > end):
            return None
        key = (comm, inst, f"{local:%Y-%m}")
        return rows.setdefault(key, Row(*key))

    where, params = ("WHERE community = ?", (community,)) if community else ("", ())
    for c in await db.fetchall(f"SELECT * FROM consultations {where}", params):
        target = row(c["community"], c["institution_id"], c["asked_at"])
        if target is None:
            continue
        if c["taken_at"]:
            target.waits.append(_minutes(c["asked_at"], c["taken_at"]))
            if c["status"] in ("ended", "converted") and c["ended_at"]:
                target.held += 1
                target.lengths.append(_minutes(c["taken_at"], c["ended_at"]))
        if c["rating"]:
            target.ratings.append(c["rating"])
    taken_bookings = {r["booking_id"] for r in await db.fetchall(
        "SELECT booking_id FROM consultations WHERE booking_id IS NOT NULL AND taken_at IS NOT NULL")}
    moment = (now or datetime.now(ZoneInfo("UTC"))).isoformat(timespec="seconds")
    for b in await db.fetchall(f"SELECT * FROM bookings {where}", params):
        if b["status"] == "cancelled" or b["starts_at"] > moment:
            continue
        target = row(b["community"], b["institution_id"], b["starts_at"])
        if target is None:
            continue
        if b["id"] in taken_bookings:
            target.kept += 1
        else:
            target.missed += 1
    return sorted(rows.values(), key=lambda r: (r.community, r.institution, r.month))


def render(rows: list[Row]) -> str:
    def fmt(value: Optional[float], digits: int = 0) -> str:
        return "—" if value is None else f"{value:.{digits}f}"

    header = (f"{'community':<13} {'institution':<16} {'month':<7} {'held':>5} {'wait,min':>9} {'length,min':>11} "
              f"{'rating':>7} {'kept':>5} {'missed':>7}")
    lines = [header]
    for r in rows:
        lines.append(f"{r.community:<13} {r.institution:<16} {r.month:<7} {r.held:>5} {fmt(r.median_wait, 1):>9} "
                     f"{fmt(r.median_length, 1):>11} {fmt(r.rating, 2):>7} {r.kept:>5} {r.missed:>7}")
    if not rows:
        lines.append("no consultations in this period")
    return "\n".join(lines)
