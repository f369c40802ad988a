"""First contact, language and community, the main menu, help, cancel and settings."""
from __future__ import annotations

import secrets
from typing import Optional

from aiogram import F
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot import privacy
from bot.privacy import erasure
from bot.services import Services
from bot.storage.residents import Resident
from dialogs.common import (
    BTN_HELP,
    BTN_SETTINGS,
    DeleteForm,
    MenuButton,
    Nav,
    Pick,
    Routes,
    button,
    h,
    keyboard,
    locale,
    main_menu,
    nav_row,
)
from dialogs.resident import links, mydata
from dialogs.resident.menu import community_name, show_menu
from dialogs.resident.subscriptions import offer_subscriptions

router = Routes("resident.start")

LANGUAGES = {"uk": "🇺🇦 Українська", "en": "🇬🇧 English"}


def language_keyboard():
    return keyboard([[InlineKeyboardButton(text=label, callback_data=Pick(what="lang", value=code).pack())]
                     for code, label in LANGUAGES.items()])


def community_keyboard(services: Services):
    rows = []
    for slug, view in services.catalogue.communities.items():
        name = view.model.short_name.get(locale())
        rows.append([InlineKeyboardButton(text=name, callback_data=Pick(what="comm", value=slug).pack())])
    return keyboard(rows)


async def ensure_community(message: Message, services: Services, resident: Resident) -> Optional[str]:
    """The resident's community; when the deployment serves one, it is chosen for them."""
    if resident.community in services.catalogue.communities:
        return resident.community
    if len(services.served) == 1:
        await services.residents.set_community(resident.user_id, services.served[0])
        return services.served[0]
    await message.answer(_("Which community do you live in?"), reply_markup=community_keyboard(services))
    return None


async def onboarded(message: Message, state: FSMContext, services: Services, user_id: int) -> None:
    """The end of the first /start: the menu with its introduction, then what a link opened at /start names."""
    await show_menu(message, services, await services.residents.get(user_id), intro=True)
    data = await state.get_data()
    if data.pop("onboarding", False):
        await state.set_data(data)
        if links.pending(data) is None:  # not in the way of the card a link opens
            await offer_subscriptions(message, services, user_id)
    await links.open_pending(message, state, services, user_id)


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, services: Services, i18n: I18n,
                command: Optional[CommandObject] = None) -> None:
    await state.clear()
    user_id = message.from_user.id
    existing = await services.residents.get(user_id)
    resident = await services.residents.ensure(user_id)
    new_resident = existing is None or existing.locale is None
    if command is not None and command.args and await links.opened(message, state, services, user_id,
                                                                  command.args, new_resident):
        return
    if new_resident:
        await services.residents.set_locale(user_id, i18n.current_locale)
        await state.update_data(onboarding=True)  # the first time through: offer the news topics at the end
        await message.answer(
            _(
                "Hello! I am the help bot of your community.\n\n"
                "I will help you find social services for your situation, tell you who provides them "
                "and how to get them. Everything here is free.\n\n"
                "Please choose the language:"
            ),
            reply_markup=language_keyboard(),
        )
        return
    await message.answer(_("Hello again! I am glad to see you."))
    if await ensure_community(message, services, resident):
        await show_menu(message, services, await services.residents.get(user_id), intro=False)


@router.callback_query(Pick.filter(F.what == "lang"))
async def picked_language(query: CallbackQuery, callback_data: Pick, state: FSMContext, services: Services,
                          i18n: I18n) -> None:
    if callback_data.value not in LANGUAGES:
        await query.answer(_("This button is out of date."), show_alert=False)
        return
    user_id = query.from_user.id
    await services.residents.set_locale(user_id, callback_data.value)
    i18n.current_locale = callback_data.value
    await query.answer()
    await query.message.edit_text(_("Language: {language}").format(language=LANGUAGES[callback_data.value]))
    await links.take_community(state, services, user_id)
    resident = await services.residents.get(user_id)
    if await ensure_community(query.message, services, resident):
        await onboarded(query.message, state, services, user_id)


