"""The main menu as /start, «back to the menu» and a deep link to a community show it, and «☰ More»: the less used
items on a second keyboard with «⬅️ Back» (dialogs/common.py `main_menu`, `more_menu`)."""
from __future__ import annotations

from typing import Optional

from aiogram.filters import StateFilter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import BTN_MENU_BACK, BTN_MORE, MenuButton, Routes, h, locale, main_menu, more_menu

router = Routes("resident.menu")


def community_name(services: Services, slug: Optional[str]) -> str:
    view = services.catalogue.community(slug)
    return view.model.name.get(locale()) if view else ""


async def show_menu(message: Message, services: Services, resident: Optional[Resident], intro: bool = False) -> None:
    slug = resident.community if resident else None
    if intro:
        text = _(
            "Here is the menu. You can:\n"
            "🧭 <b>Find help</b> by your situation, by who needs it or by institution;\n"
            "🔎 <b>Search</b>: write in your own words what happened;\n"
            "🆘 <b>Emergency help</b>: numbers to call at once.\n\n"
            "You can also just write your question here at any time."
        )
        text += "\n" + _("Under «☰ More»: an online consultation with a specialist, a report about a person in "
                         "need, settings and help.")
    else:
        text = _("Main menu. What would you like to do?")
    if slug:
        text += "\n\n" + _("Community: {name}").format(name=h(community_name(services, slug)))
    await message.answer(text, reply_markup=main_menu())


# Both only change the keyboard: a form or a dialog under way is left as it was (the next item pressed decides).
@router.message(MenuButton(BTN_MORE), StateFilter("*"))
async def more(message: Message) -> None:
    await message.answer(_("More: an online consultation, a report about a person in need, settings and help. "
                           "«⬅️ Back» returns to the main menu."), reply_markup=more_menu())


@router.message(MenuButton(BTN_MENU_BACK), StateFilter("*"))
async def back_to_menu(message: Message, services: Services, resident: Optional[Resident]) -> None:
    await show_menu(message, services, resident)
