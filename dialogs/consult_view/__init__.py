"""How consultations and bookings look, and their buttons: the staff card, the labels every text about a
consultation uses, the booking screens. With group.py (what the staff group reads besides the card) and resident.py
(the notices, confirmations and lists the resident gets), this package builds every text a resident or a group
reads about a consultation; the outbox and the dialogs only call it."""
from __future__ import annotations

from datetime import date, datetime

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from babel.dates import format_datetime

from bot.catalogue.loader import Catalogue
from bot.catalogue.models import DAYS, Hours
from bot.consult.service import Consultation, Said
from dialogs.common import N_, Nav, h, locale
from dialogs.requests_view import channel_mark, clip

BTN_END = N_("❌ End the consultation")


def chat_keyboard() -> ReplyKeyboardMarkup:
    """The resident's keyboard while a consultation is open: only the button that ends it."""
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=_(BTN_END))]], resize_keyboard=True,
                               is_persistent=True, input_field_placeholder=_("Write to the specialist"))


class Cons(CallbackData, prefix="c"):
    """A resident's choice on the consultation line."""

    action: str
    value: str = ""


class Spec(CallbackData, prefix="k"):
    """A specialist's action on a consultation card."""

    action: str
    cid: int
    arg: str = ""


DAY_NAMES = {"mon": N_("Mon"), "tue": N_("Tue"), "wed": N_("Wed"), "thu": N_("Thu"), "fri": N_("Fri"),
             "sat": N_("Sat"), "sun": N_("Sun")}
STATUS = {"queued": N_("waiting for a specialist"), "active": N_("in progress"), "ended": N_("ended"),
          "timed_out": N_("nobody answered in time"), "converted": N_("turned into a request")}


def topic_name(catalogue: Catalogue, topic_id: str) -> str:
    topic = next((t for t in catalogue.consultation_topics if t.id == topic_id), None)
    return topic.name.get(locale()) if topic else topic_id


def hours_text(hours: Hours) -> str:
    days = [d for d in DAYS if d in hours.days]
    if len(days) > 2 and DAYS.index(days[-1]) - DAYS.index(days[0]) == len(days) - 1:
        span = f"{_(DAY_NAMES[days[0]])}–{_(DAY_NAMES[days[-1]])}"
    else:
        span = ", ".join(_(DAY_NAMES[d]) for d in days)
    return f"{span} {hours.start:%H:%M}–{hours.end:%H:%M}"


def when(moment: datetime, tz) -> str:
    """«пн, 30.11 о 09:00» in the reader's language, in Kyiv time."""
    local = moment.astimezone(tz)
    day = _(DAY_NAMES[DAYS[local.weekday()]])
    return _("{day}, {date} at {time}").format(day=day, date=f"{local:%d.%m}", time=f"{local:%H:%M}")


def slot_code(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M}"


def staff_card(catalogue: Catalogue, consultation: Consultation, first: list[Said], tz) -> str:
    lines = ["💬 <b>" + _("Online consultation No. {number}").format(number=consultation.id) + "</b>"
             + channel_mark(consultation.resident_id),
             _("Topic: {topic}").format(topic=h(topic_name(catalogue, consultation.topic))),
             *(["📅 " + _("Booked in advance: the resident waits for you to write first.")]
               if consultation.booking_id else []),
             _("Status: {status}").format(status=_(STATUS.get(consultation.status, consultation.status)))]
    if consultation.specialist_label and consultation.status in ("active", "ended", "converted"):
        lines.append(_("Taken by: {who}").format(who=h(consultation.specialist_label)))
    asked = datetime.fromisoformat(consultation.asked_at).astimezone(tz)
    lines.append(_("Asked: {time}").format(time=format_datetime(asked, "dd.MM.yyyy HH:mm", locale=locale())))
    question = " ".join(s.text for s in first if s.text) or "—"
    lines += ["", "<b>" + _("Question") + "</b>", h(clip(question, 3000))]
    if any(s.kind != "text" for s in first):
        lines.append("📎 " + _("The resident attached files; they follow below."))
    if consultation.status == "queued":
        lines += ["", _("Press «Take» and write in this topic: the resident gets your messages through the bot.")]
    return "\n".join(lines)


def staff_keyboard(consultation: Consultation) -> InlineKeyboardMarkup:
    def b(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=Spec(action=action, cid=consultation.id).pack())

    if consultation.status == "queued":
        return InlineKeyboardMarkup(inline_keyboard=[[b(_("🙋 Take"), "take")], [b(_("↪️ Transfer"), "transfer")]])
    if consultation.status == "active":
        return InlineKeyboardMarkup(inline_keyboard=[
            [b(_("🗒 Internal note"), "note"), b(_("↪️ Transfer"), "transfer")],
            [b(_("📝 Turn into a request"), "convert")],
            [b(_("✅ End the consultation"), "end")],
        ])
    return InlineKeyboardMarkup(inline_keyboard=[])


def rating_keyboard(consultation_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=str(n), callback_data=Cons(action="rate", value=f"{consultation_id}.{n}").pack())
        for n in range(1, 6)
    ]])


def after_timeout_keyboard(consultation: Consultation) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=_("📅 Book a time"), callback_data=Cons(action="book",
                                                                           value=consultation.topic).pack())],
        [InlineKeyboardButton(text=_("📞 Ask them to call me back"),
                              callback_data=Cons(action="callback", value=str(consultation.id)).pack())],
    ])


# ----- booking: one day of free times per screen -----------------------------------------------------------------

def day_label(day: date) -> str:
    """«вт, 08.12»."""
    return f"{_(DAY_NAMES[DAYS[day.weekday()]])}, {day:%d.%m}"


def day_code(day: date) -> str:
    return f"{day:%Y%m%d}"


def booking_day(days: list[tuple[date, list[datetime]]], index: int, topic_id: str,
                tz) -> tuple[str, InlineKeyboardMarkup]:
    """The screen of one bookable day: its free times as buttons, ◀ ▶ to the days before and after, Back to the
    topic. `days` as `bot.consult.schedule.by_day` gives them, never empty; `index` within it."""
    day, moments = days[index]

    def b(text: str, action: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=Cons(action=action, value=value).pack())

    text = ("📅 " + _("Choose a convenient time (Kyiv time):") + "\n<b>" + day_label(day) + "</b> · "
            + _("day {number} of {total}").format(number=index + 1, total=len(days)))
    times = [b(f"{m.astimezone(tz):%H:%M}", "slot", f"{topic_id}.{slot_code(m)}") for m in moments]
    rows = [times[i:i + 4] for i in range(0, len(times), 4)]
    paging = []
    if index > 0:
        paging.append(b("◀️ " + day_label(days[index - 1][0]), "day", f"{topic_id}.{day_code(days[index - 1][0])}"))
    if index + 1 < len(days):
        paging.append(b(day_label(days[index + 1][0]) + " ▶️", "day", f"{topic_id}.{day_code(days[index + 1][0])}"))
    if paging:
        rows.append(paging)
    rows.append([b(_("◀️ Back"), "topic", topic_id),
                 InlineKeyboardButton(text=_("🏠 Menu"), callback_data=Nav(screen="menu").pack())])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)
