"""What a staff group reads about a request besides the card's body (dialogs/requests_view): the card as posted,
with its buttons, or erased once the data are deleted; the card left behind when the request is passed on; the
recent history posted with a card posted again; the resident's messages, notices and reminders; the answers on
whether the help came; the list of /open."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import Catalogue
from bot.privacy import RETENTION
from bot.requests.models import Event, Request
from dialogs.common import N_, Entry, h, pack
from dialogs.requests_view import (
    EVENT,
    Staff,
    clip,
    due_text,
    staff_card,
    staff_keyboard,
    status_label,
    topic_of,
    when_text,
)

# The history entries a card posted again is followed by, as the staff read them (notes included: the group is the
# institution's own).
STAFF_EVENT = {
    "taken": EVENT["taken"],
    "reply": N_("Answer to the resident"),
    "resident_message": N_("The resident wrote"),
    "note": EVENT["note"],
    "redirected": EVENT["redirected"],
    "resolved": EVENT["resolved"],
    "closed": EVENT["closed"],
    "reopened": EVENT["reopened"],
    "handed_over": N_("Handed over to a colleague"),
    "withdrawn": N_("The resident withdrew the request"),
    "rated": N_("The resident rated the help"),
    "resident_message_withdrawn": N_("The resident took back a message sent here by mistake"),
}
HISTORY_LINES = 10
# What an erased request card says, by why the data went.
ERASED = {
    "resident": N_("The data were deleted at the resident's request: the description, contacts, files and "
                   "messages. The resident can no longer be reached through the bot."),
    "retention": N_("The data were deleted after the retention period: the description, contacts, files "
                    "and messages."),
}
# the notices a group gets about a request
NOTICES = ("withdrawn", "rated", "reminder", "due_soon", "taker_left", "handed_over")


def why_of(value: Optional[str]) -> str:
    """Why a request's or a consultation's data went, as the erased cards say it."""
    return RETENTION if value == RETENTION else "resident"


def request_card(catalogue: Catalogue, request: Request, files: int, tz,
                 now: datetime) -> tuple[str, Optional[InlineKeyboardMarkup]]:
    """The staff card and its buttons; once the request's data are deleted, the erased card, with only «Close»
    while it is open (nobody can answer the resident any more)."""
    if not request.purged_at:
        markup = staff_keyboard(request)
        if request.status.open:  # dialogs/staff/handover.py
            markup.inline_keyboard.insert(-1, [InlineKeyboardButton(
                text=_("👥 Hand over to a colleague"), callback_data=Staff(action="handover", rid=request.id).pack())])
        return staff_card(catalogue, request, files, tz, now), markup
    text = "\n".join(["🗑 <b>" + _("Request No. {number}").format(number=request.public_id) + "</b>",
                      _("Status: {status}").format(status=status_label(request.status)), "",
                      "<i>" + _(ERASED[why_of(request.purged_why)]) + "</i>"])
    markup = None
    if request.status.open:
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("☑️ Close"), callback_data=Staff(action="close", rid=request.id).pack())]])
    return text, markup


def passed_on(card: str, institution: str) -> str:
    """The card left in the group the request went away from, marked with where it went."""
    return "↪️ <b>" + _("Passed to: {institution}").format(institution=h(institution)) + "</b>\n\n" + card


def recent_history(events: list[Event], tz) -> list[str]:
    """The latest entries of these (of STAFF_EVENT's kinds) as HTML messages, split between entries, never inside
    one (a cut after escaping could break the message's HTML)."""
    if not events:
        return []
    entries = []
    for event in events[-HISTORY_LINES:]:
        who = f" ({h(event.actor_label)})" if event.actor == "staff" and event.actor_label else ""
        line = f"• {when_text(event.at, tz)} — {_(STAFF_EVENT[event.kind])}{who}"
        if event.files:
            line += f" 📎{len(event.files)}"
        entries.append(Entry(line + (":" if event.text else ""), clip(event.text, 300) if event.text else ""))
    return pack(entries, head="🗂 <b>" + _("Recent history") + "</b>")


def resident_wrote(request: Request) -> str:
    """The head of a resident's message relayed to the group."""
    return "💬 " + _("The resident wrote about request No. {number}:").format(number=request.public_id)


def message_taken_back(request: Request, when: str, removed: bool) -> str:
    """The note left when the resident took back a message meant as a search in the bot."""
    if removed:
        text = _("The resident took back their message about request No. {number} ({when}): it was meant "
                 "as a search in the bot, not for you. It is removed from here.")
    else:
        text = _("The resident says their message about request No. {number} ({when}) was sent here by "
                 "mistake: it was meant as a search in the bot. Please disregard it.")
    return "↩️ " + text.format(number=request.public_id, when=when)


def notice(request: Request, what: str, rating: int, now: datetime, tz) -> str:
    """A notice of NOTICES: withdrawn, rated (`rating` stars), a reminder (with the due clock on `now`)."""
    if what == "withdrawn":
        return "↩️ " + _("The resident withdrew request No. {number}.").format(number=request.public_id)
    if what == "taker_left":
        text = _("{who}, who has request No. {number}, has left the group. Please hand it over to a colleague: "
                 "«👥 Hand over to a colleague» on the card (the one chosen needs a role set with /role).")
        return "👋 " + text.format(who=h(request.assignee_label or "—"), number=request.public_id)
    if what == "rated":
        return "⭐ " + _("The resident rated the help for request No. {number}: {stars}").format(
            number=request.public_id, stars="⭐" * rating)
    text = "⏰ " + _("Reminder: request No. {number} is waiting. Status: {status}.").format(
        number=request.public_id, status=status_label(request.status))
    return text + "\n" + due_text(request, now, tz)


def handed_over(request: Request, to_id: int, to_label: str, by: str) -> str:
    """The colleague a request was handed over to, mentioned (Telegram lets them know) in its topic."""
    mention = f'<a href="tg://user?id={int(to_id)}">{h(to_label)}</a>'
    return mention + ", " + _("request No. {number} was handed over to you by {who}.").format(
        number=request.public_id, who=h(by))


def help_did_not_come(request: Request, answer: str) -> str:
    """The resident answered «partly» or «no» to whether the help came."""
    said = _("partly") if answer == "partly" else _("no")
    return "🔄 " + _("The resident says the help for request No. {number} did not come (their answer: "
                    "«{answer}»). The request is back in work.").format(number=request.public_id, answer=said)


def help_words_head(request: Request) -> str:
    """The head of the resident's few words on the help that did not come."""
    return "💬 " + _("The resident's words about the help that did not come, request No. {number}:").format(
        number=request.public_id)


def open_entries(catalogue: Catalogue, requests: list[Request], now: datetime, tz) -> list[Entry]:
    """One entry of /open per request: number, status, who has it, the due clock, and what it is about."""
    entries = []
    for r in requests:
        mark = "🔴 " if r.urgent else ""
        who = f" · {h(r.assignee_label)}" if r.assignee_label else ""
        entries.append(Entry(f"{mark}№ {r.public_id} · {status_label(r.status)}{who}\n⏳ {due_text(r, now, tz)}",
                             topic_of(catalogue, r)))
    return entries


def open_head(count: int, limit: int) -> str:
    """The head of /open: how many are listed, and that only the first are when there are `limit` of them."""
    head = "<b>" + _("Open requests: {n}").format(n=count) + "</b>"
    if count == limit:
        head += "\n" + _("The first {n} are listed, the urgent and the oldest first.").format(n=limit)
    return head
