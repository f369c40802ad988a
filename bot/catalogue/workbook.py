"""The community's catalogue as a workbook an office worker edits in Excel or LibreOffice, and reading it back.

Sheets: «Установи» (contacts and descriptions of the institutions), «Послуги» (status, planned years and
descriptions of the services), «Як заповнювати» (what each column means) and a hidden «службове» that says which
community and which version the file was made from. Headers are Ukrainian whatever the administrator's language:
the file is read back by them.

Reading refuses the whole file when it cannot be trusted (not a workbook, too big, a sheet or a column missing or
unknown, more than ROW_LIMIT rows, a formula anywhere) and single rows whose values break a rule (a phone that is
not Ukrainian, a link that is not https://, a code the community does not have, an empty description, …). Every
message is a gettext id with its values (`Problem`), translated where it is shown.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Optional

from bot.catalogue.loader import CommunityView
from bot.catalogue.models import Status, email_address, https_link, ukrainian_phone
from bot.catalogue.overlay import Overlay, get_field

SHEET_INSTITUTIONS = "Установи"
SHEET_SERVICES = "Послуги"
SHEET_HELP = "Як заповнювати"
SHEET_META = "службове"

FILE_LIMIT = 2 * 1024 * 1024  # bytes of the .xlsx; the catalogue's own file is a few dozen kilobytes
UNPACKED_LIMIT = 40 * 1024 * 1024  # bytes inside it, against a file that unpacks into far more
ROW_LIMIT = 2000  # rows with anything in them, per sheet; a community has tens of institutions and services
SCAN_LIMIT = 20 * ROW_LIMIT  # rows looked at, empty or not
COLUMN_LIMIT = 64  # columns looked at for stray values
PHONES_LIMIT = 10
LINE_LIMIT = 300  # an address, opening hours, a phone list, an e-mail or a site
TEXT_LIMIT = 2000  # a description
YEARS = (2020, 2035)  # as the Service model allows

STATUS_LABELS = {"active": "надається", "introducing": "впроваджується", "planned": "запланована"}


def status_label(value: str) -> str:
    return STATUS_LABELS.get(value, value)


def status_labels() -> list[str]:
    return [status_label(status.value) for status in Status]


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where it is shown."""
    return message


def ngettext(singular: str, plural: str, n: int) -> tuple[str, str, int]:
    """Mark a plural message for extraction (under the name the extractor knows); translated where it is shown."""
    return singular, plural, n


