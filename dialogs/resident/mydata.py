"""«Мої дані» as a person reads it: a plain UTF-8 text in the resident's language, sections, Kyiv time, words.

The data comes from `bot.privacy.collect`; the same data goes out as JSON for machines.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Optional

from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import Catalogue
from bot.dates import human_datetime
from bot.requests.models import Status
from dialogs import consult_view, requests_view
from dialogs.common import N_, locale

LANGUAGES = {"uk": "Українська", "en": "English"}
KIND = {"help": N_("a request for help"), "report": N_("a report about a person who needs help")}
WHOM = {"self": N_("for yourself"), "child": N_("for your child"), "other": N_("for a relative or neighbour")}
FILE_KIND = {"photo": N_("photo"), "document": N_("document"), "voice": N_("voice message")}
CONTACT = {"telegram": N_("the contact shared from Telegram"), "phone": N_("a phone number"),
           "chat": N_("only here in the chat")}
BY = {"resident": N_("you"), "staff": N_("specialist"), "system": N_("the bot")}
FROM = {"resident": N_("you"), "specialist": N_("specialist"), "system": N_("the bot")}
CHAT_FROM = {"resident": N_("you"), "bot": N_("the bot")}
ENDED_BY = {"resident": N_("you"), "specialist": N_("the specialist"), "system": N_("the bot")}
BOOKING = {"booked": N_("booked"), "cancelled": N_("cancelled"), "kept": N_("held"), "missed": N_("missed")}
DELIVERY = {"pending": N_("waiting to be sent"), "sending": N_("being sent"), "delivered": N_("delivered"),
            "blocked": N_("not delivered: the bot was blocked"), "failed": N_("not delivered"),
            "uncertain": N_("unknown: the sending was interrupted")}
LINK = {"service": N_("a service card"), "consultation": N_("an online consultation topic"),
        "community": N_("the community's menu")}
RULE = "—" * 30
INDENT = "    "


class Reader:
    """Names, dates and words for one resident's file."""

    def __init__(self, catalogue: Catalogue, tz) -> None:
        self.catalogue = catalogue
        self.tz = tz
        self.locale = locale()

    def when(self, stamp: Optional[str]) -> str:
        return human_datetime(datetime.fromisoformat(stamp), self.locale, self.tz) if stamp else "—"

    def community(self, slug: Optional[str]) -> str:
        view = self.catalogue.communities.get(slug or "")
        return view.model.name.get(self.locale) if view else (slug or "—")

    def institution(self, community: Optional[str], institution_id: Optional[str]) -> str:
        view = self.catalogue.communities.get(community or "")
        institution = view.institutions.get(institution_id or "") if view else None
        return institution.name.get(self.locale) if institution else (institution_id or "—")

    def about(self, request: dict[str, Any]) -> str:
        view = self.catalogue.communities.get(request["community"])
        if request["service"] and view and request["service"] in view.services:
            return view.services[request["service"]].name.get(self.locale)
        if request["situation"] and request["situation"] in self.catalogue.situations:
            return self.catalogue.situations[request["situation"]].name.get(self.locale)
        if request["kind"] == "report":
            return _("Report about a person who needs help")
        return _("Not sure, please advise")

    def topic(self, topic_id: Optional[str]) -> str:
        return consult_view.topic_name(self.catalogue, topic_id or "")

    def news_topic(self, topic_id: Optional[str]) -> str:
        topic = next((t for t in self.catalogue.news_topics if t.id == topic_id), None)
        return topic.name.get(self.locale) if topic else (topic_id or "—")


def word(table: dict[str, str], value: Optional[str]) -> str:
    return _(table[value]) if value in table else (value or "—")


def block(text: Optional[str], removed: bool = False) -> list[str]:
    """A text the resident or a specialist wrote, indented, every line of it."""
    if not text:
        return [INDENT + (_("(deleted)") if removed else "—")]
    return [INDENT + line for line in text.splitlines() or [""]]


