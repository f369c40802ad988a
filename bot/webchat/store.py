"""The web chat's tables (migration 0018): web residents, their browser sessions, what their chat shows, the files
they uploaded, the one-time codes for another device and the update ids. Only hashes of tokens and codes are kept."""
from __future__ import annotations

import asyncio
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable, Iterable, Optional

from bot.storage.db import Connection, Database, utcnow
from bot.storage.residents import WEB_ID_BASE

ERASED = 2  # web_messages.deleted: 1 deleted by the bot (as in Telegram), 2 emptied by «Видалити мої дані»
SEEN_EVERY_HOURS = 1  # how often a session's seen_at is written (not at every call)
KEEP_UPDATE_IDS = 10_000  # rows of web_updates kept (the ids themselves never come back: AUTOINCREMENT)
UNSET: Any = object()


@dataclass(frozen=True)
class Shown:
    """One message of a web resident's chat, as the page draws it."""

    message_id: int
    from_bot: bool
    text: str
    markup: Optional[dict]
    file_id: Optional[str]
    file_kind: Optional[str]
    file_name: Optional[str]
    sent_at: str
    version: int
    deleted: bool

    @classmethod
    def of(cls, row: Any) -> "Shown":
        return cls(row["message_id"], bool(row["from_bot"]), row["text"],
                   json.loads(row["markup"]) if row["markup"] else None, row["file_id"], row["file_kind"],
                   row["file_name"], row["sent_at"], row["version"], bool(row["deleted"]))


@dataclass(frozen=True)
class WebUser:
    user_id: int
    community: Optional[str]
    locale: Optional[str]
    version: int
    keyboard: Optional[dict]
    proven: bool
    email: Optional[str] = None


