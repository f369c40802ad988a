"""Deep links: /start with a payload (a printed QR code, a campaign button) opens the card it names.

A new resident goes through the onboarding first (the language; the community comes from the link), with
the link kept in the conversation's data, which is stored in SQLite and so survives a restart; then the
card opens. A known resident gets the card at once, in the link's community. Every open is counted in
link_opens. Other flows call `open_link` with a parsed link.
"""
from __future__ import annotations

from typing import Optional

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import links
from bot.campaigns.service import known_campaign
from bot.links import Link, parse_payload, record_open
from bot.services import Services
from dialogs.common import h, locale
from dialogs.resident import browse, consult
from dialogs.resident.menu import show_menu

PENDING = "link"  # conversation data: the payload a new resident opened, until the onboarding ends


async def opened(message: Message, state: FSMContext, services: Services, user_id: int, payload: str,
                 new_resident: bool) -> bool:
    """/start PAYLOAD. True when the link was opened for a known resident (nothing else to do); False when the
    usual /start follows: for a new resident (the link waits in the conversation's data until the language is
    chosen) or when the link is not valid (after a line saying so)."""
    link = parse_payload(payload, services.catalogue)
    if link is None:
        await message.answer(_("Sorry, this link does not work any more. Everything it could show is in the "
                               "menu."))
        return False
    link = await known_campaign(services.db, link)
    await record_open(services.db, link, user_id, new_resident)
    if new_resident:
        await state.update_data({PENDING: link.code})
        return False
    await open_link(message, state, services, user_id, link, record=False)
    return True


async def open_link(message: Message, state: FSMContext, services: Services, user_id: int, link: Link, *,
                    record: bool = True, new_resident: bool = False) -> None:
    """Open what `link` names for a resident who has chosen the language: the community becomes the link's
    (a printed stand there means they are there; one line says so), then the service card, the consultation
    topic or the menu. `message` is any message in the resident's private chat."""
    if record:
        await record_open(services.db, await known_campaign(services.db, link), user_id, new_resident)
    resident = await services.residents.get(user_id)
    if resident is None or resident.community != link.community:
        await services.residents.set_community(user_id, link.community)
        if resident is not None and resident.community is not None and len(services.served) > 1:
            name = services.catalogue.communities[link.community].model.name.get(locale())
            await message.answer("📍 " + _("This link is for {name}, so that is your community now. You can "
                                          "change it in ⚙️ Settings.").format(name=h(name)))
    await show_target(message, state, services, user_id, link)


async def show_target(message: Message, state: FSMContext, services: Services, user_id: int, link: Link) -> None:
    community = services.catalogue.communities[link.community]
    resident = await services.residents.get(user_id)
    if link.kind == links.SERVICE and link.target in community.services:
        await browse.send_service_card(message, services, community, community.services[link.target])
    elif link.kind == links.CONSULTATION:
        if await services.consult.open_for_resident(user_id) is not None \
                or not await consult.open_topic(message, state, services, community, link.target or ""):
            await consult.show_topics(message, services, resident)
    else:
        await show_menu(message, services, resident)


async def forget(services: Services, user_id: int) -> None:
    """"Delete my data": the resident's link opens no longer carry their id."""
    await links.forget_resident(services.db, user_id)


def pending(data: dict) -> Optional[str]:
    code = data.get(PENDING)
    return code if isinstance(code, str) else None


async def take_community(state: FSMContext, services: Services, user_id: int) -> None:
    """During the onboarding: the community of the link opened at /start becomes the resident's, so it is not
    asked."""
    link = parse_payload(pending(await state.get_data()), services.catalogue)
    if link is not None:
        await services.residents.set_community(user_id, link.community)


async def open_pending(message: Message, state: FSMContext, services: Services, user_id: int) -> None:
    """At the end of the onboarding, after the menu: the card of the link opened at /start, if any."""
    data = await state.get_data()
    code = pending(data)
    if code is None:
        return
    data.pop(PENDING, None)
    await state.set_data(data)
    link = parse_payload(code, services.catalogue)
    if link is None or link.kind == links.COMMUNITY:  # the menu the onboarding ends with is what it opens
        return
    resident = await services.residents.get(user_id)
    if resident is not None and resident.community != link.community:
        await services.residents.set_community(user_id, link.community)
    await show_target(message, state, services, user_id, link)
