"""The versions of the communities' catalogue corrections in the database (tables catalogue_versions and
catalogue_imports, migration 0011; every query of them is here), an import held until its author confirms it, and
`Edit`, a change of one community's overlay that bot/ops/catalogue.py writes down just before it swaps the
catalogue."""
from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional, Protocol

from bot.catalogue.overlay import Change, Overlay
from bot.catalogue.workbook import N_
from bot.storage.db import Database, utcnow


class EditRefused(Exception):
    """A confirmation or an undo that must not go through; `reason` is a gettext id to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


GONE = N_("This import is out of date. Send the file again.")
DONE = N_("These changes were already applied.")
CANCELLED = N_("This import was cancelled. Send the file again to apply it.")
NOT_YOURS = N_("Only the administrator who sent the file can apply it.")
CHANGED = N_("The catalogue has changed since this file was checked. Send the file again to see what it changes "
             "now.")
UNDO_STALE = N_("This is no longer the latest change: open /catalogue_undo again.")
NOTHING_TO_UNDO = N_("There is nothing to undo: the catalogue is as shipped.")


@dataclass
class Version:
    id: int
    community: str
    version: int
    author_id: Optional[int]
    author: str
    created_at: str
    overlay: Overlay
    changes: list[Change]
    summary: dict[str, int]
    undone_at: Optional[str] = None
    undone_by: Optional[str] = None

    @classmethod
    def of(cls, row: Any) -> "Version":
        return cls(row["id"], row["community"], row["version"], row["author_id"], row["author"], row["created_at"],
                   json.loads(row["overlay"]), [Change.of(c) for c in json.loads(row["changes"])],
                   json.loads(row["summary"]), row["undone_at"], row["undone_by"])


@dataclass
class Pending:
    token: str
    community: str
    author_id: int
    chat_id: int
    message_id: Optional[int]
    base_id: int
    overlay: Overlay
    changes: list[Change]
    summary: dict[str, int]
    created_at: str
    state: str


LATEST = ("SELECT * FROM catalogue_versions WHERE community = ? AND undone_at IS NULL "
          "ORDER BY version DESC LIMIT 1")


class Checked(Protocol):
    """What `CatalogueEdits.hold` keeps of a checked import (bot/ops/catalogue_edits/workbooks.py's Prepared)."""

    community: Optional[str]
    base_id: int
    overlay: Overlay
    changes: list[Change]
    summary: dict[str, int]


class CatalogueEdits:
    """The versions of the communities' corrections; `served` is the signature of what the bot serves now."""

    def __init__(self, db: Database):
        self.db = db
        self.served: Optional[tuple[int, int]] = None

    async def overlays(self) -> dict[str, Overlay]:
        """Each community's overlay now: that of its latest version not undone."""
        rows = await self.db.fetchall(
            "SELECT v.community, v.overlay FROM catalogue_versions v WHERE v.undone_at IS NULL AND v.version = "
            "(SELECT MAX(w.version) FROM catalogue_versions w WHERE w.community = v.community "
            "AND w.undone_at IS NULL)")
        return {row["community"]: json.loads(row["overlay"]) for row in rows}

    async def current(self, community: str) -> Optional[Version]:
        row = await self.db.fetchone(LATEST, (community,))
        return Version.of(row) if row else None

    async def history(self, community: str, limit: int = 20) -> list[Version]:
        rows = await self.db.fetchall(
            "SELECT * FROM catalogue_versions WHERE community = ? ORDER BY version DESC LIMIT ?", (community, limit))
        return [Version.of(row) for row in rows]

    async def signature(self) -> tuple[int, int]:
        """Changes whenever a version is added or undone, by this process or another one."""
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) AS last, COUNT(undone_at) AS undone "
                                     "FROM catalogue_versions")
        return int(row["last"]), int(row["undone"])

    async def hold(self, prepared: Checked, author_id: int, chat_id: int) -> str:
        """Keep a checked import until its author confirms it; returns the token its button carries."""
        token = secrets.token_urlsafe(12)
        now = datetime.now(timezone.utc)
        async with self.db.transaction() as conn:
            conn.execute("DELETE FROM catalogue_imports WHERE created_at < ?",
                         ((now - timedelta(days=7)).isoformat(timespec="seconds"),))
            conn.execute(
                "INSERT INTO catalogue_imports (token, community, author_id, chat_id, base_id, overlay, changes, "
                "summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (token, prepared.community, author_id, chat_id, prepared.base_id, json.dumps(prepared.overlay),
                 json.dumps([c.as_dict() for c in prepared.changes]), json.dumps(prepared.summary),
                 now.isoformat(timespec="seconds")))
        return token

    async def attach(self, token: str, message_id: int) -> None:
        await self.db.execute("UPDATE catalogue_imports SET message_id = ? WHERE token = ?", (message_id, token))

    async def pending(self, token: str) -> Optional[Pending]:
        row = await self.db.fetchone("SELECT * FROM catalogue_imports WHERE token = ?", (token,))
        if row is None:
            return None
        return Pending(row["token"], row["community"], row["author_id"], row["chat_id"], row["message_id"],
                       row["base_id"], json.loads(row["overlay"]), [Change.of(c) for c in json.loads(row["changes"])],
                       json.loads(row["summary"]), row["created_at"], row["state"])

    async def cancel(self, token: str) -> bool:
        return bool(await self.db.execute(
            "UPDATE catalogue_imports SET state = 'cancelled' WHERE token = ? AND state = 'pending'", (token,)))


