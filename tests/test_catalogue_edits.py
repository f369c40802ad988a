"""The community keeps its own catalogue: the workbook, what it refuses and why, versions and undo, the command line,
and the bot serving data/ with the community's corrections (data/ itself never changes)."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pytest
from openpyxl import Workbook, load_workbook

from bot import cli
from bot.app import build_services
from bot.catalogue.loader import load_catalogue
from bot.catalogue.overlay import Change
from bot.catalogue.workbook import ROW_LIMIT, SHEET_INSTITUTIONS, SHEET_META, SHEET_SERVICES
from bot.catalogue.workbook_export import export_workbook
from bot.catalogue.workbook_read import read_workbook
from bot.config import PROJECT_ROOT
from bot.ops.catalogue import reload_catalogue
from bot.ops.catalogue_edits import serving, versions, workbooks
from bot.ops.catalogue_edits import texts as edit_texts
from bot.storage.db import Database
from tests.support.config import make_settings

DATA = PROJECT_ROOT / "data"
PHONE = "+380 33 272 45 12"
ENV_VARS = ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "COMMUNITIES", "ADMIN_IDS", "DEFAULT_LOCALE", "TIMEZONE",
            "DATA_DIR", "LOG_LEVEL", "ADMIN_CHAT_ID")


def english(msgid: str) -> str:
    return msgid


def plural(singular: str, many: str, n: int) -> str:
    return singular if n == 1 else many


@pytest.fixture(scope="module")
def lutsk():
    return load_catalogue(DATA, ["lutsk"]).communities["lutsk"]


@pytest.fixture(scope="module")
def exported(lutsk) -> bytes:
    return export_workbook(lutsk, 0, datetime(2026, 12, 1, tzinfo=timezone.utc))


def edited(content: bytes, change: Callable[[Workbook], Any]) -> bytes:
    book = load_workbook(io.BytesIO(content))
    change(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def column(sheet, word: str) -> int:
    return next(n for n, cell in enumerate(sheet[1], 1) if cell.value and word in cell.value)


def row_of(sheet, code: str) -> int:
    return next(r for r in range(2, sheet.max_row + 1) if sheet.cell(r, 1).value == code)


def put(sheet_name: str, code: str, word: str, value: Any) -> Callable[[Workbook], None]:
    def change(book: Workbook) -> None:
        sheet = book[sheet_name]
        sheet.cell(row_of(sheet, code), column(sheet, word)).value = value

    return change


def rendered(problems) -> list[str]:
    return [p.render(english, plural) for p in problems]


# ----- the workbook -----------------------------------------------------------------------------------------------

def test_the_workbook_has_ukrainian_headers_a_status_list_and_reads_back_unchanged(lutsk, exported) -> None:
    book = load_workbook(io.BytesIO(exported))
    assert book.sheetnames[:2] == [SHEET_INSTITUTIONS, SHEET_SERVICES]
    assert book[SHEET_META].sheet_state == "hidden"
    institutions, services = book[SHEET_INSTITUTIONS], book[SHEET_SERVICES]
    assert any("Телефон" in cell.value for cell in institutions[1])
    assert {cell.value for cell in institutions[1]} >= {"Адреса", "Години роботи", "Електронна пошта", "Опис установи"}
    assert institutions.max_row - 1 == len(lutsk.institutions) and services.max_row - 1 == len(lutsk.services)
    [status_list] = [v for v in services.data_validations.dataValidation if v.type == "list"]
    assert status_list.formula1 == '"надається,впроваджується,запланована"'
    reading = read_workbook(exported, lutsk)
    assert reading.community == "lutsk" and reading.version == 0
    assert not reading.problems and not reading.refused
    assert set(reading.proposed["institutions"]) == set(lutsk.institutions)
    assert set(reading.proposed["services"]) == set(lutsk.services)


BAD_FILES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "broken": (lambda c: b"PK\x03\x04" + c[10:5000], "This is not an Excel workbook (.xlsx)"),
    "not a zip": (lambda c: "Назва;Телефон\nЦентр;067\n".encode(), "This is not an Excel workbook (.xlsx)"),
    "too big": (lambda c: c + b"\0" * (3 * 1024 * 1024), "The file is larger than 2 MB"),
    "a sheet missing": (lambda c: edited(c, lambda b: b.remove(b[SHEET_SERVICES])),
                        "The workbook has no sheet «Послуги»"),
    "a column renamed": (lambda c: edited(c, lambda b: setattr(b[SHEET_INSTITUTIONS].cell(1, 3), "value", "Тел.")),
                         "has columns the bot does not know: «Тел.»"),
    "a column added": (lambda c: edited(c, lambda b: b[SHEET_SERVICES].cell(1, 20, "Примітка")),
                       "has columns the bot does not know: «Примітка»"),
    "a column deleted": (lambda c: edited(c, lambda b: b[SHEET_INSTITUTIONS].delete_cols(4)),
                         "lacks the columns «Адреса»"),
    "values without a header": (lambda c: edited(c, lambda b: b[SHEET_SERVICES].cell(3, 25, "примітка")),
                                "column Y has values but no header"),
    "a formula": (lambda c: edited(c, put(SHEET_INSTITUTIONS, "tcso", "Телефон", '=CONCAT("+380","332724512")')),
                  "holds a formula. Formulas are not accepted"),
    "10,000 rows": (lambda c: edited(c, lambda b: [b[SHEET_SERVICES].append([f"s{n}", "x"]) for n in range(10_000)]),
                    f"has more than {ROW_LIMIT} rows"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_file_that_cannot_be_trusted_is_refused_as_a_whole(lutsk, exported, case: str) -> None:
    spoil, message = BAD_FILES[case]
    reading = read_workbook(spoil(exported), lutsk)
    assert reading.problems and not reading.proposed and not reading.refused
    assert any(message in text for text in rendered(reading.problems)), rendered(reading.problems)


BAD_ROWS: dict[str, tuple[Callable[[Workbook], None], str]] = {
    "a foreign phone": (put(SHEET_INSTITUTIONS, "tcso", "Телефон", "+48 22 123 4567"),
                        "«+48 22 123 4567» is not a Ukrainian phone number"),
    "a short phone": (put(SHEET_INSTITUTIONS, "tcso", "Телефон", "067 12"), "«067 12» is not a Ukrainian phone"),
    "a link without https": (put(SHEET_INSTITUTIONS, "tcso", "Сайт", "http://lutsk.ua"),
                             "«http://lutsk.ua» is not a web address that starts with https://"),
    "an e-mail": (put(SHEET_INSTITUTIONS, "tcso", "пошта", "tcso at lutsk"), "«tcso at lutsk» is not an e-mail"),
    "a service that does not exist": (put(SHEET_SERVICES, "home-care", "Код", "no-such-service"),
                                      "no service with the code «no-such-service»"),
    "an empty description": (put(SHEET_SERVICES, "home-care", "Що це за послуга", None),
                             "«Що це за послуга» cannot be empty"),
    "a status not on the list": (put(SHEET_SERVICES, "home-care", "Статус", "закрита"),
                                 "«закрита» is not a status"),
    "a planned service without a year": (put(SHEET_SERVICES, "home-care", "Статус", "запланована"),
                                         "or has the year it ends, needs the year it starts"),
    "a year out of range": (put(SHEET_SERVICES, "home-care", "Рік початку", 1999), "«1999» in «Рік початку"),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
async def test_a_bad_row_is_refused_with_its_reason_and_nothing_is_applied(tmp_path: Path, exported, case) -> None:
    change, message = BAD_ROWS[case]
    content = edited(exported, lambda book: (change(book), put(SHEET_INSTITUTIONS, "dsvp", "Телефон", PHONE)(book)))
    db = await Database(tmp_path / "bot.sqlite3").connect()
    try:
        store = versions.CatalogueEdits(db)
        prepared = await workbooks.prepare_import(store, DATA, content, ["lutsk"])
        assert not prepared.applicable and not prepared.problems
        texts = rendered(prepared.refused)
        assert len(texts) == 1 and message in texts[0] and texts[0].startswith("Sheet «"), texts
        shown = edit_texts.describe(prepared, "Луцька", "uk", english, plural)
        assert "1 row refused" in shown and "Nothing has changed" in shown and PHONE in shown
    finally:
        await db.close()


# ----- versions, undo and the catalogue the bot serves ------------------------------------------------------------

@pytest.fixture
async def bot_services(tmp_path: Path, monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    services = await build_services(make_settings(tmp_path, COMMUNITIES="lutsk", DATA_DIR=str(DATA)))
    yield services
    await services.db.close()


async def apply(services, content: bytes, author: int = 1) -> int:
    prepared = await workbooks.prepare_import(services.catalogue_edits, DATA, content, services.served)
    assert prepared.applicable, rendered(prepared.problems + prepared.refused)
    token = await services.catalogue_edits.hold(prepared, author, author)
    await services.catalogue_edits.attach(token, 10)
    return await serving.apply_import(services, token, author, 10)


def tcso(services):
    return services.catalogue.communities["lutsk"].institutions["tcso"]


def data_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted(DATA.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


async def test_versions_stack_up_and_undo_goes_back_one_at_a_time(bot_services, exported) -> None:
    services = bot_services
    data_before = data_fingerprint()
    first = edited(exported, put(SHEET_INSTITUTIONS, "tcso", "Телефон", PHONE))
    assert await apply(services, first) == 1
    assert tcso(services).contacts.phones == [PHONE]
    assert services.requests.catalogue is services.catalogue and services.search.catalogue is services.catalogue
    second = edited(first, lambda b: (put(SHEET_INSTITUTIONS, "tcso", "Сайт", "https://tcso.lutsk.ua")(b),
                                      put(SHEET_SERVICES, "home-care", "Статус", "запланована")(b),
                                      put(SHEET_SERVICES, "home-care", "Рік початку", 2027)(b)))
    assert await apply(services, second) == 2
    view = services.catalogue.communities["lutsk"]
    assert view.services["home-care"].status.value == "planned" and view.services["home-care"].planned_year == 2027
    [latest, older] = await services.catalogue_edits.history("lutsk")
    assert latest.summary == {"contacts_changed": 1, "status": 1, "years": 1} and older.summary == {
        "contacts_added": 1}
    assert latest.overlay["institutions"]["tcso"] == {"contacts.phones": [PHONE],
                                                      "contacts.website": "https://tcso.lutsk.ua"}

    await serving.undo(services, "lutsk", 2, 1)
    assert tcso(services).contacts.phones == [PHONE] and tcso(services).contacts.website is None
    assert services.catalogue.communities["lutsk"].services["home-care"].status.value == "active"
    with pytest.raises(versions.EditRefused):  # the same undo pressed again
        await serving.undo(services, "lutsk", 2, 1)
    await serving.undo(services, "lutsk", 1, 1)
    assert tcso(services).contacts.empty
    with pytest.raises(versions.EditRefused, match="nothing to undo"):
        await serving.undo(services, "lutsk", 1, 1)
    assert [v.undone_by for v in await services.catalogue_edits.history("lutsk")] == ["tg:1", "tg:1"]
    assert data_fingerprint() == data_before  # the shipped data/ never changes


async def test_a_confirmation_counts_only_for_its_import_its_author_and_the_catalogue_it_was_checked_on(
        bot_services, exported) -> None:
    services = bot_services
    store = services.catalogue_edits
    one = await workbooks.prepare_import(store, DATA, edited(exported, put(SHEET_INSTITUTIONS, "tcso", "Телефон",
                                                                           PHONE)), services.served)
    other = await workbooks.prepare_import(store, DATA, edited(exported, put(SHEET_INSTITUTIONS, "dsvp", "Телефон",
                                                                             "0332 72 45 12")), services.served)
    first, second = await store.hold(one, 1, 1), await store.hold(other, 1, 1)
    await store.attach(first, 10)
    await store.attach(second, 11)
    with pytest.raises(versions.EditRefused, match="Only the administrator who sent"):
        await serving.apply_import(services, first, 2, 10)
    with pytest.raises(versions.EditRefused, match="out of date"):  # the button of another message
        await serving.apply_import(services, first, 1, 11)
    assert await serving.apply_import(services, first, 1, 10) == 1
    with pytest.raises(versions.EditRefused, match="already applied"):
        await serving.apply_import(services, first, 1, 10)
    with pytest.raises(versions.EditRefused, match="has changed since"):  # checked before the first was applied
        await serving.apply_import(services, second, 1, 11)
    assert len(await store.history("lutsk")) == 1
    assert services.catalogue.communities["lutsk"].institutions["dsvp"].contacts.empty
    third = await store.hold(one, 1, 1)
    assert await store.cancel(third) and not await store.cancel(third)
    with pytest.raises(versions.EditRefused, match="cancelled"):
        await serving.apply_import(services, third, 1, None)


async def test_a_change_back_to_the_shipped_value_leaves_nothing_in_the_overlay(bot_services, exported) -> None:
    services = bot_services
    await apply(services, edited(exported, put(SHEET_INSTITUTIONS, "tcso", "Телефон", PHONE)))
    again, _ = await workbooks.export(services.catalogue_edits, DATA, "lutsk")
    await apply(services, edited(again, put(SHEET_INSTITUTIONS, "tcso", "Телефон", None)))
    [latest, _] = await services.catalogue_edits.history("lutsk")
    assert latest.overlay == {} and latest.summary == {"contacts_removed": 1}


async def test_the_bot_starts_with_the_corrections_and_leaves_out_one_data_no_longer_fits(tmp_path, monkeypatch,
                                                                                          caplog) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, COMMUNITIES="lutsk", DATA_DIR=str(DATA))
    db = await Database(settings.database_path).connect()
    overlay = {"institutions": {"tcso": {"contacts.phones": [PHONE]}, "gone": {"contacts.phones": [PHONE]}}}
    await db.execute("INSERT INTO catalogue_versions (community, version, author, created_at, overlay, changes, "
                     "summary) VALUES ('lutsk', 1, 'server:x', '2026-12-01T10:00:00+00:00', ?, '[]', '{}')",
                     (json.dumps(overlay),))
    await db.close()
    services = await build_services(settings)
    try:
        assert tcso(services).contacts.phones == [PHONE]
        assert "institutions[gone]" in caplog.text
        result = await reload_catalogue(services)  # /reload_data keeps the corrections
        assert result.ok and tcso(services).contacts.phones == [PHONE]
    finally:
        await services.db.close()


async def test_the_running_bot_picks_up_a_change_made_on_the_server(bot_services, exported, tmp_path) -> None:
    services = bot_services
    assert not await serving.pick_up(services)
    other = await Database(services.settings.database_path).connect()  # as the command line does
    try:
        store = versions.CatalogueEdits(other)
        prepared = await workbooks.prepare_import(store, DATA, edited(exported, put(SHEET_INSTITUTIONS, "tcso",
                                                                                    "Телефон", PHONE)), ["lutsk"])
        await versions.import_edit(prepared.as_pending(), None, "server:ops").record(other)
    finally:
        await other.close()
    assert tcso(services).contacts.empty
    assert await serving.pick_up(services)
    assert tcso(services).contacts.phones == [PHONE]
    assert not await serving.pick_up(services)


# ----- on the server ----------------------------------------------------------------------------------------------

@pytest.fixture
def server(tmp_path, monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "var" / "bot.sqlite3"))
    monkeypatch.setenv("DATA_DIR", str(DATA))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def count_versions(folder: Path) -> int:
    import sqlite3

    with sqlite3.connect(folder / "var" / "bot.sqlite3") as conn:
        return conn.execute("SELECT COUNT(*) FROM catalogue_versions").fetchone()[0]


def test_the_command_line_exports_imports_lists_and_undoes(server: Path, capsys, monkeypatch) -> None:
    data_before = data_fingerprint()
    out = server / "lutsk.xlsx"
    code, text = run(capsys, "catalogue", "export", "--community", "lutsk", "--out", str(out))
    assert code == 0 and "version 0" in text
    assert run(capsys, "catalogue", "export", "--community", "lutsk", "--out", str(DATA / "x.xlsx"))[0] == 2

    bad = server / "bad.xlsx"
    bad.write_bytes(edited(out.read_bytes(), lambda b: (put(SHEET_INSTITUTIONS, "tcso", "Телефон", PHONE)(b),
                                                        put(SHEET_INSTITUTIONS, "dsvp", "Сайт", "lutsk.ua")(b))))
    code, text = run(capsys, "catalogue", "import", "--community", "lutsk", "--yes", str(bad), "--locale", "en")
    assert code == 1 and "«lutsk.ua» is not a web address" in text and count_versions(server) == 0

    good = server / "good.xlsx"
    good.write_bytes(edited(out.read_bytes(), put(SHEET_INSTITUTIONS, "tcso", "Телефон", PHONE)))
    monkeypatch.setattr("sys.stdin", io.StringIO("no\n"))
    code, text = run(capsys, "catalogue", "import", "--community", "lutsk", str(good), "--locale", "en")
    assert code == 1 and "Contacts added for 1 institution" in text and count_versions(server) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    code, text = run(capsys, "catalogue", "import", "--community", "lutsk", str(good), "--locale", "en")
    assert code == 0 and "Applied: version 1" in text and count_versions(server) == 1
    code, text = run(capsys, "catalogue", "import", "--community", "lutsk", "--yes", str(good), "--locale", "en")
    assert code == 0 and "there is nothing to apply" in text and count_versions(server) == 1
    code, text = run(capsys, "catalogue", "import", "--community", "kakhovka", "--yes", str(good), "--locale", "en")
    assert code == 1 and "not of «kakhovka»" in text

    code, text = run(capsys, "catalogue", "history", "--community", "lutsk", "--locale", "en")
    assert code == 0 and "Version 1" in text and "on the server" in text
    code, text = run(capsys, "catalogue", "undo", "--community", "lutsk", "--yes", "--locale", "en")
    assert code == 0 and "Version 1 undone" in text and PHONE in text
    code, text = run(capsys, "catalogue", "undo", "--community", "lutsk", "--yes", "--locale", "en")
    assert code == 1 and "nothing to undo" in text
    code, text = run(capsys, "catalogue", "history", "--community", "lutsk", "--locale", "en")
    assert "undone" in text
    assert data_fingerprint() == data_before


def test_doctor_counts_the_institutions_without_a_contact(server: Path, capsys) -> None:
    out = server / "lutsk.xlsx"
    run(capsys, "catalogue", "export", "--community", "lutsk", "--out", str(out))
    total = len(load_catalogue(DATA).communities["lutsk"].institutions)
    code, text = run(capsys, "doctor")
    assert "WARNING: contacts:" in text and f"lutsk: {total} of {total}" in text
    out.write_bytes(edited(out.read_bytes(), put(SHEET_INSTITUTIONS, "tcso", "Телефон", PHONE)))
    assert run(capsys, "catalogue", "import", "--community", "lutsk", "--yes", str(out))[0] == 0
    assert f"lutsk: {total - 1} of {total}" in run(capsys, "doctor")[1]


def test_a_long_diff_still_fits_in_one_message(lutsk, exported) -> None:
    def every_row(book: Workbook) -> None:
        sheet = book[SHEET_SERVICES]
        for row in range(2, sheet.max_row + 1):
            cell = sheet.cell(row, column(sheet, "Що це за послуга"))
            cell.value = f"{cell.value} Оновлено."
        institutions = book[SHEET_INSTITUTIONS]
        for row in range(2, institutions.max_row + 1):
            institutions.cell(row, column(institutions, "Телефон")).value = "+48 " + "1" * 250

    reading = read_workbook(edited(exported, every_row), lutsk)
    prepared = workbooks.Prepared(community="lutsk", refused=reading.refused * 20, before=lutsk,
                                  changes=[Change("services", key, "summary", service.summary.model_dump(),
                                                  {"uk": service.summary.uk + " Оновлено.", "en": "x"})
                                           for key, service in lutsk.services.items()] * 3)
    text = edit_texts.describe(prepared, "Луцька громада", "uk", english, plural)
    assert len(text) <= edit_texts.TEXT_LIMIT and "more changes" in text and "more rows" in text
    assert "Оновлено." in text  # a long text that changed at its end shows where
