"""What the reports read of the requests (bot/reports/figures.py counts them): no texts, no contacts."""
from __future__ import annotations

from typing import Optional

from bot.storage.db import Database, Row


async def sent_in(db: Database, begin: str, end: str, community: Optional[str]) -> list[Row]:
    """The requests sent in [begin, end) (UTC stamps), of one community or of all, with what the reports count."""
    sql = ("SELECT community, institution_id, service_id, situation_id, for_whom, status, resident_id, "
           "created_at, due_at, first_response_at, closed_at FROM requests "
           "WHERE created_at >= ? AND created_at < ?")
    params: list[object] = [begin, end]
    if community:
        sql += " AND community = ?"
        params.append(community)
    return await db.fetchall(sql, params)


def active_sql(begin: str, end: str, community: Optional[str]) -> tuple[str, list[object]]:
    """A SELECT of the residents who sent a request or followed one up in [begin, end), with its parameters: the
    reports join it with the other owners' in one count of active residents."""
    own = " AND community = ?" if community else ""
    joined = " AND x.community = ?" if community else ""
    extra: list[object] = [community] if community else []
    sql = (f"SELECT resident_id FROM requests WHERE created_at >= ? AND created_at < ?{own}\n"
           "UNION SELECT e.actor_id FROM request_events e JOIN requests x ON x.id = e.request_id\n"
           f"    WHERE e.actor = 'resident' AND e.at >= ? AND e.at < ?{joined}")
    return sql, [begin, end, *extra, begin, end, *extra]
