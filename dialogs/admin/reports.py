"""/stats and /export for administrators: pick the community and the period, get the report or the spreadsheet.

Both work in a private chat with the bot and in the administrators' chat (ADMIN_CHAT_ID). The figures,
the charts and the workbook come from bot.reports; this module only asks and sends.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Optional

from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InputMediaPhoto, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.reports.charts import all_charts
from bot.reports.export import export, file_name
from bot.reports.figures import Collector, Report
from bot.reports.periods import PRESETS, preset
from bot.reports.text import PERIODS, render
from bot.services import Services
from dialogs.common import Routes, h, keyboard, locale

log = logging.getLogger("bot.reports")
router = Routes("admin.reports", chats=None)
ALL = "*"
# Drawing and writing files take a good fraction of a second: one at a time, off the event loop.
_drawing = asyncio.Lock()


class ReportCb(CallbackData, prefix="rp"):
    """A step of /stats (`mode` s) or /export (`mode` x): the community (`*` for all), then the period."""

    mode: str
    community: str = ""
    period: str = ""


def allowed_chat(services: Services, chat_id: int, chat_type: str) -> bool:
    return chat_type == "private" or (services.settings.admin_chat_id is not None
                                      and chat_id == services.settings.admin_chat_id)


async def refused(services: Services, user_id: Optional[int], chat_id: int, chat_type: str) -> Optional[str]:
    """Why this person here may not see reports, or None."""
    if not services.is_admin(user_id):
        return _("This command is for the community's administrators.")
    if not allowed_chat(services, chat_id, chat_type):
        return _("Reports are shown only in a private chat with the bot or in the administrators' chat.")
    return None


def communities_screen(services: Services, mode: str) -> tuple[str, object]:
    title = _("📊 <b>Report</b>") if mode == "s" else _("📥 <b>Spreadsheet for the yearly report</b>")
    rows = [[InlineKeyboardButton(text=_("All communities"),
                                  callback_data=ReportCb(mode=mode, community=ALL).pack())]]
    for slug in services.served:
        name = services.catalogue.communities[slug].model.short_name.get(locale())
        rows.append([InlineKeyboardButton(text=name, callback_data=ReportCb(mode=mode, community=slug).pack())])
    return f"{title}\n" + _("For which community?"), keyboard(rows)


def periods_screen(services: Services, mode: str, community: str) -> tuple[str, object]:
    title = _("📊 <b>Report</b>") if mode == "s" else _("📥 <b>Spreadsheet for the yearly report</b>")
    name = (_("All communities") if community == ALL
            else services.catalogue.communities[community].model.short_name.get(locale()))
    rows = [[InlineKeyboardButton(text=_(PERIODS[p]),
                                  callback_data=ReportCb(mode=mode, community=community, period=p).pack())]
            for p in PRESETS]
    if len(services.served) > 1:
        rows.append([InlineKeyboardButton(text=_("◀️ Back"), callback_data=ReportCb(mode=mode).pack())])
    return f"{title} · {h(name)}\n" + _("For which period?"), keyboard(rows)


async def start(message: Message, services: Services, mode: str) -> None:
    reason = await refused(services, message.from_user.id if message.from_user else None, message.chat.id,
                           message.chat.type)
    if reason:
        await message.answer(reason)
        return
    if len(services.served) == 1:
        text, markup = periods_screen(services, mode, services.served[0])
    else:
        text, markup = communities_screen(services, mode)
    await message.answer(text, reply_markup=markup)


@router.message(Command("stats"))
async def stats_command(message: Message, services: Services) -> None:
    await start(message, services, "s")


@router.message(Command("export"))
async def export_command(message: Message, services: Services) -> None:
    await start(message, services, "x")


@router.callback_query(ReportCb.filter())
async def step(query: CallbackQuery, callback_data: ReportCb, services: Services) -> None:
    message = query.message
    if not isinstance(message, Message):
        await query.answer()
        return
    reason = await refused(services, query.from_user.id, message.chat.id, message.chat.type)
    if reason:
        await query.answer(reason, show_alert=True)
        return
    mode, community, period = callback_data.mode, callback_data.community, callback_data.period
    if mode not in ("s", "x") or (community and community != ALL and community not in services.served) \
            or (period and period not in PRESETS):
        await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)
        return
    if not community:
        await query.answer()
        await message.edit_text(*communities_screen(services, mode))
        return
    if not period:
        await query.answer()
        text, markup = periods_screen(services, mode, community)
        await message.edit_text(text, reply_markup=markup)
        return
    await query.answer(_("Preparing…"))
    name = _("All communities") if community == ALL else \
        services.catalogue.communities[community].model.short_name.get(locale())
    await message.edit_text(_("⏳ Preparing: {community}, {period}…").format(community=h(name),
                                                                           period=h(_(PERIODS[period]))))
    today = datetime.now(services.settings.tz).date()
    report = await Collector(services.db, services.catalogue, services.settings.tz).report_aside(
        preset(period, today), None if community == ALL else community)
    if mode == "s":
        await send_report(message, services, report, period)
    else:
        await send_export(message, services, report, period)
    await message.edit_text(_("✅ Ready: {community}, {period}.").format(community=h(name),
                                                                        period=h(_(PERIODS[period]))))


def translator():
    """gettext bound to the reader's language, for work done off the event loop."""
    i18n, current = get_i18n(), locale()
    return (lambda msgid: i18n.gettext(msgid, locale=current)), current


async def send_report(message: Message, services: Services, report: Report, period: str) -> None:
    tr, current = translator()
    for part in render(report, services.catalogue, tr, current, title=tr(PERIODS[period])):
        await message.answer(part)
    async with _drawing:
        charts = await asyncio.to_thread(all_charts, report, services.catalogue, tr, current)
    caption = _("Charts: requests per week, response times, consultations against the target")
    media = [InputMediaPhoto(media=BufferedInputFile(png, filename=name), caption=caption if i == 0 else None)
             for i, (name, png) in enumerate(charts)]
    await message.answer_media_group(media)


async def send_export(message: Message, services: Services, report: Report, period: str) -> None:
    tr, current = translator()
    async with _drawing:
        content = await asyncio.to_thread(export, report, services.catalogue, tr, current, "xlsx")
    await message.answer_document(
        BufferedInputFile(content, filename=file_name(report, "xlsx")),
        caption=_("Spreadsheet: {period}, {dates}. Only counts, no personal data.").format(
            period=h(tr(PERIODS[period])), dates=report.current.period.label()),
    )


def build():
    return router.build()