@dataclass(frozen=True)
class Problem:
    """A message id with its values; `plural` and `n` for one that goes through ngettext."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    plural: Optional[str] = None
    n: int = 0
    sheet: Optional[str] = None
    row: Optional[int] = None

    @classmethod
    def counted(cls, marked: tuple[str, str, int], **params: Any) -> "Problem":
        singular, plural, n = marked
        return cls(singular, params, plural, n)

    def render(self, gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str]) -> str:
        text = (ngettext(self.msgid, self.plural, self.n) if self.plural else gettext(self.msgid))
        text = text.format(**self.params)
        if self.row is not None:
            return gettext(N_("Sheet «{sheet}», row {row}: {problem}")).format(sheet=self.sheet, row=self.row,
                                                                               problem=text)
        return text


@dataclass(frozen=True)
class Column:
    header: str
    field: Optional[str]  # the overlay's field; None for the code and the columns shown for reference
    kind: str  # id | reference | phones | uk | en | email | website | status | year
    width: int = 24


INSTITUTION_COLUMNS = (
    Column("Код (не змінювати)", None, "id", 18),
    Column("Установа (довідково)", None, "reference", 42),
    Column("Телефони (через кому)", "contacts.phones", "phones", 26),
    Column("Адреса", "contacts.address", "uk", 36),
    Column("Години роботи", "contacts.hours", "uk", 28),
    Column("Електронна пошта", "contacts.email", "email", 26),
    Column("Сайт (https://…)", "contacts.website", "website", 30),
    Column("Опис установи", "description", "uk", 60),
    Column("Адреса англійською", "contacts.address", "en", 30),
    Column("Години роботи англійською", "contacts.hours", "en", 28),
    Column("Опис установи англійською", "description", "en", 50),
)
SERVICE_COLUMNS = (
    Column("Код (не змінювати)", None, "id", 18),
    Column("Послуга (довідково)", None, "reference", 40),
    Column("Хто надає (довідково)", None, "reference", 30),
    Column("Статус", "status", "status", 16),
    Column("Рік початку (за програмою)", "planned_year", "year", 16),
    Column("Рік завершення (за програмою)", "planned_until", "year", 16),
    Column("Що це за послуга", "summary", "uk", 50),
    Column("Хто може отримати", "who", "uk", 40),
    Column("Як отримати", "how", "uk", 40),
    Column("Що це за послуга англійською", "summary", "en", 40),
    Column("Хто може отримати англійською", "who", "en", 34),
    Column("Як отримати англійською", "how", "en", 34),
)
SHEETS = {SHEET_INSTITUTIONS: ("institutions", INSTITUTION_COLUMNS), SHEET_SERVICES: ("services", SERVICE_COLUMNS)}
REQUIRED_TEXTS = {"description", "summary", "who", "how"}  # the others may be left empty

HELP = (
    ("Що це", "Каталог громади: установи з контактами й описами та послуги з їхнім статусом і описами. Виправте або "
              "допишіть потрібне й надішліть файл назад боту. Бот покаже, що зміниться, і застосує зміни після "
              "вашого підтвердження. Кожну зміну можна скасувати командою /catalogue_undo."),
    ("Код (не змінювати)", "За кодом бот знаходить установу чи послугу. Не змінюйте його й не додавайте нових рядків: "
                           "нові установи й послуги додають розробники."),
    ("(довідково)", "Назви показано, щоб було зрозуміло, про що рядок; зміни в цих стовпцях не враховуються."),
    ("Телефони", "Українські номери: +380 XX XXX XX XX або 0XX XXX XX XX; кілька номерів — через кому."),
    ("Сайт", "Повна адреса, що починається з https://"),
    ("Статус", "Виберіть зі списку: «надається», «впроваджується» або «запланована». Для тієї, що впроваджується, і "
               "запланованої вкажіть рік початку за програмою."),
    ("Англійською", "Тексти для тих, хто вибрав англійську мову. Порожня клітинка — покажемо український текст."),
    ("Порожня клітинка", "Порожні телефон, адреса, години, пошта чи сайт означають, що їх немає. Описи порожніми "
                         "бути не можуть."),
    ("Формули", "Формули не приймаються: вписуйте самі значення."),
)


# ----- export -----------------------------------------------------------------------------------------------------

def _cell_value(item: dict[str, Any], column: Column, names: dict[str, str]) -> Any:
    if column.kind == "id":
        return item["id"]
    if column.kind == "reference":
        if column.header.startswith("Хто надає"):
            return names.get(item.get("provider", ""), item.get("provider", ""))
        return (item.get("name") or {}).get("uk", "")
    value = get_field(item, column.field or "")
    if column.kind == "phones":
        return ", ".join(value or [])
    if column.kind in ("uk", "en"):
        return (value or {}).get(column.kind, "") if isinstance(value, dict) else ""
    if column.kind == "status":
        return status_label(value) if value else ""
    return value if value is not None else ""


def export_workbook(view: CommunityView, version: int, exported: datetime) -> bytes:
    """The community's catalogue as it is served now (data/ with the community's corrections)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    workbook.remove(workbook.active)
    names = {key: item.short_name.uk for key, item in view.institutions.items()}
    grey = PatternFill("solid", fgColor="EEEEEE")
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for title, (kind, columns) in SHEETS.items():
        sheet = workbook.create_sheet(title)
        items = view.institutions if kind == "institutions" else view.services
        sheet.append([column.header for column in columns])
        for item in items.values():
            dump = item.model_dump(mode="json")
            sheet.append([_cell_value(dump, column, names) for column in columns])
        last = max(2, sheet.max_row)
        for index, column in enumerate(columns, 1):
            letter = get_column_letter(index)
            sheet.column_dimensions[letter].width = column.width
            header = sheet.cell(row=1, column=index)
            header.font, header.alignment = bold, wrap
            for row in range(2, last + 1):
                cell = sheet.cell(row=row, column=index)
                cell.alignment = wrap
                if column.kind in ("id", "reference"):
                    cell.fill = grey
                if column.kind in ("phones", "uk", "en", "email", "website"):
                    cell.number_format = "@"  # typed as text: Excel keeps the 0 of 067…
            if column.kind == "status":
                choices = DataValidation(type="list", formula1='"' + ",".join(status_labels()) + '"',
                                         allow_blank=False, showErrorMessage=True, errorTitle="Статус",
                                         error="Виберіть статус зі списку")
                choices.add(f"{letter}2:{letter}{last}")
                sheet.add_data_validation(choices)
            if column.kind == "year":
                years = DataValidation(type="whole", operator="between", formula1=str(YEARS[0]),
                                       formula2=str(YEARS[1]), allow_blank=True, showErrorMessage=True,
                                       errorTitle="Рік", error=f"Рік від {YEARS[0]} до {YEARS[1]}")
                years.add(f"{letter}2:{letter}{last}")
                sheet.add_data_validation(years)
        sheet.freeze_panes = "C2"
    help_sheet = workbook.create_sheet(SHEET_HELP)
    help_sheet.append(["Стовпець", "Що вписувати"])
    for row in HELP:
        help_sheet.append(list(row))
    help_sheet.column_dimensions["A"].width = 24
    help_sheet.column_dimensions["B"].width = 100
    for row in help_sheet.iter_rows():
        for cell in row:
            cell.alignment = wrap
    help_sheet["A1"].font = help_sheet["B1"].font = bold
    meta = workbook.create_sheet(SHEET_META)
    meta.append(["community", view.slug])
    meta.append(["version", version])
    meta.append(["exported", exported.isoformat(timespec="seconds")])
    meta.sheet_state = "hidden"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ----- reading back -----------------------------------------------------------------------------------------------

