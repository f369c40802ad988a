"""Red team: what an outsider can do with a Telegram account, driven through the sandbox against the real bot.

Forged buttons (call-back requests without consent or outside their state, ratings pressed twice, slots and
topics made up, a resident pressing staff buttons), floods from one account (requests, follow-ups, bookings past
their daily caps, a word of danger at the cap), brute-force binding codes, the binding code in the shared
administrators' chat, administrators added and removed, a restricted person who left a staff group, names and
numbers that hide or reorder text. Every attack is refused politely and changes nothing that it should not.

The caps are made small here and counted on a clock this module moves (never the wall clock).
"""
from __future__ import annotations

import asyncio
import gettext
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from bot.consult.service import utc
from bot.groups.service import BIND_TRIES
from bot.requests.models import Draft
from bot.requests.service import Caps
from bot.services import CONSENT_VERSION
from dialogs.consult_view import slot_code
from sandbox.client import message_text
from tests.support.staff import new_group
from tests.support.world import ADMIN_ID, BOT_ID, LOOP, Person, World, settle_calls, wait_confirmed

pytestmark = pytest.mark.asyncio(loop_scope=LOOP)

TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Kyiv")).astimezone(timezone.utc)
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c\u200b\ufeff"
_UK = gettext.translation("messages", Path(__file__).resolve().parents[2] / "locales", ["uk"])


def uk(msgid: str) -> str:
    return _UK.gettext(msgid)


def uk_n(singular: str, plural: str, n: int) -> str:
    return _UK.ngettext(singular, plural, n)


OUT_OF_DATE = uk("This button is out of date.")
STALE = uk("This button is out of date. Please open the menu again: /menu")
NOT_STAFF = uk("Only members of this group act for the institution.")


@dataclass
class Arena:
    world: World
    now: dict[str, datetime]
    group: int
    staff: Person

    @property
    def services(self) -> Any:
        return self.world.services

    @property
    def client(self) -> Any:
        return self.world.client