def heading(title: str, count: Optional[int] = None) -> list[str]:
    label = title.upper() if count is None else f"{title.upper()} ({count})"
    return ["", RULE, label, RULE]


def _profile(read: Reader, data: dict[str, Any]) -> list[str]:
    lines = heading(_("Profile"))
    profile = data.get("profile")
    if not profile:
        return lines + [_("Nothing is stored.")]
    lines.append(_("Language: {language}").format(language=LANGUAGES.get(profile["language"] or "", "—")))
    lines.append(_("Community: {name}").format(name=read.community(profile["community"])))
    lines.append(_("First time in the bot: {when}").format(when=read.when(profile["first_seen_at"])))
    lines.append(_("Last change of the settings: {when}").format(when=read.when(profile["changed_at"])))
    if profile["blocked_bot_at"]:
        lines.append(_("The bot was blocked: {when}").format(when=read.when(profile["blocked_bot_at"])))
    consent = data.get("consent")
    if consent:
        lines.append(_("Consent to the processing of your data: given {when}").format(
            when=read.when(consent["given_at"])))
    else:
        lines.append(_("Consent to the processing of your data: not given"))
    return lines


def _request(read: Reader, request: dict[str, Any]) -> list[str]:
    removed = bool(request["personal_data_removed_at"])
    status = Status(request["status"])
    lines = ["", "📨 " + _("Request No. {number}").format(number=request["number"])]
    lines.append(_("Type: {kind}").format(kind=word(KIND, request["kind"])))
    lines.append(_("About: {topic}").format(topic=read.about(request)))
    if request["kind"] == "help" and request["for_whom"] in WHOM:
        lines.append(_("For whom: {whom}").format(whom=word(WHOM, request["for_whom"])))
    lines.append(_("Institution: {name}").format(name=read.institution(request["community"], request["institution"])))
    lines.append(_("Status: {status}").format(status=_(requests_view.STATUS[status])))
    if request["taken_by"]:
        lines.append(_("Taken by: {who}").format(who=request["taken_by"]))
    lines.append(_("Sent: {when}").format(when=read.when(request["created_at"])))
    if status.open:
        lines.append(_("Answer by: {when}").format(when=read.when(request["answer_by"])))
    if request["closed_at"]:
        lines.append(_("Finished: {when}").format(when=read.when(request["closed_at"])))
    if request["urgent"]:
        lines.append(_("Marked urgent: the description suggested danger."))
    if request["anonymous"]:
        lines.append(_("Anonymous: no contacts were left."))
    else:
        contact = request["contact"]
        lines.append(_("How to reach you: {how}").format(how=word(CONTACT, contact["method"])))
        if contact["name"]:
            lines.append(INDENT + _("Name: {name}").format(name=contact["name"]))
        if contact["phone"]:
            lines.append(INDENT + _("Phone: {phone}").format(phone=contact["phone"]))
    lines.append(_("Description:"))
    lines += block(request["description"], removed)
    if request["rating"]:
        lines.append(_("Your rating: {n} of 5").format(n=request["rating"]))
    if request["rating_comment"]:
        lines.append(_("Your comment:"))
        lines += block(request["rating_comment"])
    if removed:
        lines.append(_("Texts, files and contacts were deleted: {when}").format(
            when=read.when(request["personal_data_removed_at"])))
    lines.append(_("History:"))
    for event in request["history"]:
        title = word(requests_view.EVENT, event["kind"])
        who = word(BY, event["by"])
        if event["signed"]:
            who = f"{who} ({event['signed']})"
        lines.append(f"{INDENT}{read.when(event['at'])} · {title} · {who}")
        if event["text"]:
            lines += [INDENT + line for line in block(event["text"])]
        for item in event["files"]:
            kind = word(FILE_KIND, item["kind"])
            shown = _("file: {name} ({kind})").format(name=item["name"], kind=kind) if item["name"] else kind
            lines.append(INDENT * 2 + "📎 " + shown)
    return lines


