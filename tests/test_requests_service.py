"""Requests without Telegram: intake, routing, staff actions, ownership, deletion, the outbox."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.delivery.outbox import GroupUnreachable, Item, NoGroup, Outbox, RecipientBlocked, RetryAfter, Transient
from bot.errors import RequestError
from bot.groups.service import BIND_TRIES, code_hash
from bot.requests.models import Attachment, Status
from bot.requests.routing import route
from bot.requests.service import Caps, RequestService
from bot.requests.store import add_working_days
from tests.support import request_service
from tests.support.request_service import KYIV, bound, draft

db = request_service.db  # the fixtures, here for pytest to find
service = request_service.service


async def outbox_rows(db):
    rows = await db.fetchall("SELECT kind, target, status, payload FROM outbox ORDER BY id")
    return [(r["kind"], r["target"], r["status"], json.loads(r["payload"])) for r in rows]


@pytest.mark.parametrize("slug", ["druzhkivka", "kakhovka", "lutsk", "pervomaiskyi", "volodymyr"])
def test_routing_rules_for_every_community(catalogue, slug):
    view = catalogue.communities[slug]
    model = view.model
    for service in view.services.values():
        assert route(view, service_id=service.id) == service.provider
    assert route(view) == model.intake_institution
    assert route(view, situation_id="no-such") == model.intake_institution
    assert route(view, report=True, about_child=True) == model.children_institution
    assert route(view, situation_id="child_at_risk") == model.children_institution
    assert route(view, service_id="unknown-service") == model.intake_institution
    for situation in catalogue.situations:
        target = route(view, situation_id=situation)
        providers = {s.provider for s in view.services_for_situation(situation) if s.available}
        expected = model.situation_routes.get(situation) or (model.children_institution
                                                            if situation == "child_at_risk" else None)
        if expected:
            assert target == expected
        elif providers:
            assert target in providers, (situation, target)
        else:
            assert target == model.intake_institution


def test_older_care_in_lutsk_goes_to_the_territorial_centre(catalogue):
    assert route(catalogue.communities["lutsk"], situation_id="older_care") == "tcso"


def test_working_days_skip_weekends():
    from datetime import datetime, timezone

    friday = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
    assert add_working_days(friday, 3, KYIV).date().isoformat() == "2026-12-02"


async def test_create_numbers_routes_and_queues_the_card(service, db):
    first = await service.create(draft(files=[Attachment("photo", "F1", None, 1000)]))
    second = await service.create(draft(resident_id=101))
    assert first.public_id.endswith("-000001") and second.public_id.endswith("-000002")
    assert first.institution_id == "tcso" and first.status == Status.new and not first.urgent
    rows = await outbox_rows(db)
    assert [(k, t) for k, t, _, _ in rows] == [("card", "institution:lutsk/tcso")] * 2
    assert (await service.files(first.id))[0].file_id == "F1"


async def test_same_update_twice_creates_one_request(service):
    one = await service.create(draft(), update_id=555)
    two = await service.create(draft(), update_id=555)
    assert one.id == two.id
    assert await service.count_for_resident(100) == 1


async def test_danger_marks_urgent_and_sorts_first(service):
    await service.create(draft(resident_id=1))
    urgent = await service.create(draft(resident_id=2), danger={"violence"})
    listed = await service.open_for_institution("lutsk", "tcso")
    assert listed[0].id == urgent.id and urgent.urgent and urgent.danger == "violence"


async def test_report_about_a_child_goes_to_the_childrens_service(service, catalogue):
    request = await service.create(draft(community="volodymyr", kind="report", service_id=None, about_child=True,
                                         anonymous=True, contact_phone="+380501112233"))
    assert request.institution_id == catalogue.communities["volodymyr"].model.children_institution
    assert request.anonymous and request.contact_phone is None


async def test_staff_flow_and_history(service, db):
    await bound(service)
    request = await service.create(draft())
    taken = await service.take(-100, request.id, 7, "соціальний працівник")
    assert taken.status == Status.in_progress and taken.first_response_at
    with pytest.raises(RequestError) as info:
        await service.take(-100, request.id, 8, "інший")
    assert info.value.reason == "taken_by_other"
    await service.note(-100, request.id, 7, "соціальний працівник", "внутрішня примітка")
    await service.reply(-100, request.id, 7, "соціальний працівник", "Прийдемо у вівторок")
    await service.resident_message(100, request.id, "Дякую, чекатиму")
    done = await service.finish(-100, request.id, 7, "соціальний працівник", resolved=True)
    assert done.status == Status.resolved and done.closed_at
    rated = await service.rate(100, request.id, 5, "Дуже дякую")
    assert rated.rating == 5
    public = [e.kind for e in await service.history(request.id, public_only=True)]
    everything = [e.kind for e in await service.history(request.id, public_only=False)]
    assert public == ["created", "taken", "reply", "resident_message", "resolved", "rated"]
    assert "note" in everything and "note" not in public
    reopened = await service.reopen(-100, request.id, 7, "соціальний працівник")
    assert reopened.status == Status.in_progress and reopened.closed_at is None


async def test_other_people_and_other_groups_are_refused(service):
    await bound(service, institution="tcso", chat_id=-100)
    await bound(service, institution="dsvp", chat_id=-200)
    request = await service.create(draft())
    for call in (
        service.owned(999, request.id),
        service.withdraw(999, request.id),
        service.resident_message(999, request.id, "чуже"),
        service.rate(999, request.id, 5),
    ):
        with pytest.raises(RequestError) as info:
            await call
        assert info.value.reason == "not_found"
    for chat in (-200, -300, 100):
        with pytest.raises(RequestError):
            await service.take(chat, request.id, 7, "x")
        with pytest.raises(RequestError):
            await service.reply(chat, request.id, 7, "x", "текст")


async def test_redirect_moves_to_another_institution(service, db):
    await bound(service)
    request = await service.create(draft())
    moved = await service.redirect(-100, request.id, 7, "працівник", "dsvp", "Це питання департаменту")
    assert moved.institution_id == "dsvp" and moved.status == Status.new and moved.card_message_id is None
    kinds = [(k, t) for k, t, _, _ in await outbox_rows(db)]
    assert ("card", "institution:lutsk/dsvp") in kinds and ("redirected", "resident:100") in kinds
    with pytest.raises(RequestError):
        await service.take(-100, request.id, 7, "x")  # the old group no longer acts on it


async def test_withdraw(service):
    request = await service.create(draft())
    withdrawn = await service.withdraw(100, request.id)
    assert withdrawn.status == Status.withdrawn
    with pytest.raises(RequestError):
        await service.resident_message(100, request.id, "ще")


async def test_binding_codes_are_one_time(service):
    code = await service.groups.create_bind_code("lutsk", "tcso", created_by=1)
    await service.groups.bind(-100, code, title="A", is_forum=False, user_id=1)
    with pytest.raises(RequestError) as info:
        await service.groups.bind(-101, code, title="B", is_forum=False, user_id=1)
    assert info.value.reason == "used_code"
    with pytest.raises(RequestError):
        await service.groups.bind(-101, "NOPE", title="B", is_forum=False, user_id=1)
    with pytest.raises(RequestError):
        await service.groups.create_bind_code("lutsk", "no-such", created_by=1)


async def test_delete_personal_data_keeps_counts(service, db):
    await bound(service)
    request = await service.create(draft(files=[Attachment("photo", "F1")]))
    await service.reply(-100, request.id, 7, "працівник", "Відповідь з іменем Петро")
    assert await service.delete_personal_data(100) == 1
    kept = await service.get(request.id)
    assert kept.resident_id is None and kept.description is None and kept.contact_phone is None
    assert kept.purged_at and kept.institution_id == "tcso" and kept.service_id == "home-care"
    assert all(e.text is None for e in await service.history(request.id, public_only=False))
    assert await service.files(request.id) == []
    assert await service.for_resident(100) == []


async def test_retention_purges_old_closed_requests(service, db):
    await bound(service)
    request = await service.create(draft())
    await service.finish(-100, request.id, 7, "працівник", resolved=True)
    await db.execute("UPDATE requests SET closed_at = '2020-01-01T00:00:00+00:00' WHERE id = ?", (request.id,))
    open_one = await service.create(draft(resident_id=101))
    assert await service.purge_closed(older_than_days=30) == 1
    assert (await service.get(request.id)).description is None
    assert (await service.get(open_one.id)).description == "Потрібна допомога вдома"


class FakeSender:
    def __init__(self, script):
        self.script = list(script)
        self.delivered: list[Item] = []
        self.held: list[str] = []
        self.blocked: list[Item] = []

    async def deliver(self, item):
        outcome = self.script.pop(0) if self.script else None
        if outcome is not None:
            raise outcome
        self.delivered.append(item)

    async def on_held(self, item, reason, chat_id):
        self.held.append(reason)

    async def on_blocked(self, item):
        self.blocked.append(item)


async def test_outbox_retries_with_backoff_then_sends(service, db):
    await service.create(draft())
    sender = FakeSender([Transient("timeout")])
    box = Outbox(db, sender, base_delay=0)
    assert await box.process_once() == 0
    assert await box.process_once() == 1
    assert (await box.counts()) == {"sent": 1}


async def test_outbox_holds_without_group_and_releases_on_binding(service, db):
    await service.create(draft())
    sender = FakeSender([NoGroup()])
    box = Outbox(db, sender)
    await box.process_once()
    assert sender.held == ["no_group"] and (await box.counts()) == {"held": 1}
    await bound(service)
    # the held card goes out, and with it the row that posts, in order, every card the new group must get
    assert await box.process_once() == 3  # and the administrators hear of the binding
    assert (await box.counts()) == {"sent": 3}
    regroup = next(item for item in sender.delivered if item.kind == "regroup")
    request = (await service.for_resident(100))[0]
    assert regroup.payload["cards"] == [["r", request.id]]


async def test_outbox_unreachable_group_and_blocked_resident(service, db):
    await service.create(draft())
    sender = FakeSender([GroupUnreachable(-100, "bot was kicked")])
    box = Outbox(db, sender)
    await box.process_once()
    assert sender.held == ["unreachable"]
    await db.execute("DELETE FROM outbox")
    await service.create(draft(resident_id=300))
    await db.execute("UPDATE outbox SET target = 'resident:300', kind = 'status'")
    sender.script = [RecipientBlocked()]
    await box.process_once()
    assert (await box.counts()) == {"dropped": 1} and len(sender.blocked) == 1


async def test_outbox_honours_retry_after_and_order(service, db):
    request = await service.create(draft())
    await service.withdraw(100, request.id)  # a card, then its update and a notice: one conversation
    other = await service.create(draft(resident_id=101))
    sender = FakeSender([RetryAfter(1)])
    box = Outbox(db, sender)
    await box.process_once()
    first_request = [i for i in sender.delivered if i.payload["request_id"] == request.id]
    assert first_request == []  # the rows after the refused card wait behind it
    rows = await db.fetchall("SELECT attempts, last_error FROM outbox ORDER BY id")
    assert rows[0]["attempts"] == 0 and "retry after" in rows[0]["last_error"]  # a flood wait is not a failure
    import asyncio

    await asyncio.sleep(2.05)
    await box.process_once()
    kinds = [i.kind for i in sender.delivered if i.payload["request_id"] == request.id]
    assert kinds == ["card", "card_update", "group_notice"]
    assert any(i.payload["request_id"] == other.id for i in sender.delivered)
    assert (await box.counts()) == {"sent": 4}


def test_conversations_of_the_outbox():
    card = Item(1, "card", "institution:lutsk/tcso", 5, {"request_id": 5}, 0)
    relay = Item(2, "consult_to_group", "institution:lutsk/tcso", None, {"consultation_id": 5}, 0)
    resident = Item(3, "reply", "resident:7", 5, {"request_id": 5}, 0)
    assert card.conversation != relay.conversation  # two topics of one group go side by side
    assert resident.conversation == "resident:7"  # everything to one person stays in order


async def test_outbox_gives_up_after_max_attempts(service, db):
    await service.create(draft())
    sender = FakeSender([Transient("x")] * 3)
    box = Outbox(db, sender, max_attempts=3, base_delay=0)
    for _ in range(3):
        await box.process_once()
    assert (await box.counts()) == {"failed": 1}


async def test_bind_codes_are_128_bits_kept_hashed_and_failures_lock_out(service, db):
    code = await service.groups.create_bind_code("lutsk", "tcso", created_by=1)
    assert len(code) == 32 and int(code, 16) >= 0  # 128 bits in hex
    [row] = await db.fetchall("SELECT code FROM bind_codes")
    assert row["code"] == code_hash(code) and code not in row["code"]  # shown once: never read back
    for n in range(BIND_TRIES):
        with pytest.raises(RequestError) as info:
            await service.groups.bind(-300, f"{n:032X}", title="X", is_forum=False, user_id=55)
        assert info.value.reason == "bad_code"
    # the chat is locked out, even with the right code; so is the person, in another chat
    for chat_id, user_id in ((-300, 56), (-301, 55)):
        with pytest.raises(RequestError) as info:
            await service.groups.bind(chat_id, code, title="X", is_forum=False, user_id=user_id)
        assert info.value.reason == "bind_locked"
    assert (await db.fetchone("SELECT used_at FROM bind_codes"))["used_at"] is None
    group = await service.groups.bind(-302, code.lower(), title="Y", is_forum=False, user_id=57)
    assert group.institution_id == "tcso"


async def test_every_binding_is_announced_with_the_group_it_replaces(service, db):
    await bound(service, chat_id=-100)
    await bound(service, chat_id=-200)
    notices = [payload for kind, target, _s, payload in await outbox_rows(db) if kind == "group_bound"]
    assert [n["chat_id"] for n in notices] == [-100, -200]
    assert notices[0]["losing"] == [] and [g["chat_id"] for g in notices[1]["losing"]] == [-100]


async def test_a_rating_is_given_once(service, db):
    await bound(service)
    request = await service.create(draft())
    await service.finish(-100, request.id, 7, "працівник", resolved=True)
    await service.rate(100, request.id, 4)
    before = await outbox_rows(db)
    for rating in (1, 5):
        with pytest.raises(RequestError) as info:
            await service.rate(100, request.id, rating)
        assert info.value.reason == "rated"
    assert (await service.get(request.id)).rating == 4 and await outbox_rows(db) == before
    assert await service.rating_comment(100, request.id, "Дякую")
    assert not await service.rating_comment(100, request.id, "Ще раз")
    assert not await service.rating_comment(999, request.id, "Чуже")
    assert (await service.get(request.id)).rating_comment == "Дякую"


async def test_daily_caps_count_on_the_services_clock(db, catalogue):
    now = {"t": datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)}
    service = RequestService(db, catalogue, KYIV, caps=Caps(requests=2, reports=1, follow_ups=2),
                             clock=lambda: now["t"])
    first = await service.create(draft())
    await service.create(draft())
    with pytest.raises(RequestError) as info:
        await service.create(draft())
    assert info.value.reason == "cap"
    await service.create(draft(kind="report", service_id=None, about_child=True))  # reports count apart
    with pytest.raises(RequestError):
        await service.create(draft(kind="report", service_id=None))
    danger = await service.create(draft(description="Чоловік б'є"), danger=["violence"])  # never held back
    assert danger.urgent
    await service.resident_message(100, first.id, "одне")
    await service.resident_message(100, first.id, "друге")
    with pytest.raises(RequestError) as info:
        await service.resident_message(100, first.id, "третє")
    assert info.value.reason == "cap"
    await service.resident_message(100, first.id, "Він знову б'є", urgent=True)
    assert await service.count_for_resident(100) == 4
    now["t"] += timedelta(hours=24, minutes=1)  # a day later the caps are fresh
    await service.create(draft())
    await service.resident_message(100, first.id, "наступного дня")
    assert not await RequestService(db, catalogue, KYIV, caps=Caps(requests=0), clock=lambda: now["t"]).cap_reached(
        100, "requests")
