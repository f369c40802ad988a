"""SQLite in WAL mode, with numbered migrations.

Statements run on the event loop's own thread through a small awaitable facade. aiosqlite was the first
choice; under load every statement's round trip through its worker thread (a GIL handoff each way)
queued up and became the bot's limit, while the statements themselves take microseconds: they are
indexed, and WAL with synchronous=NORMAL does not fsync on commit. The async API stays, so the
choice can be revisited without touching the services.
"""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Optional

log = logging.getLogger(__name__)
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _bind(params: Any) -> Any:
    """Named parameters stay a mapping; anything else becomes a tuple."""
    return params if isinstance(params, dict) else tuple(params)


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def migrations() -> list[tuple[int, str, str]]:
    """Numbered migrations shipped with the package, in order."""
    found = []
    for entry in resources.files("bot.storage").joinpath("migrations").iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..N without gaps, found {numbers}")
    return found


Row = sqlite3.Row
IntegrityError = sqlite3.IntegrityError


class Cursor:
    """An awaitable view of a sqlite3 cursor (the statement has already run)."""

    def __init__(self, cursor: sqlite3.Cursor):
        self._cursor = cursor
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid

    async def fetchone(self) -> Optional[sqlite3.Row]:
        return self._cursor.fetchone()

    async def fetchall(self) -> list[sqlite3.Row]:
        return self._cursor.fetchall()

    async def __aenter__(self) -> "Cursor":
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    def __await__(self):  # `cursor = await conn.execute(...)` and `async with conn.execute(...)` both work
        async def itself() -> "Cursor":
            return self

        return itself().__await__()


class Connection:
    """The sqlite3 connection behind an async interface."""

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Cursor:
        return Cursor(self.raw.execute(sql, _bind(params)))

    async def commit(self) -> None:
        self.raw.commit()

    async def rollback(self) -> None:
        self.raw.rollback()

    async def close(self) -> None:
        self.raw.close()


class Database:
    """One shared connection used from the event loop's thread."""

    def __init__(self, path: Path | str):
        self.path = str(path)
        self._conn: Optional[Connection] = None
        self._write = asyncio.Lock()  # one writer at a time on the shared connection

    async def connect(self) -> "Database":
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(self.path, timeout=5.0)
        raw.row_factory = sqlite3.Row
        self._conn = Connection(raw)
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self.migrate()
        return self

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn

    async def migrate(self) -> int:
        """Apply every migration newer than the stored schema version; return the version."""
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = await self.schema_version()
        for number, name, sql in migrations():
            if number <= current:
                continue
            log.info("applying migration %s", name)
            try:
                await self.conn.execute("BEGIN")
                for statement in _statements(sql):
                    await self.conn.execute(statement)
                await self.conn.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (number, utcnow())
                )
                await self.conn.commit()
            except Exception:
                await self.conn.rollback()
                raise
            current = number
        return current

    async def schema_version(self) -> int:
        async with self.conn.execute("SELECT MAX(version) FROM schema_version") as cur:
            row = await cur.fetchone()
        return int(row[0] or 0)

    async def journal_mode(self) -> str:
        async with self.conn.execute("PRAGMA journal_mode") as cur:
            row = await cur.fetchone()
        return str(row[0])

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Optional[sqlite3.Row]:
        return self.conn.raw.execute(sql, _bind(params)).fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        return self.conn.raw.execute(sql, _bind(params)).fetchall()

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one writing statement in its own transaction; return the number of changed rows."""
        async with self._write:
            cursor = await self.conn.execute(sql, _bind(params))
            await self.conn.commit()
            return cursor.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Several statements that land together or not at all."""
        async with self._write:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.rollback()
                raise
            await self.conn.commit()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside string literals in our migrations)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
