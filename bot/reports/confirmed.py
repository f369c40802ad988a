"""Whether the help came, as the reports count it (the question is bot/requests/confirmation.py).

A question belongs to the period in which the request was resolved (in the deployment's time zone). Counted are the
questions that were decided: answered «yes», «partly» or «no», or not answered within the question's days; a
question still waiting for its answer, one the staff made moot by reopening the request first, and one that could not
reach the resident (they had blocked the bot) are left out.

* confirmed: the share answered «yes»;
* reopened: the share answered «partly» or «no» (each put the request back into work);
* days to confirmed help: the median of days from sending the request to the resolution confirmed with «yes».
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Optional

from bot.requests.confirmation import NONE, NOT_HELPED, YES, resolutions
from bot.storage.db import Database

DECIDED = (YES, *NOT_HELPED, NONE)


@dataclass(frozen=True)
class ConfirmationRow:
    community: str
    institution: str
    answer: str  # yes | partly | no | none
    days: float  # from sending the request to its resolution


@dataclass(frozen=True)
class Confirmed:
    """The figures of some questions: how many were decided, the shares, the median."""

    asked: int
    confirmed: Optional[float]  # share of `asked`, 0..1; None without questions
    reopened: Optional[float]
    median_days: Optional[float]

    @classmethod
    def of(cls, rows: Iterable[ConfirmationRow]) -> Confirmed:
        rows = list(rows)
        if not rows:
            return cls(0, None, None, None)
        yes = [r.days for r in rows if r.answer == YES]
        reopened = sum(1 for r in rows if r.answer in NOT_HELPED)
        return cls(len(rows), len(yes) / len(rows), reopened / len(rows),
                   statistics.median(yes) if yes else None)


def by_institution(rows: Iterable[ConfirmationRow]) -> dict[tuple[str, str], Confirmed]:
    groups: dict[tuple[str, str], list[ConfirmationRow]] = defaultdict(list)
    for row in rows:
        groups[(row.community, row.institution)].append(row)
    return {key: Confirmed.of(items) for key, items in groups.items()}


def _days(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 86400


async def read(db: Database, begin: str, end: str, community: Optional[str]) -> list[ConfirmationRow]:
    """The decided questions about resolutions in [begin, end) (UTC stamps)."""
    return [ConfirmationRow(r["community"], r["institution_id"], r["answer"], _days(r["created_at"], r["resolved_at"]))
            for r in await resolutions(db, begin, end, community) if r["answer"] in DECIDED]
