"""The community keeps its own catalogue, end to end: the administrator exports it with /catalogue, fills in a phone
in a copy, sends it back and confirms; the service card shows the phone; a repeated or forged press changes
nothing; a broken file changes nothing; /catalogue_undo restores the card; /catalogue_history names both."""
from __future__ import annotations

import asyncio
import io
from typing import Any, Callable

import pytest
from openpyxl import load_workbook

from bot.links import service_payload
from sandbox.client import inline_buttons, message_text
from tests.support.world import ADMIN_ID, LOOP, Person, World, buttons

pytestmark = pytest.mark.asyncio(loop_scope=LOOP)

LUTSK = "Луцька громада"
PHONE = "+380 33 272 45 12"


def t(world: World, msgid: str) -> str:
    return world.running.app.i18n.gettext(msgid, locale="uk")


async def becomes(world: World, message_id: int, ready: Callable[[dict[str, Any]], bool],
                  timeout: float = 15.0) -> dict[str, Any]:
    """The bot's message `message_id` in the administrator's chat once `ready` says so (it is edited in place)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = next(m for m in await world.client.messages(ADMIN_ID) if m["message_id"] == message_id)
        if ready(found):
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the message stayed {message_text(found)[:300]!r}")
        await asyncio.sleep(0.05)


async def versions(world: World) -> list[tuple[Any, ...]]:
    rows = await world.services.db.fetchall(
        "SELECT community, version, author_id, undone_at IS NOT NULL FROM catalogue_versions ORDER BY id")
    return [tuple(row) for row in rows]


async def card(world: World, resident: Person) -> str:
    [shown] = await resident.say(f"/start {service_payload('lutsk', 'home-care')}")
    return message_text(shown)


async def test_the_administrator_fills_in_a_phone_confirms_and_undoes_it(world: World) -> None:
    services = world.services
    admin = Person(world.client, {"id": ADMIN_ID, "first_name": "Адміністраторка"})
    await admin.say("/menu")
    resident = await world.resident("lutsk", name="Ярина")
    pending_contacts = t(world, "Contacts are being clarified.")
    assert pending_contacts in await card(world, resident) and PHONE not in await card(world, resident)
    before = await versions(world)

    # the workbook: one sheet for institutions, one for services, the phone column says «Телефон»
    [picker] = await admin.say("/catalogue")
    assert "📒" in message_text(picker) and LUTSK in buttons(picker)
    [document] = await admin.tap(LUTSK, new=1)
    assert document["document"]["file_name"].endswith(".xlsx")
    book = load_workbook(io.BytesIO(await world.client.file_content(document["document"]["file_id"])))
    assert {"Установи", "Послуги"} <= set(book.sheetnames)
    sheet = book["Установи"]
    headers = [cell.value for cell in sheet[1]]
    phone_column = next(n for n, header in enumerate(headers, 1) if "Телефон" in header)
    row = next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == "tcso")  # home care's provider
    sheet.cell(row, phone_column, PHONE)
    copy = io.BytesIO()
    book.save(copy)

    # sent back: the diff, then «Apply» on it
    [checking] = await admin.send_document("каталог громади.xlsx", copy.getvalue())
    diff = await becomes(world, checking["message_id"], lambda m: bool(inline_buttons(m)))
    text = message_text(diff)
    assert PHONE in text and "Територіальний центр" in text, text
    assert t(world, "Apply these changes?") in text
    assert await versions(world) == before  # nothing applied before the press
    apply_data = next(b["callback_data"] for b in inline_buttons(diff) if b["text"] == t(world, "✅ Apply"))
    await admin.tap(t(world, "✅ Apply"))
    applied = await becomes(world, checking["message_id"], lambda m: not inline_buttons(m))
    assert "✅" in message_text(applied)
    after = await versions(world)
    assert after == before + [("lutsk", (before[-1][1] if before else 0) + 1, ADMIN_ID, 0)]
    assert PHONE in await card(world, resident)

    # the same press again, and a press with a made-up token: refused, nothing changes
    again = await admin.forge(checking["message_id"], apply_data)
    assert again.get("text") == t(world, "These changes were already applied.")
    forged = await admin.forge(checking["message_id"], "cat:apply:lutsk:made-up-token")
    assert forged.get("text") == t(world, "This import is out of date. Send the file again.")
    assert await versions(world) == after

    # a broken file: a clear message, nothing changes
    served = services.catalogue
    [broken] = await admin.send_document("зіпсований.xlsx", b"PK\x03\x04 this is not a workbook at all")
    refused = await becomes(world, broken["message_id"], lambda m: "❌" in message_text(m))
    assert t(world, "This is not an Excel workbook (.xlsx), or it is damaged. Save it in Excel or LibreOffice as "
                    "an .xlsx workbook and send it again.") in message_text(refused)
    assert not inline_buttons(refused)
    assert services.catalogue is served and await versions(world) == after
    assert PHONE in await card(world, resident)

    # undo with one command (and its button): the card is as before
    await admin.say("/catalogue_undo")
    [question] = await admin.tap(LUTSK, new=1)
    assert PHONE in message_text(question)
    await admin.tap(t(world, "↩️ Undo"))
    done = await becomes(world, question["message_id"], lambda m: not inline_buttons(m))
    assert "↩️" in message_text(done).splitlines()[-1]
    shown = await card(world, resident)
    assert pending_contacts in shown and PHONE not in shown
    assert (await versions(world))[-1][3] == 1

    # who did what, when
    await admin.say("/catalogue_history")
    [history] = await admin.tap(LUTSK, new=1)
    assert str(ADMIN_ID) in message_text(history) and "↩️" in message_text(history)
