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
import os
import re
import sqlite3
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Optional
from urllib.parse import quote

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

# Primary result codes (the low byte of an extended one) of a database that cannot take a write now.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN = 5, 6, 10, 13, 14
SQLITE_NOMEM, SQLITE_READONLY = 7, 8
BUSY_CODES = {SQLITE_BUSY, SQLITE_LOCKED}
FAULTS = {
    SQLITE_BUSY: "busy", SQLITE_LOCKED: "busy", SQLITE_FULL: "full", SQLITE_IOERR: "io", SQLITE_CANTOPEN: "io",
    SQLITE_NOMEM: "io", SQLITE_READONLY: "io",
}
BUSY_STEP = 0.02  # the first pause between attempts to take the write lock; doubled up to BUSY_STEP_MAX
BUSY_STEP_MAX = 0.25
SQLITE_WAIT_MS = 20  # how long SQLite itself may block the event loop waiting for a lock


def _code(exc: BaseException) -> Optional[int]:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def storage_fault(exc: Optional[BaseException]) -> Optional[str]:
    """'busy' (locked by someone else), 'full' (database or disk full) or 'io' (disk or file trouble) when
    `exc`, or an exception it was raised from, is SQLite refusing for a reason that passes with time;
    None for anything else (a bug, a constraint)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
            kind = FAULTS.get(_code(exc) or -1)
            if kind is None:  # no result code: go by SQLite's words
                text = str(exc).lower()
                kind = ("busy" if "locked" in text or "busy" in text else "full" if "full" in text
                        else "io" if "disk i/o" in text or "unable to open" in text else None)
            if kind is not None:
                return kind
        exc = exc.__cause__ or exc.__context__
    return None


def _is_busy(exc: sqlite3.Error) -> bool:
    code = _code(exc)
    return code in BUSY_CODES if code is not None else "locked" in str(exc).lower()



def private_file(path: Path) -> None:
    """Make sure `path` exists readable by the bot's user only (0600), in a folder only it may enter (0700) when
    the folder is new. SQLite gives the -wal and -shm files the database file's permissions."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)

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

    def __init__(self, path: Path | str, busy_timeout: float = 5.0):
        self.path = str(path)
        # How long a write waits for another connection's lock, in seconds. The waiting is done here, in
        # short sleeps on the event loop, not inside SQLite, which would stop every other update meanwhile.
        self.busy_timeout = busy_timeout
        self._conn: Optional[Connection] = None
        self._write = asyncio.Lock()  # one writer at a time on the shared connection

    async def connect(self) -> "Database":
        if self.path != ":memory:":
            private_file(Path(self.path))
        # Opening may wait inside SQLite (another process recovering the log, or migrating): nothing else
        # runs yet. Afterwards SQLite itself waits only briefly, and the waiting is done here.
        raw = sqlite3.connect(self.path, timeout=max(self.busy_timeout, SQLITE_WAIT_MS / 1000))
        raw.row_factory = sqlite3.Row
        self._conn = Connection(raw)
        await self._conn.execute("PRAGMA journal_mode=WAL")
        await self._conn.execute("PRAGMA synchronous=NORMAL")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        # deleted texts (a resident's data, purged requests) are overwritten, not left in free pages,
        # whatever default the server's SQLite was built with
        await self._conn.execute("PRAGMA secure_delete=ON")
        await self.migrate()
        await self._conn.execute(f"PRAGMA busy_timeout={SQLITE_WAIT_MS}")
        return self

    async def connect_reader(self) -> "Database":
        """A read-only connection to a database another connection keeps (and has migrated): for long reads
        in a worker thread while the bot writes on its own connection (WAL lets both go on)."""
        raw = sqlite3.connect(f"file:{quote(self.path)}?mode=ro", uri=True, check_same_thread=False,
                              timeout=max(self.busy_timeout, SQLITE_WAIT_MS / 1000))
        raw.row_factory = sqlite3.Row
        self._conn = Connection(raw)
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
        try:
            return self.conn.raw.execute(sql, _bind(params)).fetchone()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            return (await self._read_again(sql, params)).fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self.conn.raw.execute(sql, _bind(params)).fetchall()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            return (await self._read_again(sql, params)).fetchall()

    async def _read_again(self, sql: str, params: Iterable[Any]) -> sqlite3.Cursor:
        """A read refused as busy (WAL mode lets reads pass writers, but not, say, another process recovering
        the log after a crash): try again after short sleeps for up to `busy_timeout` seconds."""
        deadline = time.monotonic() + self.busy_timeout
        step = BUSY_STEP
        while True:
            await asyncio.sleep(min(step, max(0.0, deadline - time.monotonic())))
            step = min(step * 2, BUSY_STEP_MAX)
            try:
                return self.conn.raw.execute(sql, _bind(params))
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one writing statement in its own transaction; return the number of changed rows."""
        deadline = time.monotonic() + self.busy_timeout  # the queue for the write lock counts as waiting too
        async with self._write:
            await self._begin(deadline)
            try:
                cursor = self.conn.raw.execute(sql, _bind(params))
                self.conn.raw.commit()
            except BaseException:
                self._rollback()
                raise
            return cursor.rowcount

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """Several statements that land together or not at all: any failure, the commit's own included
        (a full disk, a lock), rolls all of them back."""
        deadline = time.monotonic() + self.busy_timeout
        async with self._write:
            await self._begin(deadline)
            try:
                yield self.conn
                self.conn.raw.commit()
            except BaseException:
                self._rollback()
                raise

    async def _begin(self, deadline: float) -> None:
        """Take the write lock (BEGIN IMMEDIATE). While another connection holds it, try again after short
        sleeps that let the other updates go on, until `deadline` (at least once); then the lock's error.
        The deadline is set before queueing for `_write`, so writers queued behind one that waits for a
        lock held elsewhere give up with it instead of waiting `busy_timeout` each in turn."""
        raw = self.conn.raw
        if raw.in_transaction:  # left open by something that failed halfway: never build on it
            log.warning("database: an unfinished transaction was rolled back")
            self._rollback()
        step = BUSY_STEP
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                left = deadline - time.monotonic()
                if not _is_busy(exc) or left <= 0:
                    raise
                await asyncio.sleep(min(step, left))
                step = min(step * 2, BUSY_STEP_MAX)

    def _rollback(self) -> None:
        raw = self.conn.raw
        if not raw.in_transaction:  # SQLite already rolled it back itself (as it may on a full disk)
            return
        try:
            raw.rollback()
        except sqlite3.Error as exc:  # the connection stays usable; SQLite undoes the rest from the journal
            log.error("database: rollback failed: %s", exc)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (no semicolons inside string literals in our migrations)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def applied_version(conn: sqlite3.Connection) -> int:
    """The last migration applied to a database file opened with sqlite3 (backup, doctor); 0 for none."""
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)
