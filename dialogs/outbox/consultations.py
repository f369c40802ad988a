"""Outbox rows of the consultation line: the card in the institution's group and what is said both ways, the
resident's notices, and the bookings (to the group, reminders to the resident)."""
from __future__ import annotations

from typing import Awaitable, Callable, Optional

from bot.consult.service import Consultation, Said
from bot.delivery.kinds import BOOKING_REMINDERS, CONSULT_NOTICES, Kind
from bot.delivery.outbox import Item, NoGroup, Permanent
from bot.groups.models import Group
from bot.requests.models import Attachment
from dialogs.common import html_messages, main_menu
from dialogs.consult_view import chat_keyboard, staff_card, staff_keyboard
from dialogs.consult_view import group as group_view
from dialogs.consult_view import resident as resident_view
from dialogs.outbox.cards import posted_again
from dialogs.outbox.telegram import Courier

# The notices that end the resident's consultation: each brings back the main menu's keyboard.
ENDINGS = frozenset({Kind.CONSULT_ENDED, Kind.CONSULT_TIMED_OUT, Kind.CONSULT_CONVERTED})


def question_of(said: list[Said]) -> list[Said]:
    """The card's «Question»: the resident's first message only (its text and the file sent with it; a booked
    consultation's opening line). What the resident wrote after it reaches the group as relayed messages and, on
    a card posted again, in the history under it, never in the question."""
    said = [s for s in said if s.public]
    start = next((n for n, s in enumerate(said) if s.sender in ("resident", "system")), None)
    if start is None:
        return []
    first = said[start]
    out = [first]
    after = said[start + 1] if start + 1 < len(said) else None
    # one message is stored as its text and then its file, in one statement (bot/consult/store.py `_say`)
    if (first.kind == "text" and after is not None and after.kind != "text" and after.id == first.id + 1
            and after.sender == first.sender and after.at == first.at):
        out.append(after)
    return out


