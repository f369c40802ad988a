"""Outbox handlers of the consultation line: cards and relays both ways, notices, booking reminders."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable, Optional

from aiogram.utils.i18n import gettext as _

from bot.consult.service import Consultation, Said
from bot.delivery.outbox import Item, NoGroup, Permanent
from bot.groups.models import Group
from bot.requests.models import Attachment
from dialogs.common import Entry, h, html_messages, pack
from dialogs.consult_view import after_timeout_keyboard, rating_keyboard, staff_card, staff_keyboard, topic_name, when
from dialogs.requests_view import clip

if TYPE_CHECKING:
    from dialogs.delivery import TelegramSender

HISTORY_LINES = 15


def opening(said: list[Said]) -> list[Said]:
    """What the resident asked before a specialist answered: the card's question."""
    first = []
    for s in said:
        if s.sender not in ("resident", "system"):
            break
        first.append(s)
    return first


async def post_card(sender: "TelegramSender", consultation: Consultation, group: Group, again: Optional[str] = None,
                    *, thread_id: Optional[int] = None, history: bool = False) -> None:
    """The consultation's card with its buttons and the resident's files (in a new topic in a forum, unless
    `thread_id`); when posted again, with a line on why and the rest of the conversation so far."""
    from dialogs.delivery import AGAIN

    services = sender.services
    said = await services.consult.transcript(consultation.id, public_only=False)
    first = opening([s for s in said if s.public]) if history else [s for s in said if s.sender in ("resident",
                                                                                                      "system")]
    sender._chat = group.chat_id
    with sender._speaking(services.settings.default_locale):
        if group.is_forum and thread_id is None:
            name = f"💬 {consultation.id} · {topic_name(services.catalogue, consultation.topic)}"[:128]
            topic = await sender.bot.create_forum_topic(group.chat_id, name, icon_color=0x6FB9F0)
            thread_id = topic.message_thread_id
        text = staff_card(services.catalogue, consultation, first, services.settings.tz)
        if again:
            text = "⚠️ <i>" + _(AGAIN[again]) + "</i>\n\n" + text
        sent = await sender.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                             reply_markup=staff_keyboard(consultation))
        await services.consult.set_card(consultation.id, group.chat_id, thread_id, sent.message_id)
        reply_to = None if thread_id else sent.message_id
        files = [Attachment(s.kind, s.file_id) for s in first if s.file_id]
        await sender._send_files(group.chat_id, files, thread_id, reply_to)
        if history:
            for text in await recent(sender, consultation, said[len([s for s in said if s.id <= first[-1].id]):]
                                     if first else said):
                await sender.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                              reply_to_message_id=reply_to)


async def recent(sender: "TelegramSender", consultation: Consultation, rest: list[Said]) -> list[str]:
    """The conversation after the question, without what is still on its way to the group."""
    waiting = [i for p in await sender.pending_relays("consult_to_group", "consultation_id", consultation.id)
               for i in p.get("message_ids", [])]
    before = min(waiting, default=None)
    rest = [s for s in rest if before is None or s.id < before]
    if not rest:
        return []
    entries = []
    for s in rest[-HISTORY_LINES:]:
        mark = {"resident": "👤", "system": "ℹ️"}.get(s.sender, "🗒" if not s.public else "🧑‍💼")
        if s.kind in ("text", "note"):
            entries.append(Entry(mark, clip(s.text or "", 300)))
        else:
            entries.append(f"{mark} 📎")
    # split between entries, never inside one (a cut after escaping could break the message's HTML)
    return pack(entries, head="🗂 <b>" + _("Recent history") + "</b>")


async def place_consultation(sender: "TelegramSender", consultation: Consultation, group: Group) -> Consultation:
    """Post the consultation's card in `group` unless it is there already; return it as stored."""
    consult = sender.services.consult
    async with sender.lock("c", consultation.id):
        fresh = await consult.get(consultation.id) or consultation
        if fresh.group_chat_id == group.chat_id and fresh.card_message_id:
            return fresh
        elsewhere = fresh.group_chat_id is not None
        await post_card(sender, fresh, group, "group" if elsewhere else None, history=elsewhere)
        return await consult.get(consultation.id) or fresh


async def post_again(sender: "TelegramSender", item: Item, lost: str) -> bool:
    """The consultation's topic or card was deleted (or its topic closed) by hand: see `TelegramSender._post_again`."""
    services = sender.services
    consultation = await services.consult.get(item.payload.get("consultation_id") or -1)
    if consultation is None:
        return False
    return await sender.post_lost_card(
        "c", consultation, services.consult.get, lost,
        lambda group, again, thread_id: post_card(sender, consultation, group, again, thread_id=thread_id,
                                                  history=True))


