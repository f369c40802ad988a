"""Deep-link payloads, counted opens, and the printable QR sheets (decoded back to their links)."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from bot import links
from bot.catalogue.loader import load_catalogue
from bot.config import PROJECT_ROOT
from bot.links import (
    Link,
    LinkError,
    community_payload,
    consultation_payload,
    deep_link,
    opens_by_code,
    opens_of_campaign,
    parse_payload,
    record_open,
    service_payload,
)
from bot.qr import layout, make_sheet, sheet_for
from bot.storage.db import Database

zxingcpp = pytest.importorskip("zxingcpp")

ALLOWED = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BIGGEST_CAMPAIGN = 999_999_999_999


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(PROJECT_ROOT / "data")


def decode_png(png: bytes) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))]


# ----- payloads --------------------------------------------------------------------------------------------------

def test_every_service_topic_and_community_round_trips_within_64_characters(catalogue) -> None:
    checked = 0
    for slug, view in catalogue.communities.items():
        for campaign in (None, 7, BIGGEST_CAMPAIGN):
            cases = [(community_payload(slug, campaign), links.COMMUNITY, None)]
            cases += [(service_payload(slug, sid, campaign), links.SERVICE, sid) for sid in view.services]
            cases += [(consultation_payload(slug, t.id, campaign), links.CONSULTATION, t.id)
                      for t in catalogue.consultation_topics]
            for payload, kind, target in cases:
                assert ALLOWED.match(payload), payload
                link = parse_payload(payload, catalogue)
                assert link == Link(kind, slug, target, campaign, payload), payload
                checked += 1
    assert checked > 3 * (5 + 150)


def test_readable_payloads_name_what_they_open(catalogue) -> None:
    assert service_payload("lutsk", "home-care") == "HlutskShome-care"
    assert consultation_payload("lutsk", "legal", 12) == "HlutskTlegalK12"
    assert community_payload("lutsk") == "Hlutsk"
    assert parse_payload("HlutskShome-care") == Link("service", "lutsk", "home-care", None, "HlutskShome-care")


def fake_catalogue(community: str, service_ids: list[str], topic_ids: list[str]) -> SimpleNamespace:
    view = SimpleNamespace(services={sid: object() for sid in service_ids})
    return SimpleNamespace(communities={community: view},
                           consultation_topics=[SimpleNamespace(id=t) for t in topic_ids])


def test_long_ids_get_the_compact_form_and_still_round_trip() -> None:
    community = "c" * 41
    services = ["s" * 41, "s" * 40 + "x", "day-care-children-with-disabilities-2"]
    topics = ["t" * 41]
    catalogue = fake_catalogue(community, services, topics)
    for campaign in (None, 1, BIGGEST_CAMPAIGN):
        for sid in services:
            payload = service_payload(community, sid, campaign)
            assert ALLOWED.match(payload) and len(payload) <= 64
            assert parse_payload(payload, catalogue) == Link("service", community, sid, campaign, payload)
        payload = consultation_payload(community, topics[0], campaign)
        assert ALLOWED.match(payload)
        assert parse_payload(payload, catalogue) == Link("consultation", community, topics[0], campaign, payload)
    compact = service_payload(community, services[0], BIGGEST_CAMPAIGN)
    assert compact.startswith("H" + community) and "R" in compact and len(compact) == 64
    assert parse_payload(compact) is None  # a hash needs the catalogue to be read
    longer = "c" * 60  # longer than catalogue ids may be: the community is hashed too
    payload = service_payload(longer, services[0], 5)
    assert payload.startswith("G") and len(payload) <= 64
    assert parse_payload(payload, fake_catalogue(longer, services, topics)).community == longer


@pytest.mark.parametrize("payload", [
    "", "hello", "start", "Hlutsk Shome-care", "HlutskShome-care!", "HatlantisShome-care", "HlutskSnope",
    "HlutskTnope", "HlutskShome-careK0", "HlutskShome-careK012", "HlutskShome-careK1234567890123",
    "HlutskShome-careKx", "HlutskShome-careK12K13", "HlutskShome-careShot-meals", "ShomecareHlutsk", "Slutsk",
    "H", "HlutskS", "HlutskK12Shome-care", "HlutskRaaaaaaaa", "Gaaaaaaaa", "HlutskZx", "x" * 65,
    "HLUTSKShome-care", "HlutskShome-careX",
])
def test_forged_or_unknown_payloads_are_refused(catalogue, payload: str) -> None:
    assert parse_payload(payload, catalogue) is None


def test_only_the_canonical_form_is_accepted(catalogue) -> None:
    from bot.links import short_hash

    hashed = f"HlutskR{short_hash('home-care')}"  # the readable form fits, so the hashed one is not ours
    assert parse_payload(hashed, catalogue) is None


def test_bad_values_cannot_make_a_link() -> None:
    with pytest.raises(LinkError):
        service_payload("Lutsk", "home-care")
    with pytest.raises(LinkError):
        service_payload("lutsk", "home care")
    with pytest.raises(LinkError):
        community_payload("lutsk", 0)
    with pytest.raises(LinkError):
        community_payload("lutsk", 10**13)


def test_deep_link() -> None:
    assert deep_link("@hromada_help_bot", "Hlutsk") == "https://t.me/hromada_help_bot?start=Hlutsk"
    with pytest.raises(LinkError):
        deep_link("no", "Hlutsk")
    with pytest.raises(LinkError):
        deep_link("hromada_help_bot", "a b")


# ----- counting ----------------------------------------------------------------------------------------------

async def test_opens_are_counted_by_code_and_by_campaign() -> None:
    db = await Database(":memory:").connect()
    try:
        card = parse_payload("HlutskShome-care")
        campaign = parse_payload("HlutskShome-careK5")
        await record_open(db, card, 1, True)
        await record_open(db, card, 1, False)
        await record_open(db, card, 2, False)
        await record_open(db, campaign, 3, True)
        await record_open(db, campaign, 3, False)
        await record_open(db, parse_payload("HlutskTlegalK5"), 4, False)
        await record_open(db, parse_payload("HlutskK6"), 4, False)
        rows = {row.code: row for row in await opens_by_code(db)}
        assert (rows["HlutskShome-care"].opens, rows["HlutskShome-care"].residents,
                rows["HlutskShome-care"].new_residents) == (3, 2, 1)
        assert rows["HlutskShome-care"].kind == "service" and rows["HlutskShome-care"].target == "home-care"
        assert rows["HlutskShome-careK5"].campaign_id == 5
        assert await opens_of_campaign(db, 5) == 2
        assert await opens_of_campaign(db, 6) == 1
        assert await opens_of_campaign(db, 99) == 0
        stored = await db.fetchone("SELECT * FROM link_opens WHERE code = 'HlutskTlegalK5'")
        assert (stored["kind"], stored["community"], stored["target"], stored["campaign_id"], stored["user_id"],
                stored["new_resident"]) == ("consultation", "lutsk", "legal", 5, 4, 0)

        await db.execute("UPDATE link_opens SET opened_at = '2026-01-10T12:00:00+00:00' WHERE user_id = 4")
        in_january = await opens_by_code(db, since=date(2026, 1, 1), until=date(2026, 1, 10))
        assert {row.code for row in in_january} == {"HlutskTlegalK5", "HlutskK6"}  # `until` includes its day
        assert not await opens_by_code(db, since=date(2026, 1, 1), until=date(2026, 1, 9))
        after = await opens_by_code(db, since=datetime(2026, 1, 10, 12, 0, 1, tzinfo=timezone.utc))
        assert "HlutskK6" not in {row.code for row in after} and "HlutskShome-care" in {row.code for row in after}
    finally:
        await db.close()


async def test_deleting_my_data_keeps_the_counts_but_not_the_id() -> None:
    from bot.links import forget_resident

    db = await Database(":memory:").connect()
    try:
        for user_id in (1, 1, 2):
            await record_open(db, parse_payload("HlutskShome-careK5"), user_id, False)
        await forget_resident(db, 1)
        assert not await db.fetchall("SELECT 1 FROM link_opens WHERE user_id = 1")
        [row] = await opens_by_code(db)
        assert (row.opens, row.residents) == (3, 2) and await opens_of_campaign(db, 5) == 2
    finally:
        await db.close()


# ----- QR sheets ---------------------------------------------------------------------------------------------

def test_a_sheet_decodes_back_to_its_deep_link_and_names_the_service(catalogue) -> None:
    service = catalogue.communities["druzhkivka"].services["social-rehab-children-disability"]
    stem, sheet = sheet_for(catalogue, "hromada_help_bot", links.SERVICE, "druzhkivka", service.id)
    assert stem == "druzhkivka-service-social-rehab-children-disability"
    assert sheet.url == "https://t.me/hromada_help_bot?start=HdruzhkivkaSsocial-rehab-children-disability"
    assert sheet.png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(sheet.png))
    image.verify()
    assert decode_png(sheet.png) == [sheet.url]

    root = ET.fromstring(sheet.svg.encode("utf-8"))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    words = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert service.name.uk in words  # the name in large letters, wrapped over lines
    assert "Дружківська" in words and "t.me/hromada_help_bot?start=" in words
    assert decode_png(svg_as_png(sheet.svg)) == [sheet.url]  # the SVG's own code decodes too


def svg_as_png(svg: str) -> bytes:
    """Paint the SVG's code (its path of unit rectangles, scaled and moved) to check it decodes."""
    root = ET.fromstring(svg.encode("utf-8"))
    path = next(root.iter("{http://www.w3.org/2000/svg}path"))
    dx, dy, scale = map(float, re.findall(r"[\d.]+", path.get("transform")))
    image = Image.new("L", (int(root.get("width")), int(root.get("height"))), 255)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.get("d")):
        x0, y0 = dx + int(x) * scale, dy + int(y) * scale
        image.paste(0, (int(x0), int(y0), int(x0 + int(w) * scale), int(y0 + scale)))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_topic_and_community_sheets_in_ukrainian(catalogue) -> None:
    from bot.app import make_i18n
    from bot.config import load_settings

    i18n = make_i18n(load_settings())
    stem, sheet = sheet_for(catalogue, "hromada_help_bot", links.CONSULTATION, "lutsk", "legal", 12, "uk",
                            lambda text: i18n.gettext(text, locale="uk"))
    assert stem == "lutsk-consultation-legal-k12"
    assert decode_png(sheet.png) == ["https://t.me/hromada_help_bot?start=HlutskTlegalK12"]
    assert "Луцька" in sheet.svg
    stem, sheet = sheet_for(catalogue, "hromada_help_bot", links.COMMUNITY, "kakhovka")
    assert stem == "kakhovka-community" and decode_png(sheet.png) == ["https://t.me/hromada_help_bot?start=Hkakhovka"]


