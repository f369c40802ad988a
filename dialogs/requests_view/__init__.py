"""How requests look: the staff card, the resident's list and history, the labels every text about a request
uses. Escapes every user text. With group.py (what the staff group reads besides the card) and resident.py (the
notices and answers the resident gets), this package builds every text a resident or a group reads about a
request; the outbox and the dialogs only call it."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.catalogue.loader import Catalogue
from bot.dates import human_date, human_datetime, local
from bot.requests.clean import clean_text, ukrainian_phone
from bot.requests.models import Event, Request, Status
from bot.storage.residents import is_web
from dialogs.common import MESSAGE_LIMIT, N_, Entry, clip_plain, h, locale, pack, shown_length

CARD_TEXT_LIMIT = 3500  # the most of a description a card shows (it must stay one message, to be edited)
AGAIN_ROOM = 300  # room left on a card for the line on why it is posted again (dialogs/outbox/cards.py)


class Staff(CallbackData, prefix="s"):
    """A staff action on a request card."""

    action: str
    rid: int
    arg: str = ""


class Req(CallbackData, prefix="r"):
    """A resident action on their own request."""

    action: str
    rid: int
    arg: str = ""


STATUS = {
    Status.new: N_("Received"),
    Status.in_progress: N_("In progress"),
    Status.resolved: N_("Resolved"),
    Status.closed: N_("Closed"),
    Status.withdrawn: N_("Withdrawn"),
}
STATUS_ICON = {Status.new: "🆕", Status.in_progress: "🛠", Status.resolved: "✅", Status.closed: "☑️",
               Status.withdrawn: "↩️"}
FOR_WHOM = {"self": N_("for themselves"), "child": N_("for their child"), "other": N_("for a relative or neighbour")}
EVENT = {
    "created": N_("Request sent"),
    "taken": N_("A specialist took the request"),
    "reply": N_("Answer"),
    "resident_message": N_("Your message"),
    "redirected": N_("Passed to another institution"),
    "resolved": N_("Marked as resolved"),
    "closed": N_("Closed"),
    "reopened": N_("Taken back into work"),
    "withdrawn": N_("You withdrew the request"),
    "rated": N_("Your rating"),
    "note": N_("Internal note"),
}


# Why a request was finished: the staff's buttons, and the sentence the resident reads (after the first line that
# says resolved or closed). The words of "other" follow its sentence.
FINISH_REASON = {
    "helped": N_("Helped"),
    "referred": N_("Referred elsewhere"),
    "unreachable": N_("Could not reach"),
    "not_ours": N_("Not our competence"),
    "duplicate": N_("Duplicate"),
    "other": N_("Other"),
}
FINISH_TO_RESIDENT = {
    "helped": N_("The specialists say the help you asked for was given."),
    "referred": N_("Your question is handled by another service: the specialists referred you there. If you did "
                   "not get its contacts, please ask for help again."),
    "unreachable": N_("The specialists could not reach you. If you still need help, please ask again and check "
                      "that the contact you leave is right."),
    "not_ours": N_("This question is not something this institution deals with. You can look for the right "
                   "service in the bot's catalogue or ask for help again."),
    "duplicate": N_("It repeats another request of yours, which is being handled."),
    "other": N_("The specialist wrote:"),
}
# The status a request's forum topic title carries (with a coloured mark), so that the topic list reads as a queue.
TOPIC_STATUS = {
    Status.new: ("🔵", N_("new")),
    Status.in_progress: ("🟡", N_("in work")),
    Status.resolved: ("🟢", N_("resolved")),
    Status.closed: ("⚪", N_("closed")),
    Status.withdrawn: ("⚪", N_("withdrawn")),
}


def reason_label(reason: Optional[str]) -> str:
    return _(FINISH_REASON[reason]) if reason in FINISH_REASON else ""


def finish_sentence(reason: str, words: Optional[str] = None, sep: str = " ") -> str:
    """What the resident reads on why their request was finished, with the staff's words of «Other» in quotes
    after `sep` (escaped here)."""
    return _(FINISH_TO_RESIDENT[reason]) + (f"{sep}«{h(words)}»" if words else "")


def _due(request: Request, tz) -> datetime:
    """The moment an answer is due, in the services' time zone: the day residents and staff count by (a request
    sent at 01:20 Kyiv time is due on a Kyiv day, not on the day it still was in UTC)."""
    return local(datetime.fromisoformat(request.due_at), tz)


def due_day(request: Request, tz) -> str:
    return human_date(_due(request, tz), locale())


def due_text(request: Request, now: datetime, tz) -> str:
    """The due clock: «Answer by 09.12, 2 days left», «…, today», «…, overdue by 1 day» (calendar days in the
    services' time zone)."""
    due = _due(request, tz)
    days = (due.date() - now.astimezone(tz).date()).days
    day = due.strftime("%d.%m")
    if now >= due:
        late = max(1, -days)
        left = ngettext("overdue by {n} day", "overdue by {n} days", late).format(n=late)
    elif days <= 0:
        left = _("due today")
    else:
        left = ngettext("{n} day left", "{n} days left", days).format(n=days)
    return _("Answer by {day}, {left}").format(day=day, left=left)


def status_label(status: Status) -> str:
    return f"{STATUS_ICON[status]} {_(STATUS[status])}"


def institution_name(catalogue: Catalogue, request: Request, *, short: bool = True) -> str:
    view = catalogue.communities.get(request.community)
    inst = view.institutions.get(request.institution_id) if view else None
    if inst is None:
        return request.institution_id
    return (inst.short_name if short else inst.name).get(locale())


def topic_of(catalogue: Catalogue, request: Request) -> str:
    """What the request is about, in the reader's language."""
    loc = locale()
    view = catalogue.communities.get(request.community)
    if request.service_id and view and request.service_id in view.services:
        return view.services[request.service_id].name.get(loc)
    if request.situation_id and request.situation_id in catalogue.situations:
        return catalogue.situations[request.situation_id].name.get(loc)
    if request.kind == "report":
        return _("Report about a person who needs help")
    return _("Not sure, please advise")


def when_text(stamp: Optional[str], tz) -> str:
    return human_datetime(datetime.fromisoformat(stamp), locale(), tz) if stamp else "—"


def clip(text: str, limit: int = CARD_TEXT_LIMIT) -> str:
    """A plain text shortened to `limit` characters as Telegram counts them, with «…»; escaped after this."""
    return clip_plain(text, limit)


# ----- staff side ----------------------------------------------------------------------------------------------

def staff_card(catalogue: Catalogue, request: Request, files: int, tz, now: Optional[datetime] = None) -> str:
    """The card in the staff group: who has it and the due clock (on `now`, the services' clock) while it is
    open, why it was finished once it is."""
    lines = []
    if request.urgent:
        lines.append("🔴 <b>" + _("URGENT") + "</b> — " + _("possible danger, answer first"))
    lines.append("📨 <b>" + _("Request No. {number}").format(number=request.public_id) + "</b>"
                 + channel_mark(request.resident_id))
    status = status_label(request.status)
    if request.status.open:
        status += " · " + (_("taken by: {who}").format(who=h(request.assignee_label)) if request.assignee_label
                           else _("nobody has taken it yet"))
    elif request.finish_reason in FINISH_REASON:
        status += " · " + reason_label(request.finish_reason)
    lines.append(_("Status: {status}").format(status=status))
    lines.append(_("About: {topic}").format(topic=h(topic_of(catalogue, request))))
    if request.kind == "report":
        lines.append(_("Type: a report about another person"))
    elif request.for_whom in FOR_WHOM:
        lines.append(_("The resident asks {whom}").format(whom=_(FOR_WHOM[request.for_whom])))
    lines.append(_("Sent: {when}").format(when=when_text(request.created_at, tz)))
    if request.status.open and now is not None:
        lines.append("⏳ " + due_text(request, now, tz))
    elif request.status.open:
        lines.append(_("Answer by: {when}").format(when=due_day(request, tz)))
    lines.append("")
    lines.append("<b>" + _("Description") + "</b>")
    after = ["", contact_line(request)]
    if files:
        after.append(_("Attachments: {n} (below)").format(n=files))
    if request.rating:
        after.append(_("Rating: {stars}").format(stars="⭐" * request.rating))
    # the card is one message: the description gets what the rest leaves, never more than CARD_TEXT_LIMIT
    room = MESSAGE_LIMIT - AGAIN_ROOM - shown_length("\n".join(lines + ["…"] + after))
    lines.append(h(clip(request.description, min(CARD_TEXT_LIMIT, room))) if request.description else "—")
    return "\n".join(lines + after)


def channel_mark(resident_id: Optional[int]) -> str:
    """A small mark after a card's title for a resident who writes from the community's website (bot/webchat/);
    staff answer them exactly as anyone else."""
    return " · 🌐 " + _("web chat") if is_web(resident_id) else ""


def contact_line(request: Request) -> str:
    """The contact as staff see it: names and numbers without characters that hide or reorder text; a number
    that is not a Ukrainian phone number is shown as the resident typed it, never as a number to call."""
    if request.anonymous:
        return "🕶 " + _("Anonymous: the person did not leave contacts.")
    raw = clean_text(request.contact_phone)
    phone = ukrainian_phone(raw)
    if request.contact_method in ("telegram", "phone") and raw and phone is None:
        return "✍️ " + _("Contact as the resident typed it (not a phone number we could read): «{text}»").format(
            text=h(raw[:40]))
    if request.contact_method == "telegram" and phone:
        name = clean_text(request.contact_name)[:100]
        return "📱 " + _("Contact (shared from Telegram): {contact}").format(
            contact=(f"{h(name)}, " if name else "") + phone)
    if request.contact_method == "phone" and phone:
        return "📞 " + _("Phone: {phone}").format(phone=phone)
    return "💬 " + _("Contact only here in the chat: answer through the bot.")


def staff_keyboard(request: Request) -> InlineKeyboardMarkup:
    def b(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=Staff(action=action, rid=request.id).pack())

    if request.status.open:
        rows = []
        if request.assignee_id is None:
            rows.append([b(_("🙋 Take"), "take")])
        rows.append([b(_("💬 Answer"), "reply"), b(_("📝 Note"), "note")])
        rows.append([b(_("↪️ Redirect"), "redirect")])
        rows.append([b(_("✅ Resolved"), "resolve"), b(_("☑️ Close"), "close")])
        return InlineKeyboardMarkup(inline_keyboard=rows)
    if request.status in (Status.resolved, Status.closed):
        return InlineKeyboardMarkup(inline_keyboard=[[b(_("🔄 Back to work"), "reopen")]])
    return InlineKeyboardMarkup(inline_keyboard=[])


def topic_name(catalogue: Catalogue, request: Request) -> str:
    """A forum topic's title: a coloured mark (red while an urgent one is open), number, status and subject, at
    most 128 characters: «🟡 2026-000123 · в роботі · …»."""
    mark, word = TOPIC_STATUS[request.status]
    if request.urgent and request.status.open:
        mark = "🔴"
    return f"{mark} {request.public_id} · {_(word)} · {topic_of(catalogue, request)}"[:128]


# ----- resident side -------------------------------------------------------------------------------------------

def resident_list(catalogue: Catalogue, requests: list[Request], tz) -> str:
    if not requests:
        return _("You have no requests yet. To ask for help, press «📝 Ask for help» in the menu.")
    lines = ["<b>" + _("My requests") + "</b>"]
    for request in requests:
        lines.append(
            f"\n<b>№ {request.public_id}</b> · {status_label(request.status)}\n"
            f"{h(topic_of(catalogue, request))}\n"
            + _("Institution: {name}").format(name=h(institution_name(catalogue, request)))
            + "\n" + _("Last change: {when}").format(when=when_text(request.updated_at, tz))
        )
    lines.append("\n" + _("Tap a request to see its history, add a message or withdraw it."))
    return "\n".join(lines)


def resident_history(catalogue: Catalogue, request: Request, events: list[Event], tz) -> list[str]:
    """The request and its whole history as HTML messages: as many as it takes, split between entries (an
    entry longer than a message alone is split in its text, before escaping)."""
    lines = [
        "<b>" + _("Request No. {number}").format(number=request.public_id) + "</b>",
        h(topic_of(catalogue, request)),
        _("Status: {status}").format(status=status_label(request.status)),
        _("Institution: {name}").format(name=h(institution_name(catalogue, request, short=False))),
    ]
    if request.status.open:
        lines.append(_("Answer expected by: {day}").format(day=due_day(request, tz)))
    entries = []
    sent = next((event for event in events if event.kind == "created"), None)
    if request.description or (sent and sent.files):  # what the resident wrote, until the data are deleted
        files = "📎 " + _("files: {n}").format(n=len(sent.files)) if sent and sent.files else ""
        entries.append(Entry("\n<b>" + _("What you wrote") + "</b>", (request.description or "").strip(), files))
    entries.append("\n<b>" + _("History") + "</b>")
    for event in events:
        label = _(EVENT.get(event.kind, event.kind))
        who = ""
        if event.actor == "staff" and event.actor_label:
            who = f" ({h(event.actor_label)})"
        line = f"• {when_text(event.at, tz)} — {label}{who}"
        if event.kind in ("resolved", "closed") and event.reason in FINISH_REASON:
            line += ": " + reason_label(event.reason)
        if event.kind == "redirected" and event.institution_id:
            view = catalogue.communities.get(request.community)
            inst = view.institutions.get(event.institution_id) if view else None
            if inst:
                line += ": " + h(inst.short_name.get(locale()))
        text = "  " + event.text.strip().replace("\n", "\n  ") if event.text and event.text.strip() else ""
        files = "  📎 " + _("files: {n}").format(n=len(event.files)) if event.files else ""
        entries.append(Entry(line, text, files))
    return pack(entries, head="\n".join(lines))
