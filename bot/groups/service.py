"""Staff groups as a service of their own: bind codes and binding, the group of an institution, the loss of a
group and what a newly bound group gets, staff roles. Used by requests and consultations alike; it knows
nothing of either (they tell it, through `add_waiting`, what waits for an institution). No Telegram types here.
Owns the tables `groups`, `bind_codes`, `bind_attempts` and `staff`."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable, Optional

from bot.catalogue.loader import Catalogue
from bot.delivery.kinds import Kind, Target
from bot.delivery.outbox import Outgoing, enqueue, held_subjects, regroup_pending, release_held
from bot.errors import RequestError
from bot.groups.models import Group
from bot.storage.db import Connection, Database, Row, utcnow

BIND_CODE_HOURS = 48
BIND_CODE_BYTES = 16  # 128 bits: never guessed, whatever the lockout
# Failed /bind attempts: after BIND_TRIES within BIND_LOCK_MINUTES in one chat, or by one person, every /bind
# there (or by them) is refused until the window has passed, even with a valid code.
BIND_TRIES = 5
BIND_LOCK_MINUTES = 60

Clock = Callable[[], datetime]
# What waits for an institution when a group is bound to it, of one kind of card: given (conn, community,
# institution_id, the chat being bound, the chats of lost groups, the ids whose outbox rows are held), the
# (time it came, id) of each card to post in the new group.
Waiting = Callable[[Connection, str, str, int, set[int], set[int]], Awaitable[list[tuple[str, int]]]]


def code_hash(code: str) -> str:
    """How a bind code is kept: only its SHA-256, so the database never shows it again."""
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def _group(row: Row) -> Group:
    return Group(row["chat_id"], row["community"], row["institution_id"], row["title"], bool(row["is_forum"]),
                 bool(row["active"]))


class GroupService:
    def __init__(self, db: Database, catalogue: Catalogue, *, clock: Optional[Clock] = None):
        self.db = db
        self.catalogue = catalogue
        self.clock: Clock = clock or (lambda: datetime.now(timezone.utc))
        self._waiting: dict[str, Waiting] = {}

    def add_waiting(self, kind: str, waiting: Waiting) -> None:
        """What of one kind of card ("r" requests, "c" consultations) a newly bound group must get."""
        self._waiting[kind] = waiting

    def _stamp(self, before: timedelta = timedelta(0)) -> str:
        return (self.clock() - before).astimezone(timezone.utc).isoformat(timespec="seconds")

    # ----- which group --------------------------------------------------------------------------------------

    async def group(self, chat_id: int) -> Optional[Group]:
        row = await self.db.fetchone("SELECT * FROM groups WHERE chat_id = ?", (chat_id,))
        return _group(row) if row else None

    async def bound(self, chat_id: int) -> Group:
        """The chat's group while it is an institution's group in use; else RequestError 'group_not_bound'."""
        group = await self.group(chat_id)
        if group is None or not group.active:
            raise RequestError("group_not_bound")
        return group

    async def group_for(self, community: str, institution_id: str) -> Optional[Group]:
        row = await self.db.fetchone(
            "SELECT * FROM groups WHERE community = ? AND institution_id = ? AND active = 1 "
            "ORDER BY bound_at DESC LIMIT 1",
            (community, institution_id),
        )
        return _group(row) if row else None

    # ----- binding ------------------------------------------------------------------------------------------

    async def create_bind_code(self, community: str, institution_id: str, created_by: Optional[int]) -> str:
        view = self.catalogue.communities.get(community)
        if view is None or institution_id not in view.institutions:
            raise RequestError("bad_institution")
        code = secrets.token_hex(BIND_CODE_BYTES).upper()
        now = self.clock().astimezone(timezone.utc)
        await self.db.execute(
            "INSERT INTO bind_codes (code, community, institution_id, created_by, created_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (code_hash(code), community, institution_id, created_by, now.isoformat(timespec="seconds"),
             (now + timedelta(hours=BIND_CODE_HOURS)).isoformat(timespec="seconds")),
        )
        return code  # shown once: only its hash is kept

    async def bind_locked(self, chat_id: int, user_id: Optional[int]) -> bool:
        """Too many failed /bind attempts in this chat, or by this person, within BIND_LOCK_MINUTES."""
        since = self._stamp(timedelta(minutes=BIND_LOCK_MINUTES))
        row = await self.db.fetchone(
            "SELECT (SELECT COUNT(*) FROM bind_attempts WHERE chat_id = ? AND at >= ?), "
            "(SELECT COUNT(*) FROM bind_attempts WHERE user_id = ? AND at >= ?)", (chat_id, since, user_id, since))
        return max(int(row[0]), int(row[1]) if user_id is not None else 0) >= BIND_TRIES

    async def bind(self, chat_id: int, code: str, *, title: Optional[str], is_forum: bool,
                   user_id: Optional[int]) -> Group:
        """Bind the group to the code's institution. Refused (RequestError) for an unknown, used or expired code,
        each failure counted, and for everyone in a chat (or a person anywhere) after BIND_TRIES failures
        ('bind_locked'). Every binding is announced to the administrators, and to the group that had the
        institution before while the bot can still write there."""
        if await self.bind_locked(chat_id, user_id):
            raise RequestError("bind_locked")
        try:
            return await self._bind(chat_id, code, title=title, is_forum=is_forum, user_id=user_id)
        except RequestError:
            await self.db.execute("INSERT INTO bind_attempts (chat_id, user_id, at) VALUES (?, ?, ?)",
                                  (chat_id, user_id, self._stamp()))
            await self.db.execute("DELETE FROM bind_attempts WHERE at < ?", (self._stamp(timedelta(days=1)),))
            raise

    async def _use_code(self, conn: Connection, chat_id: int, hashed: str, now: str) -> Row:
        """The code's row, marked used by this chat; RequestError when it cannot be used."""
        cursor = await conn.execute("SELECT * FROM bind_codes WHERE code = ?", (hashed,))
        row = await cursor.fetchone()
        if row is None:
            raise RequestError("bad_code")
        if row["used_at"] is not None:
            raise RequestError("used_code")
        if row["expires_at"] < now:
            raise RequestError("expired_code")
        cursor = await conn.execute("UPDATE bind_codes SET used_at = ?, used_in = ? WHERE code = ? "
                                    "AND used_at IS NULL", (now, chat_id, hashed))
        if cursor.rowcount != 1:
            raise RequestError("used_code")
        return row

    async def _bind(self, chat_id: int, code: str, *, title: Optional[str], is_forum: bool,
                    user_id: Optional[int]) -> Group:
        hashed = code_hash(code)
        async with self.db.transaction() as conn:
            now = self._stamp()
            row = await self._use_code(conn, chat_id, hashed, now)
            community, institution_id = row["community"], row["institution_id"]
            cursor = await conn.execute(
                "SELECT chat_id, title, community, institution_id FROM groups WHERE active = 1 AND ("
                "(community = ? AND institution_id = ? AND chat_id != ?) OR (chat_id = ? AND NOT (community = ? "
                "AND institution_id = ?)))",
                (community, institution_id, chat_id, chat_id, community, institution_id))
            losing = [dict(r) for r in await cursor.fetchall()]
            await enqueue(conn, [Outgoing(Kind.GROUP_BOUND, Target.admins(), {
                "chat_id": chat_id, "title": title, "community": community,
                "institution_id": institution_id, "by": user_id, "losing": losing},
                dedupe_key=f"bound:{chat_id}:{hashed[:16]}")])
            # one active group per institution: binding a new one retires the old one
            await conn.execute(
                "UPDATE groups SET active = 0 WHERE community = ? AND institution_id = ? AND chat_id != ?",
                (community, institution_id, chat_id),
            )
            await conn.execute(
                "INSERT INTO groups (chat_id, community, institution_id, title, is_forum, bound_at, bound_by, active) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(chat_id) DO UPDATE SET community = excluded.community, "
                "institution_id = excluded.institution_id, title = excluded.title, is_forum = excluded.is_forum, "
                "bound_at = excluded.bound_at, bound_by = excluded.bound_by, active = 1, unreachable_at = NULL",
                (chat_id, community, institution_id, title, int(is_forum), now, user_id),
            )
            if user_id is not None:
                await conn.execute(
                    "INSERT OR IGNORE INTO staff (chat_id, user_id, added_at) VALUES (?, ?, ?)", (chat_id, user_id, now)
                )
            # whatever waited for this institution goes out now: first the cards, in the order they came,
            # then what waited in each of them
            place = Target.institution(community, institution_id)
            target = str(place)
            cards = await self._cards_to_move(conn, community, institution_id, chat_id, target)
            await release_held(conn, target, now)
            if cards:
                await enqueue(conn, [Outgoing(Kind.REGROUP, place, {"chat_id": chat_id, "cards": cards},
                                              dedupe_key=f"regroup:{chat_id}:{now}")])
        group = await self.group(chat_id)
        assert group is not None
        return group

    async def _cards_to_move(self, conn: Connection, community: str, institution_id: str, chat_id: int,
                             target: str) -> list[list[Any]]:
        """What a newly bound group must get: the requests and consultations that wait for the institution, and
        the open ones whose group was lost; oldest first, as [kind, id] ("r" a request, "c" a consultation)."""
        held_requests, held_consultations = await held_subjects(conn, target)
        held = {"r": held_requests, "c": held_consultations}
        cursor = await conn.execute("SELECT chat_id FROM groups WHERE unreachable_at IS NOT NULL")
        lost = {int(r["chat_id"]) for r in await cursor.fetchall()}
        cards: list[tuple[str, str, int]] = []
        for kind, waiting in self._waiting.items():
            for at, subject in await waiting(conn, community, institution_id, chat_id, lost, held.get(kind, set())):
                cards.append((at, kind, subject))
        return [[kind, subject] for _at, kind, subject in sorted(cards)]

    # ----- loss ---------------------------------------------------------------------------------------------

    async def group_lost(self, chat_id: int, why: str = "unreachable") -> bool:
        """The group was deleted or the bot was removed from it: what is sent to the institution waits from now
        on, and the administrators are told once what to do. False when it was not the institution's group in
        use (already lost, or replaced by another one)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute("SELECT * FROM groups WHERE chat_id = ?", (chat_id,))
            row = await cursor.fetchone()
            if row is None or not row["active"]:
                return False
            now = utcnow()
            await conn.execute("UPDATE groups SET active = 0, unreachable_at = ? WHERE chat_id = ?", (now, chat_id))
            await enqueue(conn, [Outgoing(
                Kind.GROUP_LOST, Target.admins(),
                {"chat_id": chat_id, "community": row["community"], "institution_id": row["institution_id"],
                 "title": row["title"], "why": why},
                dedupe_key=f"group_lost:{chat_id}:{row['bound_at']}",
            )])
        return True

    async def lost_group_of(self, target: str) -> Optional[int]:
        """The chat id of the institution's last group when it was lost and no other group replaced it."""
        place = Target.parse(target)
        community, institution_id = place.community, place.institution_id
        row = await self.db.fetchone(
            "SELECT chat_id, active, unreachable_at FROM groups WHERE community = ? AND institution_id = ? "
            "ORDER BY bound_at DESC LIMIT 1", (community, institution_id))
        if row is None or row["active"] or row["unreachable_at"] is None:
            return None
        return int(row["chat_id"])

    async def regroup_waiting(self, target: str) -> bool:
        """Whether the cards for a newly bound group are still being posted (the rest waits for them)."""
        return await regroup_pending(self.db, target)

    async def notify_lost_card(self, request_id: Optional[int], consultation_id: Optional[int], chat_id: int,
                               what: str, mark: Optional[int]) -> None:
        """Tell the administrators once that a topic or a card was deleted in a group and is posted again."""
        subject = f"r{request_id}" if request_id is not None else f"c{consultation_id}"
        async with self.db.transaction() as conn:
            await enqueue(conn, [Outgoing(
                Kind.LOST_NOTICE, Target.admins(),
                {"request_id": request_id, "consultation_id": consultation_id, "chat_id": chat_id, "what": what},
                dedupe_key=f"lost:{what}:{subject}:{chat_id}:{mark}")], request_id)

    # ----- staff roles --------------------------------------------------------------------------------------

    async def staff_role(self, chat_id: int, user_id: int) -> Optional[str]:
        row = await self.db.fetchone("SELECT role FROM staff WHERE chat_id = ? AND user_id = ?", (chat_id, user_id))
        return row["role"] if row else None

    async def set_staff_role(self, chat_id: int, user_id: int, role: Optional[str],
                             first_name: Optional[str] = None) -> None:
        await self.db.execute(
            "INSERT INTO staff (chat_id, user_id, role, added_at, first_name) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(chat_id, user_id) DO UPDATE SET role = excluded.role, "
            "first_name = COALESCE(excluded.first_name, first_name), gone_at = NULL",
            (chat_id, user_id, role, utcnow(), first_name),
        )

    async def remember_first_name(self, chat_id: int, user_id: int, first_name: Optional[str]) -> None:
        """The staff member's first name from Telegram, kept when they take a request (shown to colleagues)."""
        if not first_name:
            return
        await self.db.execute(
            "INSERT INTO staff (chat_id, user_id, role, added_at, first_name) VALUES (?, ?, NULL, ?, ?) "
            "ON CONFLICT(chat_id, user_id) DO UPDATE SET first_name = excluded.first_name, gone_at = NULL",
            (chat_id, user_id, utcnow(), first_name),
        )

    async def staff_first_name(self, chat_id: int, user_id: int) -> Optional[str]:
        row = await self.db.fetchone("SELECT first_name FROM staff WHERE chat_id = ? AND user_id = ?",
                                     (chat_id, user_id))
        return row["first_name"] if row else None

    async def staff_with_roles(self, chat_id: int, *, gone: bool = False) -> list[Row]:
        """The group's staff who set a role with /role, in the order they came (rows of `staff`): those not known
        to have left it, or with `gone` those too."""
        return await self.db.fetchall("SELECT * FROM staff WHERE chat_id = ? AND role IS NOT NULL AND role != '' "
                                      "AND (? OR gone_at IS NULL) ORDER BY added_at, user_id", (chat_id, gone))

    async def staff_left(self, chat_id: int, user_id: int) -> None:
        """Telegram says they left the group or were removed from it: their row stays (the history names them),
        but they are no longer offered as a colleague, until they come back or act in the group again."""
        await self.db.execute("UPDATE staff SET gone_at = ? WHERE chat_id = ? AND user_id = ? AND gone_at IS NULL",
                              (self._stamp(), chat_id, user_id))

    async def staff_back(self, chat_id: int, user_id: int) -> None:
        """Telegram says they are in the group again (added back, or their restriction lifted)."""
        await self.db.execute("UPDATE staff SET gone_at = NULL WHERE chat_id = ? AND user_id = ? "
                              "AND gone_at IS NOT NULL", (chat_id, user_id))


async def forget_bind_attempts_in(conn: Connection, user_id: int) -> None:
    """A resident's erasure, in the caller's transaction: their failed /bind attempts stay counted (a group's
    lockout), without their id."""
    await conn.execute("UPDATE bind_attempts SET user_id = NULL WHERE user_id = ?", (user_id,))
