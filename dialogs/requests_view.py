"""How requests look: the staff card, the resident's list and history, notices. Escapes every user text."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import Catalogue
from bot.dates import human_date, human_datetime
from bot.requests.clean import clean_text, ukrainian_phone
from bot.requests.models import Event, Request, Status
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

def staff_card(catalogue: Catalogue, request: Request, files: int, tz) -> str:
    lines = []
    if request.urgent:
        lines.append("🔴 <b>" + _("URGENT") + "</b> — " + _("possible danger, answer first"))
    lines.append("📨 <b>" + _("Request No. {number}").format(number=request.public_id) + "</b>")
    status = status_label(request.status)
    if request.assignee_label and request.status.open:
        status += " · " + _("taken by: {who}").format(who=h(request.assignee_label))
    lines.append(_("Status: {status}").format(status=status))
    lines.append(_("About: {topic}").format(topic=h(topic_of(catalogue, request))))
    if request.kind == "report":
        lines.append(_("Type: a report about another person"))
    elif request.for_whom in FOR_WHOM:
        lines.append(_("The resident asks {whom}").format(whom=_(FOR_WHOM[request.for_whom])))
    lines.append(_("Sent: {when}").format(when=when_text(request.created_at, tz)))
    if request.status.open:
        lines.append(_("Answer by: {when}").format(when=human_date(datetime.fromisoformat(request.due_at), locale())))
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
    """A forum topic's title: number and subject, at most 128 characters."""
    prefix = "🔴 " if request.urgent else ""
    return (prefix + f"{request.public_id} · {topic_of(catalogue, request)}")[:128]


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
        lines.append(_("Answer expected by: {day}").format(
            day=human_date(datetime.fromisoformat(request.due_at), locale())))
    lines.append("")
    lines.append("<b>" + _("History") + "</b>")
    entries = []
    for event in events:
        label = _(EVENT.get(event.kind, event.kind))
        who = ""
        if event.actor == "staff" and event.actor_label:
            who = f" ({h(event.actor_label)})"
        line = f"• {when_text(event.at, tz)} — {label}{who}"
        if event.kind == "redirected" and event.institution_id:
            view = catalogue.communities.get(request.community)
            inst = view.institutions.get(event.institution_id) if view else None
            if inst:
                line += ": " + h(inst.short_name.get(locale()))
        text = "  " + event.text.strip().replace("\n", "\n  ") if event.text and event.text.strip() else ""
        files = "  📎 " + _("files: {n}").format(n=len(event.files)) if event.files else ""
        entries.append(Entry(line, text, files))
    return pack(entries, head="\n".join(lines))
