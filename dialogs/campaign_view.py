"""How a campaign looks to its recipients and to administrators, and how it is sent through Telegram."""
from __future__ import annotations

import logging
from typing import Optional

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import links
from bot.campaigns.service import Campaign, Figures
from bot.services import Services
from dialogs.common import h
from dialogs.outbox.telegram import speaking, telegram_errors

log = logging.getLogger("bot.campaigns")


class Unsub(CallbackData, prefix="uns"):
    """A resident's one-tap unsubscribe from a campaign's topic."""

    topic: str
    c: int = 0


class Camp(CallbackData, prefix="cmp"):
    """An administrator's control of one campaign."""

    action: str  # pause | resume | cancel | show
    id: int


def status_label(status: str) -> str:
    labels = {
        "scheduled": _("🕒 Scheduled"),
        "running": _("▶️ Sending"),
        "paused": _("⏸ Paused"),
        "cancelled": _("⛔ Cancelled"),
        "done": _("✅ Done"),
    }
    return labels.get(status, status)


def topic_name(services: Services, topic: str, locale: str) -> str:
    found = services.catalogue.news_topic(topic)
    return found.name.get(locale) if found else topic


def button_label(kind: Optional[str]) -> str:
    return {"service": _("📄 Open the service"), "consultation": _("💬 Ask a specialist"),
            "url": _("🔗 Read more")}.get(kind or "", _("🔗 Read more"))


def recipient_markup(services: Services, campaign: Campaign, username: Optional[str], community: Optional[str],
                     locale: str) -> InlineKeyboardMarkup:
    """The campaign's own button (a deep link that is counted, or a web address) and the unsubscribe button."""
    rows: list[list[InlineKeyboardButton]] = []
    url = None
    if campaign.button_kind == "url":
        url = campaign.button_value
    elif campaign.button_kind in ("service", "consultation") and username and campaign.button_value:
        where, _sep, target = campaign.button_value.rpartition(":")
        where = where or community
        if where:
            builder = links.service_payload if campaign.button_kind == "service" else links.consultation_payload
            # a test send (number 0) opens the same card or topic, but its opens are not counted anywhere
            url = links.deep_link(username, builder(where, target, campaign.id or None))
    if url:
        rows.append([InlineKeyboardButton(text=button_label(campaign.button_kind), url=url)])
    rows.append([InlineKeyboardButton(
        text=_("🔕 Unsubscribe from this topic"),
        callback_data=Unsub(topic=campaign.topic, c=campaign.id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def progress_text(services: Services, campaign: Campaign, figures: Figures, rate: float, eta: Optional[float],
                  locale: str) -> str:
    lines = [
        _("📣 Campaign No. {id} · {status}").format(id=campaign.id, status=status_label(campaign.status)),
        _("Topic: {topic}").format(topic=h(topic_name(services, campaign.topic, locale))),
        _("Recipients: {n}").format(n=figures.total),
        _("Sent: {sent} · delivered: {delivered} · blocked the bot: {blocked} · failed: {failed}").format(
            sent=figures.sent, delivered=figures.delivered, blocked=figures.blocked, failed=figures.failed),
        _("Remaining: {n}").format(n=figures.remaining),
    ]
    if figures.uncertain:
        lines.append(_("Not repeated after a restart (may have been delivered): {n}").format(n=figures.uncertain))
    if campaign.status == "running":
        lines.append(_("Rate: {rate} messages a second").format(rate=f"{rate:.1f}"))
        if eta is not None:
            minutes, seconds = divmod(int(eta), 60)
            lines.append(_("About {minutes} min {seconds} s left").format(minutes=minutes, seconds=seconds))
    if campaign.button_kind in ("service", "consultation"):
        lines.append(_("Opened the button: {n}").format(n=figures.opens))
    return "\n".join(lines)


def control_markup(campaign: Campaign) -> Optional[InlineKeyboardMarkup]:
    def control(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=Camp(action=action, id=campaign.id).pack())

    row = []
    if campaign.status == "running":
        row.append(control(_("⏸ Pause"), "pause"))
    if campaign.status == "paused":
        row.append(control(_("▶️ Resume"), "resume"))
    if campaign.active:
        row.append(control(_("⛔ Cancel"), "cancel"))
    return InlineKeyboardMarkup(inline_keyboard=[row]) if row else None


class TelegramCampaignSender:
    """Turns a recipient row into a Bot API call; keeps the administrator's progress message up to date."""

    def __init__(self, bot: Bot, services: Services, i18n: I18n):
        self.bot = bot
        self.services = services
        self.i18n = i18n
        self._shown: dict[int, str] = {}  # campaign -> what its progress message shows now

    async def deliver(self, campaign: Campaign, user_id: int, locale: Optional[str]) -> None:
        resident = await self.services.residents.get(user_id, keep=False)  # read once, not kept
        await deliver_to(self.bot, self.services, self.i18n, campaign, user_id,
                         resident.community if resident else None, locale or self.services.settings.default_locale)

    async def on_blocked(self, user_id: int) -> None:
        await self.services.residents.mark_blocked(user_id)

    async def progress(self, campaign: Campaign, figures: Figures, rate: float, eta: Optional[float]) -> None:
        chat_id = campaign.progress_chat_id or campaign.created_by
        admin = await self.services.residents.get(campaign.created_by)
        locale = admin.locale if admin and admin.locale else self.services.settings.default_locale
        with speaking(self.i18n, locale):
            text = progress_text(self.services, campaign, figures, rate, eta, locale)
            markup = control_markup(campaign)
        shown = text + (markup.model_dump_json() if markup else "")
        if campaign.progress_message_id and self._shown.get(campaign.id) == shown:
            return  # nothing new to show (Telegram refuses an edit that changes nothing)
        self._shown[campaign.id] = shown
        if campaign.progress_message_id:
            try:
                await self.bot.edit_message_text(text, chat_id=chat_id, message_id=campaign.progress_message_id,
                                                 reply_markup=markup)
                return
            except TelegramBadRequest as exc:
                if "not modified" in str(exc):
                    return
                if "message to edit not found" not in str(exc):
                    raise
        sent = await self.bot.send_message(chat_id, text, reply_markup=markup)
        await self.services.campaigns.set_progress_message(campaign.id, chat_id, sent.message_id)


async def deliver_to(bot: Bot, services: Services, i18n: I18n, campaign: Campaign, chat_id: int,
                     community: Optional[str], locale: str) -> None:
    """One recipient's copy: the buttons in the recipient's language, for the recipient's community. The engine
    sends every resident's copy through here, and /campaign the administrator's test send."""
    with speaking(i18n, locale):
        markup = recipient_markup(services, campaign, (await bot.me()).username, community, locale)
    await send_campaign(bot, campaign, chat_id, markup)


async def send_campaign(bot: Bot, campaign: Campaign, chat_id: int, markup: InlineKeyboardMarkup) -> None:
    """The message itself, exactly as residents get it (the administrator's test send uses this too)."""
    extra = {"allow_paid_broadcast": True} if campaign.paid and chat_id > 0 else {}
    with telegram_errors(private=True):
        if campaign.media_kind == "photo":
            await bot.send_photo(chat_id, campaign.media_file_id, caption=campaign.text, reply_markup=markup, **extra)
        elif campaign.media_kind == "document":
            await bot.send_document(chat_id, campaign.media_file_id, caption=campaign.text, reply_markup=markup,
                                    **extra)
        else:
            await bot.send_message(chat_id, campaign.text, reply_markup=markup, **extra)