class WebStore:
    """SQL of the web chat, and who waits for news of which resident (the long poll of the page)."""

    def __init__(self, db: Database):
        self.db = db
        self._news: dict[int, asyncio.Event] = {}
        self._waiting: dict[int, int] = {}  # how many pages wait for each resident
        # called with the resident's id after the bot added a message to their chat (the e-mail notice, notice.py)
        self.arrived: Optional[Callable[[int], Awaitable[None]]] = None

    # ----- news for the long poll ---------------------------------------------------------------------------------

    def changed(self, user_id: int) -> None:
        event = self._news.pop(user_id, None)
        if event is not None:
            event.set()

    async def wait(self, user_id: int, version: int, timeout: float) -> None:
        """Return when the resident's chat changed after `version`, or after `timeout` seconds. The resident's
        entry in the map of waiters goes when the last page waiting for them stops waiting."""
        event = self._news.setdefault(user_id, asyncio.Event())
        self._waiting[user_id] = self._waiting.get(user_id, 0) + 1
        try:
            user = await self.user(user_id)
            if user is None or user.version > version:
                return
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            left = self._waiting.pop(user_id) - 1
            if left:
                self._waiting[user_id] = left
            elif self._news.get(user_id) is event:
                del self._news[user_id]

    def watching(self, user_id: int) -> bool:
        """A page of the resident's is open and waiting for news now."""
        return user_id in self._waiting

    def waiters(self) -> int:
        """How many residents' pages are waiting for news now (the size of the map of waiters)."""
        return len(self._news)

    # ----- residents and sessions ----------------------------------------------------------------------------------

    async def new_user(self, community: Optional[str], locale: Optional[str]) -> int:
        async with self.db.transaction() as conn:
            row = await (await conn.execute("SELECT MAX(user_id) FROM web_users")).fetchone()
            user_id = max(int(row[0] or 0), WEB_ID_BASE) + 1
            await conn.execute("INSERT INTO web_users (user_id, community, locale, created_at) VALUES (?, ?, ?, ?)",
                               (user_id, community, locale, utcnow()))
        return user_id

    async def user(self, user_id: int) -> Optional[WebUser]:
        row = await self.db.fetchone(
            "SELECT user_id, community, locale, version, keyboard, proven_at, email FROM web_users WHERE user_id = ?",
            (user_id,))
        if row is None:
            return None
        return WebUser(row["user_id"], row["community"], row["locale"], row["version"],
                       json.loads(row["keyboard"]) if row["keyboard"] else None, row["proven_at"] is not None,
                       row["email"])

    async def prove(self, user_id: int) -> None:
        await self.db.execute("UPDATE web_users SET proven_at = ? WHERE user_id = ? AND proven_at IS NULL",
                              (utcnow(), user_id))

    async def add_session(self, token_hash: str, user_id: int, csrf: str) -> None:
        now = utcnow()
        await self.db.execute("INSERT INTO web_sessions (token_hash, user_id, csrf, created_at, seen_at) "
                              "VALUES (?, ?, ?, ?, ?)", (token_hash, user_id, csrf, now, now))

    async def session(self, token_hash: str, now: Optional[str] = None) -> Optional[tuple[int, str]]:
        """(user id, CSRF token) of the session whose cookie hashes to `token_hash`. With `now` (UTC ISO), a session
        last marked as seen more than an hour before is marked again (the housekeeping goes by it)."""
        row = await self.db.fetchone("SELECT user_id, csrf, seen_at FROM web_sessions WHERE token_hash = ?",
                                     (token_hash,))
        if row is None:
            return None
        if now is not None and row["seen_at"] < _hours_before(now, SEEN_EVERY_HOURS):
            await self.db.execute("UPDATE web_sessions SET seen_at = ? WHERE token_hash = ?", (now, token_hash))
        return row["user_id"], row["csrf"]

    async def add_link(self, code_hash: str, user_id: int, expires_at: str) -> None:
        await self.db.execute("INSERT INTO web_links (code_hash, user_id, expires_at) VALUES (?, ?, ?)",
                              (code_hash, user_id, expires_at))

    async def use_link(self, code_hash: str, now: str) -> Optional[int]:
        """The resident of a one-time code, once: the code is gone after this, used or expired."""
        async with self.db.transaction() as conn:
            row = await (await conn.execute("SELECT user_id, expires_at FROM web_links WHERE code_hash = ?",
                                            (code_hash,))).fetchone()
            await conn.execute("DELETE FROM web_links WHERE code_hash = ? OR expires_at < ?", (code_hash, now))
        if row is None or row["expires_at"] < now:
            return None
        return int(row["user_id"])

    async def next_update_id(self, user_id: int) -> int:
        async with self.db.transaction() as conn:
            cursor = await conn.execute("INSERT INTO web_updates (user_id, at) VALUES (?, ?)", (user_id, utcnow()))
            update_id = int(cursor.lastrowid)
            if update_id % 1000 == 0:
                await conn.execute("DELETE FROM web_updates WHERE id < ?", (update_id - KEEP_UPDATE_IDS,))
        return update_id

    # ----- what the chat shows --------------------------------------------------------------------------------------

    async def add_message(self, user_id: int, from_bot: bool, text: str, markup: Optional[dict] = None,
                          file: Optional[tuple[str, str, Optional[str]]] = None) -> Shown:
        """A new message in the resident's chat; `file` is (file id, kind, file name)."""
        file_id, kind, name = file or (None, None, None)
        async with self.db.transaction() as conn:
            row = await (await conn.execute(
                "UPDATE web_users SET next_message = next_message + 1, version = version + 1 WHERE user_id = ? "
                "RETURNING next_message - 1 AS message_id, version", (user_id,))).fetchone()
            if row is None:
                raise LookupError("chat not found")
            await conn.execute(
                "INSERT INTO web_messages (user_id, message_id, from_bot, text, markup, file_id, file_kind, file_name, "
                "sent_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (user_id, row["message_id"], int(from_bot), text, _json(markup), file_id, kind, name, utcnow(),
                 row["version"]))
        self.changed(user_id)
        if from_bot and self.arrived is not None:
            await self.arrived(user_id)
        return Shown(row["message_id"], from_bot, text, markup, file_id, kind, name, utcnow(), row["version"], False)

    async def message(self, user_id: int, message_id: int, *, erased: bool = False) -> Optional[Shown]:
        """A message the chat shows; with `erased`, also one emptied by «Видалити мої дані» (shown as deleted)."""
        row = await self.db.fetchone("SELECT * FROM web_messages WHERE user_id = ? AND message_id = ? AND deleted IN "
                                     f"({'0, ' + str(ERASED) if erased else '0'})", (user_id, message_id))
        return Shown.of(row) if row else None

    async def edit(self, user_id: int, message_id: int, text: Any = UNSET, markup: Any = UNSET) -> Optional[Shown]:
        """Change a message's text and/or keyboard; None when there is no such message. A message emptied by
        «Видалити мої дані» comes back with the new text (the deletion's own answer edits the question it was
        asked on, which the erasure has just emptied)."""
        sets, values = ["deleted = 0"], []
        if text is not UNSET:
            sets.append("text = ?")
            values.append(text)
        if markup is not UNSET:
            sets.append("markup = ?")
            values.append(_json(markup))
        if await self.message(user_id, message_id, erased=True) is None:
            return None
        async with self.db.transaction() as conn:
            row = await (await conn.execute("UPDATE web_users SET version = version + 1 WHERE user_id = ? "
                                            "RETURNING version", (user_id,))).fetchone()
            await conn.execute(
                f"UPDATE web_messages SET {', '.join(sets + ['version = ?'])} "
                f"WHERE user_id = ? AND message_id = ? AND deleted IN (0, {ERASED})",
                (*values, row["version"], user_id, message_id))
        self.changed(user_id)
        return await self.message(user_id, message_id)

    async def delete(self, user_id: int, message_ids: Iterable[int]) -> int:
        ids = [int(i) for i in message_ids]
        if not ids:
            return 0
        async with self.db.transaction() as conn:
            row = await (await conn.execute("UPDATE web_users SET version = version + 1 WHERE user_id = ? "
                                            "RETURNING version", (user_id,))).fetchone()
            if row is None:
                return 0
            cursor = await conn.execute(
                f"UPDATE web_messages SET deleted = 1, text = '', markup = NULL, version = ? "
                f"WHERE user_id = ? AND deleted = 0 AND message_id IN ({','.join('?' * len(ids))})",
                (row["version"], user_id, *ids))
        self.changed(user_id)
        return cursor.rowcount

    async def set_keyboard(self, user_id: int, keyboard: Optional[dict]) -> None:
        """The reply keyboard under the input (None: removed)."""
        await self.db.execute("UPDATE web_users SET keyboard = ?, version = version + 1 WHERE user_id = ?",
                              (_json(keyboard), user_id))
        self.changed(user_id)

    async def changes(self, user_id: int, after: int, limit: int = 200) -> list[Shown]:
        """Messages added, edited or deleted after version `after`, oldest first (the last `limit` of them)."""
        rows = await self.db.fetchall(
            "SELECT * FROM (SELECT * FROM web_messages WHERE user_id = ? AND version > ? "
            "ORDER BY version DESC LIMIT ?) ORDER BY version", (user_id, after, limit))
        return [Shown.of(row) for row in rows]

    # ----- files ----------------------------------------------------------------------------------------------------

    async def add_file(self, file_id: str, user_id: int, content_type: str, content: bytes) -> None:
        await self.db.execute("INSERT INTO web_files (file_id, user_id, content_type, size, content, created_at) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (file_id, user_id, content_type, len(content), content,
                                                             utcnow()))

    async def file(self, file_id: str) -> Optional[tuple[int, str, bytes]]:
        """(owner, content type, bytes) of a stored file."""
        row = await self.db.fetchone("SELECT user_id, content_type, content FROM web_files WHERE file_id = ?",
                                     (file_id,))
        return (row["user_id"], row["content_type"], bytes(row["content"])) if row else None

    async def files_since(self, user_id: int, since: str) -> int:
        """How many files the resident uploaded since `since` (UTC ISO)."""
        row = await self.db.fetchone("SELECT COUNT(*) FROM web_files WHERE user_id = ? AND created_at >= ?",
                                     (user_id, since))
        return int(row[0])


    # ----- the e-mail notice (bot/webchat/notice.py) -------------------------------------------------------------

    async def set_email(self, user_id: int, email: Optional[str]) -> None:
        """The address for notices (None: none); a notice due to the old address is dropped."""
        await self.db.execute("UPDATE web_users SET email = ?, notice_due_at = NULL WHERE user_id = ?",
                              (email, user_id))

    async def notice_due(self, user_id: int, at: str) -> None:
        """Something arrived at `at` (UTC ISO): a notice is due from then, if the resident left an address and none
        is due already."""
        await self.db.execute("UPDATE web_users SET notice_due_at = COALESCE(notice_due_at, ?) "
                              "WHERE user_id = ? AND email IS NOT NULL", (at, user_id))

    async def due_notices(self, due_before: str, noticed_before: str, limit: int) -> list[tuple[int, str, str, Any]]:
        """(user id, e-mail, due since, (locale, community)) of notices due since before `due_before` to residents
        not sent one since `noticed_before`, oldest first."""
        rows = await self.db.fetchall(
            "SELECT user_id, email, notice_due_at, locale, community FROM web_users WHERE notice_due_at IS NOT NULL "
            "AND notice_due_at <= ? AND email IS NOT NULL AND (noticed_at IS NULL OR noticed_at <= ?) "
            "ORDER BY notice_due_at LIMIT ?", (due_before, noticed_before, limit))
        return [(row["user_id"], row["email"], row["notice_due_at"], (row["locale"], row["community"]))
                for row in rows]

    async def notice_done(self, user_id: int, sent_at: Optional[str]) -> None:
        """The due notice is over: sent at `sent_at`, or (None) not needed, the resident having seen the chat."""
        if sent_at is None:
            await self.db.execute("UPDATE web_users SET notice_due_at = NULL WHERE user_id = ?", (user_id,))
        else:
            await self.db.execute("UPDATE web_users SET notice_due_at = NULL, noticed_at = ? WHERE user_id = ?",
                                  (sent_at, user_id))


