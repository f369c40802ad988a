"""The database refusing a write (another process's lock, a full disk): nothing half-written, the event loop
keeps serving meanwhile, and the next write after the fault works on the same connection."""
from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from bot.storage.db import Database, storage_fault
from bot.storage.fsm import SQLiteStorage


async def fresh(tmp_path, busy_timeout: float = 0.3) -> Database:
    db = await Database(tmp_path / "f.sqlite3", busy_timeout=busy_timeout).connect()
    await db.execute("CREATE TABLE t (x TEXT)")
    return db


def holder(db: Database) -> sqlite3.Connection:
    """Another connection that takes the write lock and keeps it."""
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    return other


async def test_a_locked_database_gives_up_after_the_busy_timeout_without_stopping_the_loop(tmp_path) -> None:
    db = await fresh(tmp_path)
    other = holder(db)
    ticks = 0

    async def ticking() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(ticking())
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError) as info:
        await db.execute("INSERT INTO t VALUES ('a')")
    spent = time.monotonic() - started
    ticker.cancel()
    assert storage_fault(info.value) == "busy"
    assert 0.25 <= spent < 1.5
    assert ticks >= 10  # other work went on while the write waited
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 0  # reads go on too (WAL)
    other.rollback()
    other.close()
    assert await db.execute("INSERT INTO t VALUES ('b')") == 1
    await db.close()


async def test_a_lock_released_in_time_is_waited_for(tmp_path) -> None:
    db = await fresh(tmp_path, busy_timeout=3.0)
    other = holder(db)
    asyncio.get_running_loop().call_later(0.2, other.rollback)
    assert await db.execute("INSERT INTO t VALUES ('a')") == 1
    other.close()
    await db.close()


async def test_a_transaction_on_a_locked_database_writes_nothing(tmp_path) -> None:
    db = await fresh(tmp_path)
    other = holder(db)
    with pytest.raises(sqlite3.OperationalError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('never')")
    other.rollback()
    other.close()
    assert not db.conn.raw.in_transaction
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 0
    await db.close()


async def test_a_full_disk_rolls_the_whole_transaction_back(tmp_path) -> None:
    db = await fresh(tmp_path)
    pages = (await db.fetchone("PRAGMA page_count"))[0]
    db.conn.raw.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.Error) as info:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('small')")
            await conn.execute("INSERT INTO t VALUES (?)", ("я" * 20_000,))  # needs new pages
    assert storage_fault(info.value) == "full"
    assert not db.conn.raw.in_transaction
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 0  # the small row went back too
    with pytest.raises(sqlite3.Error):
        await db.execute("INSERT INTO t VALUES (?)", ("я" * 20_000,))
    db.conn.raw.execute("PRAGMA max_page_count = 1073741823")
    assert await db.execute("INSERT INTO t VALUES (?)", ("я" * 20_000,)) == 1
    await db.close()


async def test_a_failed_commit_leaves_nothing_open(tmp_path, monkeypatch) -> None:
    db = await fresh(tmp_path)

    class Refusing:
        """The connection, with a commit that fails as a full disk does."""

        def __init__(self, raw: sqlite3.Connection) -> None:
            self.raw = raw

        def __getattr__(self, name: str):
            return getattr(self.raw, name)

        def commit(self) -> None:
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13
            raise error

    real = db.conn.raw
    db.conn.raw = Refusing(real)
    with pytest.raises(sqlite3.OperationalError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES ('a')")
    db.conn.raw = real
    assert not real.in_transaction
    assert (await db.fetchone("SELECT COUNT(*) FROM t"))[0] == 0
    assert await db.execute("INSERT INTO t VALUES ('b')") == 1
    await db.close()


async def test_the_conversation_state_stays_when_it_cannot_be_saved(tmp_path) -> None:
    from aiogram.fsm.storage.base import StorageKey

    db = await fresh(tmp_path)
    storage = SQLiteStorage(db)
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    await storage.set_state(key, "Ask:description")
    other = holder(db)
    with pytest.raises(sqlite3.OperationalError):
        await storage.set_state(key, "Ask:contact")
    assert await storage.get_state(key) == "Ask:description"
    other.rollback()
    other.close()
    await storage.set_state(key, "Ask:contact")
    assert await storage.get_state(key) == "Ask:contact"
    await db.close()


def test_what_counts_as_a_fault() -> None:
    def error(kind: type, text: str, code: int | None = None) -> Exception:
        exc = kind(text)
        if code is not None:
            exc.sqlite_errorcode = code
        return exc

    assert storage_fault(error(sqlite3.OperationalError, "database is locked", 5)) == "busy"
    assert storage_fault(error(sqlite3.OperationalError, "database is locked")) == "busy"
    assert storage_fault(error(sqlite3.OperationalError, "database or disk is full", 13)) == "full"
    assert storage_fault(error(sqlite3.OperationalError, "disk I/O error", 10 | (3 << 8))) == "io"
    assert storage_fault(error(sqlite3.IntegrityError, "UNIQUE constraint failed", 19)) is None
    assert storage_fault(error(sqlite3.OperationalError, "no such table: x", 1)) is None
    assert storage_fault(ValueError("x")) is None
    try:
        try:
            raise error(sqlite3.OperationalError, "database is locked", 5)
        except sqlite3.Error as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert storage_fault(outer) == "busy"


async def test_writers_queued_behind_a_lock_give_up_together(tmp_path) -> None:
    db = await fresh(tmp_path, busy_timeout=0.4)
    other = holder(db)
    started = time.monotonic()
    results = await asyncio.gather(*(db.execute("INSERT INTO t VALUES ('a')") for _ in range(5)),
                                   return_exceptions=True)
    spent = time.monotonic() - started
    assert all(storage_fault(r) == "busy" for r in results)
    assert spent < 1.2  # not 5 x 0.4 s one after another
    other.rollback()
    other.close()
    await db.close()
