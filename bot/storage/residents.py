"""Residents: language, community, channel (Telegram or the web chat), whether they blocked the bot, and their consent
to the processing of their data."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

from bot.storage.db import Connection, Database, utcnow

# Web chat residents (bot/webchat/) have user ids from 2**53 up; Telegram's user ids fit in 52 bits, so the two
# never meet and every table keyed by a user id serves both channels.
WEB_ID_BASE = 2 ** 53
TELEGRAM, WEB = "telegram", "web"


def is_web(user_id: object) -> bool:
    """Whether `user_id` (a user or private chat id) is a web chat resident's."""
    return isinstance(user_id, int) and user_id >= WEB_ID_BASE


def channel_of(user_id: int) -> str:
    return WEB if is_web(user_id) else TELEGRAM


@dataclass(frozen=True)
class Resident:
    user_id: int
    locale: Optional[str]
    community: Optional[str]
    blocked: bool
    channel: str = TELEGRAM


CACHE_SIZE = 50_000


async def has_consent(db: Database, user_id: int, version: int) -> bool:
    """Whether the person has agreed to the processing of their data in this `version` of the notice (or later)."""
    row = await db.fetchone("SELECT version FROM consents WHERE user_id = ?", (user_id,))
    return row is not None and row["version"] >= version


async def give_consent(db: Database, user_id: int, version: int) -> None:
    await db.execute(
        "INSERT INTO consents (user_id, version, given_at) VALUES (?, ?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET version = excluded.version, given_at = excluded.given_at",
        (user_id, version, utcnow()),
    )


async def forget_consent(conn: Connection, user_id: int) -> None:
    """Delete the person's consent in the caller's transaction (their data is being erased)."""
    await conn.execute("DELETE FROM consents WHERE user_id = ?", (user_id,))


class ResidentRepo:
    """Every update needs the resident's language and community: they are read once and kept in memory.
    This process is the only writer, and every write below refreshes the kept copy."""

    def __init__(self, db: Database):
        self.db = db
        self._cache: OrderedDict[int, Optional[Resident]] = OrderedDict()

    async def get(self, user_id: int, keep: bool = True) -> Optional[Resident]:
        """The resident (None if unknown). `keep=False` reads one that is not in memory without keeping it: a
        campaign reads each of its recipients once, and 50,000 of them kept would stay about 30 MB for nothing."""
        if user_id in self._cache:
            self._cache.move_to_end(user_id)
            return self._cache[user_id]
        row = await self.db.fetchone(
            "SELECT user_id, locale, community, blocked_at, channel FROM residents WHERE user_id = ?", (user_id,)
        )
        resident = None if row is None else Resident(row["user_id"], row["locale"], row["community"],
                                                     row["blocked_at"] is not None, row["channel"])
        if keep:
            self._keep(user_id, resident)
        return resident

    def _keep(self, user_id: int, resident: Optional[Resident]) -> None:
        self._cache[user_id] = resident
        self._cache.move_to_end(user_id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def _reload(self, user_id: int) -> Optional[Resident]:
        self._cache.pop(user_id, None)
        return await self.get(user_id)

    async def ensure(self, user_id: int) -> Resident:
        now = utcnow()
        await self.db.execute(
            "INSERT INTO residents (user_id, created_at, updated_at, channel) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(user_id) DO UPDATE SET blocked_at = NULL",
            (user_id, now, now, channel_of(user_id)),
        )
        resident = await self._reload(user_id)
        assert resident is not None
        return resident

    async def set_locale(self, user_id: int, locale: str) -> None:
        await self.ensure(user_id)
        await self.db.execute(
            "UPDATE residents SET locale = ?, updated_at = ? WHERE user_id = ?", (locale, utcnow(), user_id)
        )
        await self._reload(user_id)

    async def set_community(self, user_id: int, community: str) -> None:
        await self.ensure(user_id)
        await self.db.execute(
            "UPDATE residents SET community = ?, updated_at = ? WHERE user_id = ?", (community, utcnow(), user_id)
        )
        await self._reload(user_id)

    async def mark_blocked(self, user_id: int) -> None:
        await self.db.execute(
            "UPDATE residents SET blocked_at = ?, updated_at = ? WHERE user_id = ?", (utcnow(), utcnow(), user_id)
        )
        await self._reload(user_id)

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) FROM residents")
        return int(row[0])

    async def has_consent(self, user_id: int, version: int) -> bool:
        return await has_consent(self.db, user_id, version)

    async def give_consent(self, user_id: int, version: int) -> None:
        await give_consent(self.db, user_id, version)


