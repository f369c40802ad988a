"""The online consultation line for tests/e2e/: the line's staff group, a resident choosing a topic and asking, the
data behind a button, and a moment within the line's hours."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot.errors import RequestError
from sandbox.client import message_text
from tests.support.staff import group_settled, outbox_settled, staff_group
from tests.support.world import Person, World

KYIV = ZoneInfo("Europe/Kyiv")
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=KYIV).astimezone(timezone.utc)


async def line_group(world: World, topic: str, community: str = "lutsk"):
    line = world.services.consult.line(community, topic)
    group = await staff_group(world, line.institution_id, community=community, title=f"Лінія {topic}")
    await group_settled(world, community, line.institution_id)  # cards held for the line's group are out first
    return group


async def choose_topic(person: Person, topic_label: str) -> list:
    await person.say("💬 Онлайн-консультація")
    answers = await person.tap(topic_label, new=1)
    if "Перш ніж" in message_text(answers[-1]):
        answers = await person.tap("✅ Погоджуюся", new=1)
    return answers


async def ask(world: World, person: Person, topic_label: str, question: str) -> None:
    answers = await choose_topic(person, topic_label)
    assert "Напишіть своє питання" in message_text(answers[-1])
    [queued] = await person.say(question)
    assert "Ваше місце в черзі: 1;" in message_text(queued)
    assert person.keyboard == ["❌ Завершити консультацію"]


def buttons_data(message: dict, text: str) -> str:
    for row in message["reply_markup"]["inline_keyboard"]:
        for button in row:
            if button["text"] == text:
                return button["callback_data"]
    raise AssertionError(text)


async def leave_the_line(world: World, person: Person) -> None:
    """End the resident's open consultation and cancel their bookings, as the resident could, and wait until what
    that sends is out: the line's queue and its free times are as the next test expects to find them."""
    consult = world.services.consult
    lines = set()
    open_now = await consult.open_for_resident(person.id)
    if open_now is not None:
        await consult.end_by_resident(person.id)
        lines.add((open_now.community, open_now.institution_id))
    for booking in await consult.bookings_of(person.id):
        try:
            await consult.cancel_booking(person.id, booking.id)
        except RequestError:  # passed meanwhile
            continue
        lines.add((booking.community, booking.institution_id))
    await outbox_settled(world, [f"resident:{person.id}", *(f"institution:{c}/{i}" for c, i in lines)])
