"""What a staff group reads about a consultation besides the card (dialogs/consult_view): the recent history posted
with a card posted again, the card left behind when the consultation is passed on, the notice that it ended, the
bookings made and cancelled, the list of /queue."""
from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import Catalogue
from bot.consult.models import Booking, Consultation, Said
from dialogs.common import Entry, h, pack
from dialogs.consult_view import topic_name, when
from dialogs.requests_view import clip

HISTORY_LINES = 15
RESIDENT_SAYS = "👤 "  # the head of each of the resident's messages relayed to the group


def topic_title(catalogue: Catalogue, consultation: Consultation) -> str:
    """The name of the consultation's topic in a forum group (Telegram takes up to 128 characters)."""
    return f"💬 {consultation.id} · {topic_name(catalogue, consultation.topic)}"[:128]


def recent_history(rest: list[Said]) -> list[str]:
    """The conversation after the question (its last HISTORY_LINES entries), in as many messages as it takes."""
    entries = []
    for s in rest[-HISTORY_LINES:]:
        mark = {"resident": "👤", "system": "ℹ️"}.get(s.sender, "🗒" if not s.public else "🧑‍💼")
        if s.kind in ("text", "note"):
            entries.append(Entry(mark, clip(s.text or "", 300)))
        else:
            entries.append(f"{mark} 📎")
    # split between entries, never inside one (a cut after escaping could break the message's HTML)
    return pack(entries, head="🗂 <b>" + _("Recent history") + "</b>")


def moved(catalogue: Catalogue, consultation: Consultation, institution: str) -> str:
    """The card left behind when the consultation is passed to `institution`."""
    return ("↪️ <b>" + _("Passed to: {institution}").format(institution=h(institution)) + "</b>\n"
            + _("Topic: {topic}").format(topic=h(topic_name(catalogue, consultation.topic))))


def ended(notice: str | None) -> str:
    return ("🔚 " + _("The resident ended the consultation.") if notice == "ended_by_resident"
            else "🔚 " + _("The consultation is ended."))


def booking_notice(catalogue: Catalogue, booking: Booking, cancelled: bool, tz) -> str:
    """A booking made (or cancelled) for the institution's line."""
    if not cancelled:
        text = "📅 " + _("New booking: «{topic}», {when}.")
    else:
        text = "❎ " + _("A booking was cancelled: «{topic}», {when}.")
    return text.format(topic=h(topic_name(catalogue, booking.topic)),
                       when=when(datetime.fromisoformat(booking.starts_at), tz))


def queue_list(catalogue: Catalogue, waiting: list[Consultation], today: list[Booking], tz) -> list[str]:
    """/queue: the consultations open now and the bookings of the day, in as many messages as it takes."""
    lines = ["<b>" + _("Consultations now: {n}").format(n=len(waiting)) + "</b>"]
    for c in waiting:
        state = _("waiting") if c.status == "queued" else _("with {who}").format(who=h(c.specialist_label or ""))
        asked = when(datetime.fromisoformat(c.asked_at), tz)
        lines.append(f"💬 {c.id} · {h(topic_name(catalogue, c.topic))} · {state} · {asked}")
    lines += ["\n<b>" + _("Booked for today: {n}").format(n=len(today)) + "</b>"]
    for b in today:
        moment = when(datetime.fromisoformat(b.starts_at), tz)
        lines.append(f"📅 {moment} · {h(topic_name(catalogue, b.topic))}")
    return pack(lines)  # split between lines, never inside one