async def until(check: Callable[[], Awaitable[Any]], timeout: float = 8.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("waited in vain")
        await asyncio.sleep(0.03)


async def quiet(arena: Arena) -> None:
    """The bot has taken every update and made no Bot API call for a moment."""
    seq = int((await arena.client._get("/sandbox/calls", since=1 << 62))["last_seq"])
    await wait_confirmed(arena.world.sandbox)
    await settle_calls(arena.client, seq, quiet=0.15)


async def last_bot_message(arena: Arena, chat_id: int) -> int:
    messages = [m for m in await arena.client.messages(chat_id) if m.get("sender") == "bot" and not m.get("service")]
    return messages[-1]["message_id"]


async def forge(arena: Arena, person: Person, data: str) -> dict[str, Any]:
    """`person` presses a button with made-up data on the bot's last message in their chat."""
    query = await arena.client.press_data(person.id, await last_bot_message(arena, person.id), data, force=True)
    return await arena.client.callback_answer(query)


async def bot_texts_since(arena: Arena, chat_id: int, since: int) -> list[str]:
    return [message_text(m) for m in await arena.client.messages(chat_id, since_id=since) if m.get("sender") == "bot"]


async def count(arena: Arena, sql: str, *params: Any) -> int:
    return int((await arena.services.db.fetchone(sql, params))[0])


async def card_text(arena: Arena, request_id: int) -> str:
    async def posted():
        request = await arena.services.requests.get(request_id)
        return request if request and request.card_message_id else None

    request = await until(posted)
    messages = await arena.client.messages(request.group_chat_id)
    return message_text(next(m for m in messages if m["message_id"] == request.card_message_id))


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def arena(world_once: World):
    world = world_once
    services = world.services
    requests, consult = services.requests, services.consult
    saved = (requests.caps, requests.clock, consult.clock)
    limiter = services.limiter
    limits = limiter.limits
    # the group gets far more than Telegram's 20 messages a minute here; what is over waits (bot.delivery.limiter)
    limiter.configure(replace(limits, per_group_per_minute=0))
    now = {"t": TUESDAY_10}
    requests.caps = Caps(requests=2, reports=1, follow_ups=3, bookings=3)
    requests.clock = consult.clock = lambda: now["t"]
    client = world.client
    staff_user = await client.create_user("Оксана")
    group = await new_group(client, "ТЦСО (червона команда)", forum=True, members=[staff_user])
    staff = Person(client, staff_user)
    staff.chat_id = group["id"]
    code = await requests.groups.create_bind_code("lutsk", "tcso", None)
    [answer] = await staff.say(f"/bind {code}")
    assert "Тепер ця група отримує звернення" in message_text(answer)
    yield Arena(world, now, group["id"], staff)
    requests.caps, requests.clock, consult.clock = saved
    limiter.configure(limits)
    services.wake_outbox()


def request_draft(resident_id: int, **values: Any) -> Draft:
    base = dict(community="lutsk", resident_id=resident_id, situation_id="older_care", for_whom="self",
                description="Мамі потрібна допомога вдома", contact_method="chat")
    base.update(values)
    return Draft(**base)


# ----- forged buttons ----------------------------------------------------------------------------------------------

async def test_call_back_buttons_only_in_their_state_with_consent_once(world: World, arena: Arena) -> None:
    services, consult = arena.services, arena.services.consult
    person = await world.resident("lutsk", name="Нападниця")
    other = await world.resident("lutsk", name="Сусідка")

    def requests_of(who: Person) -> Awaitable[int]:
        return count(arena, "SELECT COUNT(*) FROM requests WHERE resident_id = ?", who.id)

    # a forged «call me back» without consent, then with consent while the line is open: nothing
    for data in ("c:callback_new:psychological", "c:callback_new:no-such-topic", "c:callback:999999",
                 "c:callback:abc", "c:callback:"):
        answer = await forge(arena, person, data)
        assert answer.get("show_alert") and answer.get("text") == OUT_OF_DATE, (data, answer)
    await services.residents.give_consent(person.id, CONSENT_VERSION)
    answer = await forge(arena, person, "c:callback_new:psychological")
    assert answer.get("text") == uk("Specialists are answering in the chat now: choose the topic again and write "
                                    "your question.")
    assert await requests_of(person) == 0

    # someone else's timed-out consultation, and one's own still waiting: nothing
    theirs = await consult.start(other.id, "lutsk", "legal", "Питання про спадщину")
    mine = await consult.start(person.id, "lutsk", "psychological", "Мені тривожно")
    await services.db.execute("UPDATE consultations SET status = 'timed_out', ended_at = ? WHERE id = ?",
                              (utc(arena.now["t"]), theirs.id))
    for data in (f"c:callback:{theirs.id}", f"c:callback:{mine.id}"):
        answer = await forge(arena, person, data)
        assert answer.get("text") == OUT_OF_DATE, (data, answer)
    assert await requests_of(person) == 0 and await requests_of(other) == 0
    assert (await consult.get(theirs.id)).request_id is None

    # one's own timed out: one request, once, however often it is pressed
    await services.db.execute("UPDATE consultations SET status = 'timed_out', ended_at = ? WHERE id = ?",
                              (utc(arena.now["t"]), mine.id))
    seen = await arena.client.last_id(person.id)
    answer = await forge(arena, person, f"c:callback:{mine.id}")
    assert not answer.get("show_alert")
    [ask] = await arena.client.wait_bot_messages(person.id, seen, 1, timeout=8)
    assert "📞" in message_text(ask)  # the number to call, then one line about the question
    person._absorb([ask])
    await person.say("067 123 45 67", count=2)  # the question asked, and «send what I wrote» offered
    done = await person.say("Прошу передзвонити щодо консультації")
    assert any("📞" in message_text(m) for m in done)
    for data in (f"c:callback:{mine.id}", "c:callback_new:psychological"):
        answer = await forge(arena, person, data)
        assert answer.get("show_alert"), (data, answer)
    assert await requests_of(person) == 1
    assert (await consult.get(mine.id)).request_id is not None

    # the line closed (20:00): «call me back» with a topic works, within the daily cap of requests
    arena.now["t"] = TUESDAY_10 + timedelta(hours=10)
    try:
        seen = await arena.client.last_id(person.id)
        answer = await forge(arena, person, "c:callback_new:legal")
        assert not answer.get("show_alert"), answer
        await arena.client.wait_bot_messages(person.id, seen, 1, timeout=8)  # the number to call
        await person.say("067 123 45 67")
        await person.say("Прошу передзвонити щодо спадщини")
        await until(lambda: _equals(requests_of(person), 2))
        await quiet(arena)
        seen = await arena.client.last_id(person.id)
        answer = await forge(arena, person, "c:callback_new:legal")  # the third today: the cap
        assert not answer.get("show_alert")
        [capped] = await arena.client.wait_bot_messages(person.id, seen, 1, timeout=8)
        assert "Сьогодні ви надіслали 2 звернення" in message_text(capped) and "112" in message_text(capped)
        assert await requests_of(person) == 2
    finally:
        arena.now["t"] = TUESDAY_10


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_a_rating_is_given_once_and_posted_once(world: World, arena: Arena) -> None:
    services = arena.services
    person = await world.resident("lutsk", name="Оцінювачка")
    stranger = await world.resident("lutsk", name="Чужа")
    request = await services.requests.create(request_draft(person.id))
    services.wake_outbox()
    await card_text(arena, request.id)
    answer = await forge(arena, person, f"r:rate:{request.id}:5")  # not finished yet
    assert answer.get("show_alert")
    await services.requests.finish(arena.group, request.id, arena.staff.id, "фахівчиня", resolved=True)
    services.wake_outbox()
    await quiet(arena)

    answer = await forge(arena, stranger, f"r:rate:{request.id}:1")
    assert answer.get("show_alert") and answer.get("text") == uk("I could not find this request.")
    seen_group = await arena.client.last_id(arena.group)
    answer = await forge(arena, person, f"r:rate:{request.id}:5")
    assert not answer.get("show_alert")
    [rated] = await arena.client.wait_bot_messages(arena.group, seen_group, 1, timeout=8)
    assert "⭐⭐⭐⭐⭐" in message_text(rated)
    await quiet(arena)
    seen_group = await arena.client.last_id(arena.group)
    for data in (f"r:rate:{request.id}:1", f"r:rate:{request.id}:5", f"r:rate:{request.id}:9",
                 f"r:rate:{request.id}:x"):
        answer = await forge(arena, person, data)
        assert answer.get("show_alert"), (data, answer)
    await person.say("Дякую за допомогу")  # the comment after the rating: kept, and nothing more is posted
    await quiet(arena)
    assert await bot_texts_since(arena, arena.group, seen_group) == []
    after = await services.requests.get(request.id)
    assert after.rating == 5
    assert await count(arena, "SELECT COUNT(*) FROM request_events WHERE request_id = ? AND kind = 'rated'",
                       request.id) == 1


async def test_bookings_at_most_two_ahead_and_forged_slots_change_nothing(world: World, arena: Arena) -> None:
    consult = arena.services.consult
    person = await world.resident("lutsk", name="Записувачка")
    slots = await consult.free_slots("lutsk", "psychological")
    assert len(slots) >= 3

    def bookings() -> Awaitable[int]:
        return count(arena, "SELECT COUNT(*) FROM bookings WHERE resident_id = ?", person.id)

    for data in ("c:slot:psychological.202612010300", "c:slot:psychological.garbage", "c:slot:no-such.202612011030",
                 f"c:slot:legal.{slot_code(slots[0])}x", "c:slot:", "c:slot:psychological.999912312359"):
        answer = await forge(arena, person, data)
        assert answer.get("show_alert"), (data, answer)
    assert await bookings() == 0
    for moment in slots[:2]:
        answer = await forge(arena, person, f"c:slot:psychological.{slot_code(moment)}")
        assert not answer.get("show_alert"), answer
    answer = await forge(arena, person, f"c:slot:psychological.{slot_code(slots[2])}")
    assert answer.get("show_alert") and answer.get("text") == uk(
        "You already have two booked times. Please cancel one in «📂 My requests» → «📅 My bookings and "
        "consultations» to book another.")
    assert await bookings() == 2
    # someone else's slot cannot be taken either
    rival = await world.resident("lutsk", name="Суперниця")
    answer = await forge(arena, rival, f"c:slot:psychological.{slot_code(slots[0])}")
    assert answer.get("show_alert")
    assert await count(arena, "SELECT COUNT(*) FROM bookings WHERE resident_id = ?", rival.id) == 0
    # no booked times are left behind: later tests of the shared bot count the reminders they send
    for row in await arena.services.db.fetchall(
            "SELECT id FROM bookings WHERE resident_id = ? AND status = 'booked'", (person.id,)):
        await consult.cancel_booking(person.id, row["id"])


async def test_forged_topic_and_staff_buttons_from_a_residents_chat(world: World, arena: Arena) -> None:
    services = arena.services
    person = await world.resident("lutsk", name="Самозванка")
    request = await services.requests.create(request_draft(person.id))
    consultation = await services.consult.start(person.id, "lutsk", "family", "Сварки вдома")
    services.wake_outbox()
    await card_text(arena, request.id)
    await until(lambda: _consult_card(arena, consultation.id))
    before = await _states(arena, request.id, consultation.id)
    seen = await arena.client.last_id(person.id)
    for data in ("c:topic:no-such", "c:topic:", f"s:close:{request.id}:", f"s:resolve:{request.id}:",
                 f"s:take:{request.id}:", f"k:end:{consultation.id}:", f"k:take:{consultation.id}:",
                 f"r:withdraw_yes:{request.id + 100000}:"):
        answer = await forge(arena, person, data)
        assert answer.get("show_alert"), (data, answer)
    await quiet(arena)
    assert await bot_texts_since(arena, person.id, seen) == []
    assert await _states(arena, request.id, consultation.id) == before
    await services.consult.end_by_resident(person.id)
    services.wake_outbox()


async def _consult_card(arena: Arena, cid: int) -> bool:
    consultation = await arena.services.consult.get(cid)
    return bool(consultation and consultation.card_message_id)


async def _states(arena: Arena, rid: int, cid: int) -> tuple[Any, ...]:
    r = await arena.services.requests.get(rid)
    c = await arena.services.consult.get(cid)
    return r.status, r.assignee_id, r.rating, r.closed_at, c.status, c.specialist_id, c.ended_at


async def wait_for_text(arena: Arena, chat_id: int, since: int, needle: str, timeout: float = 8.0) -> str:
    """The first bot message after `since` in `chat_id` that contains `needle`."""
    async def found():
        return next((t for t in await bot_texts_since(arena, chat_id, since) if needle in t), None)

    return await until(found, timeout)


# ----- floods from one account --------------------------------------------------------------------------------------

async def test_follow_ups_past_the_daily_cap_wait_for_tomorrow_but_danger_gets_through(world: World,
                                                                                      arena: Arena) -> None:
    services = arena.services
    person = await world.resident("lutsk", name="Балакуча")
    request = await services.requests.create(request_draft(person.id))
    services.wake_outbox()
    await card_text(arena, request.id)
    await quiet(arena)
    seen_group = await arena.client.last_id(arena.group)

    async def write(text: str) -> list[str]:
        await forge(arena, person, f"r:write:{request.id}:")
        await quiet(arena)
        seen = await arena.client.last_id(person.id)
        await arena.client.send_text(person.id, text)
        await quiet(arena)
        return await bot_texts_since(arena, person.id, seen)

    for n in range(3):
        answers = await write(f"Уточнення {n}")
        assert any("Надіслано фахівцю" in a for a in answers), answers
    answers = await write("Ще одне уточнення")
    cap = uk_n("You have sent {n} message to your requests today: that is as many as the bot passes on in a day. "
               "The specialists have everything you sent; please wait for their answer or write again tomorrow.",
               "You have sent {n} messages to your requests today: that is as many as the bot passes on in a day. "
               "The specialists have everything you sent; please wait for their answer or write again tomorrow.",
               3).format(n=3)
    assert len(answers) == 1 and cap in answers[0] and "112" in answers[0], answers
    answers = await write("Він знову б'є мене і погрожує вбити")
    assert any("🆘" in a and "102" in a for a in answers), answers  # the emergency lines first
    assert any("Надіслано фахівцю" in a for a in answers), answers
    # the group got every message that was accepted, none of the one refused, none dropped
    got = await arena.client.wait_bot_messages(arena.group, seen_group, 4, timeout=15)
    texts = [message_text(m) for m in got]
    for n in range(3):
        assert any(f"Уточнення {n}" in t for t in texts), texts
    assert any("погрожує вбити" in t for t in texts) and not any("Ще одне уточнення" in t for t in texts)
    assert await count(arena, "SELECT COUNT(*) FROM outbox WHERE kind = 'relay_to_group' AND request_id = ? "
                              "AND status NOT IN ('sent')", request.id) == 0


async def test_requests_past_the_daily_cap_are_refused_politely_until_the_next_day(world: World,
                                                                                  arena: Arena) -> None:
    services = arena.services
    person = await world.resident("lutsk", name="Наполеглива")
    for _ in range(2):
        await services.requests.create(request_draft(person.id))
    with pytest.raises(Exception):
        await services.requests.create(request_draft(person.id))
    [answer] = await person.say("📝 Попросити допомогу")
    assert "Сьогодні ви надіслали 2 звернення" in message_text(answer) and "112" in message_text(answer)
    await services.requests.create(request_draft(person.id, kind="report", situation_id=None, about_child=True))
    [answer] = await person.say("🙋 Повідомити про людину в біді")
    assert "Сьогодні ви надіслали 1 повідомлення про людину в біді" in message_text(answer)
    # words of danger are never held back by the cap
    urgent = await services.requests.create(request_draft(person.id, description="Сусід б'є дружину"),
                                            danger=["violence"])
    assert urgent.urgent
    arena.now["t"] = TUESDAY_10 + timedelta(days=1, minutes=1)
    try:
        [answer] = await person.say("📝 Попросити допомогу")
        assert "Сьогодні ви надіслали" not in message_text(answer)
        await person.say("/menu")
    finally:
        arena.now["t"] = TUESDAY_10


# ----- binding codes and administrators ----------------------------------------------------------------------------

async def test_brute_force_binding_is_locked_out_per_chat_and_per_person(world: World, arena: Arena) -> None:
    client, requests = arena.client, arena.services.requests
    attacker = await client.create_user("Перебирач")
    helper = await client.create_user("Спільник")
    target = await new_group(client, "Група зловмисника", members=[attacker, helper])
    spare = await new_group(client, "Запасна група", members=[attacker])
    code = await requests.groups.create_bind_code("lutsk", "rehab-veterans", ADMIN_ID)
    assert len(code) >= 32  # 128 bits
    row = await arena.services.db.fetchone("SELECT code FROM bind_codes ORDER BY rowid DESC LIMIT 1")
    assert row["code"] != code  # shown once: not kept readable

    async def bind(user: dict[str, Any], chat: int, text: str) -> list[str]:
        seen = await client.last_id(chat)
        await client.send_text(user, text, chat_id=chat)
        await quiet(arena)
        return await bot_texts_since(arena, chat, seen)

    for n in range(BIND_TRIES):
        assert await bind(attacker, target["id"], f"/bind {n:032X}") == [
            uk("This code is not known. Ask the administrator for a new one.")]
    locked = uk("Too many wrong codes were sent here. Please wait an hour and ask the administrator for a new code.")
    assert await bind(helper, target["id"], f"/bind {code}") == [locked]  # the chat is locked
    assert await bind(attacker, spare["id"], f"/bind {code}") == [locked]  # so is the person, elsewhere
    assert await requests.groups.group(target["id"]) is None and await requests.groups.group(spare["id"]) is None
    assert (await arena.services.db.fetchone("SELECT used_at FROM bind_codes WHERE code = (SELECT code FROM "
                                             "bind_codes ORDER BY rowid DESC LIMIT 1)"))["used_at"] is None
    # an hour later the chat may try again
    arena.now["t"] = TUESDAY_10 + timedelta(minutes=61)
    try:
        answers = await bind(helper, target["id"], f"/bind {code}")
        assert "Тепер ця група отримує звернення" in answers[0]
    finally:
        arena.now["t"] = TUESDAY_10


async def test_a_rebinding_is_announced_to_the_administrators_and_the_group_that_loses_it(world: World,
                                                                                          arena: Arena) -> None:
    client, requests = arena.client, arena.services.requests
    first_user, second_user = await client.create_user("Перша"), await client.create_user("Друга")
    first = await new_group(client, "Лікарні (стара група)", members=[first_user])
    second = await new_group(client, "Лікарні (нова група)", members=[second_user])
    for user, group in ((first_user, first), (second_user, second)):
        code = await requests.groups.create_bind_code("lutsk", "health-facilities", ADMIN_ID)
        seen_admin = await client.last_id(ADMIN_ID)
        await client.send_text(user, f"/bind {code}", chat_id=group["id"])
        notice = await wait_for_text(arena, ADMIN_ID, seen_admin, f"«{group['title']}»")
        assert notice.startswith("🔗")
    assert "«Лікарні (стара група)»" in notice  # what it replaced
    await wait_for_text(arena, first["id"], 0, "більше не отримує звернення")
    assert (await requests.groups.group(first["id"])).active is False


async def test_the_bind_code_is_not_shown_in_the_shared_administrators_chat_unless_asked(world: World,
                                                                                         arena: Arena) -> None:
    client, services = arena.client, arena.services
    chat = await new_group(client, "Адміністратори", members=[{"id": ADMIN_ID}])
    saved = services.settings.admin_chat_id
    services.settings.admin_chat_id = chat["id"]
    try:
        codes = await count(arena, "SELECT COUNT(*) FROM bind_codes")
        seen = await client.last_id(chat["id"])
        await client.send_text(ADMIN_ID, "/bind_code lutsk tcso", chat_id=chat["id"])
        await wait_for_text(arena, chat["id"], seen, "/bind_code ГРОМАДА УСТАНОВА тут")
        await quiet(arena)
        assert not any("<code>/bind " in t or "/bind " in t.replace("/bind_code", "")
                       for t in await bot_texts_since(arena, chat["id"], seen))
        assert await count(arena, "SELECT COUNT(*) FROM bind_codes") == codes
        seen = await client.last_id(chat["id"])
        await client.send_text(ADMIN_ID, "/bind_code lutsk tcso тут", chat_id=chat["id"])
        await wait_for_text(arena, chat["id"], seen, "/bind ")
        assert await count(arena, "SELECT COUNT(*) FROM bind_codes") == codes + 1
        await quiet(arena)
    finally:
        services.settings.admin_chat_id = saved


async def test_administrators_are_told_of_every_one_added_or_removed(world: World, arena: Arena) -> None:
    client, services = arena.client, arena.services
    outsider = await world.resident("lutsk", name="Не адмін")
    [refused] = await outsider.say("/admin_remove 700000555")
    assert message_text(refused) == uk("This command is for the community's administrators.")

    async def admin_says(text: str, expected: int) -> list[str]:
        seen = await client.last_id(ADMIN_ID)
        await client.send_text(ADMIN_ID, text)
        await client.wait_bot_messages(ADMIN_ID, seen, expected, timeout=8)
        await quiet(arena)
        return [message_text(m) for m in await client.messages(ADMIN_ID, since_id=seen) if m.get("sender") == "bot"]

    texts = await admin_says("/admin_add 700000555", 2)
    assert any("700000555 тепер адміністратор бота" in t for t in texts), texts
    assert services.admins.is_admin(700000555)
    texts = await admin_says("/admin_remove 700000555", 2)
    assert uk("Done: {id} is no longer an administrator.").format(id=700000555) in texts
    assert any("700000555 більше не адміністратор бота" in t for t in texts), texts
    assert not services.admins.is_admin(700000555)
    texts = await admin_says(f"/admin_remove {ADMIN_ID}", 1)  # named in ADMIN_IDS: stays
    assert "ADMIN_IDS" in texts[0] and services.admins.is_admin(ADMIN_ID)


# ----- staff membership and what staff read -----------------------------------------------------------------------

async def test_a_restricted_person_who_left_the_group_is_not_staff(world: World, arena: Arena) -> None:
    client, services = arena.client, arena.services
    person = await world.resident("lutsk", name="Заявниця")
    request = await services.requests.create(request_draft(person.id))
    services.wake_outbox()
    await card_text(arena, request.id)
    card = (await services.requests.get(request.id)).card_message_id
    gone = await client.create_user("Обмежена")
    await client.add_member(arena.group, gone, status="restricted_left")
    core = arena.world.sandbox.core
    conv = core.group_conversation(arena.group)
    query = core.press(core.state.bots[BOT_ID], core.user(gone["id"]), conv, conv.messages[card],
                       f"s:take:{request.id}:")
    answer = await client.callback_answer(query.id)
    assert answer.get("show_alert") and answer.get("text") == NOT_STAFF
    assert (await services.requests.get(request.id)).assignee_id is None
    # restricted but still in the group: staff
    still = await client.create_user("Обмежена, але в групі")
    await client.add_member(arena.group, still, status="restricted")
    query = await client.press_data(still["id"], card, f"s:take:{request.id}:", chat_id=arena.group, force=True)
    answer = await client.callback_answer(query)
    assert not answer.get("show_alert"), answer
    assert (await services.requests.get(request.id)).assignee_id == still["id"]
    await quiet(arena)


async def test_names_and_numbers_reach_staff_without_hidden_characters(world: World, arena: Arena) -> None:
    services = arena.services
    person = await world.resident("lutsk", name="Мешканка")
    shared = await services.requests.create(request_draft(
        person.id, contact_method="telegram", contact_name="Ол\u202eена\u2066 Ко\u200bваль\u0007",
        contact_phone="\u202e+380671234567"))
    typed = await services.requests.create(request_draft(
        person.id, contact_method="phone", contact_phone="\u202e0800 дзвоніть"))
    services.wake_outbox()
    text = await card_text(arena, shared.id)
    assert not any(ch in text for ch in BIDI + "\u0007"), ascii(text)
    assert "Олена Коваль, +380671234567" in text
    text = await card_text(arena, typed.id)
    assert not any(ch in text for ch in BIDI), ascii(text)
    assert "Контакт, як його написав мешканець" in text and "«0800 дзвоніть»" in text
    assert uk("Phone: {phone}").split("{")[0] not in text  # not offered as a number to call


async def test_a_contact_card_that_is_not_ones_own_is_not_labelled_as_from_telegram(world: World,
                                                                                      arena: Arena) -> None:
    client, services = arena.client, arena.services
    person = await world.resident("lutsk", name="Ан\u202eна")
    [consent] = await person.say("📝 Попросити допомогу")
    if "Перш ніж надіслати звернення" in message_text(consent):
        await person.tap("✅ Погоджуюся", new=1)
    await person.tap("Літня людина потребує догляду", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say("Потрібна доглядальниця для мами")
    await person.tap("Далі ➡️", new=1)
    sent = await client.send_contact(person.id, phone_number="+380 67 765 43 21", first_name="Не\u202e я")
    await client.wait_bot_messages(person.id, sent["message_id"], 2, timeout=8)
    await person.tap("✅ Надіслати", new=1)
    [request] = [r for r in await services.requests.for_resident(person.id)]
    text = await card_text(arena, request.id)
    assert "надіслано через Telegram" not in text and "+380677654321" in text
    assert "Не я" not in text and "\u202e" not in text


# ----- the sandbox's control API from outside -------------------------------------------------------------------
# A web page the resident (or the developer) happens to open, or another program on the machine, tries to act
# through the sandbox: write as a resident, press her buttons, read her chat, create people, switch faults on,
# wipe everything. Without the control token, from another site's page, or under another host name (DNS
# rebinding) every such call is refused with 403, and nothing in the sandbox or the bot changes.

async def sandbox_snapshot(world: World, person: Person) -> dict[str, Any]:
    await wait_confirmed(world.sandbox)
    state = await world.client.state()
    return {
        "users": state["users"], "groups": state["groups"], "flood": state["flood"],
        "chat": await world.client.messages(person.id),
        "updates": world.sandbox.core.state.bots[BOT_ID].next_update_id,
        "faults": await world.client.faults(),
    }


async def attack(world: World, person: Person, headers: dict[str, str]) -> list[tuple[int, str]]:
    """Every kind of control call, sent with `headers` (and nothing else the sandbox would take as its own)."""
    import aiohttp

    url = world.sandbox.url
    last = await last_bot_message_of(world, person)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/sandbox/send", {"user_id": person.id, "text": "📂 Мої звернення"}),
        ("POST", "/sandbox/press", {"user_id": person.id, "message_id": last, "text": "🇬🇧 English", "force": True}),
        ("POST", "/sandbox/users", {"first_name": "Підставна", "id": 424242}),
        ("POST", "/sandbox/faults", {"kind": "500", "seconds": 60}),
        ("POST", "/sandbox/flood", {"enabled": True, "per_chat_per_sec": 0}),
        ("POST", "/sandbox/block", {"user_id": person.id, "blocked": True}),
        ("POST", "/sandbox/reset", {}),
        ("GET", f"/sandbox/chats/{person.id}/messages", None),
        ("GET", "/sandbox/state", None),
        ("GET", "/sandbox/calls", None),
        ("GET", "/", None),
    ]
    answers = []
    async with aiohttp.ClientSession() as http:
        for verb, path, body in calls:
            async with http.request(verb, url + path, json=body, headers=headers) as response:
                answers.append((response.status, await response.text()))
        # and the Bot API itself, even with the bot's real token, from the other page or host (the control
        # token plays no part there: as in Telegram, the bot's token is the key)
        if set(headers) & {"Host", "Origin", "Sec-Fetch-Site"}:
            api = f"{world.sandbox.api_url}/bot{world.running.bot.token}/sendMessage"
            async with http.post(api, json={"chat_id": person.id, "text": "фішинг"}, headers=headers) as response:
                answers.append((response.status, await response.text()))
    return answers


async def last_bot_message_of(world: World, person: Person) -> int:
    messages = [m for m in await world.client.messages(person.id) if m.get("sender") == "bot"]
    return messages[-1]["message_id"]


@pytest.mark.parametrize("who", ["no token", "wrong token", "another site's page", "another page on this machine",
                                 "a rebound host name", "a cross-site fetch"])
async def test_sandbox_control_api_refuses_outsiders_and_nothing_changes(world: World, who: str) -> None:
    person = await world.resident("lutsk", name="Ганна")
    [listing] = await person.say("📂 Мої звернення")
    port, token = world.sandbox.port, world.sandbox.control_token
    headers = {
        "no token": {},
        "wrong token": {"X-Sandbox-Token": token[:-1] + ("A" if token[-1] != "A" else "B")},
        "another site's page": {"X-Sandbox-Token": token, "Origin": "https://attacker.example"},
        "another page on this machine": {"X-Sandbox-Token": token, "Origin": f"http://127.0.0.1:{port + 1}"},
        "a rebound host name": {"X-Sandbox-Token": token, "Host": f"attacker.example:{port}"},
        "a cross-site fetch": {"X-Sandbox-Token": token, "Sec-Fetch-Site": "cross-site"},
    }[who]
    before = await sandbox_snapshot(world, person)
    answers = await attack(world, person, headers)
    assert [status for status, _ in answers] == [403] * len(answers), answers
    for _, body in answers:  # a refusal tells nothing of the chats
        assert "Мої звернення" not in body and "Ганна" not in body
    after = await sandbox_snapshot(world, person)
    assert after == before
    assert not any(user["id"] == 424242 for user in after["users"])
    # the resident goes on as before: the bot still answers her, in her language
    [again] = await person.say("📂 Мої звернення")
    assert message_text(again) == message_text(listing)
