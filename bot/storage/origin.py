"""Where a database's data came from: Telegram (the bot ran with a real token), the local sandbox, or unknown
(residents stored before this was recorded).

Every `python -m bot run` marks the database at start with its mode. A database that has ever served a real
token holds real people's data for good: the sandbox does not start on it unless told explicitly
(`run --sandbox-on-real-data`, see bot/cli.py). Only the kind, the Bot API server's address and the bot's
numeric id are kept (never the token's secret).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.storage.db import Database, utcnow
from bot.storage.residents import ResidentRepo

TELEGRAM = "telegram"  # a real bot token, whatever the Bot API server
SANDBOX = "sandbox"  # the local sandbox of `python -m bot run` without a token
UNKNOWN = "unknown"  # residents found in a database that did not say where they came from

TABLE = """
CREATE TABLE IF NOT EXISTS data_origin (
    kind TEXT NOT NULL,
    api_server TEXT NOT NULL DEFAULT '',
    bot_id INTEGER NOT NULL DEFAULT 0,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    PRIMARY KEY (kind, api_server, bot_id)
)
"""


@dataclass(frozen=True)
class Origins:
    """What a database says of its data."""

    kinds: frozenset[str] = frozenset()
    servers: tuple[str, ...] = ()
    residents: int = 0
    first_seen: dict[str, str] = field(default_factory=dict)

    @property
    def real(self) -> bool:
        """Data that came (or may have come) from Telegram: real people."""
        return TELEGRAM in self.kinds or UNKNOWN in self.kinds


async def read(db: Database) -> Origins:
    """The database's origins; residents stored before any origin was recorded are marked unknown now."""
    await db.execute(TABLE)
    residents = await ResidentRepo(db).count()
    rows = await db.fetchall("SELECT kind, api_server, MIN(first_seen) AS first_seen FROM data_origin "
                             "GROUP BY kind, api_server ORDER BY first_seen")
    if not rows and residents:
        await mark(db, UNKNOWN)
        return await read(db)
    return Origins(
        kinds=frozenset(row["kind"] for row in rows),
        servers=tuple(dict.fromkeys(row["api_server"] for row in rows if row["kind"] == TELEGRAM)),
        residents=residents,
        first_seen={row["kind"]: row["first_seen"] for row in rows},
    )


async def mark(db: Database, kind: str, api_server: str = "", bot_id: int = 0) -> None:
    """Record that data of `kind` (TELEGRAM, SANDBOX or UNKNOWN) is coming in now."""
    if kind not in (TELEGRAM, SANDBOX, UNKNOWN):
        raise ValueError(f"unknown data origin {kind!r}")
    await db.execute(TABLE)
    now = utcnow()
    await db.execute(
        "INSERT INTO data_origin (kind, api_server, bot_id, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (kind, api_server, bot_id) DO UPDATE SET last_seen = excluded.last_seen",
        (kind, api_server, bot_id, now, now),
    )


async def mark_telegram(db: Database, api_server: str, token: str) -> None:
    """The bot starts with a real token: its data is real from now on (the bot's id is the token's digits)."""
    head = token.split(":", 1)[0]
    await read(db)  # residents from before, if any, are marked unknown first
    await mark(db, TELEGRAM, api_server, int(head) if head.isdigit() else 0)
