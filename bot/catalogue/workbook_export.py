"""Writing a community's catalogue as the workbook /catalogue sends (its layout is in bot/catalogue/workbook.py).
openpyxl is imported when a workbook is made: the bot does not load it before someone asks for one."""
from __future__ import annotations

import io
from datetime import datetime
from typing import Any, Optional

from bot.catalogue.loader import CommunityView
from bot.catalogue.overlay import get_field
from bot.catalogue.workbook import HELP, SHEET_HELP, SHEET_META, SHEETS, YEARS, Column, status_label, status_labels


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

    workbook = Workbook()
    workbook.remove(workbook.active)
    names = {key: item.short_name.uk for key, item in view.institutions.items()}
    for title, (kind, columns) in SHEETS.items():
        items = view.institutions if kind == "institutions" else view.services
        _catalogue_sheet(workbook.create_sheet(title), columns, items, names)
    _help_sheet(workbook.create_sheet(SHEET_HELP))
    meta = workbook.create_sheet(SHEET_META)
    meta.append(["community", view.slug])
    meta.append(["version", version])
    meta.append(["exported", exported.isoformat(timespec="seconds")])
    meta.sheet_state = "hidden"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _catalogue_sheet(sheet: Any, columns: tuple[Column, ...], items: dict[str, Any], names: dict[str, str]) -> None:
    """A sheet of institutions or services: a header, a row each, and each column's width, look and choices."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    grey = PatternFill("solid", fgColor="EEEEEE")
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
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
        choices = _choices(column)
        if choices is not None:
            choices.add(f"{letter}2:{letter}{last}")
            sheet.add_data_validation(choices)
    sheet.freeze_panes = "C2"


def _choices(column: Column) -> Optional[Any]:
    """What Excel lets one type in the column: a status from the list, a year in range; None: anything."""
    from openpyxl.worksheet.datavalidation import DataValidation

    if column.kind == "status":
        return DataValidation(type="list", formula1='"' + ",".join(status_labels()) + '"',
                              allow_blank=False, showErrorMessage=True, errorTitle="Статус",
                              error="Виберіть статус зі списку")
    if column.kind == "year":
        return DataValidation(type="whole", operator="between", formula1=str(YEARS[0]),
                              formula2=str(YEARS[1]), allow_blank=True, showErrorMessage=True,
                              errorTitle="Рік", error=f"Рік від {YEARS[0]} до {YEARS[1]}")
    return None


def _help_sheet(sheet: Any) -> None:
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
    sheet.append(["Стовпець", "Що вписувати"])
    for row in HELP:
        sheet.append(list(row))
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 100
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = wrap
    sheet["A1"].font = sheet["B1"].font = Font(bold=True)