def _consultation(read: Reader, consultation: dict[str, Any]) -> list[str]:
    removed = bool(consultation["personal_data_removed_at"])
    lines = ["", "💬 " + _("Online consultation No. {number}").format(number=consultation["number"])]
    lines.append(_("Topic: {topic}").format(topic=read.topic(consultation["topic"])))
    lines.append(_("Institution: {name}").format(
        name=read.institution(consultation["community"], consultation["institution"])))
    lines.append(_("Status: {status}").format(status=word(consult_view.STATUS, consultation["status"])))
    if consultation["specialist"]:
        lines.append(_("Specialist: {who}").format(who=consultation["specialist"]))
    if consultation["booked"]:
        lines.append(_("Booked in advance."))
    lines.append(_("Asked: {when}").format(when=read.when(consultation["asked_at"])))
    if consultation["taken_at"]:
        lines.append(_("A specialist joined: {when}").format(when=read.when(consultation["taken_at"])))
    if consultation["ended_at"]:
        lines.append(_("Ended: {when} (by {who})").format(when=read.when(consultation["ended_at"]),
                                                         who=word(ENDED_BY, consultation["ended_by"])))
    if consultation["became_request"]:
        lines.append(_("Became request No. {number}").format(number=consultation["became_request"]))
    if consultation["rating"]:
        lines.append(_("Your rating: {n} of 5").format(n=consultation["rating"]))
    if consultation["rating_comment"]:
        lines.append(_("Your comment:"))
        lines += block(consultation["rating_comment"])
    if removed:
        lines.append(_("Texts and files were deleted: {when}").format(
            when=read.when(consultation["personal_data_removed_at"])))
    lines.append(_("Conversation:"))
    for said in consultation["transcript"]:
        who = word(FROM, said["from"])
        lines.append(f"{INDENT}{read.when(said['at'])} · {who}")
        if said["file"]:
            kind = word(FILE_KIND, said["kind"])
            lines.append(INDENT * 2 + "📎 " + (_("a file ({kind})").format(kind=kind) if not removed
                                              else _("(deleted)")))
        if said["text"] or not said["file"]:
            lines += [INDENT + line for line in block(said["text"], removed)]
    return lines


def render(data: dict[str, Any], catalogue: Catalogue, tz) -> str:
    """The whole file. `data` is what `bot.privacy.collect` returned."""
    read = Reader(catalogue, tz)
    lines = _intro(read, data, tz) + _profile(read, data)
    lines += section(_("Requests"), data.get("requests"), _("No requests."), lambda item: _request(read, item))
    lines += section(_("Online consultations"), data.get("consultations"), _("No consultations."),
                     lambda item: _consultation(read, item))
    lines += section(_("Booked times"), data.get("bookings"), _("No booked times."),
                     lambda item: [_booking(read, item)])
    lines += section(_("News you receive"), data.get("subscriptions"), _("No choice made: no news topics."),
                     lambda item: [_subscription(read, item)], counted=False)
    lines += section(_("News messages sent to you"), data.get("campaign_messages"), _("None."),
                     lambda item: [_campaign_message(read, item)])
    lines += section(_("Links and QR codes you opened"), data.get("link_opens"), _("None."),
                     lambda item: [_link_open(read, item)])
    if data.get("web_chat") is not None:
        lines += _web_chat(read, data["web_chat"])
    lines += _other(read, data)
    return "\n".join(lines) + "\n"


