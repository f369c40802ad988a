"""The database file as a whole: the running bot's lock, an online backup, a checked restore.

Both copies go through SQLite's backup API, never a file copy: a copy of the file alone would miss what is
still in the WAL, and a copy made while the bot writes could be torn.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Optional

from bot.storage.db import _statements, applied_version, migrations, private_file

BEFORE_RESTORE = ".before-restore"


class OpsError(Exception):
    """What went wrong, as one line a person can act on."""


# ----- the running bot's lock ---------------------------------------------------------------------------------

@dataclass
class DatabaseLock:
    """An exclusive lock on DATABASE_PATH + '.lock', held by a running bot for its whole life (the kernel
    releases it when the process ends, however it ends)."""

    path: Path
    handle: IO[str]

    def release(self) -> None:
        try:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        finally:
            self.handle.close()


def lock_path(database: Path) -> Path:
    return Path(str(database) + ".lock")


def try_lock(database: Path) -> Optional[DatabaseLock]:
    """Take the lock, or None when another process holds it."""
    path = lock_path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return DatabaseLock(path, handle)


def holder(database: Path) -> str:
    """The pid written by the process that holds the lock, for messages."""
    try:
        return lock_path(database).read_text(encoding="utf-8").strip() or "?"
    except OSError:
        return "?"


# ----- backup ---------------------------------------------------------------------------------------------------

def _open_existing(path: Path, *, readonly: bool = False, timeout: float = 30.0) -> sqlite3.Connection:
    """Open a database file that must exist (never create an empty one by mistake)."""
    if not path.is_file():
        raise OpsError(f"{path}: no such file")
    mode = "ro" if readonly else "rw"
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


@dataclass
class Copy:
    path: Path
    size: int
    version: int


def backup(database: Path, target: Path) -> Copy:
    """A consistent copy of the live database (the bot may keep writing) as one self-contained file. A folder
    as `target` gets a file named by the time, bot-YYYYmmdd-HHMMSS.sqlite3."""
    database, target = Path(database), Path(target)
    if target.is_dir():
        target = target / f"bot-{datetime.now():%Y%m%d-%H%M%S}.sqlite3"
    if target.resolve() == database.resolve():
        raise OpsError("the backup cannot overwrite the database itself")
    part = target.with_name(target.name + ".part")
    part.unlink(missing_ok=True)
    private_file(part)  # a copy of residents' data: 0600, in a 0700 folder when the folder is new
    try:
        source = _open_existing(database)
    except sqlite3.Error as exc:
        raise OpsError(f"{database}: cannot open ({exc})") from None
    copy = sqlite3.connect(part)
    try:
        # One step copies every page inside one read transaction: a snapshot of the moment it began, while
        # the bot's writes go on into the WAL.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        version = _version(copy)
    except sqlite3.Error as exc:
        copy.close()
        part.unlink(missing_ok=True)
        raise OpsError(f"backup failed: {exc}") from None
    finally:
        source.close()
    copy.close()
    if check != "ok":
        part.unlink(missing_ok=True)
        raise OpsError(f"the copy fails integrity_check ({check}); the database itself may be damaged")
    with open(part, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(part, target)
    return Copy(target, target.stat().st_size, version)


def _version(conn: sqlite3.Connection) -> int:
    return applied_version(conn)


# ----- restore --------------------------------------------------------------------------------------------------

def tables_of(version: int) -> set[str]:
    """The tables our migrations 1..version create."""
    conn = sqlite3.connect(":memory:")
    try:
        for number, _, sql in migrations():
            if number > version:
                break
            for statement in _statements(sql):
                conn.execute(statement)
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def check_backup(path: Path) -> int:
    """The backup's schema version when it is a sound database of this bot that this code can run;
    OpsError saying what is wrong otherwise."""
    path = Path(path)
    try:
        conn = _open_existing(path, readonly=True, timeout=5)
    except sqlite3.Error as exc:
        raise OpsError(f"{path}: cannot open ({exc})") from None
    try:
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise OpsError(f"{path} is not an SQLite database ({exc})") from None
        if check != "ok":
            raise OpsError(f"{path} fails integrity_check: {check}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            raise OpsError(f"{path} is an SQLite database, but not one of this bot (no schema_version)")
        version = _version(conn)
    finally:
        conn.close()
    available = len(migrations())
    if version > available:
        raise OpsError(f"{path} was made by a newer version of the bot (schema {version}, this code knows "
                       f"{available}); update the code first")
    missing = tables_of(version) - tables
    if missing:
        raise OpsError(f"{path} is not a database of this bot: no table(s) {', '.join(sorted(missing))}")
    return version


def restore(source: Path, database: Path, *, force: bool = False) -> Copy:
    """Put a checked backup in place of DATABASE_PATH; the previous database stays as DATABASE_PATH +
    '.before-restore'. Refused while a bot holds the database, unless `force`."""
    source, database = Path(source), Path(database)
    if source.resolve() == database.resolve():
        raise OpsError("the backup and DATABASE_PATH are the same file")
    version = check_backup(source)
    lock = try_lock(database)
    if lock is None and not force:
        raise OpsError(f"a bot (pid {holder(database)}) is running with {database}: stop it first "
                       "(e.g. systemctl stop hromada-bot), or add --force to replace the data under it")
    try:
        if database.exists():
            backup(database, Path(str(database) + BEFORE_RESTORE))
        database.parent.mkdir(parents=True, exist_ok=True)
        src = _open_existing(source, readonly=True)
        dst = sqlite3.connect(database, timeout=30)
        try:
            dst.execute("PRAGMA busy_timeout=30000")
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
            check = dst.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error as exc:
            raise OpsError(f"restore failed: {exc}; the previous database is in {database}{BEFORE_RESTORE}") from None
        finally:
            src.close()
            dst.close()
        if check != "ok":
            raise OpsError(f"the restored database fails quick_check ({check}); the previous one is in "
                           f"{database}{BEFORE_RESTORE}")
    finally:
        if lock is not None:
            lock.release()
    return Copy(database, database.stat().st_size, version)