@dataclass
class Reading:
    """What a workbook says. `problems`: the file as a whole is refused; `refused`: rows refused; `proposed`: the
    editable values of every row that was read (all of them, changed or not); `rows`: where each entry is."""

    community: Optional[str] = None
    version: Optional[int] = None
    problems: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    proposed: Overlay = field(default_factory=dict)
    rows: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)


def _text(value: Any) -> str:
    """A cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ТАК" if value else "НІ"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M") if (value.hour or value.minute) else value.strftime("%d.%m.%Y")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def _line(value: Any) -> str:
    return re.sub(r"\s+", " ", _text(value))


def _phones(value: Any) -> list[str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        digits = _text(value)
        return ["0" + digits if len(digits) == 9 else digits]  # typed as a number, Excel dropped the leading 0
    return [part.strip() for part in re.split(r"[,;\n]+", _text(value)) if part.strip()]


def read_workbook(content: bytes, view: Optional[CommunityView] = None) -> Reading:
    """Read an edited catalogue. With `view` (the community the file is for), codes are checked against it."""
    reading = Reading()
    if len(content) > FILE_LIMIT:
        reading.problems.append(Problem(N_("The file is larger than {limit} MB. The catalogue's workbook is much "
                                           "smaller: edit the file /catalogue sends and send it back."),
                                        {"limit": FILE_LIMIT // (1024 * 1024)}))
        return reading
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        unpacked = None
    if unpacked is None:
        reading.problems.append(_not_a_workbook())
        return reading
    if unpacked > UNPACKED_LIMIT:
        reading.problems.append(Problem(N_("The file unpacks into more than {limit} MB. The catalogue's workbook is "
                                           "much smaller: edit the file /catalogue sends and send it back."),
                                        {"limit": UNPACKED_LIMIT // (1024 * 1024)}))
        return reading
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a damaged or foreign file
        reading.problems.append(_not_a_workbook())
        return reading
    try:
        _read(workbook, view, reading)
    except Exception:  # a part of the package openpyxl could not parse
        reading.problems = [_not_a_workbook()]
    finally:
        workbook.close()
    if reading.problems:
        reading.refused, reading.proposed, reading.rows = [], {}, {}
    return reading


def _not_a_workbook() -> Problem:
    return Problem(N_("This is not an Excel workbook (.xlsx), or it is damaged. Save it in Excel or LibreOffice as "
                      "an .xlsx workbook and send it again."))


def _read(workbook: Any, view: Optional[CommunityView], reading: Reading) -> None:
    names = list(workbook.sheetnames)
    if SHEET_META in names:
        meta = {}
        for row in workbook[SHEET_META].iter_rows(max_row=10, max_col=2, values_only=True):
            if row and row[0]:
                meta[str(row[0])] = row[1] if len(row) > 1 else None
        reading.community = str(meta["community"]) if meta.get("community") else None
        try:
            reading.version = int(meta.get("version")) if meta.get("version") is not None else None
        except (TypeError, ValueError):
            reading.version = None
    for title in SHEETS:
        if title not in names:
            reading.problems.append(Problem(N_("The workbook has no sheet «{sheet}». Edit the file /catalogue sends, "
                                               "keeping its sheets and columns, and send it back."), {"sheet": title}))
    if reading.problems:
        return
    for title, (kind, columns) in SHEETS.items():
        _read_sheet(workbook[title], title, kind, columns, view, reading)


def _read_sheet(sheet: Any, title: str, kind: str, columns: tuple[Column, ...], view: Optional[CommunityView],
                reading: Reading) -> None:
    header_row = next(sheet.iter_rows(min_row=1, max_row=1), ())
    headers: list[str] = []
    for cell in header_row:
        if cell.data_type == "f":
            reading.problems.append(_formula(title, cell))
            return
        headers.append(_line(cell.value))
    while headers and not headers[-1]:
        headers.pop()
    known = {column.header: column for column in columns}
    unknown = [text for text in headers if text and text not in known]
    missing = [column.header for column in columns if column.header not in headers]
    doubled = sorted({text for text in headers if text and headers.count(text) > 1})
    if unknown:
        reading.problems.append(Problem(N_("Sheet «{sheet}» has columns the bot does not know: {columns}. Only the "
                                           "columns of the exported file are read: delete the others."),
                                        {"sheet": title, "columns": ", ".join(f"«{c}»" for c in unknown)}))
    if missing:
        reading.problems.append(Problem(N_("Sheet «{sheet}» lacks the columns {columns}. Do not delete or rename the "
                                           "columns of the exported file."),
                                        {"sheet": title, "columns": ", ".join(f"«{c}»" for c in missing)}))
    if doubled:
        reading.problems.append(Problem(N_("Sheet «{sheet}» has the column {columns} more than once."),
                                        {"sheet": title, "columns": ", ".join(f"«{c}»" for c in doubled)}))
    if reading.problems:
        return
    order: list[Optional[Column]] = [known.get(text) for text in headers]  # None: no header, must stay empty
    order += [None] * (min(max(sheet.max_column or 0, len(order)), COLUMN_LIMIT) - len(order))
    filled = 0
    rows: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(sheet.iter_rows(min_row=2, max_col=len(order)), 2):
        if number - 1 > SCAN_LIMIT:
            filled = ROW_LIMIT + 1
            break
        values = []
        for cell in row:
            if cell.data_type == "f":
                reading.problems.append(_formula(title, cell))
                return
            values.append(cell.value)
        if not any(_text(value) for value in values):
            continue
        stray = next((n for n, value in enumerate(values) if order[n] is None and _text(value)), None)
        if stray is not None:
            from openpyxl.utils import get_column_letter

            reading.problems.append(Problem(N_("Sheet «{sheet}», column {column} has values but no header. Only the "
                                               "columns of the exported file are read: delete the others."),
                                            {"sheet": title, "column": get_column_letter(stray + 1)}))
            return
        filled += 1
        if filled > ROW_LIMIT:
            break
        rows.append((number, values + [None] * (len(order) - len(values))))
    if filled > ROW_LIMIT:
        reading.problems.append(Problem.counted(ngettext(
            "Sheet «{sheet}» has more than {limit} row. The catalogue has far fewer: edit the file /catalogue sends "
            "and send it back.",
            "Sheet «{sheet}» has more than {limit} rows. The catalogue has far fewer: edit the file /catalogue sends "
            "and send it back.", ROW_LIMIT), sheet=title, limit=ROW_LIMIT))
        return
    for number, values in rows:
        cells = {c.header: value for c, value in zip(order, values) if c is not None}
        _read_row(title, kind, number, cells, columns, view, reading)


def _formula(title: str, cell: Any) -> Problem:
    where = getattr(cell, "coordinate", "?")
    return Problem(N_("Sheet «{sheet}», cell {cell} holds a formula. Formulas are not accepted: type the values "
                      "themselves (or copy and paste them as values only)."), {"sheet": title, "cell": where})


def _read_row(title: str, kind: str, number: int, cells: dict[str, Any], columns: tuple[Column, ...],
              view: Optional[CommunityView], reading: Reading) -> None:
    def refuse(msgid: str, plural: Optional[str] = None, n: int = 0, **params: Any) -> None:
        reading.refused.append(Problem(msgid, params, plural, n, sheet=title, row=number))

    code_column = next(c for c in columns if c.kind == "id")
    code = _line(cells.get(code_column.header))
    if not code:
        refuse(N_("the code is empty. Rows cannot add institutions or services, and the code must stay as it was "
                  "exported."))
        return
    if view is not None:
        items = view.institutions if kind == "institutions" else view.services
        if code not in items:
            if kind == "institutions":
                refuse(N_("this community has no institution with the code «{code}». Rows cannot add institutions: "
                          "keep the codes as they were exported."), code=code)
            else:
                refuse(N_("this community has no service with the code «{code}». Rows cannot add services: keep "
                          "the codes as they were exported."), code=code)
            return
    if (kind, code) in reading.rows:
        refuse(N_("the code «{code}» is on row {first} too."), code=code, first=reading.rows[(kind, code)][1])
        return
    reading.rows[(kind, code)] = (title, number)
    values: dict[str, Any] = {}
    texts: dict[str, dict[str, str]] = {}
    bad = False
    for column in columns:
        raw = cells.get(column.header)
        if column.kind in ("id", "reference"):
            continue
        name = column.field or ""
        if column.kind == "phones":
            phones = _phones(raw)
            if len(_text(raw)) > LINE_LIMIT or len(phones) > PHONES_LIMIT:
                refuse(N_("«{column}» holds too many numbers (at most {limit})."), column=column.header,
                       limit=PHONES_LIMIT)
                bad = True
                continue
            wrong = [phone for phone in phones if not ukrainian_phone(phone)]
            if wrong:
                refuse(N_("«{value}» is not a Ukrainian phone number. Write it as +380 XX XXX XX XX or 0XX XXX XX "
                          "XX; several numbers are separated by commas."), value=wrong[0])
                bad = True
                continue
            values[name] = [re.sub(r"\s+", " ", phone) for phone in phones]
        elif column.kind in ("uk", "en"):
            text = _text(raw) if name in REQUIRED_TEXTS else _line(raw)
            limit = TEXT_LIMIT if name in REQUIRED_TEXTS else LINE_LIMIT
            if len(text) > limit:
                refuse(*ngettext("«{column}» is longer than {limit} character.",
                                 "«{column}» is longer than {limit} characters.", limit),
                       column=column.header, limit=limit)
                bad = True
                continue
            texts.setdefault(name, {})[column.kind] = text
            if column.kind == "uk" and not text and name in REQUIRED_TEXTS:
                refuse(N_("«{column}» cannot be empty."), column=column.header)
                bad = True
        elif column.kind == "email":
            text = _line(raw)
            if text and not email_address(text):
                refuse(N_("«{value}» is not an e-mail address."), value=text[:80])
                bad = True
                continue
            values[name] = text or None
        elif column.kind == "website":
            text = _line(raw)
            if text and not https_link(text):
                refuse(N_("«{value}» is not a web address that starts with https:// (write the whole address, "
                          "for example https://example.gov.ua)."), value=text[:80])
                bad = True
                continue
            values[name] = text or None
        elif column.kind == "status":
            text = _line(raw).lower()
            found = next((s.value for s in Status if text in (s.value, status_label(s.value).lower())), None)
            if found is None:
                refuse(N_("«{value}» is not a status: choose one from the list ({choices})."),
                       value=_line(raw)[:40], choices=", ".join(status_labels()))
                bad = True
                continue
            values[name] = found
        elif column.kind == "year":
            text = _line(raw)
            if not text:
                values[name] = None
                continue
            if not re.fullmatch(r"\d{4}", text) or not YEARS[0] <= int(text) <= YEARS[1]:
                refuse(N_("«{value}» in «{column}» is not a year from {first} to {last}."), value=text[:20],
                       column=column.header, first=YEARS[0], last=YEARS[1])
                bad = True
                continue
            values[name] = int(text)
    for name, pair in texts.items():
        uk = pair.get("uk", "")
        values[name] = {"uk": uk, "en": pair.get("en") or uk} if uk else None
    if kind == "services" and not bad:
        start, end = values.get("planned_year"), values.get("planned_until")
        if start is None and (values.get("status") in ("planned", "introducing") or end is not None):
            refuse(N_("a service that is planned or being introduced, or has the year it ends, needs the year it "
                      "starts («{column}»)."), column=next(c.header for c in columns if c.field == "planned_year"))
            bad = True
        elif start is not None and end is not None and end < start:
            refuse(N_("the year it ends comes before the year it starts."))
            bad = True
    if not bad:
        reading.proposed.setdefault(kind, {})[code] = values