class ConsultDelivery:
    def __init__(self, courier: Courier):
        self.out = courier
        self.bot = courier.bot
        self.services = courier.services
        self.consult = courier.services.consult

    def handlers(self) -> dict[Kind, Callable[[Item], Awaitable[None]]]:
        return {
            Kind.CONSULT_CARD: self.card,
            Kind.CONSULT_CARD_UPDATE: self.card_update,
            Kind.CONSULT_CARD_MOVED: self.card_moved,
            Kind.CONSULT_TO_GROUP: self.to_group,
            Kind.CONSULT_TO_RESIDENT: self.to_resident,
            **{kind: self.resident_notice for kind in CONSULT_NOTICES},
            Kind.CONSULT_GROUP_NOTICE: self.group_notice,
            Kind.BOOKING_TO_GROUP: self.booking_to_group,
            Kind.BOOKING_CANCELLED_TO_GROUP: self.booking_to_group,
            **{kind: self.booking_reminder for kind in BOOKING_REMINDERS},
        }

    # ----- the card ---------------------------------------------------------------------------------------------

    async def post_card(self, consultation: Consultation, group: Group, again: Optional[str] = None, *,
                        thread_id: Optional[int] = None, history: bool = False) -> None:
        """The consultation's card with its buttons and the resident's files (in a new topic in a forum, unless
        `thread_id`); when posted again, with a line on why and the rest of the conversation so far."""
        services = self.services
        said = await self.consult.transcript(consultation.id, public_only=False)
        first = question_of(said)
        self.out.chat = group.chat_id
        with self.out.speaking(self.out.group_locale):
            if group.is_forum and thread_id is None:
                name = group_view.topic_title(services.catalogue, consultation)
                topic = await self.bot.create_forum_topic(group.chat_id, name, icon_color=0x6FB9F0)
                thread_id = topic.message_thread_id
            text = posted_again(again, staff_card(services.catalogue, consultation, first, services.settings.tz))
            sent = await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                               reply_markup=staff_keyboard(consultation))
            await self.consult.set_card(consultation.id, group.chat_id, thread_id, sent.message_id)
            reply_to = None if thread_id else sent.message_id
            files = [Attachment(s.kind, s.file_id) for s in first if s.file_id]
            await self.out.send_files(group.chat_id, files, thread_id, reply_to)
            if history:
                rest = said[len([s for s in said if s.id <= first[-1].id]):] if first else said
                for text in await self.recent(consultation, rest):
                    await self.bot.send_message(group.chat_id, text, message_thread_id=thread_id,
                                                reply_to_message_id=reply_to)

    async def recent(self, consultation: Consultation, rest: list[Said]) -> list[str]:
        """The conversation after the question, without what is still on its way to the group."""
        waiting = [i for p in await self.out.pending_relays(Kind.CONSULT_TO_GROUP, "consultation_id", consultation.id)
                   for i in p.get("message_ids", [])]
        before = min(waiting, default=None)
        rest = [s for s in rest if before is None or s.id < before]
        if not rest:
            return []
        return group_view.recent_history(rest)

    async def place(self, consultation: Consultation, group: Group) -> Consultation:
        """Post the consultation's card in `group` unless it is there already; return it as stored."""
        async with self.out.lock("c", consultation.id):
            fresh = await self.consult.get(consultation.id) or consultation
            if fresh.group_chat_id == group.chat_id and fresh.card_message_id:
                return fresh
            elsewhere = fresh.group_chat_id is not None
            await self.post_card(fresh, group, "group" if elsewhere else None, history=elsewhere)
            return await self.consult.get(consultation.id) or fresh

    async def post_again(self, item: Item, lost: str) -> Optional[str]:
        """The consultation's topic or card was deleted (or its topic closed) by hand: see
        `Courier.post_lost_card`."""
        consultation = await self.consult.get(item.payload.get("consultation_id") or -1)
        if consultation is None:
            return None
        return await self.out.post_lost_card(
            "c", consultation, self.consult.get, lost,
            lambda group, again, thread_id: self.post_card(consultation, group, again, thread_id=thread_id,
                                                           history=True))

    async def subject(self, item: Item) -> Consultation:
        consultation = await self.consult.get(item.payload.get("consultation_id", -1))
        if consultation is None:
            raise Permanent("the consultation no longer exists")
        return consultation

    async def placed(self, item: Item, consultation: Consultation) -> tuple[int, Optional[int], Consultation]:
        """The institution's group with the consultation's card in it (posted first when it is not there)."""
        group = await self.services.groups.group_for(consultation.community, consultation.institution_id)
        if group is None:
            raise NoGroup()
        self.out.chat = group.chat_id
        if consultation.group_chat_id != group.chat_id or not consultation.card_message_id:
            await self.out.regroup_waits(item)
            consultation = await self.place(consultation, group)
        return group.chat_id, consultation.thread_id, consultation

    async def card(self, item: Item) -> None:
        await self.placed(item, await self.subject(item))

    async def card_update(self, item: Item) -> None:
        consultation = await self.subject(item)
        if not consultation.card_message_id:
            return
        group = await self.services.groups.group_for(consultation.community, consultation.institution_id)
        if group is None or group.chat_id != consultation.group_chat_id:
            if consultation.open:
                await self.placed(item, consultation)  # posted, as it is now, in the group in use
            return
        self.out.chat = group.chat_id
        first = question_of(await self.consult.transcript(consultation.id))
        with self.out.speaking(self.out.group_locale):
            text = staff_card(self.services.catalogue, consultation, first, self.services.settings.tz)
            await self.out.edit_quietly(text, consultation.group_chat_id, consultation.card_message_id,
                                        staff_keyboard(consultation))

    async def card_moved(self, item: Item) -> None:
        consultation = await self.subject(item)
        chat_id, message_id = item.payload.get("chat_id"), item.payload.get("message_id")
        if not chat_id or not message_id:
            return
        self.out.chat = chat_id
        catalogue = self.services.catalogue
        view = catalogue.communities[consultation.community]
        institution = view.institutions[consultation.institution_id].name.get(self.out.group_locale)
        with self.out.speaking(self.out.group_locale):
            text = group_view.moved(catalogue, consultation, institution)
            await self.out.mark_moved(text, chat_id, message_id)

    # ----- what is said -----------------------------------------------------------------------------------------

    async def relay_messages(self, item: Item, chat_id: int, thread_id: Optional[int], reply_to: Optional[int],
                             prefix: str) -> None:
        for message_id in item.payload.get("message_ids", []):
            said = await self.consult.said(message_id)
            extra = {"message_thread_id": thread_id} if thread_id else {}
            if reply_to:
                extra["reply_to_message_id"] = reply_to
            if said.kind == "text":  # a long one in several messages, each naming who speaks; split, then escaped
                for text in html_messages(said.text or "", head=prefix.strip(), joiner=" ", each=True):
                    await self.bot.send_message(chat_id, text, **extra)
            elif said.kind == "photo":
                await self.bot.send_photo(chat_id, said.file_id, caption=prefix.strip() or None, **extra)
            elif said.kind == "voice":
                await self.bot.send_voice(chat_id, said.file_id, caption=prefix.strip() or None, **extra)
            else:
                await self.bot.send_document(chat_id, said.file_id, caption=prefix.strip() or None, **extra)

    async def to_group(self, item: Item) -> None:
        chat_id, thread_id, consultation = await self.placed(item, await self.subject(item))
        reply_to = None if thread_id else consultation.card_message_id
        await self.relay_messages(item, chat_id, thread_id, reply_to, group_view.RESIDENT_SAYS)

    async def to_resident(self, item: Item) -> None:
        consultation = await self.subject(item)
        if consultation.resident_id is None:
            return
        await self.relay_messages(item, consultation.resident_id, None, None, resident_view.speaker(consultation))

    # ----- notices ----------------------------------------------------------------------------------------------

    async def resident_notice(self, item: Item) -> None:
        consultation = await self.subject(item)
        if consultation.resident_id is None:
            return
        with self.out.speaking(await self.out.resident_locale(consultation.resident_id)):
            text, markup = await self.notice_text(item, consultation)
            if item.kind not in ENDINGS:
                await self.bot.send_message(consultation.resident_id, text, reply_markup=markup)
                return
            # the end: the chat's keyboard («End the consultation») gives way to the menu in the same message,
            # unless another consultation of theirs is open by now; what to do next follows with its buttons
            still = await self.consult.open_for_resident(consultation.resident_id)
            await self.bot.send_message(consultation.resident_id, text,
                                        reply_markup=chat_keyboard() if still else main_menu())
            if markup is not None:
                await self.bot.send_message(consultation.resident_id, resident_view.next_prompt(item.kind),
                                            reply_markup=markup)

    async def notice_text(self, item: Item,
                          consultation: Consultation) -> tuple[str, Optional[resident_view.Markup]]:
        """What the resident reads about their consultation (dialogs/consult_view/resident.py), and the keyboard
        with it."""
        number = "—"
        if item.kind == Kind.CONSULT_CONVERTED:
            request = await self.services.requests.get(item.payload.get("request_id") or -1)
            number = request.public_id if request else "—"
        said = resident_view.notice(self.services.catalogue, item.kind, consultation, number)
        if said is None:
            raise Permanent(f"unknown consultation notice {item.kind}")
        return said

    async def group_notice(self, item: Item) -> None:
        consultation = await self.subject(item)
        group = await self.services.groups.group_for(consultation.community, consultation.institution_id)
        if group is None:
            raise NoGroup()
        self.out.chat = group.chat_id
        if consultation.group_chat_id != group.chat_id:
            return
        notice = item.payload.get("notice")
        with self.out.speaking(self.out.group_locale):
            text = group_view.ended(notice)
            extra = {"message_thread_id": consultation.thread_id} if consultation.thread_id else {
                "reply_to_message_id": consultation.card_message_id}
            await self.bot.send_message(group.chat_id, text, **extra)

    # ----- bookings ---------------------------------------------------------------------------------------------

    async def booking_reminder(self, item: Item) -> None:
        booking = await self.consult.booking(item.payload.get("booking_id"))
        if booking is None:
            raise Permanent("the booking no longer exists")
        if booking.status != "booked" or booking.resident_id is None:
            return
        with self.out.speaking(await self.out.resident_locale(booking.resident_id)):
            text = resident_view.reminder(self.services.catalogue, booking, item.kind == Kind.BOOKING_REMINDER_DAY,
                                     self.services.settings.tz)
            await self.bot.send_message(booking.resident_id, text)

    async def booking_to_group(self, item: Item) -> None:
        booking = await self.consult.booking(item.payload.get("booking_id"))
        if booking is None:
            raise Permanent("the booking no longer exists")
        group = await self.services.groups.group_for(booking.community, booking.institution_id)
        if group is None:
            raise NoGroup()
        self.out.chat = group.chat_id
        with self.out.speaking(self.out.group_locale):
            await self.bot.send_message(group.chat_id, group_view.booking_notice(
                self.services.catalogue, booking, item.kind != Kind.BOOKING_TO_GROUP, self.services.settings.tz))
