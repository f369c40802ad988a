"""Outbox rows to the administrators: a request not answered or waiting for a group, a group lost or bound, a
card deleted by hand, administrators added or removed."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable, Optional

from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.utils.i18n import gettext as _

from bot.delivery.kinds import Kind
from bot.delivery.outbox import Item, Permanent
from bot.requests.clean import clean_text
from dialogs.common import h
from dialogs.outbox.requests import RequestDelivery
from dialogs.outbox.telegram import Courier
from dialogs.requests_view import institution_name, status_label

log = logging.getLogger("bot.delivery")


class AdminNotices:
    def __init__(self, courier: Courier, requests: RequestDelivery):
        self.out = courier
        self.bot = courier.bot
        self.services = courier.services
        self.requests = requests  # the request a notice is about

    def handlers(self) -> dict[Kind, Callable[[Item], Awaitable[None]]]:
        return {Kind.ADMIN_NOTICE: self.admin_notice, Kind.GROUP_LOST: self.group_lost_notice,
                Kind.LOST_NOTICE: self.lost_notice, Kind.GROUP_BOUND: self.group_bound,
                Kind.ADMINS_CHANGED: self.admins_changed}

    async def admin_notice(self, item: Item) -> None:
        request = await self.requests.subject(item)
        notice = item.payload.get("notice")
        with self.out.speaking(self.out.group_locale):
            if notice == "overdue":
                if not request.status.open:
                    return
                text = "⏰ " + _("Request No. {number} ({institution}) is not answered in time. Status: {status}.")
            elif notice == "no_group":
                text = "⚠️ " + _("{institution} has no bound Telegram group. Request No. {number} waits. "
                                "Create a code with /bind_code and send /bind CODE in the group.")
            elif notice == "unreachable":
                text = "⚠️ " + _("The group of {institution} cannot be reached (the bot was removed or lost rights). "
                                "Request No. {number} waits until the group is bound again.")
            elif notice == "not_helped_again":  # bot/requests/confirmation.py
                text = "🔁 " + _("Request No. {number} ({institution}) was reopened before, and now the resident says "
                                "again that the help did not come. It is back in work. Status: {status}.")
            else:
                raise Permanent(f"unknown admin notice {notice}")
            text = text.format(number=request.public_id, status=status_label(request.status),
                               institution=h(institution_name(self.services.catalogue, request, short=False)))
        await self.admins(text)

    async def admins(self, text: str, besides: Optional[int] = None) -> None:
        settings = self.services.settings
        targets = ([settings.admin_chat_id] if settings.admin_chat_id else
                   [i for i in self.services.admin_ids() if i != besides])
        if not targets:
            log.warning("no administrators configured for a notice")
            return
        for chat_id in targets:
            try:
                await self.bot.send_message(chat_id, text)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("an administrator's chat is unreachable: %s", type(exc).__name__)

    def institution(self, community: str, institution_id: str) -> str:
        view = self.services.catalogue.communities.get(community)
        institution = view.institutions.get(institution_id) if view else None
        return institution.name.get(self.out.group_locale) if institution else institution_id

    async def group_lost_notice(self, item: Item) -> None:
        p = item.payload
        with self.out.speaking(self.out.group_locale):
            text = "⚠️ " + _(
                "The Telegram group «{group}» of {institution} is unreachable: it was deleted, or the bot was removed "
                "from it or lost its rights. New requests, messages and consultations for the institution wait; "
                "nothing is lost.\nTo go on: send /bind_code {community} {code_name}, add the bot to a group (a new "
                "one or the same) as an administrator and send /bind CODE there. Everything that waits is posted "
                "there at once."
            ).format(group=h(p.get("title") or str(p.get("chat_id"))),
                     institution=h(self.institution(p["community"], p["institution_id"])),
                     community=h(p["community"]), code_name=h(p["institution_id"]))
        await self.admins(text)

    async def group_bound(self, item: Item) -> None:
        """A group was bound: the administrators are told, and so is a group that loses the institution while
        the bot can still write there (a binding nobody meant is seen at once)."""
        p = item.payload
        with self.out.speaking(self.out.group_locale):
            institution = h(self.institution(p["community"], p["institution_id"]))
            group = h(clean_text(p.get("title") or "") or str(p.get("chat_id")))
            text = "🔗 " + _("The group «{group}» ({chat}) now receives the requests of {institution}; bound by "
                            "{by}.").format(group=group, chat=p.get("chat_id"), institution=institution,
                                            by=p.get("by") or "—")
            for old in p.get("losing") or []:
                text += "\n" + _("It replaces the group «{group}» ({chat}) of {institution}.").format(
                    group=h(clean_text(old.get("title") or "") or str(old["chat_id"])), chat=old["chat_id"],
                    institution=h(self.institution(old["community"], old["institution_id"])))
        await self.admins(text)
        for old in p.get("losing") or []:
            if old["chat_id"] == p.get("chat_id"):
                continue  # the group that was bound again is told by the answer to its /bind
            with self.out.speaking(self.out.group_locale):
                notice = "⚠️ " + _("This group no longer receives the requests of {institution}: another group was "
                                  "bound to it. If nobody here meant this, tell the administrator at once.").format(
                    institution=h(self.institution(old["community"], old["institution_id"])))
            try:
                await self.bot.send_message(old["chat_id"], notice)
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                log.warning("a group that lost its binding is unreachable: %s", type(exc).__name__)

    async def admins_changed(self, item: Item) -> None:
        p = item.payload
        with self.out.speaking(self.out.group_locale):
            if p.get("change") == "added":
                text = "👤 " + _("{id} is now an administrator of the bot (added by {by}).")
            else:
                text = "👤 " + _("{id} is no longer an administrator of the bot (removed by {by}).")
            text = text.format(id=p.get("user_id"), by=p.get("by") or "—")
        await self.admins(text, besides=p.get("user_id"))  # the one added may not have opened the bot yet

    async def lost_notice(self, item: Item) -> None:
        p = item.payload
        group = await self.services.groups.group(int(p.get("chat_id") or 0))
        title = h(group.title if group and group.title else str(p.get("chat_id")))
        with self.out.speaking(self.out.group_locale):
            if p.get("request_id") is not None:
                request = await self.services.requests.get(p["request_id"])
                if request is None:
                    return
                subject = _("request No. {number}").format(number=request.public_id)
            else:
                subject = _("online consultation No. {number}").format(number=p.get("consultation_id"))
            if p.get("what") == "topic":
                text = _("In the group «{group}» the topic of {subject} was deleted. Its card is posted again in a "
                         "new topic, with what is still on its way; nothing is lost.")
            else:
                text = _("In the group «{group}» the card of {subject} was deleted. It is posted again; nothing is "
                         "lost.")
            text = "⚠️ " + text.format(group=title, subject=subject)
        await self.admins(text)
