"""The main menu as /start, «back to the menu» and a deep link to a community show it."""
from __future__ import annotations

from typing import Optional

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import h, locale, main_menu


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
    else:
        text = _("Main menu. What would you like to do?")
    if slug:
        text += "\n\n" + _("Community: {name}").format(name=h(community_name(services, slug)))
    await message.answer(text, reply_markup=main_menu())