def _hours_before(stamp: str, hours: int) -> str:
    return (datetime.fromisoformat(stamp) - timedelta(hours=hours)).isoformat(timespec="seconds")


def _json(value: Optional[dict]) -> Optional[str]:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value is not None else None


# ----- «Видалити мої дані» (bot/privacy/erasure.py) -----------------------------------------------------------------

async def forget_user_in(conn: Connection, user_id: int) -> None:
    """Empty what the resident's web chat showed and delete the files they uploaded, in the caller's transaction:
    an open page takes the emptied messages away at its next look. The sessions stay (the resident goes on using
    the chat), as the residents' row does."""
    row = await (await conn.execute("UPDATE web_users SET version = version + 1 WHERE user_id = ? RETURNING version",
                                    (user_id,))).fetchone()
    if row is not None:
        await conn.execute(
            "UPDATE web_messages SET deleted = ?, text = '', markup = NULL, file_id = NULL, file_kind = NULL, "
            "file_name = NULL, version = ? WHERE user_id = ? AND deleted <> ?", (ERASED, row[0], user_id, ERASED))
    await conn.execute("DELETE FROM web_files WHERE user_id = ?", (user_id,))
    await conn.execute("DELETE FROM web_links WHERE user_id = ?", (user_id,))
    await conn.execute("UPDATE web_users SET keyboard = NULL, email = NULL, notice_due_at = NULL, noticed_at = NULL "
                       "WHERE user_id = ?", (user_id,))


