"""Free-text search: the Search button, and any text sent outside a dialog."""
from __future__ import annotations

import secrets
from typing import Any, Iterable, Optional

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import BTN_SEARCH, DeleteForm, MenuButton, Nav, Routes, button, keyboard, nav_row
from dialogs.resident import render
from dialogs.resident.browse import ask_community, community_of, open_card, show
from dialogs.resident.emergency import send_emergency
from dialogs.resident.menu import show_menu

router = Routes("resident.search")
MAX_QUERY = 500
# The latest searches a service card's «Back» can return to: a short key in the results' and the card's buttons
# («fsvc» KEY.SERVICE, «found» KEY; a button's data holds 64 bytes, not a query), the query and what it found in the
# conversation's data.
SEARCHES_KEPT = 5


class SearchForm(StatesGroup):
    waiting = State()


@router.message(MenuButton(BTN_SEARCH), StateFilter("*"))
async def ask_query(message: Message, state: FSMContext) -> None:
    await state.set_state(SearchForm.waiting)
    await message.answer(
        _(
            "Write in your own words what happened or what help you need. For example:\n"
            "• <i>my son is 2 and has a disability</i>\n"
            "• <i>grandmother lives alone and needs help at home</i>\n"
            "• <i>we moved here from another city</i>"
        )
    )


@router.message(SearchForm.waiting, F.text)
@router.message(DeleteForm.confirm, F.text, ~F.text.startswith("/"))
@router.message(StateFilter(None), F.text, ~F.text.startswith("/"))
async def run_search(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    """Any text outside a dialog, unless it is meant for a request (dialogs/resident/follow_ups.py, which runs
    first and comes back here when it is not)."""
    await state.set_state(None)
    community = community_of(services, resident)
    if community is None:
        await ask_community(message)
        return
    text = message.text[:MAX_QUERY]
    assessment = services.triage.assess(text)
    if assessment.danger:
        await send_emergency(message, services, resident, assessment.danger, assessment.lines)
    await answer_query(message, state, services, community, text, assessment.danger)


async def answer_query(message: Message, state: FSMContext, services: Services, community, text: str,
                       danger: Iterable[str] = ()) -> None:
    """The search's answer to `text` in `message`'s chat. `danger`: what the triage found in it, whose emergency
    screen the caller has shown already (danger comes first, before anything else is done with the words)."""
    text = text[:MAX_QUERY]
    kinds = set(danger)
    if "suicide" in kinds:
        # words about ending one's life are not a query: offer people to talk to, not word matches
        found = [s for s in community.services_for_situation("psychological") if s.available][:5]
        if found:
            await show_results(message, state, community, found, text)
        return
    answer = services.search.answer(community.slug, text, limit=5)
    if not answer.served:
        if kinds:
            return  # the emergency screen above already lists the services for danger
        # an honest "nothing here" with whom to ask, instead of services that do not fit
        await message.answer(
            render.nothing_found(services.catalogue, community, text, answer.referrals),
            reply_markup=keyboard([[button(_("📝 Ask for help without papers"), "ask")],
                                   [button(_("📋 Choose a life situation"), "sits")], nav_row()]),
        )
        return
    await show_results(message, state, community, [hit.service for hit in answer.hits], text)


def results_keyboard(found, key: str):
    rows = [[button(f"{n}. {render.service_title(s)}", "fsvc", f"{key}.{s.id}")] for n, s in enumerate(found, 1)]
    rows.append([button(_("📋 Choose a life situation"), "sits")])
    rows.append([button(_("📝 Ask for help without papers"), "ask")])
    rows.append(nav_row())
    return keyboard(rows)


async def show_results(message: Message, state: FSMContext, community, found, query: str = "") -> None:
    """The results, kept under a new key so that «Back» on a card opened from them returns here."""
    key = secrets.token_hex(4)
    kept = [entry for entry in (await state.get_data()).get("searches") or [] if isinstance(entry, dict)]
    kept = kept[-(SEARCHES_KEPT - 1):] + [{"key": key, "q": query, "ids": [s.id for s in found]}]
    await state.update_data(searches=kept)
    await message.answer(render.search_results(community, found), reply_markup=results_keyboard(found, key))


def kept_search(data: dict[str, Any], key: str) -> Optional[dict[str, Any]]:
    entries = data.get("searches")
    if not key or not isinstance(entries, list):
        return None
    return next((e for e in entries if isinstance(e, dict) and e.get("key") == key), None)


@router.callback_query(Nav.filter(F.screen == "found"))
async def back_to_results(query: CallbackQuery, callback_data: Nav, state: FSMContext, services: Services,
                          resident: Optional[Resident]) -> None:
    """«Back» from a card opened from search: the same results again. A key no longer kept (a cleared
    conversation, an old or forged button) or results gone from the catalogue lead to the menu."""
    community = community_of(services, resident)
    entry = kept_search(await state.get_data(), callback_data.item) if community else None
    ids = entry.get("ids") if entry else None
    found = [community.services[i] for i in ids if isinstance(i, str) and i in community.services] \
        if isinstance(ids, list) else []
    if not found:
        await query.answer(_("This button is out of date."))
        await show_menu(query.message, services, resident)
        return
    await show(query, render.search_results(community, found), results_keyboard(found, callback_data.item))


@router.callback_query(Nav.filter(F.screen == "fsvc"))
async def card_from_results(query: CallbackQuery, callback_data: Nav, services: Services,
                            resident: Optional[Resident]) -> None:
    """A service card opened from search results: it opens whether or not the search is still kept; its «Back»
    returns to those results (or, when they are no longer kept, to the menu)."""
    key, _dot, service_id = callback_data.item.partition(".")
    await open_card(query, services, resident, service_id, ("found", key, 0))


@router.message(SearchForm.waiting)
@router.message(StateFilter(None), ~F.text)
async def not_text(message: Message) -> None:
    await message.answer(_("I can only read text for now. Please write in words what help you need."))
