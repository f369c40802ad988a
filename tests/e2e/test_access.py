"""Who may do what: every role against every action, through the real bot (the access matrix).

Roles: a resident on their own request; another resident forging its id; the staff of institution A (members of
A's bound group); the staff of institution B (members of B's bound group, forging A's ids there); an administrator
(ADMIN_ID; not a member of the staff groups); an outsider pressing A's card without being a member (Telegram lets
anyone read a public group, and an old client keeps showing the buttons); a former member removed from A's group
after acting there; a member of a group the bot was added to but which was never bound.

Every cell is either allowed (the effect is visible: the resident gets the answer, the card changes, the database
has it) or refused (a polite alert or message, or silence for a command that has no meaning there; nothing changes
in the database; nobody's data is shown), and never a crash. `pytest -s` prints the matrix.
"""
from __future__ import annotations

import asyncio
import gettext
import inspect
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.campaigns.service import Draft as CampaignDraft
from bot.requests.models import Draft
from bot.runtime.housekeeping import ask_whether_helped
from sandbox.client import message_text
from tests.support.staff import new_group
from tests.support.world import ADMIN_ID, BOT_ID, LOOP, LogRecords, Person, World, settle_calls, wait_confirmed

pytestmark = pytest.mark.asyncio(loop_scope=LOOP)

SECRET = "Таємниця Марії: вул. Садова, 5, код домофона 4471"
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Kyiv")).astimezone(timezone.utc)
ROLES = ("resident", "other resident", "staff A", "staff B", "administrator", "outsider in A's group",
         "ex-member of A's group", "unbound group")
TABLES = ("requests", "request_events", "outbox", "consultations", "consultation_messages", "admins", "bind_codes",
          "campaigns", "catalogue_versions", "catalogue_imports")
_UK = gettext.translation("messages", Path(__file__).resolve().parents[2] / "locales", ["uk"])


def uk(msgid: str) -> str:
    """What a Ukrainian-speaking person reads for an English message id."""
    return _UK.gettext(msgid)


NOT_STAFF = uk("Only members of this group act for the institution.")
OTHER = uk("This request belongs to another institution; this group cannot act on it.")
NOT_BOUND = uk("This group is not bound to an institution. An administrator gives a code: /bind CODE.")
NOT_FOUND = uk("I could not find this request.")
STALE = uk("This button is out of date. Please open the menu again: /menu")
ADMINS_ONLY = uk("This command is for the community's administrators.")
PRIVATE_ONLY = uk("Please use this command in a private chat with the bot.")
FINISHED = uk("This request is already finished.")


@dataclass
class Cast:
    world: World
    a: int
    b: int
    u: int
    staff_a: Person
    staff_b: Person
    unbound: Person
    admin: Person
    owner: Person
    other: Person
    outsider: dict[str, Any]
    former: dict[str, Any]
    consulters: list[Person]
    pool: list[Person]
    current: Optional[Person] = None  # the resident acting in this cell (several share the work: a resident's
    # updates are limited per minute)
    rid: dict[str, int] = field(default_factory=dict)
    cid: dict[str, int] = field(default_factory=dict)
    campaign: int = 0
    tid: int = 0  # the first of A's ready answers
    question: int = 0  # the owner's «Чи отримали ви допомогу?» about request qh, once asked
    reasons: int = 0  # the message with the reasons (then the confirmation) staff A is answering
    colleague: int = 0  # the colleague with a role the request is handed over to
    offered: list[str] = field(default_factory=list)  # the buttons «Передати колезі» offered
    errors: LogRecords = field(default_factory=lambda: LogRecords(logging.ERROR))  # handler failures
    results: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def client(self):
        return self.world.client

    @property
    def services(self):
        return self.world.services


# ----- helpers ---------------------------------------------------------------------------------------------------

