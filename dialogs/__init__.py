"""Conversation flows as aiogram routers."""
from __future__ import annotations

import logging

from aiogram import Dispatcher, F
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram.utils.i18n import gettext as _

from bot.storage.db import storage_fault
from dialogs import resident, staff
from dialogs.admin import admins as admin_admins
from dialogs.admin import campaign_list as admin_campaign_list
from dialogs.admin import campaigns as admin_campaigns
from dialogs.admin import catalogue as admin_catalogue
from dialogs.admin import ops as admin_ops
from dialogs.admin import qr as admin_qr
from dialogs.admin import reports as admin_reports
from dialogs.common import Routes
from dialogs.staff import consult as staff_consult
from dialogs.staff import handover as staff_handover
from dialogs.staff import onboarding as staff_onboarding
from dialogs.staff import templates as staff_templates

log = logging.getLogger("bot.errors")
fallback = Routes("fallback", chats=None)


@fallback.message(F.chat.type == "private")
async def not_at_this_step(message: Message) -> None:
    """Something no step of the dialog expects (a text where buttons are asked for, a sticker…): say what to do
    rather than stay silent. Groups are left in peace."""
    await message.answer(_("I cannot take this at this step. Please choose one of the buttons above, or open "
                           "the menu: /menu"))


@fallback.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    """A button we do not know (old, forged or from another version): say so kindly."""
    await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)


def storage_note() -> str:
    """For a resident whose step could not be saved (the database locked, the disk full)."""
    return _("Sorry, we could not save this right now because of a technical problem on our side. Nothing "
             "you saw confirmed has been lost. Please try the same step again in a few minutes: press the same "
             "button or send the same message again.")


def storage_note_short() -> str:
    """The same for staff in a group, and in a button's pop-up."""
    return _("Not saved because of a technical problem on our side. Nothing was changed. Please try again in a "
             "few minutes.")


def chat_gone(exc: Exception) -> bool:
    """The answer cannot reach the chat: the person blocked the bot, the bot left the group, the chat is no more."""
    return isinstance(exc, TelegramForbiddenError) or (
        isinstance(exc, TelegramBadRequest) and "chat not found" in exc.message)


async def on_error(event: ErrorEvent) -> bool:
    if chat_gone(event.exception):  # nobody there to apologise to, and nothing wrong with the bot
        log.warning("an answer could not reach its chat: %s", event.exception)
        return True
    fault = storage_fault(event.exception)
    if fault is not None:  # the database could not take a write: the transaction was rolled back, retry later
        log.error("handler failed: the database refused (%s): %s", fault, event.exception)
    else:
        log.error("handler failed: %s", type(event.exception).__name__, exc_info=event.exception)
    update = event.update
    query = update.callback_query
    target = update.message or (query.message if query else None)
    private = target is not None and target.chat.type == "private"
    if query is not None:
        # The handler may have answered the press before it failed; Telegram then refuses a second answer,
        # and that refusal must not cost the resident the apology below.
        try:
            if fault is not None and not private:
                await query.answer(storage_note_short(), show_alert=True)
            else:
                await query.answer()
        except Exception as exc:
            log.info("the button press was already answered: %s", type(exc).__name__)
    try:
        if target is None:
            return True
        if private:
            await target.answer(
                storage_note() if fault is not None
                else _("Sorry, something went wrong on our side. Please try again, or open the menu: /menu")
            )
        elif fault is not None and update.message is not None:
            await update.message.reply(storage_note_short())
    except Exception as exc:  # the apology itself may fail when Telegram is unreachable
        log.warning("could not apologise to the user: %s", type(exc).__name__)
    return True


def setup_routers(dp: Dispatcher) -> None:
    dp.include_router(staff.admin.build())
    dp.include_router(admin_campaigns.router.build())  # composing first: its steps take what is typed
    dp.include_router(admin_campaign_list.router.build())
    dp.include_router(admin_admins.router.build())
    dp.include_router(admin_ops.build())
    dp.include_router(admin_catalogue.build())
    dp.include_router(admin_reports.build())
    dp.include_router(admin_qr.router.build())
    dp.include_router(resident.router())
    dp.include_router(staff_onboarding.build())  # a group's greeting and /help, before the staff's own
    dp.include_router(staff_consult.build())
    dp.include_router(staff_templates.build())  # before the card's router: its states and its buttons
    dp.include_router(staff_handover.build())
    dp.include_router(staff.build())
    dp.include_router(fallback.build())
    dp.errors.register(on_error)
