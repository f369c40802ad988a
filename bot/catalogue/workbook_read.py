"""Reading back an edited workbook (its layout is in bot/catalogue/workbook.py).

Reading refuses the whole file when it cannot be trusted (not a workbook, too big, a sheet or a column missing or
unknown, more than ROW_LIMIT rows, a formula anywhere) and single rows whose values break a rule (a phone that is
not Ukrainian, a link that is not https://, a code the community does not have, an empty description, …). Every
message is a gettext id with its values (`Problem`), translated where it is shown. openpyxl is imported when a
file is read: the bot does not load it before someone sends one.
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
from bot.catalogue.overlay import Overlay
from bot.catalogue.workbook import (
    COLUMN_LIMIT,
    FILE_LIMIT,
    LINE_LIMIT,
    N_,
    PHONES_LIMIT,
    REQUIRED_TEXTS,
    ROW_LIMIT,
    SCAN_LIMIT,
    SHEET_META,
    SHEETS,
    TEXT_LIMIT,
    UNPACKED_LIMIT,
    YEARS,
    Column,
    Problem,
    ngettext,
    status_label,
    status_labels,
)

Refuse = Callable[..., None]  # refuse(msgid, plural=None, n=0, **values): the row is refused for this


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
    order = _columns(sheet, title, columns, reading)
    if order is None:
        return
    rows = _filled_rows(sheet, title, order, reading)
    if rows is None:
        return
    for number, values in rows:
        cells = {c.header: value for c, value in zip(order, values) if c is not None}
        _read_row(title, kind, number, cells, columns, view, reading)


def _columns(sheet: Any, title: str, columns: tuple[Column, ...], reading: Reading) -> Optional[list[Optional[Column]]]:
    """The column of each position of the sheet (None: no header, must stay empty); None when the headers are
    not those of the exported file (the problems say why)."""
    header_row = next(sheet.iter_rows(min_row=1, max_row=1), ())
    headers: list[str] = []
    for cell in header_row:
        if cell.data_type == "f":
            reading.problems.append(_formula(title, cell))
            return None
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
        return None
    order: list[Optional[Column]] = [known.get(text) for text in headers]
    return order + [None] * (min(max(sheet.max_column or 0, len(order)), COLUMN_LIMIT) - len(order))


def _filled_rows(sheet: Any, title: str, order: list[Optional[Column]], reading: Reading
                 ) -> Optional[list[tuple[int, list[Any]]]]:
    """(row number, values) of each row with anything in it; None when the sheet is refused (a formula, a value
    without a header, too many rows)."""
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
                return None
            values.append(cell.value)
        if not any(_text(value) for value in values):
            continue
        stray = next((n for n, value in enumerate(values) if order[n] is None and _text(value)), None)
        if stray is not None:
            from openpyxl.utils import get_column_letter

            reading.problems.append(Problem(N_("Sheet «{sheet}», column {column} has values but no header. Only the "
                                               "columns of the exported file are read: delete the others."),
                                            {"sheet": title, "column": get_column_letter(stray + 1)}))
            return None
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
        return None
    return rows


def _formula(title: str, cell: Any) -> Problem:
    where = getattr(cell, "coordinate", "?")
    return Problem(N_("Sheet «{sheet}», cell {cell} holds a formula. Formulas are not accepted: type the values "
                      "themselves (or copy and paste them as values only)."), {"sheet": title, "cell": where})


def _read_row(title: str, kind: str, number: int, cells: dict[str, Any], columns: tuple[Column, ...],
              view: Optional[CommunityView], reading: Reading) -> None:
    def refuse(msgid: str, plural: Optional[str] = None, n: int = 0, **params: Any) -> None:
        reading.refused.append(Problem(msgid, params, plural, n, sheet=title, row=number))

    code = _code(kind, cells, columns, view, reading, refuse)
    if code is None:
        return
    reading.rows[(kind, code)] = (title, number)
    values, bad = _values(columns, cells, refuse)
    if kind == "services" and not bad:
        bad = not _years_agree(values, columns, refuse)
    if not bad:
        reading.proposed.setdefault(kind, {})[code] = values


def _code(kind: str, cells: dict[str, Any], columns: tuple[Column, ...], view: Optional[CommunityView],
          reading: Reading, refuse: Refuse) -> Optional[str]:
    """The row's code when it names an entry of the community not named by a row before; None: refused."""
    code_column = next(c for c in columns if c.kind == "id")
    code = _line(cells.get(code_column.header))
    if not code:
        refuse(N_("the code is empty. Rows cannot add institutions or services, and the code must stay as it was "
                  "exported."))
        return None
    if view is not None:
        items = view.institutions if kind == "institutions" else view.services
        if code not in items:
            if kind == "institutions":
                refuse(N_("this community has no institution with the code «{code}». Rows cannot add institutions: "
                          "keep the codes as they were exported."), code=code)
            else:
                refuse(N_("this community has no service with the code «{code}». Rows cannot add services: keep "
                          "the codes as they were exported."), code=code)
            return None
    if (kind, code) in reading.rows:
        refuse(N_("the code «{code}» is on row {first} too."), code=code, first=reading.rows[(kind, code)][1])
        return None
    return code