# ----- the resident's export («Мої дані», bot.privacy) -------------------------------------------------------------

async def export_profile(db: Database, user_id: int) -> Optional[dict]:
    row = await db.fetchone(
        "SELECT locale, community, channel, created_at, updated_at, blocked_at FROM residents WHERE user_id = ?",
        (user_id,))
    if row is None:
        return None
    return {"language": row["locale"], "community": row["community"], "channel": row["channel"],
            "first_seen_at": row["created_at"],
            "changed_at": row["updated_at"], "blocked_bot_at": row["blocked_at"]}


async def export_consent(db: Database, user_id: int) -> Optional[dict]:
    row = await db.fetchone("SELECT version, given_at FROM consents WHERE user_id = ?", (user_id,))
    return {"version": row["version"], "given_at": row["given_at"]} if row else None


async def communities_of(db: Database | Connection, user_ids: list[int]) -> dict[int, Optional[str]]:
    """The community each of these residents chose (those the bot knows), by user id; `db` may be a connection
    inside the caller's transaction."""
    found: dict[int, Optional[str]] = {}
    for start in range(0, len(user_ids), 500):
        chunk = [int(i) for i in user_ids[start:start + 500]]
        if not chunk:
            continue
        sql = f"SELECT user_id, community FROM residents WHERE user_id IN ({','.join('?' * len(chunk))})"
        if isinstance(db, Database):
            rows = await db.fetchall(sql, chunk)
        else:
            rows = await (await db.execute(sql, chunk)).fetchall()
        found.update({row[0]: row[1] for row in rows})
    return found


# ----- what other modules' queries and the reports ask of the residents ----------------------------------------------

def community_sql(user_column: str) -> str:
    """An SQL expression for the community the resident chose, by the user id in `user_column` (a column of the
    caller's query, written in the code, never input); NULL when the bot does not know the resident. The residents'
    key is the user id, so this is what a LEFT JOIN on it would give, in the caller's one query."""
    return f"(SELECT community FROM residents WHERE user_id = {user_column})"


def reachable_sql(conditions: str = "") -> str:
    """`FROM … WHERE …` over the residents who can be sent news, as `r`: not blocked, language and community chosen,
    of :community and of :locale when these named parameters are not NULL; `conditions` ("AND …" on r.user_id, in
    the code, never input) adds the caller's own, so a campaign's audience stays one query."""
    return ("\nFROM residents r\n"
            "WHERE r.blocked_at IS NULL AND r.locale IS NOT NULL AND r.community IS NOT NULL\n"
            "  AND (:community IS NULL OR r.community = :community)\n"
            "  AND (:locale IS NULL OR r.locale = :locale)\n" + conditions)


async def count_new(db: Database, begin: str, end: str, community: Optional[str]) -> int:
    """Residents whose first /start was in [begin, end) (UTC stamps), of one community or of all."""
    own = " AND community = ?" if community else ""
    extra: tuple[object, ...] = (community,) if community else ()
    row = await db.fetchone(
        f"SELECT COUNT(*) AS n FROM residents WHERE created_at >= ? AND created_at < ?{own}", (begin, end, *extra))
    return row["n"]


def active_sql(begin: str, end: str, community: Optional[str]) -> tuple[str, list[object]]:
    """A SELECT of the residents who started the bot or changed their settings in [begin, end), with its
    parameters: the reports join it with the other owners' in one count of active residents."""
    own = " AND community = ?" if community else ""
    sql = ("SELECT user_id FROM residents WHERE ((created_at >= ? AND created_at < ?)\n"
           f"    OR (updated_at >= ? AND updated_at < ? AND blocked_at IS NULL)){own}")
    return sql, [begin, end, begin, end, *([community] if community else [])]
