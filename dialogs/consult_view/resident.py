"""What the resident gets about their consultation in the chat with the bot: the notices (joined, ended, nobody in
time, passed on, turned into a request, a booked time come), what to do next, the reminders of a booking, the
confirmations (queued, booked, cancelled, a call back filed) and the list of their bookings. The card, the labels
and the booking screens are in dialogs/consult_view."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import Catalogue
from bot.consult.models import Booking, Consultation
from bot.delivery.kinds import Kind
from dialogs.common import h, keyboard, nav_row
from dialogs.consult_view import Cons, after_timeout_keyboard, chat_keyboard, rating_keyboard, topic_name, when

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup


def notice(catalogue: Catalogue, kind: Kind, consultation: Consultation,
           number: str = "—") -> Optional[tuple[str, Optional[Markup]]]:
    """What the resident reads about their consultation, and the keyboard with it (`number`: the request it was
    turned into); None for a kind that is no notice to the resident."""
    topic = h(topic_name(catalogue, consultation.topic))
    if kind == Kind.CONSULT_BOOKED_OPEN:
        return "📅 " + _("It is the time of your consultation «{topic}». A specialist will join in a few "
                        "minutes; you can already write your question here.").format(topic=topic), chat_keyboard()
    if kind == Kind.CONSULT_TAKEN:
        return "👋 " + _("A specialist joined: {who}. Write your questions here, you can also send "
                        "photos, documents and voice messages.").format(who=h(consultation.specialist_label)), None
    if kind == Kind.CONSULT_ENDED:
        return "✅ " + _("The specialist ended the consultation. Thank you!"), rating_keyboard(consultation.id)
    if kind == Kind.CONSULT_TIMED_OUT:
        return ("⏳ " + _("I am sorry: no specialist could answer in time, so the consultation is closed."),
                after_timeout_keyboard(consultation))
    if kind == Kind.CONSULT_TRANSFERRED:
        return "↪️ " + _("Your question went to another specialist: {topic}. Please wait a little.").format(
            topic=topic), None
    if kind == Kind.CONSULT_CONVERTED:
        return "📝 " + _("The specialist turned the consultation into request No. {number}, so that the "
                        "institution can help further. Follow it in «📂 My requests».").format(number=number), None
    return None


def speaker(consultation: Consultation) -> str:
    """The head of each of the specialist's messages relayed to the resident: their role and first name."""
    label = h(consultation.specialist_label or "")
    return f"🧑‍💼 <b>{label}</b>: " if label else ""


def nobody_now(opening: Optional[datetime], tz) -> str:
    """Why nobody can answer in the chat now: the line is closed until `opening`, or (None) its specialists are not
    connected to the bot yet; a time or a call back is offered with it."""
    if opening is not None:
        return "🌙 " + _("The line is closed now. It opens {when}. You can book a time, and the specialist will write "
                        "to you then, or ask them to call you back.").format(when=when(opening, tz))
    return "🔌 " + _("Nobody can answer in this chat right now: the specialists of this line are not connected "
                    "to the bot yet. You can book a time, and the specialist will write to you then, or ask "
                    "them to call you back.")


def rated(rating: int) -> str:
    return _("Thank you for the rating {stars}. Would you like to add a comment? Write it, "
             "or press «Skip».").format(stars="⭐" * rating)


def rating_prompt() -> str:
    return _("How helpful was it? Please rate from 1 to 5:")


def next_prompt(kind: Kind) -> str:
    """What to do next, with the buttons after an end notice."""
    return (rating_prompt() if kind == Kind.CONSULT_ENDED
            else _("You can book a time for a consultation or ask them to call you back:"))


def queued(place: int, minutes: int) -> str:
    return "📨 " + _("Your question is passed to the specialists. You are number {place} in the queue; the wait is "
                    "about {minutes} min. I will tell you when a specialist joins.").format(place=place,
                                                                                           minutes=minutes)


def reminder(catalogue: Catalogue, booking: Booking, day_before: bool, tz) -> str:
    return "⏰ " + (_("Reminder: your consultation «{topic}» is tomorrow, {when}.")
                   if day_before else
                   _("Reminder: your consultation «{topic}» starts in an hour, {when}. The specialist "
                     "will write to you here.")).format(
        topic=h(topic_name(catalogue, booking.topic)),
        when=when(datetime.fromisoformat(booking.starts_at), tz))


def booked(catalogue: Catalogue, booking: Booking, day_before: bool, tz) -> str:
    """The booking made; `day_before`: a reminder comes the day before too."""
    starts = datetime.fromisoformat(booking.starts_at)
    if day_before:
        remind = _("I will remind you the day before and an hour before.")
    else:
        remind = _("I will remind you an hour before.")
    return ("📅 " + _("You are booked: «{topic}», {when}.").format(topic=h(topic_name(catalogue, booking.topic)),
                                                                 when=when(starts, tz))
            + " " + remind + " " + _("To cancel: «📂 My requests» → «📅 My bookings and consultations»."))


def unbooked(booking: Booking, tz) -> str:
    return "❎ " + _("The booking for {when} is cancelled.").format(
        when=when(datetime.fromisoformat(booking.starts_at), tz))


def my_bookings(catalogue: Catalogue, bookings: list[Booking], past: list[Consultation],
                tz) -> tuple[str, InlineKeyboardMarkup]:
    """The resident's booked times, each with its cancel button, and their last consultations."""
    lines = ["<b>" + _("My bookings") + "</b>"]
    rows = []
    for booking in bookings:
        moment = when(datetime.fromisoformat(booking.starts_at), tz)
        lines.append(f"📅 {moment} · {h(topic_name(catalogue, booking.topic))}")
        rows.append([InlineKeyboardButton(text=_("❎ Cancel {when}").format(when=moment),
                                          callback_data=Cons(action="unbook", value=str(booking.id)).pack())])
    if not bookings:
        lines.append(_("No booked times."))
    if past:
        lines += ["", "<b>" + _("Past consultations") + "</b>"]
        for consultation in past:
            asked = when(datetime.fromisoformat(consultation.asked_at), tz)
            stars = " " + "⭐" * consultation.rating if consultation.rating else ""
            lines.append(f"💬 {asked} · {h(topic_name(catalogue, consultation.topic))}{stars}")
    rows.append(nav_row())
    return "\n".join(lines), keyboard(rows)


def call_back_question(catalogue: Catalogue, topic: str, line: str) -> str:
    """The request's description when the resident asks to be called back (`line`: what they wrote, if any)."""
    question = _("Please call me back about: {topic}").format(topic=topic_name(catalogue, topic))
    return question + ("\n" + line if line else "")


def call_back_filed(number: str, phone: str) -> str:
    return "📞 " + _("Done: request No. {number}. A specialist will call you at {phone}. You can "
                    "follow it in «📂 My requests».").format(number=number, phone=h(phone))
