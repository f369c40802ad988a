"""The community's catalogue as a workbook an office worker edits in Excel or LibreOffice: its sheets, columns,
limits and the problems reading one can find. Writing it is bot/catalogue/workbook_export.py, reading it back
bot/catalogue/workbook_read.py.

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

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bot.catalogue.models import Status
from bot.msgid import N_

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
