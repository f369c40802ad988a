"""Find help three ways: by life situation, by who needs help, by institution; the service card."""
from __future__ import annotations

from typing import Optional

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import CommunityView
from bot.catalogue.models import Service
from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import BTN_FIND, MenuButton, Nav, Routes, button, h, keyboard, locale, nav_row, paged
from dialogs.resident import render

router = Routes("resident.browse")


def community_of(services: Services, resident: Optional[Resident]) -> Optional[CommunityView]:
    view = services.catalogue.community(resident.community if resident else None)
    if view is None and len(services.served) == 1:
        view = services.catalogue.community(services.served[0])
    return view


async def ask_community(target: Message) -> None:
    await target.answer(_("First, please tell me your community: press /start."))


def find_keyboard():
    return keyboard(
        [
            [button(_("📋 By life situation"), "sits")],
            [button(_("👥 By who needs help"), "grps")],
            [button(_("🏛 By institution"), "insts")],
            nav_row(),
        ]
    )


FIND_TEXT = "🧭 <b>{title}</b>\n{body}"


def find_text() -> str:
    return FIND_TEXT.format(title=_("Find help"), body=_("How would you like to look?"))


@router.message(MenuButton(BTN_FIND), StateFilter("*"))
async def find_help(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await state.clear()
    if community_of(services, resident) is None:
        await ask_community(message)
        return
    await message.answer(find_text(), reply_markup=find_keyboard())


async def show(query: CallbackQuery, text: str, markup) -> None:
    """Replace the screen in place. A double tap (the same screen again) changes nothing; a message that
    can no longer be edited (too old, deleted) gets a fresh one."""
    await query.answer()
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" in str(exc):
            return
        await query.message.answer(text, reply_markup=markup)


def service_items(services_list: list[Service]) -> list[tuple[str, str, str]]:
    return [(render.service_title(s), "svc", s.id) for s in services_list]


@router.callback_query(Nav.filter(F.screen == "find"))
async def find_screen(query: CallbackQuery) -> None:
    await show(query, find_text(), find_keyboard())


@router.callback_query(Nav.filter(F.screen.in_({"sits", "grps", "insts"})))
async def lists(
    query: CallbackQuery, callback_data: Nav, services: Services, resident: Optional[Resident], state: FSMContext
) -> None:
    community = community_of(services, resident)
    if community is None:
        await query.answer()
        await ask_community(query.message)
        return
    loc = locale()
    catalogue = services.catalogue
    if callback_data.screen == "sits":
        title = _("What happened? Choose what fits best:")
        items = [
            (("⚠️ " if s.danger else "") + s.name.get(loc), "sit", s.id) for s in catalogue.situations_of(community)
        ]
    elif callback_data.screen == "grps":
        title = _("Who needs help?")
        items = [(g.name.get(loc), "grp", g.id) for g in catalogue.groups_of(community)]
    else:
        title = _("Institutions of your community:")
        items = [(i.short_name.get(loc), "inst", i.id) for i in community.model.institutions]
    markup, page, pages = paged(items, callback_data.screen, "", callback_data.page, ("find", "", 0))
    if pages > 1:
        title += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    await state.update_data(back=[callback_data.screen, "", page])
    await show(query, title, markup)


@router.callback_query(Nav.filter(F.screen.in_({"sit", "grp", "inst"})))
async def one_list(
    query: CallbackQuery, callback_data: Nav, services: Services, resident: Optional[Resident], state: FSMContext
) -> None:
    community = community_of(services, resident)
    catalogue = services.catalogue
    loc = locale()
    screen, key = callback_data.screen, callback_data.item
    if community is None:
        await query.answer()
        await ask_community(query.message)
        return
    if screen == "sit" and key in catalogue.situations:
        situation = catalogue.situations[key]
        found = community.services_for_situation(key)
        if situation.danger:
            kinds = _danger_kinds(key)
            await query.message.answer(render.emergency_text(catalogue, community, kinds,
                                                             services.triage.lines_for(kinds)))
        text = f"<b>{h(situation.name.get(loc))}</b>\n" + _("These services can help:")
        back = ("sits", "", 0)
    elif screen == "grp" and key in catalogue.target_groups:
        found = community.services_for_group(key)
        text = f"<b>{h(catalogue.target_groups[key].name.get(loc))}</b>\n" + _("Services for you:")
        back = ("grps", "", 0)
    elif screen == "inst" and key in community.institutions:
        found = community.services_of(key)
        text = render.institution_card(community, community.institutions[key])
        back = ("insts", "", 0)
    else:
        await query.answer(_("This button is out of date. Please open the menu again."), show_alert=True)
        return
    if not found:
        text += "\n\n" + _("There are no services listed here yet.")
    if any(s.status.value == "introducing" for s in found):
        text += "\n\n" + _("🆕 marks services being introduced: ask whether you can get them yet.")
    if any(s.status.value == "planned" for s in found):
        text += "\n\n" + _("🕓 marks services the programme planned: ask whether they are available yet.")
    markup, page, pages = paged(service_items(found), screen, key, callback_data.page, back)
    if pages > 1:
        text += "\n" + _("Page {page} of {pages}").format(page=page + 1, pages=pages)
    await state.update_data(back=[screen, key, page])
    await show(query, text, markup)


def _danger_kinds(situation_id: str) -> set[str]:
    return {"domestic_violence": {"violence"}, "child_at_risk": {"child"}, "trafficking": {"trafficking"}}.get(
        situation_id, set()
    )


@router.callback_query(Nav.filter(F.screen == "svc"))
async def service_card(
    query: CallbackQuery, callback_data: Nav, services: Services, resident: Optional[Resident], state: FSMContext
) -> None:
    back = (await state.get_data()).get("back")
    back_target = tuple(back) if isinstance(back, list) and len(back) == 3 else ("find", "", 0)
    await open_card(query, services, resident, callback_data.item, back_target)  # type: ignore[arg-type]


async def open_card(query: CallbackQuery, services: Services, resident: Optional[Resident], service_id: str,
                    back: tuple[str, str, int]) -> None:
    """The service card in place of the screen it was opened from, «Back» leading to `back`."""
    community = community_of(services, resident)
    service = community.services.get(service_id) if community else None
    if service is None:
        await query.answer(_("I could not find this service. Please open the menu again."), show_alert=True)
        return
    await show(query, render.service_card(services.catalogue, community, service),
               card_keyboard(community, service, back))


def card_keyboard(community: CommunityView, service: Service, back: tuple[str, str, int] = ("find", "", 0)):
    """The buttons under a service card: ask for it, a specialist online, its provider, Back and Menu."""
    rows = []
    if render.can_ask(service):
        rows.append([button(_("📝 Ask for this help"), "ask", service.id)])
        if service.consultation:
            rows.append([button(_("💬 Ask a specialist online"), "consult")])
    rows.append([button("🏛 " + community.institutions[service.provider].short_name.get(locale()), "inst",
                        service.provider)])
    rows.append(nav_row(back))
    return keyboard(rows)


async def send_service_card(message: Message, services: Services, community: CommunityView, service: Service) -> None:
    """The card as browsing shows it, as a new message (a link or another flow opens it)."""
    await message.answer(render.service_card(services.catalogue, community, service),
                         reply_markup=card_keyboard(community, service))