def test_a_long_name_is_wrapped_inside_the_page() -> None:
    title = "Дуже довга назва послуги " * 12
    sheet = layout("https://t.me/hromada_help_bot?start=Hlutsk", title, "Громада")
    title_lines = [line for line in sheet.lines if line.bold]
    assert len(title_lines) > 2 and {line.size for line in title_lines} == {40}  # smaller letters, more lines
    # what does not fit is shortened at a word's end, with an ellipsis
    assert title_lines[-1].text.endswith("…")
    assert title_lines[-1].text[:-1].split()[-1] in {"Дуже", "довга", "назва", "послуги"}
    assert all(line.y < sheet.height - 40 for line in sheet.lines)  # the page grows to hold them
    assert decode_png(make_sheet("https://t.me/hromada_help_bot?start=Hlutsk", title).png)


def test_the_command_line_writes_png_and_svg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.delenv("BOT_USERNAME", raising=False)
    monkeypatch.delenv("COMMUNITIES", raising=False)
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["qr", "--community", "lutsk", "--service", "home-care", "--out", str(tmp_path)]) == 2
    assert "BOT_USERNAME" in capsys.readouterr().err
    assert main(["qr", "--community", "lutsk", "--service", "home-care", "--out", str(tmp_path),
                 "--bot-username", "hromada_help_bot"]) == 0
    png = tmp_path / "lutsk-service-home-care.png"
    assert decode_png(png.read_bytes()) == ["https://t.me/hromada_help_bot?start=HlutskShome-care"]
    ET.parse(tmp_path / "lutsk-service-home-care.svg")
    assert main(["qr", "--community", "lutsk", "--service", "nope", "--bot-username", "hromada_help_bot"]) == 2
    monkeypatch.setenv("BOT_USERNAME", "hromada_help_bot")
    assert main(["qr", "--community", "kakhovka", "--all", "--out", str(tmp_path / "all")]) == 0
    view = load_catalogue(PROJECT_ROOT / "data", ["kakhovka"])
    files = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert len(files) == 2 * (1 + len(view.communities["kakhovka"].services) + len(view.consultation_topics))
