"""A flood of cards for one staff group does not keep anything else from arriving (bot/delivery/outbox.py).

This module has a bot of its own with Telegram's limits on both sides: the bot's default pacing (20 messages a
minute to one group) and the sandbox's flood control, which answers 429 to a message over them (any refused
call fails the run). 60 requests for the territorial centre are stored at once, three times what its group
takes in a minute; meanwhile another institution's card, a staff answer to another resident and the bot's
answer to that staff member must all arrive while most of the flood still waits. Order and arrival are
asserted, never timings.
"""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.requests.models import Draft
from sandbox.client import message_text
from tests.support.staff import file_request, number_of, staff_group
from tests.support.world import LOOP, World, serving_world

pytestmark = pytest.mark.asyncio(loop_scope="package")
FLOOD = 60
FLOODED = "institution:lutsk/tcso"


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async def flood_control(client, admin) -> dict[str, str]:
        await client.set_flood(True, per_chat_per_sec=100)  # groups and overall as Telegram; residents type fast
        return {"SEND_PER_GROUP_PER_MINUTE": "20"}

    async with serving_world(tmp_path_factory.mktemp("outbox_flood"), flood_control) as world:
        yield world


async def pending_for(world: World, target: str) -> int:
    """The flood's rows still waiting."""
    row = await world.services.db.fetchone(
        "SELECT COUNT(*) AS n FROM outbox WHERE target = ? AND status = 'pending' AND request_id IN "
        "(SELECT id FROM requests WHERE resident_id >= 9000000)", (target,))
    return int(row["n"])


async def flood_cards(world: World, chat_id: int, after: int) -> list[str]:
    return [message_text(m) for m in await world.client.messages(chat_id, since_id=after)
            if m.get("sender") == "bot" and "з черги" in message_text(m)]


async def test_a_flood_for_one_group_does_not_hold_up_the_others(world: World) -> None:
    flooded, staff = await staff_group(world, "tcso", title="Територіальний центр")
    other, _other_staff = await staff_group(world, "dsvp", title="Управління соцзахисту")
    talker = await world.resident("lutsk", name="Марія")
    after = await world.client.last_id(flooded)
    number = number_of(await file_request(talker, situation="Літня людина потребує догляду"))
    [card] = await world.client.wait_bot_messages(flooded, after, 1, timeout=8)
    assert f"№ {number}" in message_text(card)
    staff.thread_id = card["message_thread_id"]

    flood_from = await world.client.last_id(flooded)
    for k in range(FLOOD):
        await world.services.requests.create(
            Draft(community="lutsk", resident_id=9_000_000 + k, situation_id="older_care", for_whom="self",
                  description=f"Звернення з черги {k}"), capped=False)
    world.services.wake_outbox()
    # the group's minute fills up (less a few turns left to the answers staff get there), and the flood waits
    await world.client.wait_bot_messages(flooded, flood_from, 10, timeout=15)

    # another institution's card arrives while most of the flood is still waiting
    asker = await world.resident("lutsk", name="Оксана")
    after_other = await world.client.last_id(other)
    other_number = number_of(await file_request(asker, situation="Потрібна порада щодо прав чи документів"))
    [other_card] = await world.client.wait_bot_messages(other, after_other, 1, timeout=8)
    assert f"№ {other_number}" in message_text(other_card)
    assert await pending_for(world, FLOODED) >= FLOOD - 20

    # a staff member of the flooded group answers the other resident: the answer arrives, and so does the
    # bot's word to the staff member in the busy group (a turn the flood leaves free)
    mark = talker._last_id
    [confirmed] = await staff.say("Доброго дня! Прийдемо в четвер.")
    assert "Надіслано мешканцю" in message_text(confirmed)
    [answer] = await world.client.wait_bot_messages(talker.chat_id, mark, 1, timeout=8)
    assert "Прийдемо в четвер" in message_text(answer)
    assert await pending_for(world, FLOODED) >= FLOOD - 20

    # nothing of the flood is lost or failed: what has not gone out waits, in order, for the group's next minutes
    cards = await flood_cards(world, flooded, flood_from)
    assert 10 <= len(cards) <= 20 and len(cards) + await pending_for(world, FLOODED) == FLOOD
    shown = {int(text.split("з черги ", 1)[1].split()[0]) for text in cards}
    assert len(shown) == len(cards) and shown <= set(range(FLOOD))  # each once
    statuses = await world.services.db.fetchall(
        "SELECT DISTINCT status FROM outbox WHERE target = ? AND request_id IN "
        "(SELECT id FROM requests WHERE resident_id >= 9000000)", (FLOODED,))
    assert {row["status"] for row in statuses} <= {"sent", "pending"}