def _values(columns: tuple[Column, ...], cells: dict[str, Any], refuse: Refuse) -> tuple[dict[str, Any], bool]:
    """The row's editable values by the overlay's field, and whether any of them was refused."""
    values: dict[str, Any] = {}
    texts: dict[str, dict[str, str]] = {}
    bad = False
    for column in columns:
        raw = cells.get(column.header)
        if column.kind in ("id", "reference"):
            continue
        name = column.field or ""
        if column.kind in ("uk", "en"):
            text = _text_cell(column, raw, refuse)
            if text is None:
                bad = True
                continue
            texts.setdefault(name, {})[column.kind] = text
            if column.kind == "uk" and not text and name in REQUIRED_TEXTS:
                refuse(N_("«{column}» cannot be empty."), column=column.header)
                bad = True
            continue
        good, value = CELL_READERS[column.kind](column, raw, refuse)
        if not good:
            bad = True
            continue
        values[name] = value
    for name, pair in texts.items():
        uk = pair.get("uk", "")
        values[name] = {"uk": uk, "en": pair.get("en") or uk} if uk else None
    return values, bad


def _text_cell(column: Column, raw: Any, refuse: Refuse) -> Optional[str]:
    name = column.field or ""
    text = _text(raw) if name in REQUIRED_TEXTS else _line(raw)
    limit = TEXT_LIMIT if name in REQUIRED_TEXTS else LINE_LIMIT
    if len(text) > limit:
        refuse(*ngettext("«{column}» is longer than {limit} character.",
                         "«{column}» is longer than {limit} characters.", limit),
               column=column.header, limit=limit)
        return None
    return text


def _phones_cell(column: Column, raw: Any, refuse: Refuse) -> tuple[bool, Any]:
    phones = _phones(raw)
    if len(_text(raw)) > LINE_LIMIT or len(phones) > PHONES_LIMIT:
        refuse(N_("«{column}» holds too many numbers (at most {limit})."), column=column.header,
               limit=PHONES_LIMIT)
        return False, None
    wrong = [phone for phone in phones if not ukrainian_phone(phone)]
    if wrong:
        refuse(N_("«{value}» is not a Ukrainian phone number. Write it as +380 XX XXX XX XX or 0XX XXX XX "
                  "XX; several numbers are separated by commas."), value=wrong[0])
        return False, None
    return True, [re.sub(r"\s+", " ", phone) for phone in phones]


def _email_cell(column: Column, raw: Any, refuse: Refuse) -> tuple[bool, Any]:
    text = _line(raw)
    if text and not email_address(text):
        refuse(N_("«{value}» is not an e-mail address."), value=text[:80])
        return False, None
    return True, text or None


def _website_cell(column: Column, raw: Any, refuse: Refuse) -> tuple[bool, Any]:
    text = _line(raw)
    if text and not https_link(text):
        refuse(N_("«{value}» is not a web address that starts with https:// (write the whole address, "
                  "for example https://example.gov.ua)."), value=text[:80])
        return False, None
    return True, text or None


def _status_cell(column: Column, raw: Any, refuse: Refuse) -> tuple[bool, Any]:
    text = _line(raw).lower()
    found = next((s.value for s in Status if text in (s.value, status_label(s.value).lower())), None)
    if found is None:
        refuse(N_("«{value}» is not a status: choose one from the list ({choices})."),
               value=_line(raw)[:40], choices=", ".join(status_labels()))
        return False, None
    return True, found


def _year_cell(column: Column, raw: Any, refuse: Refuse) -> tuple[bool, Any]:
    text = _line(raw)
    if not text:
        return True, None
    if not re.fullmatch(r"\d{4}", text) or not YEARS[0] <= int(text) <= YEARS[1]:
        refuse(N_("«{value}» in «{column}» is not a year from {first} to {last}."), value=text[:20],
               column=column.header, first=YEARS[0], last=YEARS[1])
        return False, None
    return True, int(text)


# (read well, the value) of a cell of each kind of column but the texts
CELL_READERS: dict[str, Callable[[Column, Any, Refuse], tuple[bool, Any]]] = {
    "phones": _phones_cell, "email": _email_cell, "website": _website_cell, "status": _status_cell,
    "year": _year_cell,
}


def _years_agree(values: dict[str, Any], columns: tuple[Column, ...], refuse: Refuse) -> bool:
    """A service's status and planned years fit together."""
    start, end = values.get("planned_year"), values.get("planned_until")
    if start is None and (values.get("status") in ("planned", "introducing") or end is not None):
        refuse(N_("a service that is planned or being introduced, or has the year it ends, needs the year it "
                  "starts («{column}»)."), column=next(c.header for c in columns if c.field == "planned_year"))
        return False
    if start is not None and end is not None and end < start:
        refuse(N_("the year it ends comes before the year it starts."))
        return False
    return True
