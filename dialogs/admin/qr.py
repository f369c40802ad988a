"""/qr for administrators: the printable QR code of a service card, a consultation topic or a community.

Community → what the code opens → the bot sends the sheet as PNG and as SVG (documents, so nothing is
recompressed). The sheet is in the deployment's language, as residents read the stand.
"""
from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, F
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import links
from bot.catalogue.loader import CommunityView
from bot.labels import shorten
from bot.links import LinkError, short_hash
from bot.qr import QrError, sheet_for
from bot.services import Services
from dialogs.common import PAGE_SIZE, Routes, h, keyboard, locale

log = logging.getLogger(__name__)
router = Routes("admin.qr")
KIND_OF = {"s": links.SERVICE, "t": links.CONSULTATION, "h": links.COMMUNITY}


class QrCb(CallbackData, prefix="qr"):
    """A step of /qr: the community, then what the code opens (`value`: s/t + hash of the id, or h)."""

    action: str  # kinds | svcs | tops | make
    community: str = ""
    value: str = ""
    page: int = 0


def qr_button(text: str, action: str, community: str = "", value: str = "", page: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=QrCb(action=action, community=community, value=value,
                                                              page=page).pack())


@router.message(Command("qr"))
async def qr_command(message: Message, services: Services) -> None:
    if not services.is_admin(message.from_user.id):
        await message.answer(_("This command is for the community's administrators."))
        return
    if len(services.served) == 1:
        await message.answer(*kinds_screen(services.catalogue.communities[services.served[0]]))
        return
    rows = [[qr_button(view.model.short_name.get(locale()), "kinds", slug)]
            for slug, view in services.catalogue.communities.items()]
    await message.answer(_("🔳 <b>QR code for printing</b>\nFor which community?"), reply_markup=keyboard(rows))


def kinds_screen(community: CommunityView) -> tuple[str, object]:
    slug = community.slug
    text = _("🔳 <b>QR code for printing</b> · {community}\nWhat should it open?").format(
        community=h(community.model.short_name.get(locale())))
    return text, keyboard([
        [qr_button(_("📋 A service card"), "svcs", slug)],
        [qr_button(_("💬 A consultation topic"), "tops", slug)],
        [qr_button(_("🏘 The community's menu"), "make", slug, "h")],
    ])


async def _admin_community(query: CallbackQuery, callback_data: QrCb, services: Services) -> CommunityView | None:
    if not services.is_admin(query.from_user.id):
        await query.answer(_("This command is for the community's administrators."), show_alert=True)
        return None
    community = services.catalogue.communities.get(callback_data.community)
    if community is None:
        await query.answer(_("This button is out of date."), show_alert=True)
    return community


@router.callback_query(QrCb.filter(F.action == "kinds"))
async def kinds(query: CallbackQuery, callback_data: QrCb, services: Services) -> None:
    community = await _admin_community(query, callback_data, services)
    if community is None:
        return
    await query.answer()
    text, markup = kinds_screen(community)
    await query.message.edit_text(text, reply_markup=markup)


@router.callback_query(QrCb.filter(F.action == "svcs"))
async def service_list(query: CallbackQuery, callback_data: QrCb, services: Services) -> None:
    community = await _admin_community(query, callback_data, services)
    if community is None:
        return
    slug, items = community.slug, list(community.services.values())
    pages = max(1, (len(items) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(callback_data.page, 0), pages - 1)
    rows = [[qr_button(shorten(s.name.get(locale()), 60), "make", slug, "s" + short_hash(s.id))]
            for s in items[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]]
    paging = []
    if page > 0:
        paging.append(qr_button(_("⬅️ Previous"), "svcs", slug, page=page - 1))
    if page < pages - 1:
        paging.append(qr_button(_("Next ➡️"), "svcs", slug, page=page + 1))
    rows.append(paging)
    rows.append([qr_button(_("◀️ Back"), "kinds", slug)])
    text = _("Which service?")
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    await query.answer()
    await query.message.edit_text(text, reply_markup=keyboard(rows))


@router.callback_query(QrCb.filter(F.action == "tops"))
async def topic_list(query: CallbackQuery, callback_data: QrCb, services: Services) -> None:
    community = await _admin_community(query, callback_data, services)
    if community is None:
        return
    slug = community.slug
    rows = [[qr_button(t.name.get(locale()), "make", slug, "t" + short_hash(t.id))]
            for t in services.catalogue.consultation_topics]
    rows.append([qr_button(_("◀️ Back"), "kinds", slug)])
    await query.answer()
    await query.message.edit_text(_("Which consultation topic?"), reply_markup=keyboard(rows))


def _target(services: Services, community: CommunityView, value: str) -> tuple[str, str | None] | None:
    kind = KIND_OF.get(value[:1])
    if kind == links.COMMUNITY:
        return kind, None
    ids = community.services if kind == links.SERVICE else [t.id for t in services.catalogue.consultation_topics]
    found = [item for item in ids if short_hash(item) == value[1:]] if kind else []
    return (kind, found[0]) if len(found) == 1 else None


@router.callback_query(QrCb.filter(F.action == "make"))
async def make(query: CallbackQuery, callback_data: QrCb, services: Services, bot: Bot, i18n: I18n) -> None:
    community = await _admin_community(query, callback_data, services)
    if community is None:
        return
    target = _target(services, community, callback_data.value)
    if target is None:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await query.answer(_("Making the QR code…"))
    kind, target_id = target
    username = (await bot.me()).username or services.settings.bot_username  # getMe, kept by the Bot object
    sheet_locale = services.settings.default_locale

    def translate(text: str) -> str:
        return i18n.gettext(text, locale=sheet_locale)

    try:
        stem, sheet = await asyncio.to_thread(sheet_for, services.catalogue, username or "", kind, community.slug,
                                              target_id, None, sheet_locale, translate)
    except (LinkError, QrError) as exc:
        log.warning("no QR sheet: %s", exc)
        await query.message.answer(_("Sorry, I could not make the QR code: {problem}").format(problem=h(exc)))
        return
    await query.message.answer_document(
        BufferedInputFile(sheet.png, filename=f"{stem}.png"),
        caption=_("🔳 For printing: PNG (A4, 150 dpi). The link: {url}").format(url=h(sheet.url)),
    )
    await query.message.answer_document(
        BufferedInputFile(sheet.svg.encode("utf-8"), filename=f"{stem}.svg"),
        caption=_("The same as SVG, for printing in any size."),
    )