def consult_handlers(sender: "TelegramSender") -> dict[str, Callable[[Item], Awaitable[None]]]:
    services = sender.services
    consult = services.consult
    tz = services.settings.tz
    group_locale = services.settings.default_locale

    async def subject(item: Item):
        consultation = await consult.get(item.payload.get("consultation_id", -1))
        if consultation is None:
            raise Permanent("the consultation no longer exists")
        return consultation

    async def group_of(consultation) -> tuple[int, int | None, bool]:
        group = await services.groups.group_for(consultation.community, consultation.institution_id)
        if group is None:
            raise NoGroup()
        sender._chat = group.chat_id
        same = consultation.group_chat_id == group.chat_id
        return group.chat_id, consultation.thread_id if same else None, group.is_forum

    async def placed(item: Item, consultation: Consultation) -> tuple[int, Optional[int], Consultation]:
        """The institution's group with the consultation's card in it (posted first when it is not there)."""
        group = await services.groups.group_for(consultation.community, consultation.institution_id)
        if group is None:
            raise NoGroup()
        sender._chat = group.chat_id
        if consultation.group_chat_id != group.chat_id or not consultation.card_message_id:
            await sender.regroup_waits(item)
            consultation = await place_consultation(sender, consultation, group)
        return group.chat_id, consultation.thread_id, consultation

    async def card(item: Item) -> None:
        await placed(item, await subject(item))

    async def card_update(item: Item) -> None:
        consultation = await subject(item)
        if not consultation.card_message_id:
            return
        group = await services.groups.group_for(consultation.community, consultation.institution_id)
        if group is None or group.chat_id != consultation.group_chat_id:
            if consultation.open:
                await placed(item, consultation)  # posted, as it is now, in the group in use
            return
        sender._chat = group.chat_id
        first = [s for s in await consult.transcript(consultation.id) if s.sender in ("resident", "system")][:3]
        with sender._speaking(group_locale):
            await sender.edit_quietly(staff_card(services.catalogue, consultation, first, tz),
                                      consultation.group_chat_id, consultation.card_message_id,
                                      staff_keyboard(consultation))

    async def card_moved(item: Item) -> None:
        consultation = await subject(item)
        chat_id, message_id = item.payload.get("chat_id"), item.payload.get("message_id")
        if not chat_id or not message_id:
            return
        sender._chat = chat_id
        view = services.catalogue.communities[consultation.community]
        institution = view.institutions[consultation.institution_id].name.get(group_locale)
        with sender._speaking(group_locale):
            text = ("↪️ <b>" + _("Passed to: {institution}").format(institution=h(institution)) + "</b>\n"
                    + _("Topic: {topic}").format(topic=h(topic_name(services.catalogue, consultation.topic))))
            await sender.mark_moved(text, chat_id, message_id)

    async def relay_messages(item: Item, chat_id: int, thread_id: int | None, reply_to: int | None,
                             prefix: str) -> None:
        for message_id in item.payload.get("message_ids", []):
            said = await consult.said(message_id)
            extra = {"message_thread_id": thread_id} if thread_id else {}
            if reply_to:
                extra["reply_to_message_id"] = reply_to
            if said.kind == "text":  # a long one in several messages, each naming who speaks; split, then escaped
                for text in html_messages(said.text or "", head=prefix.strip(), joiner=" ", each=True):
                    await sender.bot.send_message(chat_id, text, **extra)
            elif said.kind == "photo":
                await sender.bot.send_photo(chat_id, said.file_id, caption=prefix.strip() or None, **extra)
            elif said.kind == "voice":
                await sender.bot.send_voice(chat_id, said.file_id, caption=prefix.strip() or None, **extra)
            else:
                await sender.bot.send_document(chat_id, said.file_id, caption=prefix.strip() or None, **extra)

    async def to_group(item: Item) -> None:
        chat_id, thread_id, consultation = await placed(item, await subject(item))
        reply_to = None if thread_id else consultation.card_message_id
        await relay_messages(item, chat_id, thread_id, reply_to, "👤 ")

    async def to_resident(item: Item) -> None:
        consultation = await subject(item)
        if consultation.resident_id is None:
            return
        label = h(consultation.specialist_label or "")
        await relay_messages(item, consultation.resident_id, None, None, f"🧑‍💼 <b>{label}</b>: " if label else "")

    async def resident_notice(item: Item) -> None:
        consultation = await subject(item)
        if consultation.resident_id is None:
            return
        locale = await sender._resident_locale(consultation.resident_id)
        markup = None
        with sender._speaking(locale):
            if item.kind == "consult_booked_open":
                from dialogs.resident.consult import chat_keyboard

                text = "📅 " + _("It is the time of your consultation «{topic}». A specialist will join in a few "
                                "minutes; you can already write your question here.").format(
                    topic=h(topic_name(services.catalogue, consultation.topic)))
                markup = chat_keyboard()
            elif item.kind == "consult_taken":
                text = "👋 " + _("A specialist joined: {who}. Write your questions here, you can also send "
                                "photos, documents and voice messages.").format(who=h(consultation.specialist_label))
            elif item.kind == "consult_ended":
                text = "✅ " + _("The specialist ended the consultation. How helpful was it? Please rate from 1 to 5:")
                markup = rating_keyboard(consultation.id)
            elif item.kind == "consult_timed_out":
                text = ("⏳ " + _("I am sorry: no specialist could answer in time. You can book a time for a "
                                 "consultation or ask them to call you back."))
                markup = after_timeout_keyboard(consultation)
            elif item.kind == "consult_transferred":
                text = "↪️ " + _("Your question went to another specialist: {topic}. Please wait a little.").format(
                    topic=h(topic_name(services.catalogue, consultation.topic)))
            elif item.kind == "consult_converted":
                request = await services.requests.get(item.payload.get("request_id") or -1)
                number = request.public_id if request else "—"
                text = "📝 " + _("The specialist turned the consultation into request No. {number}, so that the "
                                "institution can help further. Follow it in «📂 My requests».").format(number=number)
            else:
                raise Permanent(f"unknown consultation notice {item.kind}")
            await sender.bot.send_message(consultation.resident_id, text, reply_markup=markup)

    async def group_notice(item: Item) -> None:
        consultation = await subject(item)
        chat_id, thread_id, _forum = await group_of(consultation)
        if consultation.group_chat_id != chat_id:
            return
        notice = item.payload.get("notice")
        with sender._speaking(group_locale):
            text = ("🔚 " + _("The resident ended the consultation.") if notice == "ended_by_resident"
                    else "🔚 " + _("The consultation is ended."))
            extra = {"message_thread_id": thread_id} if thread_id else {
                "reply_to_message_id": consultation.card_message_id}
            await sender.bot.send_message(chat_id, text, **extra)

    async def booking(item: Item) -> None:
        row = await services.db.fetchone("SELECT * FROM bookings WHERE id = ?", (item.payload.get("booking_id"),))
        if row is None:
            raise Permanent("the booking no longer exists")
        starts = datetime.fromisoformat(row["starts_at"])
        if item.kind.startswith("booking_reminder"):
            if row["status"] != "booked" or row["resident_id"] is None:
                return
            with sender._speaking(await sender._resident_locale(row["resident_id"])):
                text = "⏰ " + (_("Reminder: your consultation «{topic}» is tomorrow, {when}.")
                               if item.kind.endswith("day") else
                               _("Reminder: your consultation «{topic}» starts in an hour, {when}. The specialist "
                                 "will write to you here.")).format(
                    topic=h(topic_name(services.catalogue, row["topic"])), when=when(starts, tz))
                await sender.bot.send_message(row["resident_id"], text)
            return
        group = await services.groups.group_for(row["community"], row["institution_id"])
        if group is None:
            raise NoGroup()
        sender._chat = group.chat_id
        with sender._speaking(group_locale):
            if item.kind == "booking_to_group":
                text = "📅 " + _("New booking: «{topic}», {when}.")
            else:
                text = "❎ " + _("A booking was cancelled: «{topic}», {when}.")
            await sender.bot.send_message(group.chat_id, text.format(
                topic=h(topic_name(services.catalogue, row["topic"])), when=when(starts, tz)))

    return {
        "consult_card": card,
        "consult_card_update": card_update,
        "consult_card_moved": card_moved,
        "consult_to_group": to_group,
        "consult_to_resident": to_resident,
        "consult_taken": resident_notice,
        "consult_booked_open": resident_notice,
        "consult_ended": resident_notice,
        "consult_timed_out": resident_notice,
        "consult_transferred": resident_notice,
        "consult_converted": resident_notice,
        "consult_group_notice": group_notice,
        "booking_to_group": booking,
        "booking_cancelled_to_group": booking,
        "booking_reminder_day": booking,
        "booking_reminder_hour": booking,
    }
