"""Reports end to end: residents and staff act through the real bot, then the administrator's /stats and /export
must show exactly what they did.

The scenario runs against a bot and a sandbox of its own (a fresh database), so every figure is known.
"""
from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.reports.charts import PNG_SIGNATURE
from bot.reports.figures import Collector
from bot.reports.periods import preset
from bot.requests.routing import route
from sandbox import SandboxClient
from sandbox.client import message_text
from tests.support.staff import file_request, group_messages, new_group, staff_group
from tests.support.world import ADMIN_ID, LOOP, Person, World, buttons, last_call_seq, serving_world, settle_calls

pytestmark = pytest.mark.asyncio(loop_scope=LOOP)
COMMUNITY = "pervomaiskyi"
NAME = "Первомайська громада"
OLDER = "Літня людина потребує догляду"
PSYCH = "Потрібна психологічна підтримка"


@pytest_asyncio.fixture(scope="module", loop_scope=LOOP)
async def own(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """A sandbox and a bot with a database of their own; the administrators' chat is a group in it."""
    chat: dict[str, Any] = {}

    async def administrators_chat(client: SandboxClient, admin: dict[str, Any]) -> dict[str, str]:
        chat.update(await client.create_group("Адміністратори", forum=False, members=[admin]), admin=admin)
        return {"ADMIN_CHAT_ID": str(chat["id"])}

    # the line's clock stays on the wall: the report counts "this month" by the wall clock, as the requests are
    # dated by it; the line is opened whatever the hour in `scenario`, so the hour plays no part
    async with serving_world(tmp_path_factory.mktemp("reports"), administrators_chat, line_clock=None) as world:
        world.admin_chat = chat["id"]  # type: ignore[attr-defined]
        world.admin = chat["admin"]  # type: ignore[attr-defined]
        yield world


def tr(world: World, msgid: str) -> str:
    """A label as the Ukrainian-speaking administrator reads it."""
    return world.running.app.i18n.gettext(msgid, locale="uk")


async def resident(world: World, community: str, name: str) -> Person:
    """A resident after /start, language and community, once the bot has said everything it says then."""
    since = await last_call_seq(world.client)
    person = await world.resident(community, name=name)
    await settle_calls(world.client, since, quiet=0.2)
    person._last_id = await world.client.last_id(person.chat_id)
    return person


async def scenario(world: World) -> dict:
    """Residents ask, staff answer and close, a consultation is held and rated; returns what happened."""
    services = world.services
    view = services.catalogue.communities[COMMUNITY]
    older_inst = route(view, service_id=None, situation_id="older_care", about_child=False, report=False)
    child_inst = route(view, service_id=None, situation_id="psychological", about_child=True, report=False)
    older_group, older_staff = await staff_group(world, older_inst, community=COMMUNITY, title="Догляд")
    if child_inst != older_inst:
        child_group, child_staff = await staff_group(world, child_inst, community=COMMUNITY, title="Діти")
    else:
        child_group, child_staff = older_group, older_staff

    # Марія: help for herself about an older person; taken, answered and resolved, then rated
    maria = await resident(world, COMMUNITY, name="Марія")
    after = await world.client.last_id(older_group)
    await file_request(maria, situation=OLDER, contact="chat")
    [card] = await group_messages(world, older_group, after)
    older_staff.thread_id = card["message_thread_id"]
    mark = await world.client.last_id(maria.chat_id)
    await older_staff.tap("🙋 Взяти")
    [sent] = await older_staff.say("Добрий день! Соціальний працівник прийде завтра.")
    assert "Надіслано мешканцю" in message_text(sent)
    await older_staff.tap("✅ Вирішено", new=1)  # a reason, then «Так»
    await older_staff.tap("Допомогли")
    await older_staff.tap("✅ Так, вирішено")
    got = await world.client.wait_bot_messages(maria.chat_id, mark, 3, timeout=8)  # taken, the answer, finished
    assert buttons(got[-1]) == ["1", "2", "3", "4", "5"]
    await maria.tap("5", new=1)

    # Петро: about his child (psychological support); taken and closed without more work
    petro = await resident(world, COMMUNITY, name="Петро")
    after = await world.client.last_id(child_group)
    await file_request(petro, situation=PSYCH, whom="👶 Для моєї дитини", description="Син не спить ночами",
                       contact="chat")
    [card] = await group_messages(world, child_group, after)
    child_staff.thread_id = card["message_thread_id"]
    await child_staff.tap("🙋 Взяти")
    await child_staff.tap("☑️ Закрити", new=1)
    await child_staff.tap("Не наша компетенція")
    await child_staff.tap("✅ Так, закрити")

    # Ганна: a request nobody has touched yet
    hanna = await resident(world, COMMUNITY, name="Ганна")
    after = await world.client.last_id(older_group)
    await file_request(hanna, situation=OLDER, description="Батькові потрібна доглядальниця", contact="chat")
    await group_messages(world, older_group, after)

    # someone in another community: not in Первомайська's figures
    lutsk = await resident(world, "lutsk", name="Лука")
    await staff_group(world, route(services.catalogue.communities["lutsk"], service_id=None,
                                   situation_id="older_care", about_child=False, report=False), title="Луцьк")
    await file_request(lutsk, situation=OLDER, description="Бабусі потрібна допомога", contact="chat")

    # Юлія: an online consultation, held and rated 4 (the line is opened whatever the hour)
    services.consult.is_open = lambda line: True
    line = services.consult.line(COMMUNITY, "psychological")
    line_group, specialist = await staff_group(world, line.institution_id, community=COMMUNITY, title="Лінія")
    julia = await resident(world, COMMUNITY, name="Юлія")
    await julia.say("💬 Онлайн-консультація")
    answers = await julia.tap("Психологічна підтримка", new=1)
    if "Перш ніж" in message_text(answers[-1]):
        await julia.tap("✅ Погоджуюся", new=1)
    after = await world.client.last_id(line_group)
    await julia.say("Тривога після переїзду")
    [card] = await world.client.wait_bot_messages(line_group, after, 1, timeout=8)
    specialist.thread_id = card["message_thread_id"]
    mark = await world.client.last_id(julia.chat_id)
    await specialist.tap("🙋 Взяти")
    await world.client.wait_bot_messages(julia.chat_id, mark, 1, timeout=8)
    await world.client.send_text(specialist.user, "Добрий день, розкажіть більше", chat_id=line_group,
                                 thread_id=specialist.thread_id)
    await world.client.wait_bot_messages(julia.chat_id, mark, 2, timeout=8)
    answers = await julia.say("❌ Завершити консультацію", count=2)
    assert buttons(answers[1]) == ["1", "2", "3", "4", "5"]
    await julia.tap("4", new=1)

    # a campaign to the community (the campaign module writes these rows; here they are written directly)
    db = services.db
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    campaign = await db.fetchone("SELECT COUNT(*) AS n FROM campaigns")
    assert campaign["n"] == 0
    await db.execute(
        "INSERT INTO campaigns (id, created_by, created_at, status, topic, text, audience, started_at, total) "
        "VALUES (1, ?, ?, 'done', 'news', 'Новини', ?, ?, 3)",
        (ADMIN_ID, now, json.dumps({"community": COMMUNITY, "topics": [], "locale": None}), now))
    for user, status in ((maria.id, "delivered"), (petro.id, "delivered"), (hanna.id, "blocked")):
        await db.execute("INSERT INTO campaign_recipients (campaign_id, user_id, status) VALUES (1, ?, ?)",
                         (user, status))
    for user in (maria.id, maria.id):
        await db.execute("INSERT INTO link_opens (code, kind, community, campaign_id, user_id, opened_at) "
                         "VALUES ('c1', 'community', ?, 1, ?, ?)", (COMMUNITY, user, now))

    # one request in the period before, written directly (a month ago), to see the change
    tz = services.settings.tz
    period = preset("this_month", datetime.now(tz).date())
    before = datetime.combine(period.previous().start, datetime.min.time(), tz) + timedelta(hours=12)
    stamp = before.astimezone(timezone.utc).isoformat(timespec="seconds")
    due = (before + timedelta(days=3)).astimezone(timezone.utc).isoformat(timespec="seconds")
    await db.execute(
        "INSERT INTO requests (public_id, community, kind, institution_id, situation_id, status, created_at, "
        "updated_at, due_at) VALUES ('2000-000001', ?, 'help', ?, 'older_care', 'new', ?, ?, ?)",
        (COMMUNITY, older_inst, stamp, stamp, due))
    return {"older": older_inst, "child": child_inst, "people": [maria.id, petro.id, hanna.id, julia.id]}


async def test_stats_and_export_match_the_scenario(own: World) -> None:
    world = own
    done = await scenario(world)
    services = world.services

    # the figures themselves
    tz = services.settings.tz
    period = preset("this_month", datetime.now(tz).date())
    report = await Collector(services.db, services.catalogue, tz).report(period, COMMUNITY)
    cur, prev = report.current, report.previous
    assert cur.request_count == 3 and prev.request_count == 1
    assert dict(cur.by("status")) == {"resolved": 1, "closed": 1, "new": 1}
    institutions = cur.by("institution")
    assert institutions[(COMMUNITY, done["older"])] == 2 + (done["child"] == done["older"])
    assert dict(cur.by("situation")) == {"older_care": 2, "psychological": 1}
    assert cur.by("group")["children_families"] == 1 and cur.by("group")[""] == 2
    assert cur.median_first_answer is not None and cur.median_first_answer < 1
    assert cur.median_closing is not None and cur.median_closing < 1
    assert cur.overdue == 0
    assert cur.consultations_held == 1 and cur.consultation_rating == 4
    assert (cur.campaign_total("campaigns"), cur.campaign_total("recipients"), cur.campaign_total("delivered"),
            cur.campaign_total("blocked"), cur.campaign_total("opens")) == (1, 3, 2, 1, 2)
    assert cur.new_residents == 4 and cur.active_residents == 4
    everyone = await Collector(services.db, services.catalogue, tz).report(period, None)
    assert everyone.current.request_count == 4 and everyone.current.new_residents == 6  # + Лука, the admin

    # /stats as the administrator in a private chat
    admin = Person(world.client, world.admin)
    [picker] = await admin.say("/stats")
    assert buttons(picker)[0] == tr(world, "All communities") and NAME in buttons(picker)
    [periods] = await admin.tap(NAME)
    assert buttons(periods)[:5] == [tr(world, p) for p in ("This month", "Last month", "This quarter", "This year",
                                                           "Last year")]
    mark = admin._last_id
    await admin.tap(tr(world, "This month"))
    got = await world.client.wait_bot_messages(ADMIN_ID, mark, 4, timeout=30)
    texts = [message_text(m) for m in got if not m.get("photo")]
    photos = [m for m in got if m.get("photo")]
    text = "\n".join(texts)
    assert len(photos) == 3 and all(len(t) <= 4096 for t in texts)
    for line in (f"{tr(world, 'Requests')}: 3 (+2)",
                 f"{tr(world, 'Overdue (not answered by the answer date)')}: 0 (−1)",
                 f"{tr(world, 'Resolved')}: 1 (+1)", f"{tr(world, 'Closed')}: 1 (+1)",
                 f"{tr(world, 'Received')}: 1 (±0)",
                 f"{OLDER}: 2 (+1)", f"{PSYCH}: 1 (+1)",
                 f"{tr(world, 'Held')}: 1 (+1)",
                 f"{tr(world, 'Recipients')}: 3 (+3)", f"{tr(world, 'Delivered')}: 2 (+2)",
                 f"{tr(world, 'Blocked the bot')}: 1 (+1)", f"{tr(world, 'Link opens from campaigns')}: 2 (+2)",
                 f"{tr(world, 'New (first start of the bot)')}: 4 (+4)", f"{tr(world, 'Active')}: 4 (+4)"):
        assert line in text, line
    assert f"{tr(world, 'Average rating')}: 4,00" in text or f"{tr(world, 'Average rating')}: 4.00" in text
    assert "Лука" not in text and "Марія" not in text
    for photo in photos:
        content = await world.client.file_content(photo["photo"][-1]["file_id"])
        assert content.startswith(PNG_SIGNATURE)
        from PIL import Image

        with Image.open(io.BytesIO(content)) as picture:
            assert picture.format == "PNG" and picture.size[0] >= 600

    # /export: the workbook
    from openpyxl import load_workbook

    [picker] = await admin.say("/export")
    await admin.tap(NAME)
    mark = admin._last_id
    await admin.tap(tr(world, "This month"))
    [document] = await world.client.wait_bot_messages(ADMIN_ID, mark, 1, timeout=30)
    assert document["document"]["file_name"].endswith(".xlsx")
    book = load_workbook(io.BytesIO(await world.client.file_content(document["document"]["file_id"])))
    titles = book.sheetnames
    assert len(titles) == 10  # with the residents' confirmations of help
    summary = book[titles[0]]
    rows = {row[0].value: row for row in summary.iter_rows(min_row=2)}
    start = rows[tr(world, "From")][1]
    assert start.value.date() == period.start and start.number_format == "DD.MM.YYYY"
    assert rows[tr(world, "Requests")][1].value == 3 and rows[tr(world, "Requests")][2].value == 1
    assert rows[tr(world, "People served (requests and consultations)")][1].value == 4
    assert rows[tr(world, "Online consultations held")][1].value == 1
    services_sheet = book[titles[1]]
    values = [[c.value for c in row] for row in services_sheet.iter_rows(min_row=2)]
    assert sum(r[3] for r in values) == 3 and sum(r[4] for r in values) == 1
    groups = {row[0].value: [c.value for c in row] for row in book[titles[2]].iter_rows(min_row=2)}
    assert groups[tr(world, "Not specified")][2] == 2
    assert groups["Діти та сім’ї з дітьми"][1:3] == [1, 1]
    assert groups["Усі мешканці"][3] == 1  # the psychological consultation
    months = list(book[titles[8]].iter_rows(min_row=2))  # after the confirmations of help (titles[4])
    assert months[0][0].number_format == "DD.MM.YYYY" and months[0][1].value == 3
    everything = [str(c.value) for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
    for secret in ("Марія", "Петро", "Ганна", "Юлія", *map(str, done["people"]), "Тривога", "доглядальниця"):
        assert not any(secret in value for value in everything), secret


async def test_only_administrators_in_their_chats(own: World) -> None:
    world = own
    stranger = await world.person("Сторонній")
    [answer] = await stranger.say("/stats")
    assert tr(world, "This command is for the community's administrators.") in message_text(answer)
    [answer] = await stranger.say("/export")
    assert not buttons(answer)

    # in the administrators' chat it works; in any other group it is refused politely
    admin = Person(world.client, world.admin)
    admin.chat_id = world.admin_chat
    [picker] = await admin.say("/stats")
    assert tr(world, "All communities") in buttons(picker)
    other = await new_group(world.client, "Інша група", forum=False, members=[world.admin])
    elsewhere = Person(world.client, world.admin)
    elsewhere.chat_id = other["id"]
    [answer] = await elsewhere.say("/stats")
    assert message_text(answer) == tr(
        world, "Reports are shown only in a private chat with the bot or in the administrators' chat.")
    # a member of the administrators' chat who is not an administrator cannot press the buttons
    member = await world.client.create_user("Член чату")
    await world.client.add_member(world.admin_chat, member)
    query = await world.client.press(member["id"], picker, tr(world, "All communities"), chat_id=world.admin_chat)
    answer = await world.client.callback_answer(query)
    assert tr(world, "This command is for the community's administrators.") in answer["text"]


async def test_cli_on_the_scenario_database(own: World, tmp_path: Path) -> None:
    """`python -m bot stats` and `export` on the database the scenario filled (run after the scenario)."""
    import subprocess
    import sys
    import zipfile

    from bot.config import PROJECT_ROOT

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(own.services.settings.database_path),
               "MPLCONFIGDIR": str(tmp_path / "mpl")}
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, env=env, capture_output=True,
                              text=True, timeout=120)

    result = await asyncio.to_thread(run, "stats", "--community", COMMUNITY, "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["current"]["requests"] == 3 and figures["before"]["requests"] == 1
    assert figures["current"]["consultations_held"] == 1 and figures["current"]["active_residents"] == 4
    first = datetime.now(own.services.settings.tz).date().replace(day=1)
    out = tmp_path / "x.zip"
    result = await asyncio.to_thread(run, "export", "--community", COMMUNITY, "--format", "csv", "--out", str(out),
                                     "--from", str(first))
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert len(names) == 10 and all(n.endswith(".csv") for n in names)
        summary = archive.read(names[0]).decode("utf-8-sig")
        assert f"{first:%d.%m.%Y}" in summary and ",3,1,2" in summary  # requests: now, before, change
    bad = await asyncio.to_thread(run, "stats", "--community", "nowhere")
    assert bad.returncode == 2 and "unknown community" in bad.stderr
