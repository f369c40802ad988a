"""Requests for help: what the staff of the institution's group do with them (take, answer, note, redirect,
finish, reopen) and what is sent to the group about them. No Telegram types here."""
from __future__ import annotations

from typing import Iterable, Optional

from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing
from bot.errors import RequestError
from bot.requests.models import FINISH_REASONS, Attachment, Event, Request, Status
from bot.requests.store import RequestStore, add_working_days, to_group, to_resident
from bot.storage.db import Connection, utcnow
from bot.storage.updates import first_time


class StaffActions(RequestStore):
    async def for_group(self, chat_id: int, request_id: int) -> Request:
        """A request the group's institution may act on; anything else is refused."""
        group = await self.groups.bound(chat_id)
        request = await self.get(request_id)
        if request is None or (request.community, request.institution_id) != (group.community, group.institution_id):
            raise RequestError("other_institution")
        return request

    # A staff transition (take, resolve, close, reopen, redirect) is one conditional UPDATE: of two presses at
    # once, or a press on a card that is out of date, exactly one changes the request; its history entry and
    # what it sends are written in the same transaction, by it alone. The other press changes nothing, sends
    # nothing, and is told why (`_too_late`): who was first, as the card shows them.

    async def _too_late(self, conn: Connection, request_id: int, staff_id: int, institution_id: str,
                        wanted: str) -> RequestError:
        """Why a transition changed no row: the request as it is now says what happened first, and who did it."""
        current = await self._get(request_id, conn)
        if current.institution_id != institution_id:
            return RequestError("redirected", await self._last_actor(conn, request_id, ("redirected",)))
        if current.status.open:
            if wanted == "take" and current.assignee_id is not None:
                if current.assignee_id == staff_id:
                    return RequestError("taken_by_you")
                return RequestError("taken_by_other", current.assignee_label)
            who = await self._last_actor(conn, request_id, ("reopened",)) if wanted == "reopen" else None
            return RequestError("reopened" if who else "not_finished", who)
        if current.status == Status.withdrawn:
            return RequestError("withdrawn")
        return RequestError("closed", await self._last_actor(conn, request_id, ("resolved", "closed")))

    async def _last_actor(self, conn: Connection, request_id: int, kinds: tuple[str, ...]) -> Optional[str]:
        marks = ", ".join("?" for _ in kinds)
        cursor = await conn.execute(
            f"SELECT actor_label FROM request_events WHERE request_id = ? AND actor = 'staff' AND kind IN ({marks}) "
            f"ORDER BY id DESC LIMIT 1", (request_id, *kinds))
        row = await cursor.fetchone()
        return row["actor_label"] if row else None

    async def take(self, chat_id: int, request_id: int, staff_id: int, label: str) -> Request:
        """The first to press «Take» gets the request; anyone after is RequestError 'taken_by_other' (with who),
        and the same person's second press 'taken_by_you': nothing changes and nothing is posted again."""
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            now = utcnow()
            cursor = await conn.execute(
                "UPDATE requests SET status = 'in_progress', assignee_id = ?, assignee_label = ?, updated_at = ?, "
                "first_response_at = COALESCE(first_response_at, ?) WHERE id = ? AND institution_id = ? "
                "AND status IN ('new', 'in_progress') AND assignee_id IS NULL",
                (staff_id, label, now, now, request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "take")
            await self._event(conn, request_id, "staff", staff_id, label, "taken", None, True, request.institution_id)
            await self._queue(conn, [to_group(request, Kind.CARD_UPDATE),
                                     *to_resident(request.resident_id, Kind.STATUS, request_id, status="in_progress")],
                              request_id)
        return await self._get(request_id)

    async def note(self, chat_id: int, request_id: int, staff_id: int, label: str, text: str) -> Event:
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            await self._event(conn, request_id, "staff", staff_id, label, "note", text, False, request.institution_id)
            await self._touch(conn, request_id)
        return (await self.history(request_id, public_only=False))[-1]

    async def reply(self, chat_id: int, request_id: int, staff_id: int, label: str, text: str,
                    files: Iterable[Attachment] = (), *, update_id: Optional[int] = None,
                    who: Optional[str] = None) -> Event:
        """An answer to the resident, signed with `label` (the role); `who` (role and first name) takes the request
        when nobody has yet."""
        request = await self.for_group(chat_id, request_id)
        if request.status == Status.withdrawn:
            raise RequestError("closed")
        if request.resident_id is None:
            raise RequestError("no_resident")
        files = list(files)
        async with self.db.transaction() as conn:
            if update_id is not None and not await first_time(conn, update_id):
                raise RequestError("duplicate")
            now = utcnow()
            event_id = await self._event(conn, request_id, "staff", staff_id, label, "reply", text, True,
                                         request.institution_id)
            await self._files(conn, request_id, event_id, files)
            await conn.execute(
                "UPDATE requests SET updated_at = ?, first_response_at = COALESCE(first_response_at, ?), "
                "status = CASE WHEN status = 'new' THEN 'in_progress' ELSE status END, "
                "assignee_id = COALESCE(assignee_id, ?), assignee_label = COALESCE(assignee_label, ?) WHERE id = ?",
                (now, now, staff_id, who or label, request_id),
            )
            await self._queue(conn, [*to_resident(request.resident_id, Kind.REPLY, request_id, event_id=event_id)],
                              request_id)
            if request.status == Status.new:
                await self._queue(conn, [to_group(request, Kind.CARD_UPDATE)], request_id)
        return (await self.history(request_id, public_only=False))[-1]

    async def redirect(self, chat_id: int, request_id: int, staff_id: int, label: str, to_institution: str,
                       reason: str) -> Request:
        request = await self.for_group(chat_id, request_id)
        view = self.catalogue.communities[request.community]
        if to_institution not in view.institutions or to_institution == request.institution_id:
            raise RequestError("bad_institution")
        due = add_working_days(self.clock(), self.response_days(request.community, to_institution), self.tz)
        async with self.db.transaction() as conn:
            before = await self._get(request_id, conn)  # where its card is now (the old group's card is marked)
            cursor = await conn.execute(
                "UPDATE requests SET institution_id = ?, status = 'new', assignee_id = NULL, assignee_label = NULL, "
                "group_chat_id = NULL, thread_id = NULL, card_message_id = NULL, due_at = ?, updated_at = ?, "
                "reminded_at = NULL, due_warned_at = NULL, topic_title = NULL "
                "WHERE id = ? AND institution_id = ? AND status IN ('new', 'in_progress')",
                (to_institution, due.isoformat(timespec="seconds"), utcnow(), request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "redirect")
            if before.card_message_id:  # the old group's card says where it went and loses its buttons
                await self._queue(conn, [to_group(before, Kind.CARD_MOVED, chat_id=before.group_chat_id,
                                                  message_id=before.card_message_id, to=to_institution)],
                                  request_id)
            event = await self._event(conn, request_id, "staff", staff_id, label, "redirected", reason, True,
                                      to_institution)
            moved = await self._get(request_id, conn)
            # the notice names this redirect's reason and institution, even when another one follows it quickly
            await self._queue(conn, [to_group(moved, Kind.CARD),
                                     *to_resident(request.resident_id, Kind.REDIRECTED, request_id, event=event)],
                              request_id)
        return await self._get(request_id)

    async def finish(self, chat_id: int, request_id: int, staff_id: int, label: str, resolved: bool,
                     text: Optional[str] = None, *, reason: str = "other", version: Optional[str] = None) -> Request:
        """Resolved or closed, once, with a reason from FINISH_REASONS (the words of "other" in `text`): a press
        after another one finished it is RequestError 'closed' (with who); with `version` (what the staff member
        saw), a request that changed since is RequestError 'changed' and stays as it is. The resident is told why
        and asked to rate the help only when they had an answer."""
        if reason not in FINISH_REASONS:
            raise RequestError("bad_reason")
        request = await self.for_group(chat_id, request_id)
        status = Status.resolved if resolved else Status.closed
        async with self.db.transaction() as conn:
            current = await self._get(request_id, conn)
            if version is not None and current.status.open and current.version != version:
                raise RequestError("changed")
            now = utcnow()
            cursor = await conn.execute(
                "UPDATE requests SET status = ?, updated_at = ?, closed_at = ?, finish_reason = ?, "
                "first_response_at = COALESCE(first_response_at, ?) WHERE id = ? AND institution_id = ? "
                "AND status IN ('new', 'in_progress')",
                (status.value, now, now, reason, now, request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "finish")
            answered = await (await conn.execute(
                "SELECT 1 FROM request_events WHERE request_id = ? AND kind = 'reply' LIMIT 1",
                (request_id,))).fetchone() is not None
            event = await self._event(conn, request_id, "staff", staff_id, label, status.value, text, True,
                                      request.institution_id, reason)
            await self._queue(conn, [to_group(request, Kind.CARD_UPDATE),
                                     *to_resident(request.resident_id, Kind.FINISHED, request_id, status=status.value,
                                                  reason=reason, answered=answered, event=event)],
                              request_id)
        return await self._get(request_id)

    async def reopen(self, chat_id: int, request_id: int, staff_id: int, label: str) -> Request:
        """Back into work, once: a press after another one reopened it is RequestError 'reopened' (with who)."""
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE requests SET status = 'in_progress', closed_at = NULL, updated_at = ?, "
                "assignee_id = COALESCE(assignee_id, ?), assignee_label = COALESCE(assignee_label, ?) "
                "WHERE id = ? AND institution_id = ? AND status IN ('resolved', 'closed')",
                (utcnow(), staff_id, label, request_id, request.institution_id),
            )
            if cursor.rowcount != 1:
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "reopen")
            await self._event(conn, request_id, "staff", staff_id, label, "reopened", None, True,
                              request.institution_id)
            await self._queue(conn, [to_group(request, Kind.CARD_UPDATE),
                                     *to_resident(request.resident_id, Kind.STATUS, request_id, status="in_progress")],
                              request_id)
        return await self._get(request_id)

    async def event(self, event_id: int) -> Event:
        row = await self.db.fetchone("SELECT request_id FROM request_events WHERE id = ?", (event_id,))
        if row is None:
            raise RequestError("not_found")
        for event in await self.history(row["request_id"], public_only=False):
            if event.id == event_id:
                return event
        raise RequestError("not_found")

    async def notify_admins_once(self, request_id: int, target: str, reason: str) -> None:
        """Tell the administrators once a day per institution that its requests are waiting (not when the
        institution's group was lost: that notice already said what to do)."""
        if reason == "no_group" and await self.groups.lost_group_of(target) is not None:
            return
        async with self.db.transaction() as conn:
            await self._queue(conn, [Outgoing(Kind.ADMIN_NOTICE, Target.admins(),
                                              {"request_id": request_id, "notice": reason},
                                              dedupe_key=f"{reason}:{target}:{utcnow()[:10]}")], request_id)

    async def queue_reminder(self, request_id: int) -> None:
        """Not taken in time, or past its answer date: the group is reminded, the administrators told, and the
        card's due clock brought up to date."""
        request = await self._get(request_id)
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE requests SET reminded_at = ? WHERE id = ?", (self._stamp(), request_id))
            await self._queue(conn, [to_group(request, Kind.CARD_UPDATE),
                                     to_group(request, Kind.GROUP_NOTICE, notice="reminder"),
                                     Outgoing(Kind.ADMIN_NOTICE, Target.admins(),
                                              {"request_id": request_id, "notice": "overdue"})], request_id)

    async def warn_due(self, request_id: int) -> None:
        """A day before the answer date: the group is reminded (once) and the card's due clock brought up to date."""
        request = await self._get(request_id)
        async with self.db.transaction() as conn:
            cursor = await conn.execute("UPDATE requests SET due_warned_at = ? WHERE id = ? AND due_warned_at IS NULL",
                                        (self._stamp(), request_id))
            if cursor.rowcount == 1:
                await self._queue(conn, [to_group(request, Kind.CARD_UPDATE),
                                         to_group(request, Kind.GROUP_NOTICE, notice="due_soon")], request_id)

    async def taker_left(self, chat_id: int, user_id: int) -> int:
        """The one who took requests left the group (or was removed): each of their open requests there gets a
        notice in its topic, so that a colleague hands it over. Returns how many."""
        rows = await self.db.fetchall(
            "SELECT id FROM requests WHERE group_chat_id = ? AND assignee_id = ? AND status IN ('new', 'in_progress')",
            (chat_id, user_id))
        for row in rows:
            request = await self._get(row["id"])
            async with self.db.transaction() as conn:
                await self._queue(conn, [to_group(request, Kind.GROUP_NOTICE, notice="taker_left")], request.id)
        return len(rows)

    async def set_topic_title(self, request_id: int, title: str) -> None:
        await self.db.execute("UPDATE requests SET topic_title = ? WHERE id = ?", (title, request_id))

    async def set_card(self, request_id: int, chat_id: int, thread_id: Optional[int], message_id: int) -> None:
        await self.db.execute(
            "UPDATE requests SET group_chat_id = ?, thread_id = ?, card_message_id = ? WHERE id = ?",
            (chat_id, thread_id, message_id, request_id),
        )

    async def hand_over(self, chat_id: int, request_id: int, staff_id: int, label: str, to_id: int,
                        to_label: str) -> Request:
        """A member hands an open request to a colleague of the group, who becomes the one who took it: one
        conditional update, so a repeated press (it is theirs already) or a press after it was finished changes
        nothing and is RequestError ('handed_over' with who has it, or as `take` would be refused). The
        resident hears only that it is in work, once: a request already in work says nothing new to them."""
        request = await self.for_group(chat_id, request_id)
        async with self.db.transaction() as conn:
            now = utcnow()
            before = await self._get(request_id, conn)
            cursor = await conn.execute(
                "UPDATE requests SET status = 'in_progress', assignee_id = ?, assignee_label = ?, updated_at = ?, "
                "first_response_at = COALESCE(first_response_at, ?) WHERE id = ? AND institution_id = ? "
                "AND status IN ('new', 'in_progress') AND (assignee_id IS NULL OR assignee_id != ?)",
                (to_id, to_label, now, now, request_id, request.institution_id, to_id),
            )
            if cursor.rowcount != 1:
                current = await self._get(request_id, conn)
                if current.institution_id == request.institution_id and current.status.open:
                    raise RequestError("handed_over", current.assignee_label)
                raise await self._too_late(conn, request_id, staff_id, request.institution_id, "hand_over")
            await self._event(conn, request_id, "staff", staff_id, label, "handed_over", to_label, False,
                              request.institution_id)
            resident = [] if before.status != Status.new else to_resident(
                request.resident_id, Kind.STATUS, request_id, status="in_progress")
            # the colleague is mentioned in the request's topic (or under its card) by the outbox, so a failing
            # call is retried rather than lost
            mention = to_group(request, Kind.GROUP_NOTICE, notice="handed_over", to_id=to_id, to=to_label, by=label)
            await self._queue(conn, [to_group(request, Kind.CARD_UPDATE), mention, *resident], request_id)
        return await self._get(request_id)