# ----- «Мої дані» (bot/privacy) -----------------------------------------------------------------------------------

TAGS = re.compile(r"<[^>]*>")


async def export_chat(db: Database, user_id: int) -> Optional[dict[str, Any]]:
    """A web resident's chat as it shows now, in plain text (None for a Telegram resident): who said what and when,
    and which file was there (its name and kind, not its bytes)."""
    user = await db.fetchone("SELECT community, created_at, email FROM web_users WHERE user_id = ?", (user_id,))
    if user is None:
        return None
    sessions = await db.fetchone("SELECT COUNT(*) FROM web_sessions WHERE user_id = ?", (user_id,))
    rows = await db.fetchall("SELECT from_bot, text, file_kind, file_name, sent_at FROM web_messages "
                             "WHERE user_id = ? AND deleted = 0 ORDER BY message_id", (user_id,))
    return {"started_at": user["created_at"], "community_of_the_page": user["community"],
            "browser_sessions": int(sessions[0]), "email_for_notices": user["email"],
            "messages": [{"at": row["sent_at"], "from": "bot" if row["from_bot"] else "resident",
                          "text": html.unescape(TAGS.sub("", row["text"])),
                          "file": {"kind": row["file_kind"], "name": row["file_name"]} if row["file_kind"] else None}
                         for row in rows]}


# ----- housekeeping (bot/webchat/retention.py) ----------------------------------------------------------------------

async def forget_sessions_before(db: Database, before: str) -> int:
    """Browser sessions not seen since `before` (UTC ISO) go; their cookies no longer open anything."""
    return await db.execute("DELETE FROM web_sessions WHERE seen_at < ?", (before,))


async def unseen_since(db: Database, created_before: str, seen_before: str, limit: int) -> list[int]:
    """Web residents made before `created_before` who have a chat or a session, none seen since `seen_before`."""
    rows = await db.fetchall(
        "SELECT user_id FROM web_users u WHERE created_at < ? "
        "AND NOT EXISTS (SELECT 1 FROM web_sessions s WHERE s.user_id = u.user_id AND s.seen_at >= ?) "
        "AND (EXISTS (SELECT 1 FROM web_sessions s WHERE s.user_id = u.user_id) "
        "     OR EXISTS (SELECT 1 FROM web_messages m WHERE m.user_id = u.user_id)) "
        "ORDER BY user_id LIMIT ?", (created_before, seen_before, limit))
    return [int(row[0]) for row in rows]


async def retire_user(db: Database, user_id: int) -> None:
    """Everything of a web resident's chat goes (messages, files, codes, sessions, update numbers); the row of
    web_users stays without them, so that their id is never given to anyone else."""
    async with db.transaction() as conn:
        for table in ("web_messages", "web_files", "web_links", "web_sessions", "web_updates"):
            await conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
        await conn.execute("UPDATE web_users SET keyboard = NULL, proven_at = NULL, email = NULL, "
                           "notice_due_at = NULL, noticed_at = NULL, version = version + 1 WHERE user_id = ?",
                           (user_id,))