@router.callback_query(Pick.filter(F.what == "comm"))
async def picked_community(query: CallbackQuery, callback_data: Pick, state: FSMContext, services: Services) -> None:
    if callback_data.value not in services.catalogue.communities:
        await query.answer(_("This button is out of date."))
        return
    await services.residents.set_community(query.from_user.id, callback_data.value)
    await query.answer()
    await query.message.edit_text(
        _("Community: {name}").format(name=h(community_name(services, callback_data.value)))
    )
    await onboarded(query.message, state, services, query.from_user.id)


@router.message(Command("menu"), StateFilter("*"))
async def menu_command(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await state.clear()
    await show_menu(message, services, resident)


@router.callback_query(Nav.filter(F.screen == "menu"))
async def menu_button(
    query: CallbackQuery, state: FSMContext, services: Services, resident: Optional[Resident]
) -> None:
    await state.clear()
    await query.answer()
    await show_menu(query.message, services, resident)


@router.message(Command("cancel"), StateFilter("*"))
async def cancel(message: Message, state: FSMContext) -> None:
    had_state = await state.get_state() is not None
    await state.clear()
    text = _("Done, I stopped that. Nothing was saved.") if had_state else _("There is nothing to stop.")
    await message.answer(text + "\n" + _("You are in the main menu."), reply_markup=main_menu())


@router.message(Command("help"), StateFilter("*"))
@router.message(MenuButton(BTN_HELP), StateFilter("*"))
async def help_command(message: Message) -> None:
    await message.answer(
        _(
            "<b>How to use this bot</b>\n\n"
            "🧭 <b>Find help</b>: choose what happened, who needs help, or an institution. You will see the "
            "services and how to get them.\n"
            "🔎 <b>Search</b>: write in your own words what happened, for example «my son is 2 and has a "
            "disability». You can also just write here at any time.\n"
            "📝 <b>Ask for help</b>: send a request to an institution. Say what it is about and for whom, "
            "describe what happened and how to reach you. You get the request's number and the date of the "
            "answer.\n"
            "📂 <b>My requests</b>: your requests and where they are now. Here you add a message or a file, "
            "withdraw a request or rate the help.\n"
            "💬 <b>Online consultation</b>: ask a specialist here in the chat. Choose a topic and write your "
            "question. If nobody is free, book a time or ask them to call you back.\n"
            "🆘 <b>Emergency help</b>: phone numbers to call at once.\n"
            "🙋 <b>Report a person in need</b>: tell us about a child, an older person or someone else who needs "
            "help. You can do it anonymously.\n"
            "⚙️ <b>Settings</b>: language, community, news, your data.\n\n"
            "<b>How to answer a specialist</b>\n"
            "The specialist writes to you here, in this chat. Answer with an ordinary message: text, a photo, a "
            "document or a voice message. To answer one particular message, touch it and choose «Reply».\n\n"
            "<b>How requests and consultations work</b>\n"
            "A request goes to the institution that deals with such matters. A specialist answers within a few "
            "working days. You get a message here about every change.\n"
            "A consultation is a conversation with a specialist in this chat, now. The specialist joins as soon "
            "as they are free. You end it with the «❌ End the consultation» button.\n\n"
            "Commands: /menu returns to the menu from anywhere, /cancel stops what is going on.\n\n"
            "The bot does not replace a call to 112 when someone is in danger."
        ),
        reply_markup=main_menu(),
    )


@router.message(Command("settings"), StateFilter("*"))
@router.message(MenuButton(BTN_SETTINGS), StateFilter("*"))
async def settings(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await state.clear()
    await _show_settings(message, services, resident)


@router.callback_query(Nav.filter(F.screen == "settings"))
async def settings_button(query: CallbackQuery, services: Services, resident: Optional[Resident]) -> None:
    await query.answer()
    await _show_settings(query.message, services, resident)


async def _show_settings(message: Message, services: Services, resident: Optional[Resident]) -> None:
    language = LANGUAGES.get(resident.locale if resident else "", LANGUAGES["uk"])
    title = _("Settings")
    lines = [f"<b>{title}</b>", _("Language: {language}").format(language=language)]
    rows = [[button(_("🌐 Change language"), "set_lang")]]
    if len(services.served) > 1:
        slug = resident.community if resident else None
        lines.append(_("Community: {name}").format(name=h(community_name(services, slug) or "—")))
        rows.append([button(_("🏘 Change community"), "set_comm")])
    rows.append([button(_("🔔 News I receive"), "subs")])
    rows.append([button(_("📄 My data"), "mydata")])
    rows.append([button(_("🗑 Delete my data"), "del")])
    rows.append(nav_row())
    await message.answer("\n".join(lines), reply_markup=keyboard(rows))


@router.callback_query(Nav.filter(F.screen == "mydata"))
async def my_data(query: CallbackQuery, services: Services) -> None:
    """Everything stored about the resident: a text file to read and the same as JSON."""
    await query.answer(_("Gathering your data…"))
    data = await privacy.collect(services.db, query.from_user.id)
    text = mydata.render(data, services.catalogue, services.settings.tz)
    day = data["exported_at"][:10]
    name, content = privacy.packed(f"my-data-{day}.txt", text.encode("utf-8"))
    caption = _("📄 Your data: everything the bot keeps about you (requests, consultations, bookings, settings), "
                "as a text file.")
    if privacy.is_empty(data):
        caption += "\n" + _("Apart from your language and community, nothing is stored.")
    caption += "\n\n" + _("To delete it: ⚙️ Settings → 🗑 Delete my data.")
    await query.message.answer_document(BufferedInputFile(content, filename=name), caption=caption)
    name, content = privacy.packed(f"my-data-{day}.json", privacy.to_json(data))
    await query.message.answer_document(BufferedInputFile(content, filename=name),
                                        caption=_("The same data in JSON, for computer programs."))


@router.callback_query(Nav.filter(F.screen == "del"))
async def delete_ask(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    # The buttons carry a token kept with this screen's state: a press after the resident left the screen,
    # an old message's button or forged data deletes nothing.
    token = secrets.token_hex(4)
    await state.set_state(DeleteForm.confirm)
    await state.set_data({"delete_token": token})
    await query.message.answer(
        _(
            "Delete your data? Your descriptions, files, contacts and messages in all your requests and "
            "consultations will be deleted, open requests will lose the way to reach you, and booked times are "
            "cancelled. Anonymous counts stay for the community's reports. This cannot be undone."
        ),
        reply_markup=keyboard([[button(_("🗑 Yes, delete"), "del_yes", token), button(_("No"), "del_no", token)],
                               nav_row()]),
    )


async def confirmation_stands(query: CallbackQuery, callback_data: Nav, state: FSMContext) -> bool:
    token = (await state.get_data()).get("delete_token")
    if await state.get_state() == DeleteForm.confirm.state and token and callback_data.item == token:
        return True
    await query.answer(_("This confirmation has expired, nothing was changed. To delete your data, open "
                         "⚙️ Settings again."), show_alert=True)
    return False


@router.callback_query(Nav.filter(F.screen == "del_yes"))
async def delete_confirmed(query: CallbackQuery, callback_data: Nav, state: FSMContext, services: Services) -> None:
    if not await confirmation_stands(query, callback_data, state):
        return
    await state.clear()
    count = await erasure.erase(services, query.from_user.id)  # and the staff cards say so
    forget = getattr(state.storage, "forget", None)
    if forget is not None:
        forget(query.from_user.id)
    await query.answer()
    await query.message.edit_text(
        _("Your data is deleted ({n} requests and consultations cleared). You can keep using the bot; to ask "
          "for help again you will be asked for consent.").format(n=count)
    )


@router.callback_query(Nav.filter(F.screen == "del_no"))
async def delete_declined(query: CallbackQuery, callback_data: Nav, state: FSMContext) -> None:
    if not await confirmation_stands(query, callback_data, state):
        return
    await state.clear()
    await query.answer()
    await query.message.edit_text(_("Nothing was deleted. Your data stays as it was."))


@router.callback_query(Nav.filter(F.screen == "set_lang"))
async def change_language(query: CallbackQuery) -> None:
    await query.answer()
    await query.message.answer(_("Please choose the language:"), reply_markup=language_keyboard())


@router.callback_query(Nav.filter(F.screen == "set_comm"))
async def change_community(query: CallbackQuery, services: Services) -> None:
    await query.answer()
    await query.message.answer(_("Which community do you live in?"), reply_markup=community_keyboard(services))
