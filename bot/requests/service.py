"""Requests for help: the service the dialogs call. The records are in `bot.requests.store`, the staff's actions
in `bot.requests.staff`; here what the resident does (messages, withdrawal, rating), the bot messages about a
request, and the removal of personal data. No Telegram types here."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Iterable, Optional

from bot.campaigns.service import forget_person_in
from bot.delivery import outbox
from bot.delivery.kinds import Kind, Target
from bot.errors import RequestError
from bot.requests.models import Attachment, Event, GuessedFollowUp, Request, Status
from bot.requests.staff import StaffActions
from bot.requests.store import Caps, row_to_request, to_group
from bot.storage import fsm
from bot.storage.db import Connection, utcnow
from bot.storage.residents import forget_consent
from bot.storage.updates import first_time

# Caps: how the app sets the daily caps of the service it builds; RequestError: what every action may raise
__all__ = ["Caps", "RequestError", "RequestService"]

# When a request waits for the resident's answer (`awaiting_reply`): a specialist's answer older than this no
# longer makes the resident's free texts go to the request, and after the resident's own answer more of it
# (several messages, a photo after the words) still goes there for this long.
AWAITING_DAYS = 14
ANSWERING_MINUTES = 10
# The history entries that are the conversation of a request: who spoke last.
CONVERSATION = ("reply", "resident_message", "redirected")


class RequestService(StaffActions):
    # ----- resident actions ---------------------------------------------------------------------------------

    async def resident_message(self, resident_id: int, request_id: int, text: str,
                               files: Iterable[Attachment] = (), *, update_id: Optional[int] = None,
                               urgent: bool = False) -> Event:
        """A message the resident adds to their open request. Over the daily cap (Caps.follow_ups): RequestError
        'cap', nothing stored, unless `urgent` (the message signals danger)."""
        await self._add_resident_message(resident_id, request_id, text, files, update_id, urgent=urgent)
        return (await self.history(request_id, public_only=True))[-1]

    async def guessed_message(self, resident_id: int, request_id: int, text: str,
                              files: Iterable[Attachment] = (), *, update_id: Optional[int], how: str,
                              urgent: bool = False) -> GuessedFollowUp:
        """A message the bot adds to a request on its own, not through «✍️ Add a message or a file»: `how` is
        'quote' (a quote-reply to a message about the request) or 'awaiting' (a free text while the request
        waited for the resident). Stored and relayed like any follow-up (once per update), and the resident may
        take it back once with the returned token (`withdraw_guessed`)."""
        token = secrets.token_hex(4)
        event_id = await self._add_resident_message(resident_id, request_id, text, files, update_id, (how, token),
                                                    urgent=urgent)
        return GuessedFollowUp(event_id, request_id, token)

    async def _add_resident_message(self, resident_id: int, request_id: int, text: str, files: Iterable[Attachment],
                                    update_id: Optional[int], guessed: Optional[tuple[str, str]] = None, *,
                                    urgent: bool = False) -> int:
        request = await self.owned(resident_id, request_id)
        if not request.status.open:
            raise RequestError("closed")
        files = list(files)
        async with self.db.transaction() as conn:
            if update_id is not None and not await first_time(conn, update_id):
                raise RequestError("duplicate")
            if not urgent and await self.cap_reached(resident_id, "follow_ups", conn):
                raise RequestError("cap")
            event_id = await self._event(conn, request_id, "resident", resident_id, None, "resident_message",
                                         text, True, request.institution_id)
            await self._files(conn, request_id, event_id, files)
            await self._touch(conn, request_id)
            if guessed is not None:
                await conn.execute(
                    "INSERT INTO guessed_follow_ups (event_id, resident_id, how, token, at) VALUES (?, ?, ?, ?, ?)",
                    (event_id, resident_id, guessed[0], guessed[1], utcnow()))
            await self._queue(conn, [to_group(request, Kind.RELAY_TO_GROUP, event_id=event_id)], request_id)
        return event_id

    async def withdraw_guessed(self, resident_id: int, event_id: int, token: str) -> tuple[Request, str]:
        """The resident says a message the bot added to a request on its own was not meant for it: it leaves
        the request's history (its text and files are removed; the entry stays, hidden, as
        'resident_message_withdrawn'), and the staff side is told, or never gets it when it has not gone out yet
        (see the outbox kinds 'relay_to_group' and 'relay_withdrawn'). Returns the request and the message's
        text. Only the resident it belongs to, only with its token, only once: otherwise RequestError
        'not_found' (anything wrong or forged) or 'done' (taken back already); nothing changes."""
        if not 0 < event_id < 2 ** 63:  # forged button data: not even a number SQLite can hold
            raise RequestError("not_found")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT g.resident_id, g.token, g.undone_at, e.request_id, e.text, e.at FROM guessed_follow_ups g "
                "JOIN request_events e ON e.id = g.event_id WHERE g.event_id = ?", (event_id,))
            row = await cursor.fetchone()
            if (row is None or row["resident_id"] != resident_id
                    or not secrets.compare_digest(str(row["token"]), str(token))):
                raise RequestError("not_found")
            if row["undone_at"] is not None:
                raise RequestError("done")
            cursor = await conn.execute(
                "UPDATE guessed_follow_ups SET undone_at = ? WHERE event_id = ? AND undone_at IS NULL",
                (utcnow(), event_id))
            if cursor.rowcount != 1:
                raise RequestError("done")
            await conn.execute(
                "UPDATE request_events SET kind = 'resident_message_withdrawn', text = NULL, public = 0 WHERE id = ?",
                (event_id,))
            await conn.execute("DELETE FROM request_files WHERE event_id = ?", (event_id,))
            request = await self._get(row["request_id"], conn)
            await self._queue(conn, [to_group(request, Kind.RELAY_WITHDRAWN, event_id=event_id, at=row["at"])],
                              request.id)
        return request, row["text"] or ""

    async def awaiting_reply(self, resident_id: int, now: Optional[datetime] = None) -> list[Request]:
        """The resident's requests that wait for the resident's answer, the latest answered first: open (received
        or in progress), and the last word of their conversation (answers, the resident's messages, passing to
        another institution; not notes, status changes or messages taken back) is

        * a specialist's answer of the last AWAITING_DAYS days, or
        * the resident's own message of the last ANSWERING_MINUTES that came right after such an answer
          (possibly with more of theirs in between): they are in the middle of answering.

        A request passed to another institution waits for nothing until that institution answers."""
        now = now or self.clock()
        answered_since = (now - timedelta(days=AWAITING_DAYS)).isoformat(timespec="seconds")
        answering_since = (now - timedelta(minutes=ANSWERING_MINUTES)).isoformat(timespec="seconds")
        marks = ", ".join("?" for _ in CONVERSATION)
        waiting: list[tuple[int, Request]] = []
        for row in await self.db.fetchall(
                "SELECT * FROM requests WHERE resident_id = ? AND status IN ('new', 'in_progress')", (resident_id,)):
            events = await self.db.fetchall(
                f"SELECT id, kind, at FROM request_events WHERE request_id = ? AND kind IN ({marks}) "
                f"ORDER BY id DESC LIMIT 20", (row["id"], *CONVERSATION))
            if not events:
                continue
            last = events[0]
            if last["kind"] == "reply":
                if last["at"] >= answered_since:
                    waiting.append((last["id"], row_to_request(row)))
                continue
            if last["kind"] != "resident_message" or last["at"] < answering_since:
                continue
            before = next((e for e in events if e["kind"] != "resident_message"), None)
            if before is not None and before["kind"] == "reply":
                waiting.append((before["id"], row_to_request(row)))
        waiting.sort(key=lambda pair: pair[0], reverse=True)
        return [request for _id, request in waiting]

    async def remember_messages(self, chat_id: int, message_ids: Iterable[int], request_id: int,
                                event_id: Optional[int] = None) -> None:
        """Bot messages about a request: in the resident's chat a quote-reply to one of them goes to the
        request; in the staff group they are what a message taken back removes (`request_messages`)."""
        rows = [(chat_id, int(message_id), request_id, event_id, utcnow()) for message_id in message_ids]
        if not rows:
            return
        async with self.db.transaction() as conn:
            for row in rows:
                await conn.execute(
                    "INSERT OR REPLACE INTO request_messages (chat_id, message_id, request_id, event_id, at) "
                    "VALUES (?, ?, ?, ?, ?)", row)

    async def request_of_message(self, chat_id: int, message_id: int) -> Optional[int]:
        """The request a bot message in this chat is about (see `remember_messages`), if any."""
        row = await self.db.fetchone(
            "SELECT request_id FROM request_messages WHERE chat_id = ? AND message_id = ?", (chat_id, message_id))
        return int(row["request_id"]) if row else None

    async def messages_of_event(self, event_id: int, chat_id: int) -> list[int]:
        """The bot's messages in `chat_id` that carried a history entry (a relayed message of the resident)."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM request_messages WHERE event_id = ? AND chat_id = ? ORDER BY message_id",
            (event_id, chat_id))
        return [int(r["message_id"]) for r in rows]

    async def shown_in_group(self, request_id: int, chat_id: int) -> list[int]:
        """Every bot message in a staff group known to be about the request (relayed messages, files)."""
        rows = await self.db.fetchall(
            "SELECT message_id FROM request_messages WHERE request_id = ? AND chat_id = ? ORDER BY message_id",
            (request_id, chat_id))
        return [int(r["message_id"]) for r in rows]

    async def forget_shown(self, request_id: int, chat_id: int) -> None:
        await self.db.execute("DELETE FROM request_messages WHERE request_id = ? AND chat_id = ?",
                              (request_id, chat_id))

    async def withdraw(self, resident_id: int, request_id: int) -> Request:
        request = await self.owned(resident_id, request_id)
        if not request.status.open:
            raise RequestError("closed")
        async with self.db.transaction() as conn:
            if not await self._set_status(conn, request_id, Status.withdrawn, closed=True):
                raise RequestError("closed")  # finished by the staff meanwhile: nothing changes, nothing is posted
            request = await self._get(request_id, conn)
            await self._event(conn, request_id, "resident", resident_id, None, "withdrawn", None, True,
                              request.institution_id)
            await self._queue(conn, [to_group(request, Kind.CARD_UPDATE), to_group(request, Kind.GROUP_NOTICE,
                                                                               notice="withdrawn")], request_id)
        return await self._get(request_id)

    async def rate(self, resident_id: int, request_id: int, rating: int, comment: Optional[str] = None) -> Request:
        """The resident's rating of a finished request, once: a second rating (a second press, a forged button)
        is RequestError 'rated' and changes nothing, and the group hears of the rating once."""
        request = await self.owned(resident_id, request_id)
        if request.status not in (Status.resolved, Status.closed):
            raise RequestError("not_finished")
        if not 1 <= rating <= 5:
            raise RequestError("bad_rating")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE requests SET rating = ?, rating_comment = ?, updated_at = ? WHERE id = ? AND resident_id = ? "
                "AND rating IS NULL AND status IN ('resolved', 'closed')",
                (rating, comment, self._stamp(), request_id, resident_id),
            )
            if cursor.rowcount != 1:
                raise RequestError("rated")
            await self._event(conn, request_id, "resident", resident_id, None, "rated",
                              f"{rating}" + (f": {comment}" if comment else ""), True, request.institution_id)
            await self._queue(conn, [to_group(request, Kind.GROUP_NOTICE, notice="rated", rating=rating)], request_id)
        return await self._get(request_id)

    async def rating_comment(self, resident_id: int, request_id: int, comment: str) -> bool:
        """The comment after a rating, once (the resident's words go with the rating; nothing is posted again)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE requests SET rating_comment = ?, updated_at = ? WHERE id = ? AND resident_id = ? "
                "AND rating IS NOT NULL AND rating_comment IS NULL", (comment, self._stamp(), request_id, resident_id))
            if cursor.rowcount != 1:
                return False
            row = await (await conn.execute(
                "SELECT id FROM request_events WHERE request_id = ? AND kind = 'rated' ORDER BY id DESC LIMIT 1",
                (request_id,))).fetchone()
            if row is not None:
                await conn.execute("UPDATE request_events SET text = text || ': ' || ? WHERE id = ?",
                                   (comment, row["id"]))
        return True

    # ----- personal data ------------------------------------------------------------------------------------

    async def delete_personal_data(self, resident_id: int) -> int:
        """Remove what identifies the resident and every text they or staff wrote; keep anonymous counts.
        (The bot's 🗑 goes through `bot.privacy.erase`, which does this and more in one transaction.)"""
        async with self.db.transaction() as conn:
            ids = await self.ids_of_resident(conn, resident_id)
            await self._purge(conn, ids, "resident")
            await forget_consent(conn, resident_id)
            await forget_person_in(conn, resident_id)
            await fsm.forget_user_in(conn, resident_id)
            await outbox.forget_waiting_in(conn, str(Target.resident(resident_id)))
        return len(ids)

    async def purge_closed(self, older_than_days: int, now: Optional[datetime] = None) -> int:
        """Retention: personal data of requests closed longer ago than the configured period."""
        now = now or datetime.now(timezone.utc)
        limit = (now - timedelta(days=older_than_days)).astimezone(timezone.utc).isoformat(timespec="seconds")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM requests WHERE closed_at IS NOT NULL AND closed_at < ? AND purged_at IS NULL", (limit,)
            )
            ids = [row[0] for row in await cursor.fetchall()]
            await self._purge(conn, ids, "retention")
        return len(ids)

    # (for bot.privacy, inside its transaction)

    @staticmethod
    async def ids_of_resident(conn: Connection, resident_id: int) -> list[int]:
        cursor = await conn.execute("SELECT id FROM requests WHERE resident_id = ?", (resident_id,))
        return [row[0] for row in await cursor.fetchall()]

    @staticmethod
    async def ids_closed_before(conn: Connection, limit: str) -> list[int]:
        cursor = await conn.execute(
            "SELECT id FROM requests WHERE closed_at IS NOT NULL AND closed_at < ? AND purged_at IS NULL", (limit,))
        return [row[0] for row in await cursor.fetchall()]

    async def purge_in(self, conn: Connection, ids: list[int], why: str) -> None:
        """Remove the personal data of these requests in the caller's transaction; `why`: 'resident' or
        'retention'."""
        await self._purge(conn, ids, why)

    async def _purge(self, conn: Connection, ids: list[int], why: Optional[str] = None) -> None:
        now = utcnow()
        for request_id in ids:
            await conn.execute(
                "UPDATE requests SET resident_id = NULL, description = NULL, contact_phone = NULL, "
                "contact_name = NULL, rating_comment = NULL, purged_at = ?, updated_at = ?, "
                "purged_why = COALESCE(?, purged_why) WHERE id = ?",
                (now, now, why, request_id),
            )
            await conn.execute(
                "UPDATE request_events SET text = NULL, actor_id = CASE WHEN actor = 'resident' THEN NULL "
                "ELSE actor_id END WHERE request_id = ?",
                (request_id,),
            )
            await conn.execute("DELETE FROM request_files WHERE request_id = ?", (request_id,))
            await conn.execute("DELETE FROM request_messages WHERE request_id = ?", (request_id,))
            await conn.execute(
                "DELETE FROM guessed_follow_ups WHERE event_id IN (SELECT id FROM request_events WHERE request_id = ?)",
                (request_id,))
