"""What the reports read of the consultations (bot/reports/figures.py counts them): no texts, no contacts."""
from __future__ import annotations

from typing import Optional

from bot.storage.db import Database, Row


async def asked_in(db: Database, begin: str, end: str, community: Optional[str]) -> list[Row]:
    """The consultations asked in [begin, end) (UTC stamps), of one community or of all."""
    sql = ("SELECT community, institution_id, topic, resident_id, status, asked_at, taken_at, ended_at, rating "
           "FROM consultations WHERE asked_at >= ? AND asked_at < ?")
    params: list[object] = [begin, end]
    if community:
        sql += " AND community = ?"
        params.append(community)
    return await db.fetchall(sql, params)


def active_sql(begin: str, end: str, community: Optional[str]) -> tuple[str, list[object]]:
    """A SELECT of the residents who asked for a consultation or wrote in one in [begin, end), with its parameters:
    the reports join it with the other owners' in one count of active residents."""
    own = " AND community = ?" if community else ""
    joined = " AND x.community = ?" if community else ""
    extra: list[object] = [community] if community else []
    sql = (f"SELECT resident_id FROM consultations WHERE asked_at >= ? AND asked_at < ?{own}\n"
           "UNION SELECT x.resident_id FROM consultation_messages m JOIN consultations x ON x.id = m.consultation_id\n"
           f"    WHERE m.sender = 'resident' AND m.at >= ? AND m.at < ?{joined}")
    return sql, [begin, end, *extra, begin, end, *extra]
