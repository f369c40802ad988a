"""A staff member the bot learns has left the group (a `chat_member` update) is no longer offered by «👥 Передати
колезі» (`staff_with_roles`); back in the group, or acting again with /role, they are offered again."""
from __future__ import annotations

from datetime import datetime, timezone

from aiogram.types import Chat, ChatMemberLeft, ChatMemberMember, ChatMemberUpdated, Update, User

GROUP = -100500
COLLEAGUE = User(id=701, is_bot=False, first_name="Тарас")
OTHER = User(id=702, is_bot=False, first_name="Ірина")
ADMIN = User(id=1, is_bot=False, first_name="Власник")


async def membership(harness, user: User, gone: bool, update_id: int) -> None:
    old, new = ChatMemberMember(user=user), ChatMemberLeft(user=user)
    if not gone:
        old, new = new, old
    event = ChatMemberUpdated(chat=Chat(id=GROUP, type="supergroup", title="ТЦСО"), from_user=ADMIN,
                              date=datetime(2026, 12, 1, tzinfo=timezone.utc), old_chat_member=old,
                              new_chat_member=new)
    await harness.app.dispatcher.feed_update(harness.bot, Update(update_id=update_id, chat_member=event))


async def offered(harness, *, gone: bool = False) -> list[int]:
    return [row["user_id"] for row in await harness.app.services.groups.staff_with_roles(GROUP, gone=gone)]


async def test_a_member_who_left_is_not_offered_until_they_come_back(harness) -> None:
    groups = harness.app.services.groups
    await groups.set_staff_role(GROUP, COLLEAGUE.id, "психолог", "Тарас")
    await groups.set_staff_role(GROUP, OTHER.id, "юристка", "Ірина")
    assert await offered(harness) == [COLLEAGUE.id, OTHER.id]

    await membership(harness, COLLEAGUE, gone=True, update_id=1)
    assert await offered(harness) == [OTHER.id]
    assert await offered(harness, gone=True) == [COLLEAGUE.id, OTHER.id]  # the row stays: the history names them
    assert await groups.staff_first_name(GROUP, COLLEAGUE.id) == "Тарас"

    await membership(harness, COLLEAGUE, gone=False, update_id=2)
    assert await offered(harness) == [COLLEAGUE.id, OTHER.id]


async def test_acting_again_clears_the_mark_and_a_stranger_leaving_changes_nothing(harness) -> None:
    groups = harness.app.services.groups
    await groups.set_staff_role(GROUP, COLLEAGUE.id, "психолог", "Тарас")
    await groups.staff_left(GROUP, COLLEAGUE.id)
    assert await offered(harness) == []
    await groups.set_staff_role(GROUP, COLLEAGUE.id, "психолог", None)  # /role again
    assert await offered(harness) == [COLLEAGUE.id]
    await groups.staff_left(GROUP, COLLEAGUE.id)
    await groups.remember_first_name(GROUP, COLLEAGUE.id, "Тарас")  # took a request
    assert await offered(harness) == [COLLEAGUE.id]

    await membership(harness, OTHER, gone=True, update_id=3)  # never set a role: no row made for them
    assert await offered(harness, gone=True) == [COLLEAGUE.id]
    assert await groups.staff_role(GROUP, OTHER.id) is None
