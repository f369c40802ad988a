"""A group's first minutes, through the sandbox: the bot added to a group says in two lines what it is and how to
bind the group; /help in a group explains the staff commands, before and after binding."""
from __future__ import annotations

import pytest

from sandbox.client import message_text
from tests.support.staff import group_settled
from tests.support.world import Person, World, settle_calls

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_the_bot_added_to_a_group_introduces_itself_and_help_explains_the_commands(world: World) -> None:
    client = world.client
    user = await client.create_user("Оксана", language_code="uk")
    group = await client.create_group("Працівники ЦНАП", forum=True, members=[user])
    [greeting] = await client.wait_bot_messages(group["id"], 0, 1, timeout=5)
    lines = message_text(greeting).splitlines()
    assert len(lines) == 2
    assert "бот громади" in lines[0] and "/bind КОД" in lines[1] and "адміністратор громади" in lines[1]
    assert "/bind_code" in lines[1]

    staff = Person(client, user)
    staff.chat_id = group["id"]
    [unbound_help] = await staff.say("/help")
    text = message_text(unbound_help)
    assert "ще не прив’язана" in text and "/bind КОД" in text
    for command in ("/open", "/queue", "/role", "/templates"):
        assert command in text

    # a change of the bot's rights is not a new arrival: it says nothing again
    since = (await client.calls())[-1]["seq"]
    await client.add_bot(group["id"], status="member")
    await settle_calls(client, since, quiet=0.3)
    assert not [c for c in await client.calls(since=since) if c["method"] == "sendMessage"]
    await client.add_bot(group["id"], status="administrator")

    code = await world.services.groups.create_bind_code("lutsk", "tcso", None)
    [bound] = await staff.say(f"/bind {code}")
    assert "Тепер ця група отримує звернення" in message_text(bound)
    await group_settled(world, "lutsk", "tcso")
    [bound_help] = await staff.say("/help")
    name = world.services.catalogue.communities["lutsk"].institutions["tcso"].name.get("uk")
    assert f"Ця група отримує звернення й консультації установи: {name}" in message_text(bound_help)
    assert "/open" in message_text(bound_help)