async def _insert_version(conn: Any, community: str, base_id: int, overlay: Overlay, changes: list[Change],
                          summary: dict[str, int], author_id: Optional[int], author: str) -> int:
    latest = await conn.execute(LATEST, (community,)).fetchone()
    if (latest["id"] if latest else 0) != base_id:
        raise EditRefused(CHANGED)
    row = await conn.execute("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM catalogue_versions "
                             "WHERE community = ?", (community,)).fetchone()
    conn.execute(
        "INSERT INTO catalogue_versions (community, version, author_id, author, created_at, overlay, changes, summary) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (community, row["next"], author_id, author, utcnow(), json.dumps(overlay, ensure_ascii=False),
         json.dumps([c.as_dict() for c in changes], ensure_ascii=False), json.dumps(summary)))
    return int(row["next"])


async def _mark_undone(conn: Any, community: str, target: Version, by: str) -> None:
    latest = await conn.execute(LATEST, (community,)).fetchone()
    if latest is None or latest["id"] != target.id:
        raise EditRefused(UNDO_STALE)
    conn.execute("UPDATE catalogue_versions SET undone_at = ?, undone_by = ? WHERE id = ? AND undone_at IS NULL",
                 (utcnow(), by, target.id))


@dataclass
class Edit:
    """The overlay `community` gets, and `record`, which writes it down (or raises EditRefused) once the
    catalogue with it has passed every check; only then is it served. `done` is what `record` returned."""

    community: str
    overlay: Overlay
    record: Callable[[Database], Awaitable[int]]
    done: int = 0


def import_edit(pending: Pending, author_id: Optional[int], author: str, token: Optional[str] = None) -> Edit:
    async def record(db: Database) -> int:
        async with db.transaction() as conn:
            if token is not None:
                marked = conn.execute("UPDATE catalogue_imports SET state = 'applied' WHERE token = ? "
                                      "AND state = 'pending'", (token,))
                if marked.rowcount != 1:
                    raise EditRefused(DONE)
            return await _insert_version(conn, pending.community, pending.base_id, pending.overlay, pending.changes,
                                         pending.summary, author_id, author)

    return Edit(pending.community, pending.overlay, record)


async def undo_edit(edits: CatalogueEdits, community: str, version: int, by: str) -> tuple[Edit, Version]:
    """The edit that undoes `version`, the community's latest change, and that version."""
    target = await edits.current(community)
    if target is None:
        raise EditRefused(NOTHING_TO_UNDO)
    if target.version != version:
        raise EditRefused(UNDO_STALE)
    previous = await edits.db.fetchone(
        "SELECT overlay FROM catalogue_versions WHERE community = ? AND undone_at IS NULL AND version < ? "
        "ORDER BY version DESC LIMIT 1", (community, version))

    async def record(db: Database) -> int:
        async with db.transaction() as conn:
            await _mark_undone(conn, community, target, by)
        return target.version

    return Edit(community, json.loads(previous["overlay"]) if previous else {}, record), target


def stored_overlays(database_path: Path) -> dict[str, Overlay]:
    """For doctor: the communities' overlays read straight from the database file (read-only); none when there
    is no database yet or it predates the table."""
    path = Path(database_path)
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        rows = conn.execute(
            "SELECT v.community, v.overlay FROM catalogue_versions v WHERE v.undone_at IS NULL AND v.version = "
            "(SELECT MAX(w.version) FROM catalogue_versions w WHERE w.community = v.community "
            "AND w.undone_at IS NULL)").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return {community: json.loads(overlay) for community, overlay in rows}
