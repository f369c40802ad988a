"""Administrators: /campaigns (the list with figures) and the buttons that pause, resume or cancel a campaign."""
from __future__ import annotations

from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.campaigns.html import plain
from bot.campaigns.service import CampaignError
from bot.labels import shorten
from bot.services import Services
from dialogs.admin.admins import allowed
from dialogs.campaign_view import Camp, status_label, topic_name
from dialogs.common import Routes, h, locale, pack

router = Routes("admin.campaign_list")


@router.callback_query(Camp.filter())
async def control(query: CallbackQuery, callback_data: Camp, services: Services) -> None:
    if not await allowed(query, services):
        return
    actions = {"pause": services.campaigns.pause, "resume": services.campaigns.resume,
               "cancel": services.campaigns.cancel}
    action = actions.get(callback_data.action)
    if action is None or await services.campaigns.get(callback_data.id) is None:
        await query.answer(_("This button is out of date."))
        return
    try:
        campaign = await action(callback_data.id)
    except CampaignError:
        current = await services.campaigns.get(callback_data.id)
        await query.answer(_("Not possible now: the campaign is {status}.").format(
            status=status_label(current.status)), show_alert=True)
        return
    await query.answer(status_label(campaign.status))
    services.wake_campaigns()
    engine = services.campaign_engine
    if engine is not None:
        await engine.report(campaign)


@router.message(Command("campaigns"))
async def campaigns_list(message: Message, services: Services) -> None:
    if not await allowed(message, services):
        return
    items = await services.campaigns.recent(20)
    if not items:
        await message.answer(_("No campaigns yet. Start one with /campaign"))
        return
    lang = locale()
    tz = services.settings.tz
    lines = [_("<b>Campaigns</b> (the last {n})").format(n=len(items))]
    controls = []
    for campaign in items:
        figures = await services.campaigns.figures(campaign.id)
        when = campaign.scheduled_at.astimezone(tz).strftime("%d.%m.%Y %H:%M") if campaign.scheduled_at else "—"
        gist = plain(campaign.text).replace("\n", " ")
        gist = shorten(gist, 60)
        lines.append(
            _("№{id} · {status} · {when}\n{topic}: «{gist}»\nRecipients {total}, delivered {delivered}, "
              "blocked {blocked}, failed {failed}, remaining {remaining}, opened the button {opens}").format(
                id=campaign.id, status=status_label(campaign.status), when=when,
                topic=h(topic_name(services, campaign.topic, lang)), gist=h(gist),
                total=figures.total, delivered=figures.delivered, blocked=figures.blocked, failed=figures.failed,
                remaining=figures.remaining, opens=figures.opens))
        if campaign.active:
            controls.append([InlineKeyboardButton(text=_("⛔ Cancel No. {id}").format(id=campaign.id),
                                                  callback_data=Camp(action="cancel", id=campaign.id).pack())])
    # as many messages as it takes, split between campaigns, never inside one; the buttons under the last
    texts = pack(lines[1:], head=lines[0], sep="\n\n")
    for index, text in enumerate(texts):
        last = index == len(texts) - 1
        await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=controls)
                             if controls and last else None)