def _web_chat(read: Reader, chat: dict[str, Any]) -> list[str]:
    """A web resident's chat as the page shows it."""
    lines = heading(_("The web chat"), len(chat["messages"]))
    lines.append(_("Started: {when}; browsers signed in: {n}").format(when=read.when(chat["started_at"]),
                                                                     n=chat["browser_sessions"]))
    if chat.get("email_for_notices"):
        lines.append(_("E-mail for notices that something arrived: {email}").format(email=chat["email_for_notices"]))
    for said in chat["messages"]:
        lines.append(f"{INDENT}{read.when(said['at'])} · {word(CHAT_FROM, said['from'])}")
        if said["file"]:
            kind = word(FILE_KIND, said["file"]["kind"])
            name = said["file"]["name"]
            lines.append(INDENT * 2 + "📎 " + (_("file: {name} ({kind})").format(name=name, kind=kind) if name
                                              else kind))
        if said["text"] or not said["file"]:
            lines += [INDENT + line for line in block(said["text"])]
    return lines


def section(title: str, items: Optional[list[dict[str, Any]]], none: str,
            lines_of: Callable[[dict[str, Any]], list[str]], counted: bool = True) -> list[str]:
    """A heading (with the number of items when `counted`), then each item's lines, or `none`."""
    items = items or []
    lines = heading(title, len(items) if counted else None)
    if not items:
        lines.append(none)
    for item in items:
        lines += lines_of(item)
    return lines


def _intro(read: Reader, data: dict[str, Any], tz) -> list[str]:
    return [
        _("My data in the bot «Hromada: help»"),
        (_("Made: {when} (Kyiv time)") if str(tz) == "Europe/Kyiv" else _("Made: {when} ({zone})")).format(
            when=read.when(data["exported_at"]), zone=str(tz)),
        (_("Your number in the web chat: {id}") if data.get("web_chat") is not None
         else _("Your Telegram ID: {id}")).format(id=data["telegram_user_id"]),
        "",
        _("This is everything the bot keeps about you. The same data for computer programs is in the JSON file."),
        _("To delete it: ⚙️ Settings → 🗑 Delete my data. Anonymous counts stay for the community's reports."),
    ]


def _booking(read: Reader, booking: dict[str, Any]) -> str:
    return _("{when}: {topic}, {institution} — {status}").format(
        when=read.when(booking["starts_at"]), topic=read.topic(booking["topic"]),
        institution=read.institution(booking["community"], booking["institution"]),
        status=word(BOOKING, booking["status"]))


def _subscription(read: Reader, item: dict[str, Any]) -> str:
    state = _("you receive") if item["subscribed"] else _("you unsubscribed")
    return f"{read.news_topic(item['topic'])}: {state} ({read.when(item['changed_at'])})"


def _campaign_message(read: Reader, item: dict[str, Any]) -> str:
    return _("{when}: «{topic}» — {status}").format(
        when=read.when(item["sent_at"]), topic=read.news_topic(item["topic"]), status=word(DELIVERY, item["status"]))


def _link_open(read: Reader, item: dict[str, Any]) -> str:
    return _("{when}: {what} ({community}), code {code}").format(
        when=read.when(item["opened_at"]), what=word(LINK, item["kind"]),
        community=read.community(item["community"]), code=item["code"])


def _other(read: Reader, data: dict[str, Any]) -> list[str]:
    lines = heading(_("Other"))
    if data.get("unfinished_dialog"):
        lines.append(_("An unfinished dialog is kept until you finish it or press /cancel (its content is in the "
                       "JSON file)."))
    if data.get("notices_waiting"):
        lines.append(_("Messages waiting to be sent to you: {n}").format(n=data["notices_waiting"]))
    for item in data.get("staff") or []:
        lines.append(_("Staff group of {institution}: role «{role}», since {when}").format(
            institution=read.institution(item["community"], item["institution"]), role=item["role"] or "—",
            when=read.when(item["added_at"])))
    if data.get("administrator_since"):
        lines.append(_("Administrator of the bot since {when}").format(when=read.when(data["administrator_since"])))
    if not (data.get("unfinished_dialog") or data.get("notices_waiting") or data.get("staff")
            or data.get("administrator_since")):
        lines.append(_("Nothing else."))
    return lines
