"""«Delete my data?» asks «Так, видалити» or «Ні»; a press after the resident left that screen deletes nothing."""
from __future__ import annotations

import pytest

from sandbox.client import message_text
from tests.support.staff import file_request
from tests.support.world import World, buttons

pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_no_keeps_everything_and_a_stale_yes_deletes_nothing(world: World) -> None:
    person = await world.resident("lutsk", name="Ярина")
    await file_request(person, situation="Літня людина потребує догляду", description="Прошу допомогти з доглядом")
    await person.say("⚙️ Налаштування")
    [asked] = await person.tap("🗑 Видалити мої дані", new=1)
    assert buttons(asked)[:2] == ["🗑 Так, видалити", "Ні"]
    [kept] = await person.tap("Ні")
    assert "Нічого не видалено" in message_text(kept)
    assert len(await world.services.requests.for_resident(person.id)) == 1

    # the question again, then the resident goes on to search: the old «Так» has expired
    await person.tap("🗑 Видалити мої дані", new=1)
    [found] = await person.say("гарячі обіди")
    assert "Я знайшов" in message_text(found)
    await person.tap("🗑 Так, видалити", expect=False)
    assert "не діє" in person.last_answer.get("text", "")
    assert len(await world.services.requests.for_resident(person.id)) == 1

    # forged data on the live screen changes nothing either
    [asked] = await person.tap("🗑 Видалити мої дані", new=1)
    answer = await person.forge(asked, "n:del_yes:00000000:0")
    assert "не діє" in answer.get("text", "")
    assert len(await world.services.requests.for_resident(person.id)) == 1
    [done] = await person.tap("🗑 Так, видалити")
    assert "Ваші дані видалено" in message_text(done)
    assert await world.services.requests.for_resident(person.id) == []
