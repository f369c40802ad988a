"""Conversation flows as aiogram routers."""
from __future__ import annotations

import logging

from aiogram import Dispatcher
from aiogram.types import CallbackQuery, ErrorEvent
from aiogram.utils.i18n import gettext as _

from dialogs import resident, staff
from dialogs.admin import campaigns as admin_campaigns
from dialogs.admin import ops as admin_ops
from dialogs.admin import qr as admin_qr
from dialogs.admin import reports as admin_reports
from dialogs.common import Routes
from dialogs.staff import consult as staff_consult

log = logging.getLogger("bot.errors")
fallback = Routes("fallback", chats=None)


@fallback.callback_query()
async def stale_button(query: CallbackQuery) -> None:
    """A button we do not know (old, forged or from another version): say so kindly."""
    await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)


async def on_error(event: ErrorEvent) -> bool:
    log.error("handler failed: %s", type(event.exception).__name__, exc_info=event.exception)
    update = event.update
    target = update.message or (update.callback_query.message if update.callback_query else None)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        if target is not None and target.chat.type == "private":
            await target.answer(
                _("Sorry, something went wrong on our side. Please try again, or open the menu: /menu")
            )
    except Exception as exc:  # the apology itself may fail when Telegram is unreachable
        log.warning("could not apologise to the user: %s", type(exc).__name__)
    return True


def setup_routers(dp: Dispatcher) -> None:
    dp.include_router(staff.admin.build())
    dp.include_router(admin_campaigns.router.build())
    dp.include_router(admin_ops.build())
    dp.include_router(admin_reports.build())
    dp.include_router(admin_qr.router.build())
    dp.include_router(resident.router())
    dp.include_router(staff_consult.build())
    dp.include_router(staff.build())
    dp.include_router(fallback.build())
    dp.errors.register(on_error)
