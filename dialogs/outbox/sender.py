"""The outbox's Sender: which module delivers each kind of row (bot.delivery.kinds), the Bot API's errors as
the outbox's, a card posted again when staff deleted it, and what happens when a row is held or dropped."""
from __future__ import annotations

from typing import Awaitable, Callable, Optional

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.utils.i18n import I18n

from bot.delivery.kinds import Kind, Target, is_group_target, is_resident_target
from bot.delivery.outbox import Item, NoGroup, Permanent
from bot.services import Services
from dialogs.outbox.admins import AdminNotices
from dialogs.outbox.consultations import ConsultDelivery
from dialogs.outbox.erased import ErasedCards
from dialogs.outbox.requests import RequestDelivery
from dialogs.outbox.telegram import POSTED, Courier, lost_in_group, telegram_errors
from dialogs.resident.confirmation import desk

NOT_POSTED_AGAIN = frozenset({Kind.CARD_MOVED, Kind.CONSULT_CARD_MOVED, Kind.REGROUP})


class TelegramSender:
    def __init__(self, bot: Bot, services: Services, i18n: I18n):
        self.bot = bot
        self.services = services
        self.out = Courier(bot, services, i18n)
        self.requests = RequestDelivery(self.out)
        self.consultations = ConsultDelivery(self.out)
        self.admins = AdminNotices(self.out, self.requests)
        self.erased = ErasedCards(self.out, self.requests)
        self.handlers: dict[str, Callable[[Item], Awaitable[None]]] = {
            **self.requests.handlers(), **self.consultations.handlers(), **self.admins.handlers(),
            Kind.CARD_ERASED: self.erased.card_erased, Kind.REGROUP: self.regroup}

    async def deliver(self, item: Item) -> None:
        handler = self.handlers.get(item.kind)
        if handler is None:
            raise Permanent(f"unknown outbox kind {item.kind}")
        self.out.chat = None  # the group a handler is sending to, for the error's sake
        private = is_resident_target(item.target)
        with telegram_errors(private, lambda: self.out.chat):
            try:
                await handler(item)
            except TelegramBadRequest as exc:
                lost = None if private else lost_in_group(exc)
                done = None if lost is None else await self.post_again(item, lost)
                if not done:
                    raise
                if done == POSTED and item.kind == Kind.CARD_UPDATE:  # the card posted again reads as the
                    await self.requests.retitled(item)  # request is now: an edit would wipe the line on why
                elif done != POSTED or item.kind != Kind.CONSULT_CARD_UPDATE:
                    await handler(item)  # now into the new topic, or under the new card

    async def post_again(self, item: Item, lost: str) -> Optional[str]:
        """The row failed because the card or its topic was deleted (or the topic closed) by hand: post the card
        again (a new topic when the old one is gone), tell the administrators once, and let the row go on.
        None when the row is not about a card that can be posted again."""
        if item.kind in NOT_POSTED_AGAIN:
            return None
        if "consultation_id" in item.payload:
            return await self.consultations.post_again(item, lost)
        return await self.requests.post_again(item, lost)

    async def regroup(self, item: Item) -> None:
        """A group was bound instead of a lost one (or for an institution whose rows waited): post the cards that
        wait for it, oldest first, each once; the rows that waited in each of them follow."""
        place = Target.parse(item.target)
        community, institution_id = place.community, place.institution_id
        group = await self.services.groups.group_for(community, institution_id)
        if group is None:
            raise NoGroup()
        self.out.chat = group.chat_id
        for kind, subject in item.payload.get("cards", []):
            if kind == "r":
                request = await self.services.requests.get(subject)
                if request is not None and (request.community, request.institution_id) == (community, institution_id):
                    await self.requests.place(request, group)
            else:
                consultation = await self.services.consult.get(subject)
                if consultation is not None and (consultation.community, consultation.institution_id) == (
                        community, institution_id):
                    await self.consultations.place(consultation, group)

    async def on_held(self, item: Item, reason: str, chat_id: Optional[int]) -> None:
        if is_group_target(item.target):
            if reason == "unreachable" and chat_id:
                await self.services.groups.group_lost(chat_id)  # the administrators are told once per group
                return
            if item.request_id is not None:
                await self.services.requests.notify_admins_once(item.request_id, item.target, reason)

    async def on_blocked(self, item: Item) -> None:
        resident_id = Target.parse(item.target).resident_id
        await self.services.residents.mark_blocked(resident_id)
        if item.kind == Kind.CONFIRMATION and item.payload.get("what") == "ask":  # never asked, for the reports
            await desk(self.services).unreached(int(item.payload.get("confirmation_id") or 0))
