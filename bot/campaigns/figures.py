"""What the reports read of the campaigns (bot/reports/figures.py counts them)."""
from __future__ import annotations

from typing import Optional

from bot.storage import residents
from bot.storage.db import Database, Row


async def started_in(db: Database, begin: str, end: str) -> list[Row]:
    """The campaigns started in [begin, end) (UTC stamps), with their topic and audience (JSON)."""
    return await db.fetchall("SELECT id, started_at, topic, audience FROM campaigns "
                             "WHERE started_at >= ? AND started_at < ? ORDER BY started_at, id", (begin, end))


async def outcomes(db: Database, campaign_id: int, community: Optional[str] = None) -> tuple[int, int, int]:
    """(recipients, delivered, blocked) of a campaign: its recipient rows while they are kept, the counts retention
    leaves of them afterwards; with `community`, only the recipients of that community."""
    where = f" AND {residents.community_sql('cr.user_id')} = ?" if community else ""
    params: tuple[object, ...] = (campaign_id, community) if community else (campaign_id,)
    row = await db.fetchone(
        "SELECT SUM(n) AS recipients, SUM(CASE WHEN status = 'delivered' THEN n END) AS delivered, "
        "SUM(CASE WHEN status = 'blocked' THEN n END) AS blocked FROM ("
        f"SELECT cr.status, 1 AS n FROM campaign_recipients cr WHERE cr.campaign_id = ?{where} "
        "UNION ALL SELECT status, n FROM campaign_tallies WHERE campaign_id = ?"
        + (" AND community = ?" if community else "") + ")", params + params)
    return row["recipients"] or 0, row["delivered"] or 0, row["blocked"] or 0