async def until(check: Callable[[], Awaitable[Any]], timeout: float = 8.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("waited in vain")
        await asyncio.sleep(0.03)


async def fingerprint(cast: Cast) -> dict[str, Any]:
    """What a refused action must not change."""
    db = cast.services.db
    out: dict[str, Any] = {t: (await db.fetchone(f"SELECT COUNT(*) AS n FROM {t}"))["n"] for t in TABLES}
    for name, sql in (
        ("requests_rows", "SELECT id, status, institution_id, assignee_id, rating, closed_at FROM requests"),
        ("consultations_rows", "SELECT id, status, institution_id, specialist_id, request_id FROM consultations"),
        ("groups_rows", "SELECT chat_id, community, institution_id, active FROM groups"),
        ("staff_rows", "SELECT chat_id, user_id, role FROM staff"),
        ("campaign_rows", "SELECT id, status FROM campaigns"),
        ("codes_rows", "SELECT code, used_at FROM bind_codes"),
    ):
        out[name] = sorted(tuple(row) for row in await db.fetchall(sql))
    out["admins_memory"] = tuple(cast.services.admins.ids)
    return out


async def quiet(cast: Cast, since: int) -> None:
    """The bot has taken every update and made no call for a moment."""
    await wait_confirmed(cast.world.sandbox)
    await settle_calls(cast.client, since, quiet=0.12)


async def call_seq(cast: Cast) -> int:
    return int((await cast.client._get("/sandbox/calls", since=1 << 62))["last_seq"])


async def last_bot_message(cast: Cast, chat_id: int) -> int:
    messages = [m for m in await cast.client.messages(chat_id) if m.get("sender") == "bot" and not m.get("service")]
    return messages[-1]["message_id"]


async def card_of(cast: Cast, rid: int) -> int:
    request = await until(lambda: _delivered(cast, rid))
    return request.card_message_id


async def _delivered(cast: Cast, rid: int):
    request = await cast.services.requests.get(rid)
    return request if request and request.card_message_id else None


async def consult_card(cast: Cast, cid: int) -> int:
    async def ready():
        c = await cast.services.consult.get(cid)
        return c if c and c.card_message_id else None

    return (await until(ready)).card_message_id


def press_without_membership(cast: Cast, user_id: int, chat_id: int, message_id: int, data: str) -> str:
    """A press by someone who is not (or no longer) a member: the sandbox's control API lets only members act,
    so the callback query is made in its core, as Telegram makes it for a reader of a public group."""
    core = cast.world.sandbox.core
    conv = core.group_conversation(chat_id)
    record = conv.messages[message_id]
    return core.press(core.state.bots[BOT_ID], core.user(user_id), conv, record, data).id


async def press(cast: Cast, role: str, data: str, *, card: Optional[int] = None) -> dict[str, Any]:
    """`role` presses a button with `data`: on A's message `card` for those acting in A's group, otherwise on a
    bot message of their own chat (forged data)."""
    client = cast.client
    if role in ("resident", "owner"):
        person = cast.owner if role == "owner" else cast.current
        query = await client.press_data(person.id, await last_bot_message(cast, person.id), data, force=True)
    elif role == "other resident":
        query = await client.press_data(cast.other.id, await last_bot_message(cast, cast.other.id), data, force=True)
    elif role == "staff A":
        query = await client.press_data(cast.staff_a.id, card or await last_bot_message(cast, cast.a), data,
                                        chat_id=cast.a, force=True)
    elif role == "staff B":
        query = await client.press_data(cast.staff_b.id, await last_bot_message(cast, cast.b), data, chat_id=cast.b,
                                        force=True)
    elif role == "unbound group":
        query = await client.press_data(cast.unbound.id, await last_bot_message(cast, cast.u), data, chat_id=cast.u,
                                        force=True)
    elif role == "administrator" and card is None:
        query = await client.press_data(ADMIN_ID, await last_bot_message(cast, ADMIN_ID), data, force=True)
    else:  # the administrator, the outsider and the former member press A's card without being members
        user = {"administrator": ADMIN_ID, "outsider in A's group": cast.outsider["id"],
                "ex-member of A's group": cast.former["id"]}[role]
        query = press_without_membership(cast, user, cast.a, card or await last_bot_message(cast, cast.a), data)
    return await client.callback_answer(query)


def chat_of(cast: Cast, role: str) -> tuple[int, int]:
    """(chat, user) where `role` writes."""
    return {
        "resident": (cast.current.id, cast.current.id),
        "other resident": (cast.other.id, cast.other.id),
        "staff A": (cast.a, cast.staff_a.id),
        "staff B": (cast.b, cast.staff_b.id),
        "unbound group": (cast.u, cast.unbound.id),
        "administrator": (ADMIN_ID, ADMIN_ID),
    }[role]


async def say(cast: Cast, role: str, text: str, *, chat: Optional[int] = None) -> list[str]:
    """`role` sends `text`; returns the texts of what the bot sent to that chat in answer (maybe nothing)."""
    chat_id, user_id = chat_of(cast, role)
    chat_id = chat or chat_id
    since = await call_seq(cast)
    sent = await cast.client.send_text(user_id, text, chat_id=chat_id if chat_id < 0 else None)
    await quiet(cast, since)
    return [message_text(m) for m in await cast.client.messages(chat_id, since_id=sent["message_id"])
            if m.get("sender") == "bot"]


def visible(answer: dict[str, Any]) -> str:
    return str(answer.get("text") or "")


async def refused_press(cast: Cast, role: str, data: str, reason: str, *, card: Optional[int] = None) -> None:
    """Refused: the given polite reason in an alert, nothing new in the chat, nothing changed, nothing leaked."""
    before = await fingerprint(cast)
    since = await call_seq(cast)
    chat_id = chat_of(cast, role)[0] if role in ("resident", "other resident", "staff B", "unbound group") else cast.a
    seen = await cast.client.last_id(chat_id)
    answer = await press(cast, role, data, card=card)
    await quiet(cast, since)
    assert visible(answer) == reason, (visible(answer), reason)
    assert answer.get("show_alert"), "a refusal is an alert the person cannot miss"
    assert SECRET not in str(answer)
    fresh = [m for m in await cast.client.messages(chat_id, since_id=seen) if m.get("sender") == "bot"]
    assert not fresh, [message_text(m) for m in fresh]
    assert await fingerprint(cast) == before


async def refused_command(cast: Cast, role: str, text: str, reason: Optional[str], *,
                          chat: Optional[int] = None) -> str:
    """Refused: `reason` as the answer (None: silence), nothing changed. Returns 'refused' or 'ignored'."""
    before = await fingerprint(cast)
    answers = await say(cast, role, text, chat=chat)
    if reason is None:
        assert answers == [], answers
    else:
        assert answers == [reason], answers
    assert all(SECRET not in a for a in answers)
    assert await fingerprint(cast) == before
    return "refused" if reason else "ignored"


# ----- the world of this module ----------------------------------------------------------------------------------

async def bound_group(world: World, institution: str, title: str, *members: dict[str, Any]) -> tuple[int, Person]:
    client = world.client
    group = await new_group(client, title, forum=True, members=list(members))
    person = Person(client, members[0])
    person.chat_id = group["id"]
    code = await world.services.groups.create_bind_code("lutsk", institution, None)
    [answer] = await person.say(f"/bind {code}")
    assert "Тепер ця група отримує звернення" in message_text(answer)
    return group["id"], person


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def cast(world_once: World):
    world = world_once
    client = world.client
    consult = world.services.consult
    original_clock = consult.clock
    consult.clock = lambda: TUESDAY_10  # within the line's hours, and nothing times out
    limiter = world.services.limiter
    limits = limiter.limits
    limiter.configure(replace(limits, per_group_per_minute=0))  # group A gets far more than 20 messages a minute
    errors = LogRecords(logging.ERROR)  # handler failures (the user got an apology)
    logging.getLogger("bot").addHandler(errors)

    staff_a_user = await client.create_user("Ірина")
    former = await client.create_user("Колишня")
    a, staff_a = await bound_group(world, "tcso", "ТЦСО (A)", staff_a_user, former)
    b, staff_b = await bound_group(world, "dsvp", "Департамент (B)", await client.create_user("Богдана"))
    unbound_user = await client.create_user("Незнайомець")
    group_u = await new_group(client, "Просто група", members=[unbound_user, {"id": ADMIN_ID}])
    unbound = Person(client, unbound_user)
    unbound.chat_id = group_u["id"]
    await unbound.say("/open")  # the bot is there and answers: the group is not bound
    outsider = await client.create_user("Сторонній")
    admin = Person(client, {"id": ADMIN_ID, "first_name": "Адміністраторка"})

    owner = await world.resident("lutsk", name="Марія")
    other = await world.resident("lutsk", name="Чужий")
    consulters = [await world.resident("lutsk", name=f"Консультація {n}") for n in (1, 2, 3)]
    pool = [await world.resident("lutsk", name=f"Мешканка {n}") for n in range(4)]
    cast = Cast(world, a, b, group_u["id"], staff_a, staff_b, unbound, admin, owner, other, outsider, former,
                consulters, pool, errors=errors)

    requests = world.services.requests
    for key in ("qa", "qr", "qw", "qh"):
        request = await requests.create(Draft(community="lutsk", resident_id=owner.id, situation_id="older_care",
                                              for_whom="self", description=f"{SECRET} ({key})"))
        cast.rid[key] = request.id
    for key, person in zip(("k1", "k2", "k3"), consulters):
        cast.cid[key] = (await consult.start(person.id, "lutsk", "psychological", f"{SECRET} ({key})")).id
    world.services.wake_outbox()
    for rid in cast.rid.values():
        await card_of(cast, rid)
    for cid in cast.cid.values():
        await consult_card(cast, cid)
    campaign = await world.services.campaigns.create(
        CampaignDraft(topic="events", text="День громади"), ADMIN_ID, datetime.now(timezone.utc) + timedelta(days=60))
    cast.campaign = campaign.id
    cast.tid = (await world.services.templates.of("lutsk", "tcso"))[0].id  # the shipped ones, copied for A
    # the former member acted in the group (the bot trusts its "member" answer for a while), then was removed
    await client.send_text(former, "/role соціальна працівниця", chat_id=a)
    await until(lambda: _cached(cast, a, former["id"], True))
    await client.add_member(a, former, status="kicked")
    try:
        await until(lambda: _cached(cast, a, former["id"], False), timeout=3)
    except AssertionError:
        pass  # the cells below show what this means
    await owner.say("/menu")
    await other.say("/menu")
    await admin.say("/menu")

    yield cast

    for cid in cast.cid.values():  # nothing of this module stays in a line's queue for the tests after it
        left = await consult.get(cid)
        if left is not None and left.open and left.resident_id is not None:
            await consult.end_by_resident(left.resident_id)
    world.services.wake_outbox()
    consult.clock = original_clock
    limiter.configure(limits)
    logging.getLogger("bot").removeHandler(errors)
    print_matrix(cast.results)


async def _cached(cast: Cast, chat_id: int, user_id: int, present: bool) -> bool:
    return ((chat_id, user_id) in cast.services.members_until) == present


def print_matrix(results: dict[tuple[str, str], str]) -> None:
    actions = list(dict.fromkeys(action for action, _ in results))
    short = {"resident": "resident", "other resident": "other res.", "staff A": "staff A", "staff B": "staff B",
             "administrator": "admin", "outsider in A's group": "outsider", "ex-member of A's group": "ex-member",
             "unbound group": "unbound grp"}
    width = max(len(a) for a in actions) + 2
    lines = ["", "Access matrix (action × role)", " " * width + " ".join(f"{short[r]:<11}" for r in ROLES)]
    for action in actions:
        lines.append(f"{action:<{width}}" + " ".join(f"{results.get((action, r), '—'):<11}" for r in ROLES))
    print("\n".join(lines))


# ----- the cells -------------------------------------------------------------------------------------------------

Cell = tuple[str, str, Callable[[Cast], Awaitable[Optional[str]]]]
CELLS: list[Cell] = []


def cell(action: str, *roles: str):
    def register(check: Callable[..., Awaitable[Optional[str]]]):
        for role in roles:
            CELLS.append((action, role, lambda cast, role=role: check(cast, role)))
        return check

    return register


def refuse(action: str, data: Callable[[Cast], Any], reasons: dict[str, str], card: Optional[str] = None) -> None:
    """Cells where each role in `reasons` presses `data` (a string, or an awaitable of one) and gets that
    refusal."""
    for role, reason in reasons.items():
        async def check(cast: Cast, role: str = role, reason: str = reason) -> str:
            where = None
            if card is not None and role in ("staff A", "administrator", "outsider in A's group",
                                             "ex-member of A's group"):
                key = card
                where = await (card_of(cast, cast.rid[key]) if key.startswith("q") else
                               consult_card(cast, cast.cid[key]))
            value = data(cast)
            await refused_press(cast, role, await value if inspect.isawaitable(value) else value, reason, card=where)
            return "refused"

        CELLS.append((action, role, check))


# --- the resident's own requests; the same ids forged by another resident ---

@cell("open a request and its history", "resident")
async def open_own(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qa"])
    [listing] = await cast.owner.say("📂 Мої звернення")
    assert request.public_id in message_text(listing)
    [history] = await cast.owner.tap(next(b["text"] for row in listing["reply_markup"]["inline_keyboard"]
                                          for b in row if request.public_id in b["text"]), new=1)
    assert uk("Request No. {number}").format(number=request.public_id) in message_text(history)
    assert uk("Request sent") in message_text(history)
    return "allowed"


@cell("list «My requests»", "other resident")
async def list_other(cast: Cast, role: str) -> str:
    [listing] = await cast.other.say("📂 Мої звернення")
    for rid in cast.rid.values():
        assert (await cast.services.requests.get(rid)).public_id not in message_text(listing)
    assert SECRET not in str(listing)
    return "own only"


refuse("open a request and its history", lambda c: f"r:open:{c.rid['qa']}:", {"other resident": NOT_FOUND})
refuse("add a message", lambda c: f"r:write:{c.rid['qa']}:", {"other resident": NOT_FOUND})
refuse("withdraw", lambda c: f"r:withdraw:{c.rid['qa']}:", {"other resident": NOT_FOUND})
refuse("withdraw (confirm)", lambda c: f"r:withdraw_yes:{c.rid['qa']}:", {"other resident": NOT_FOUND})
refuse("rate", lambda c: f"r:rate:{c.rid['qa']}:1", {"other resident": NOT_FOUND})


@cell("add a message", "resident")
async def write_own(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qa"])
    await cast.owner.tap(uk("✍️ Add a message or a file"), new=1)
    seen = await cast.client.last_id(cast.a)
    [sent] = await cast.owner.say("Ще одна довідка від лікаря")
    assert "Надіслано фахівцю" in message_text(sent)
    got = await cast.client.wait_bot_messages(cast.a, seen, 1, timeout=8, thread_id=request.thread_id)
    assert "Ще одна довідка від лікаря" in message_text(got[0])
    return "allowed"


@cell("withdraw (confirm)", "resident")
async def withdraw_own(cast: Cast, role: str) -> str:
    answer = await press(cast, "owner", f"r:withdraw_yes:{cast.rid['qw']}:")
    assert not answer.get("show_alert")
    await until(lambda: _status(cast, "qw", "withdrawn"))
    return "allowed"


async def _status(cast: Cast, key: str, status: str) -> bool:
    return (await cast.services.requests.get(cast.rid[key])).status.value == status


# --- the staff card of a request in A's group ---

CARD_REFUSALS = {"resident": STALE, "staff B": OTHER, "administrator": NOT_STAFF, "outsider in A's group": NOT_STAFF,
                 "ex-member of A's group": NOT_STAFF, "unbound group": NOT_BOUND}
for _action, _data in (("take", "take"), ("answer", "reply"), ("internal note", "note"), ("redirect", "redirect"),
                       ("redirect: choose the institution", "to"), ("resolve", "resolve"), ("close", "close"),
                       ("back to work", "reopen")):
    refuse(_action, lambda c, d=_data: f"s:{d}:{c.rid['qa']}:{'dsvp' if d == 'to' else ''}", CARD_REFUSALS, card="qa")


async def version_of(cast: Cast, key: str) -> str:
    return (await cast.services.requests.get(cast.rid[key])).version


# the staff desk's buttons, forged with the request's current state (as a real button carries it)
for _action, _data in (("resolve/close: a reason", "why"), ("resolve/close: confirm («Так»)", "fin")):
    async def _reason_data(c: Cast, d: str = _data) -> str:
        return f"s:{d}:{c.rid['qa']}:r.helped.{await version_of(c, 'qa')}"

    refuse(_action, _reason_data, CARD_REFUSALS, card="qa")
refuse("hand over to a colleague", lambda c: f"s:handover:{c.rid['qa']}:", CARD_REFUSALS, card="qa")
refuse("hand over: the colleague chosen", lambda c: f"s:hand_to:{c.rid['qa']}:{c.staff_a.id}", CARD_REFUSALS,
       card="qa")


async def staff_a_press(cast: Cast, data: str) -> dict[str, Any]:
    return await press(cast, "staff A", data, card=await card_of(cast, cast.rid["qa"]))


@cell("take", "staff A")
async def take(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qa"])
    seen = await cast.client.last_id(cast.owner.id)
    answer = await staff_a_press(cast, f"s:take:{request.id}:")
    assert visible(answer) == uk("You took request No. {number}.").format(number=request.public_id)
    [told] = await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
    assert "взяв ваше звернення" in message_text(told)
    assert (await cast.services.requests.get(request.id)).assignee_id == cast.staff_a.id
    return "allowed"


async def staff_a_writes(cast: Cast, data: str, text: str, thread: Optional[int]) -> str:
    seen = await cast.client.last_id(cast.a)
    await staff_a_press(cast, data)
    await cast.client.wait_bot_messages(cast.a, seen, 1, timeout=8)  # the prompt
    sent = await cast.client.send_text(cast.staff_a.user, text, chat_id=cast.a, thread_id=thread)
    [done] = await cast.client.wait_bot_messages(cast.a, sent["message_id"], 1, timeout=8)
    return message_text(done)


@cell("answer", "staff A")
async def answer(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qa"])
    seen = await cast.client.last_id(cast.owner.id)
    done = await staff_a_writes(cast, f"s:reply:{request.id}:", "Прийдемо у вівторок о 10:00", request.thread_id)
    assert uk("Sent to the resident.") in done
    [got] = await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
    assert "Прийдемо у вівторок о 10:00" in message_text(got)
    return "allowed"


@cell("internal note", "staff A")
async def note(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qa"])
    seen = await cast.client.last_id(cast.owner.id)
    since = await call_seq(cast)
    done = await staff_a_writes(cast, f"s:note:{request.id}:", "Зателефонувати доньці", request.thread_id)
    assert uk("Note saved. The resident does not see it.") in done
    await quiet(cast, since)
    assert await cast.client.messages(cast.owner.id, since_id=seen) == []
    events = await cast.services.requests.history(request.id, public_only=False)
    assert events[-1].kind == "note" and not events[-1].public
    return "allowed"


async def colleague_with_role(cast: Cast) -> Person:
    """A colleague in A's group who set a role (only those are offered to hand over to)."""
    user = await cast.client.create_user("Тарас")
    await cast.client.add_member(cast.a, user)
    colleague = Person(cast.client, user)
    colleague.chat_id = cast.a
    [said] = await colleague.say("/role психолог")
    assert "психолог" in message_text(said)
    return colleague


@cell("hand over to a colleague", "staff A")
async def hand_over(cast: Cast, role: str) -> str:
    colleague = await colleague_with_role(cast)
    seen = await cast.client.last_id(cast.a)
    await staff_a_press(cast, f"s:handover:{cast.rid['qa']}:")
    [offer] = await cast.client.wait_bot_messages(cast.a, seen, 1, timeout=8)
    cast.reasons = offer["message_id"]
    offered = [b["callback_data"] for row in offer["reply_markup"]["inline_keyboard"] for b in row]
    assert f"s:hand_to:{cast.rid['qa']}:{colleague.id}" in offered
    assert f"s:hand_to:{cast.rid['qa']}:{cast.staff_a.id}" not in offered  # not the one who has it
    cast.offered = offered
    cast.colleague = colleague.id
    assert (await cast.services.requests.get(cast.rid["qa"])).assignee_id == cast.staff_a.id  # nothing yet
    return "allowed"


@cell("hand over: the colleague chosen", "staff A")
async def hand_to(cast: Cast, role: str) -> str:
    """Only a member with a role can be chosen (a forged id of an outsider is refused); then the colleague."""
    await refused_press(cast, role, f"s:hand_to:{cast.rid['qa']}:{cast.outsider['id']}",
                        uk("This colleague cannot be chosen here. Press «Hand over to a colleague» on the card "
                           "again."), card=cast.reasons)
    # someone who set a role and was removed from the group since
    await refused_press(cast, role, f"s:hand_to:{cast.rid['qa']}:{cast.former['id']}",
                        uk("This colleague is no longer a member of the group."), card=cast.reasons)
    answer = await press(cast, role, f"s:hand_to:{cast.rid['qa']}:{cast.colleague}", card=cast.reasons)
    assert "психолог Тарас" in visible(answer)
    assert (await cast.services.requests.get(cast.rid["qa"])).assignee_id == cast.colleague
    return "allowed"


@cell("resolve", "staff A")
async def resolve(cast: Cast, role: str) -> str:
    """A reason is asked first, about a colleague's request: nothing changes yet."""
    seen = await cast.client.last_id(cast.a)
    await staff_a_press(cast, f"s:resolve:{cast.rid['qa']}:")
    [reasons] = await cast.client.wait_bot_messages(cast.a, seen, 1, timeout=8)
    assert "Тарас" in message_text(reasons), message_text(reasons)  # whose request it is
    cast.reasons = reasons["message_id"]
    assert await _status(cast, "qa", "in_progress")
    return "allowed"


@cell("resolve/close: a reason", "staff A")
async def resolve_reason(cast: Cast, role: str) -> str:
    """«Допомогли»: the confirmation shows what the resident will read; still nothing changes."""
    await press(cast, role, f"s:why:{cast.rid['qa']}:r.helped.{await version_of(cast, 'qa')}", card=cast.reasons)
    confirmation = next(m for m in await cast.client.messages(cast.a) if m["message_id"] == cast.reasons)
    assert uk("✅ Yes, resolved") in [b["text"] for row in confirmation["reply_markup"]["inline_keyboard"]
                                     for b in row]
    assert await _status(cast, "qa", "in_progress")
    return "allowed"


@cell("resolve/close: confirm («Так»)", "staff A")
async def resolve_confirm(cast: Cast, role: str) -> str:
    seen = await cast.client.last_id(cast.owner.id)
    answer = await press(cast, role, f"s:fin:{cast.rid['qa']}:r.helped.{await version_of(cast, 'qa')}",
                         card=cast.reasons)
    assert visible(answer) == uk("Done. The resident is told.")
    [told] = await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
    assert "вирішене" in message_text(told)
    assert await _status(cast, "qa", "resolved")
    return "allowed"


@cell("back to work", "staff A")
async def reopen(cast: Cast, role: str) -> str:
    seen = await cast.client.last_id(cast.owner.id)
    answer = await staff_a_press(cast, f"s:reopen:{cast.rid['qa']}:")
    assert visible(answer) == uk("The request is back in work.")
    await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
    assert await _status(cast, "qa", "in_progress")
    return "allowed"


@cell("close", "staff A")
async def close(cast: Cast, role: str) -> str:
    seen = await cast.client.last_id(cast.owner.id)
    await staff_a_press(cast, f"s:close:{cast.rid['qa']}:")  # a reason is asked first
    request = await cast.services.requests.get(cast.rid["qa"])
    await staff_a_press(cast, f"s:fin:{request.id}:c.helped.{request.version}")  # «Допомогли», then «Так»
    [told] = await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
    cast.owner._absorb([told])
    assert await _status(cast, "qa", "closed")
    return "allowed"


@cell("rate", "resident")
async def rate_own(cast: Cast, role: str) -> str:
    await cast.owner.tap("5", new=1)
    assert (await cast.services.requests.get(cast.rid["qa"])).rating == 5
    return "allowed"


@cell("redirect", "staff A")
async def redirect(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qr"])
    card = await card_of(cast, request.id)
    seen_b = await cast.client.last_id(cast.b)
    seen_a = await cast.client.last_id(cast.a)
    await press(cast, "staff A", f"s:redirect:{request.id}:", card=card)
    [choices] = await cast.client.wait_bot_messages(cast.a, seen_a, 1, timeout=8)
    await press(cast, "staff A", f"s:to:{request.id}:dsvp", card=choices["message_id"])
    sent = await cast.client.send_text(cast.staff_a.user, "Це питання пільг", chat_id=cast.a,
                                       thread_id=request.thread_id)
    [done] = await cast.client.wait_bot_messages(cast.a, sent["message_id"], 1, timeout=8)
    assert "↪️" in message_text(done)
    [moved] = await cast.client.wait_bot_messages(cast.b, seen_b, 1, timeout=8)
    assert request.public_id in message_text(moved)
    assert (await cast.services.requests.get(request.id)).institution_id == "dsvp"
    return "allowed"


refuse("take a request redirected to B", lambda c: f"s:take:{c.rid['qr']}:", {"staff A": OTHER}, card="qa")


@cell("take a request redirected to B", "staff B")
async def take_redirected(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qr"])
    card = await card_of(cast, request.id)
    query = await cast.client.press_data(cast.staff_b.id, card, f"s:take:{request.id}:", chat_id=cast.b)
    answer = await cast.client.callback_answer(query)
    assert visible(answer) == uk("You took request No. {number}.").format(number=request.public_id)
    return "allowed"


# --- the open list and the role in a group ---

@cell("/open (the open requests)", "staff A", "staff B", "unbound group")
async def open_list(cast: Cast, role: str) -> str:
    numbers = [(await cast.services.requests.get(rid)).public_id for rid in cast.rid.values()]
    if role == "unbound group":
        return await refused_command(cast, role, "/open", NOT_BOUND)
    [text] = await say(cast, role, "/open")
    assert SECRET not in text
    if role == "staff A":
        return "allowed"
    assert not any(n in text for n in numbers if n != numbers[1])  # B sees only what was redirected to B
    return "own inst."


@cell("/role (signature)", "staff A", "unbound group")
async def role_command(cast: Cast, role: str) -> str:
    if role == "unbound group":
        return await refused_command(cast, role, "/role психолог", NOT_BOUND)
    [text] = await say(cast, role, "/role соціальний працівник")
    assert "соціальний працівник" in text
    return "allowed"


# --- consultations in A's group ---

CONSULT_REFUSALS = {"resident": STALE, "staff B": OTHER, "administrator": NOT_STAFF,
                    "outsider in A's group": NOT_STAFF, "ex-member of A's group": NOT_STAFF,
                    "unbound group": NOT_BOUND}
for _action, _data in (("consultation: take", "take"), ("consultation: note", "note"),
                       ("consultation: transfer", "transfer"), ("consultation: transfer to B", "to_inst"),
                       ("consultation: into a request", "convert"), ("consultation: end", "end")):
    refuse(_action, lambda c, d=_data: f"k:{d}:{c.cid['k3']}:{'dsvp' if d == 'to_inst' else ''}", CONSULT_REFUSALS,
           card="k3")


@cell("/queue (consultations)", "staff A", "staff B", "unbound group")
async def queue(cast: Cast, role: str) -> str:
    if role == "unbound group":
        return await refused_command(cast, role, "/queue", NOT_BOUND)
    [text] = await say(cast, role, "/queue")
    mine = [f"💬 {cid} ·" in text for cid in cast.cid.values()]
    assert SECRET not in text
    if role == "staff A":
        assert all(mine), text
        return "allowed"
    assert not any(mine), text
    return "own inst."


async def consult_press(cast: Cast, key: str, action: str, arg: str = "") -> dict[str, Any]:
    cid = cast.cid[key]
    return await press(cast, "staff A", f"k:{action}:{cid}:{arg}", card=await consult_card(cast, cid))


@cell("consultation: take", "staff A")
async def consult_take(cast: Cast, role: str) -> str:
    person = cast.consulters[0]
    seen = await cast.client.last_id(person.id)
    answer = await consult_press(cast, "k1", "take")
    assert visible(answer) == uk("It is yours. Write in this topic: the resident gets your messages.")
    [joined] = await cast.client.wait_bot_messages(person.id, seen, 1, timeout=8)
    assert "приєднався фахівець" in message_text(joined)
    return "allowed"


@cell("consultation: note", "staff A")
async def consult_note(cast: Cast, role: str) -> str:
    c = await cast.services.consult.get(cast.cid["k1"])
    seen = await cast.client.last_id(cast.a)
    await consult_press(cast, "k1", "note")
    await cast.client.wait_bot_messages(cast.a, seen, 1, timeout=8)
    sent = await cast.client.send_text(cast.staff_a.user, "Порадити групу підтримки", chat_id=cast.a,
                                       thread_id=c.thread_id)
    [done] = await cast.client.wait_bot_messages(cast.a, sent["message_id"], 1, timeout=8)
    assert uk("Note saved. The resident does not see it.") in message_text(done)
    transcript = await cast.services.consult.transcript(c.id, public_only=False)
    assert transcript[-1].kind == "note" and not transcript[-1].public
    return "allowed"


@cell("consultation: into a request", "staff A")
async def consult_convert(cast: Cast, role: str) -> str:
    person = cast.consulters[0]
    answer = await consult_press(cast, "k1", "convert")
    [request] = await cast.services.requests.for_resident(person.id)
    assert visible(answer) == uk("Request No. {number} is created with the transcript.").format(
        number=request.public_id)
    assert (await cast.services.consult.get(cast.cid["k1"])).status == "converted"
    return "allowed"


@cell("consultation: into a request, pressed again", "staff A")
async def consult_convert_again(cast: Cast, role: str) -> str:
    """A second press (a stale card, a double tap) must not make another request."""
    await refused_press(cast, "staff A", f"k:convert:{cast.cid['k1']}:", uk("This consultation is already ended."),
                        card=await consult_card(cast, cast.cid["k1"]))
    assert len(await cast.services.requests.for_resident(cast.consulters[0].id)) == 1
    return "refused"


@cell("consultation: transfer to B", "staff A")
async def consult_transfer(cast: Cast, role: str) -> str:
    seen_a, seen_b = await cast.client.last_id(cast.a), await cast.client.last_id(cast.b)
    await consult_press(cast, "k2", "transfer")
    [choices] = await cast.client.wait_bot_messages(cast.a, seen_a, 1, timeout=8)
    assert message_text(choices) == uk("Where should the consultation go?")
    answer = await press(cast, "staff A", f"k:to_inst:{cast.cid['k2']}:dsvp", card=choices["message_id"])
    assert visible(answer) == uk("Transferred. The resident is told.")
    await cast.client.wait_bot_messages(cast.b, seen_b, 1, timeout=8)
    assert (await cast.services.consult.get(cast.cid["k2"])).institution_id == "dsvp"
    return "allowed"


@cell("consultation: end", "staff A")
async def consult_end(cast: Cast, role: str) -> str:
    answer = await consult_press(cast, "k3", "end")
    assert visible(answer) == uk("Ended. The resident is asked to rate it.")
    assert (await cast.services.consult.get(cast.cid["k3"])).status == "ended"
    return "allowed"


# --- administrators' commands ---

ADMIN_COMMANDS = ("/bind_code lutsk tcso", "/campaign", "/campaigns", "/admin_add 700000123", "/admins", "/stats",
                  "/export", "/qr", "/reload_data", "/catalogue", "/catalogue_undo", "/catalogue_history")
# in a group: commands of the private chat are not heard there; the others say they are for administrators
IN_GROUP = {"/bind_code lutsk tcso": ADMINS_ONLY, "/stats": ADMINS_ONLY, "/export": ADMINS_ONLY}


def admin_command_cells() -> None:
    for command in ADMIN_COMMANDS:
        name = command.split()[0]
        for role in ("resident", "staff A", "unbound group"):
            reason = ADMINS_ONLY if role == "resident" else IN_GROUP.get(command)

            async def check(cast: Cast, role: str = role, command: str = command, reason: Optional[str] = reason):
                return await refused_command(cast, role, command, reason)

            CELLS.append((name, role, check))

        async def allowed(cast: Cast, command: str = command) -> str:
            sent = await cast.client.send_text(ADMIN_ID, command)
            [answer] = await cast.client.wait_bot_messages(ADMIN_ID, sent["message_id"], 1, timeout=15)
            cast.admin._absorb([answer])
            text = message_text(answer)
            marks = {"/bind_code": "/bind ", "/campaign": "📣", "/campaigns": f"№{cast.campaign}",
                     "/admin_add": "700000123", "/admins": str(ADMIN_ID), "/stats": "📊", "/export": "📥",
                     "/qr": "🔳", "/reload_data": "✅", "/catalogue": "📒", "/catalogue_undo": "📒",
                     "/catalogue_history": "📒"}
            assert marks[command.split()[0]] in text, text
            if command == "/campaign":
                await cast.admin.tap(uk("✖️ Stop composing"))
            if command.startswith("/admin_add"):
                assert cast.services.admins.is_admin(700000123)
                await cast.services.admins.remove(700000123)
            return "allowed"

        CELLS.append((name, "administrator", allowed))


admin_command_cells()


@cell("/bind_code in a group", "administrator")
async def bind_code_in_group(cast: Cast, role: str) -> str:
    """The code binds any group to the institution: it is never shown where others read it."""
    return await refused_command(cast, role, "/bind_code lutsk tcso", PRIVATE_ONLY, chat=cast.u)


# --- campaign control buttons ---

for _action in ("pause", "resume", "cancel"):
    refuse(f"campaign: {_action}", lambda c, a=_action: f"cmp:{a}:{c.campaign}",
           {"resident": ADMINS_ONLY, "staff A": STALE, "unbound group": STALE})


@cell("campaign: cancel", "administrator")
async def campaign_cancel(cast: Cast, role: str) -> str:
    await press(cast, "administrator", f"cmp:cancel:{cast.campaign}")
    assert (await cast.services.campaigns.get(cast.campaign)).status == "cancelled"
    return "allowed"


# --- the catalogue's buttons: an import is applied only by its author, on its own message ---

for _action, _data in (("apply", "cat:apply:lutsk:forged-token"), ("undo", "cat:back:lutsk:1")):
    refuse(f"catalogue: {_action}", lambda c, d=_data: d,
           {"resident": ADMINS_ONLY, "staff A": STALE, "unbound group": STALE})


@cell("catalogue: apply", "administrator")
async def catalogue_apply_forged(cast: Cast, role: str) -> str:
    """No import with that token was checked for anyone: nothing to apply."""
    await refused_press(cast, role, "cat:apply:lutsk:forged-token",
                        uk("This import is out of date. Send the file again."))
    return "refused"


# --- ready answers: /templates and its buttons, the ones «💬 Відповісти» offers ---

TEMPLATE_GONE = uk("This ready answer is no longer there. The current ones: /templates")
TEMPLATE_REFUSALS = {"resident": STALE, "staff B": TEMPLATE_GONE, "administrator": NOT_STAFF,
                     "outsider in A's group": NOT_STAFF, "ex-member of A's group": NOT_STAFF,
                     "unbound group": NOT_BOUND}
for _action, _data in (("ready answer: offered one chosen", "use"), ("ready answer: «Надіслати як є»", "send"),
                       ("/templates: ✏️ change", "edit"), ("/templates: 🗑 remove", "remove"),
                       ("/templates: 🗑 remove (confirm)", "drop")):
    refuse(_action, lambda c, d=_data: f"st:{d}:{c.tid}:{c.rid['qh'] if d in ('use', 'send') else 0}",
           TEMPLATE_REFUSALS, card="qh")
refuse("/templates: ➕ add", lambda c: "st:add:0:0", {"resident": STALE, "administrator": NOT_STAFF,
                                                      "outsider in A's group": NOT_STAFF, "unbound group": NOT_BOUND},
       card="qh")


@cell("/templates", "staff A", "staff B", "unbound group")
async def templates_command(cast: Cast, role: str) -> str:
    if role == "unbound group":
        return await refused_command(cast, role, "/templates", NOT_BOUND)
    texts = await say(cast, role, "/templates")
    assert uk("Ready answers of the group: {n}").format(n="")[:-1] in texts[0], texts
    assert SECRET not in " ".join(texts)
    return "allowed" if role == "staff A" else "own inst."


@cell("/templates", "resident")
async def templates_private(cast: Cast, role: str) -> str:
    """A staff command in a private chat: not for residents, nothing of any group shown."""
    before = await fingerprint(cast)
    answers = await say(cast, role, "/templates")
    template = await cast.services.templates.get("lutsk", "tcso", cast.tid)
    assert template.text not in " ".join(answers), answers
    assert await fingerprint(cast) == before
    return "ignored" if not answers else "refused"


@cell("ready answer: offered one chosen", "staff A")
async def template_use(cast: Cast, role: str) -> str:
    request = await cast.services.requests.get(cast.rid["qh"])
    seen = await cast.client.last_id(cast.a)
    await press(cast, role, f"s:reply:{request.id}:", card=await card_of(cast, request.id))
    [offer] = await cast.client.wait_bot_messages(cast.a, seen, 1, timeout=8)
    data = f"st:use:{cast.tid}:{request.id}"
    assert data in [b["callback_data"] for row in offer["reply_markup"]["inline_keyboard"] for b in row]
    await press(cast, role, data, card=offer["message_id"])
    [shown] = await cast.client.wait_bot_messages(cast.a, offer["message_id"], 1, timeout=8)
    cast.reasons = shown["message_id"]
    assert uk("✅ Send as is") in [b["text"] for row in shown["reply_markup"]["inline_keyboard"] for b in row]
    return "allowed"


@cell("ready answer: «Надіслати як є»", "staff A")
async def template_send(cast: Cast, role: str) -> str:
    template = await cast.services.templates.get("lutsk", "tcso", cast.tid)
    seen = await cast.client.last_id(cast.owner.id)
    await press(cast, role, f"st:send:{cast.tid}:{cast.rid['qh']}", card=cast.reasons)
    [got] = await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
    cast.owner._absorb([got])
    assert template.text in message_text(got)
    return "allowed"


@cell("/templates: 🗑 remove (confirm)", "staff A")
async def template_drop(cast: Cast, role: str) -> str:
    before = len(await cast.services.templates.of("lutsk", "tcso"))
    last = (await cast.services.templates.of("lutsk", "tcso"))[-1]
    answer = await press(cast, role, f"st:drop:{last.id}:0")
    assert visible(answer) == uk("Removed.")
    assert len(await cast.services.templates.of("lutsk", "tcso")) == before - 1
    return "allowed"


# --- «Чи отримали ви допомогу?»: only the resident it was asked, once ---

async def help_question(cast: Cast) -> int:
    """Request qh answered and resolved (on a requests' clock a month ahead, so that no request of another test
    module is due), then asked three days later; returns the question's id."""
    if cast.question:
        return cast.question
    requests = cast.services.requests
    original = requests.clock
    later = datetime.now(timezone.utc) + timedelta(days=30)
    rid = cast.rid["qh"]
    seen = await cast.client.last_id(cast.owner.id)
    try:
        requests.clock = lambda: later
        await requests.finish(cast.a, rid, cast.staff_a.id, "соціальна працівниця", True)
        requests.clock = lambda: later + timedelta(days=3, minutes=1)
        assert await ask_whether_helped(cast.services) == 1
    finally:
        requests.clock = original
    cast.services.wake_outbox()
    for _ in range(3):  # resolved, then the question
        got = await cast.client.wait_bot_messages(cast.owner.id, seen, 1, timeout=8)
        seen = got[-1]["message_id"]
        cast.owner._absorb(got)
        if "Чи отримали ви допомогу?" in message_text(got[-1]):
            break
    row = await cast.services.db.fetchone("SELECT id FROM request_confirmations WHERE request_id = ?", (rid,))
    cast.question = int(row["id"])
    await quiet(cast, await call_seq(cast))
    return cast.question


async def _help_data(c: Cast) -> str:
    return f"hc:{await help_question(c)}:no"


refuse("«Чи отримали ви допомогу?» answers", _help_data,
       {"other resident": uk("This button is out of date."), "staff A": STALE, "unbound group": STALE})


@cell("«Чи отримали ви допомогу?» answers", "resident")
async def help_came(cast: Cast, role: str) -> str:
    question = await help_question(cast)
    answer = await press(cast, "owner", f"hc:{question}:yes")
    assert not answer.get("show_alert")
    await until(lambda: cast.services.db.fetchone("SELECT 1 FROM request_confirmations WHERE id = ? AND "
                                                  "answer = 'yes'", (question,)))
    assert await _status(cast, "qh", "resolved")  # «Так» reopens nothing
    await until(lambda: _absorbed(cast))
    return "allowed"


async def _absorbed(cast: Cast) -> bool:
    await cast.owner.refresh()
    return "Раді, що допомога надійшла" in message_text(cast.owner.last or {})


@cell("«Чи отримали ви допомогу?» answered again", "resident")
async def help_came_again(cast: Cast, role: str) -> str:
    await refused_press(cast, "owner", f"hc:{cast.question}:no", uk("Your answer is already saved. Thank you!"))
    assert await _status(cast, "qh", "resolved")
    return "refused"


# --- the consultation line: booking by day, the call back ---

@cell("booking: another day (◀ ▶)", "resident")
async def booking_day(cast: Cast, role: str) -> str:
    person = cast.current
    seen = await cast.client.last_id(person.id)
    bookings = (await cast.services.db.fetchone("SELECT COUNT(*) AS n FROM bookings"))["n"]
    await press(cast, role, "c:book:psychological")
    [first] = await cast.client.wait_bot_messages(person.id, seen, 1, timeout=8)
    nxt = next(b["callback_data"] for row in first["reply_markup"]["inline_keyboard"] for b in row
               if b["callback_data"].startswith("c:day:") and b["text"].endswith("▶️"))
    rev = (await cast.client.chat(person.id))["rev"]
    await cast.client.callback_answer(await cast.client.press_data(person.id, first["message_id"], nxt, force=True))
    changed = await cast.client.wait(person.id, first["message_id"], 1, 8, since_rev=rev)
    [day] = [m for m in changed["edited"] if m["message_id"] == first["message_id"]]
    assert message_text(day) != message_text(first)
    assert (await cast.services.db.fetchone("SELECT COUNT(*) AS n FROM bookings"))["n"] == bookings
    await person.say("/menu")
    return "allowed"


refuse("booking: another day (◀ ▶)", lambda c: "c:day:psychological.20261203", {"staff A": STALE,
                                                                                "unbound group": STALE})
refuse("call back (after a consultation)", lambda c: f"c:callback:{c.cid['k3']}",
       {"other resident": uk("This button is out of date."), "staff A": STALE, "unbound group": STALE})
refuse("call back for a topic (forged, no consent given)", lambda c: "c:callback_new:psychological",
       {"resident": uk("This button is out of date."), "staff A": STALE})


# --- binding a group ---

@cell("/bind with a wrong code", "unbound group")
async def bind_wrong(cast: Cast, role: str) -> str:
    return await refused_command(cast, role, "/bind 0BADC0DE",
                                 uk("This code is not known. Ask the administrator for a new one."))


USED_CODES: dict[str, str] = {}  # the bot keeps only a code's hash: the cell that used one remembers it


@cell("/bind with a valid code", "unbound group", "staff B")
async def bind_valid(cast: Cast, role: str) -> str:
    codes = cast.services.groups
    if role == "staff B":  # the code was used in the unbound group just before: B stays B's
        return await refused_command(cast, role, f"/bind {USED_CODES['unbound group']}",
                                     uk("This code was already used. Ask the administrator for a new one."))
    code = USED_CODES[role] = await codes.create_bind_code("lutsk", "ngo-utog", ADMIN_ID)
    [text] = await say(cast, role, f"/bind {code}")
    assert "Тепер ця група отримує звернення" in text
    group = await codes.group(cast.u)
    assert group is not None and group.institution_id == "ngo-utog" and group.active
    return "allowed"


@pytest.mark.parametrize("entry", CELLS, ids=[f"{role} · {action}" for action, role, _ in CELLS])
async def test_access(world: World, cast: Cast, entry: Cell) -> None:
    action, role, check = entry
    cast.current = cast.pool[CELLS.index(entry) // 6 % len(cast.pool)]
    failed_before = len(cast.errors.records)
    cast.results[(action, role)] = "FAILED"
    outcome = await check(cast)
    assert len(cast.errors.records) == failed_before, [r.getMessage() for r in cast.errors.records[failed_before:]]
    cast.results[(action, role)] = outcome


async def test_a_removed_member_is_not_offered_to_hand_over_to(world: World, cast: Cast) -> None:
    assert cast.offered, "the hand-over cell ran"
    assert f"s:hand_to:{cast.rid['qa']}:{cast.former['id']}" not in cast.offered
