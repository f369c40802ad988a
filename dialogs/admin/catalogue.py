"""/catalogue, /catalogue_undo, /catalogue_history for administrators; the edited workbook comes back as a document.

/catalogue sends the community's catalogue as an .xlsx; the administrator edits it and sends it back (in a
private chat with the bot or in the administrators' chat, outside any other dialog); the bot shows what it
changes and applies it when the one who sent it presses «Apply» on that very message. What it all means lives in
bot/ops/catalogue_edits/; this module only asks, sends and checks who is pressing what.
"""
from __future__ import annotations

import io
import logging
from datetime import datetime
from typing import Optional

from aiogram import Bot, F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.catalogue.workbook import FILE_LIMIT
from bot.ops.catalogue_edits import serving, texts, versions, workbooks
from bot.services import Services
from dialogs.admin.ops import admin_place
from dialogs.common import Routes, h, keyboard, locale

log = logging.getLogger("bot.catalogue")
router = Routes("admin.catalogue", chats=None)
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/octet-stream")


class CatCb(CallbackData, prefix="cat"):
    """`file`, `undo`, `hist`: the community's workbook, undo screen, history; `apply` / `drop` an import
    (`value`: its token); `back` (`value`: the version) undoes, `keep` does not."""

    action: str
    community: str = ""
    value: str = ""


def cat_button(text: str, action: str, community: str = "", value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=CatCb(action=action, community=community,
                                                               value=value).pack())


def community_name(services: Services, slug: str) -> str:
    view = services.catalogue.communities.get(slug)
    return view.model.short_name.get(locale()) if view is not None else slug


def refusal(services: Services, user_id: Optional[int], message: Message) -> Optional[str]:
    """Why this person may not manage the catalogue here; "" for silence (someone else's command in a group)."""
    if not services.is_admin(user_id):
        return _("This command is for the community's administrators.") if message.chat.type == "private" else ""
    if not admin_place(message, services):
        return _("Please use this command in a private chat with the bot.")
    return None


async def start(message: Message, services: Services, action: str) -> None:
    reason = refusal(services, message.from_user.id if message.from_user else None, message)
    if reason is not None:
        if reason:
            await message.answer(reason)
        return
    if len(services.served) == 1:
        await show(message, services, action, services.served[0])
        return
    rows = [[cat_button(community_name(services, slug), action, slug)] for slug in services.served]
    await message.answer("📒 " + _("<b>Catalogue</b>\nWhich community?"), reply_markup=keyboard(rows))


@router.message(Command("catalogue"))
async def catalogue_command(message: Message, services: Services) -> None:
    await start(message, services, "file")


@router.message(Command("catalogue_undo"))
async def undo_command(message: Message, services: Services) -> None:
    await start(message, services, "undo")


@router.message(Command("catalogue_history"))
async def history_command(message: Message, services: Services) -> None:
    await start(message, services, "hist")


async def show(message: Message, services: Services, action: str, slug: str) -> None:
    name = community_name(services, slug)
    if action == "file":
        content, version = await workbooks.export(services.catalogue_edits, services.settings.data_dir, slug)
        await message.answer_document(
            BufferedInputFile(content, filename=workbooks.file_name(slug, version,
                                                                     datetime.now(services.settings.tz))),
            caption="📒 " + _("<b>Catalogue of {community}</b>, version {version}.\nCorrect or fill in contacts, "
                              "descriptions and statuses in Excel or LibreOffice and send the file back here. The "
                              "sheet «Як заповнювати» explains the columns. /catalogue_undo undoes the latest "
                              "change, /catalogue_history lists them.").format(community=h(name), version=version))
    elif action == "hist":
        history = await services.catalogue_edits.history(slug)
        await message.answer(texts.history_text(history, name, services.settings.tz, _, ngettext))
    else:
        version = await services.catalogue_edits.current(slug)
        if version is None:
            await message.answer("📒 " + h(_(versions.NOTHING_TO_UNDO)))
            return
        text = texts.undo_question(version, name, services.settings.tz, _, ngettext,
                                   services.catalogue.communities.get(slug), locale())
        await message.answer(text, reply_markup=keyboard([[
            cat_button(_("↩️ Undo"), "back", slug, str(version.version)),
            cat_button(_("✖️ Keep it"), "keep", slug)]]))


async def allowed(query: CallbackQuery, services: Services, community: Optional[str] = None) -> Optional[Message]:
    """The message the button is on, when the person pressing may manage the catalogue there (and, when the
    button names a community, that community is served)."""
    message = query.message
    if not isinstance(message, Message):
        await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)
        return None
    reason = refusal(services, query.from_user.id, message)
    if reason is not None:  # in a group, as any button the bot does not know there
        await query.answer(reason or _("This button is out of date. Please open the menu again: /menu"),
                           show_alert=True)
        return None
    if community is not None and community not in services.served:
        await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)
        return None
    return message


@router.callback_query(CatCb.filter(F.action.in_({"file", "undo", "hist"})))
async def picked(query: CallbackQuery, callback_data: CatCb, services: Services) -> None:
    message = await allowed(query, services, callback_data.community)
    if message is None:
        return
    await query.answer()
    await show(message, services, callback_data.action, callback_data.community)


async def is_workbook(message: Message, services: Services) -> bool:
    """An .xlsx document from an administrator, where administrators manage the bot."""
    document = message.document
    if document is None or not services.is_admin(message.from_user.id if message.from_user else None):
        return False
    named = (document.file_name or "").lower().endswith(".xlsx")
    return (named or document.mime_type == XLSX_TYPES[0]) and admin_place(message, services)


@router.message(F.document, StateFilter(None), is_workbook)
async def workbook_sent(message: Message, bot: Bot, services: Services) -> None:
    document = message.document
    assert document is not None and message.from_user is not None
    if document.file_size and document.file_size > FILE_LIMIT:
        await message.answer("❌ " + _("The file is larger than {limit} MB. The catalogue's workbook is much smaller: "
                                      "edit the file /catalogue sends and send it back.").format(
            limit=FILE_LIMIT // (1024 * 1024)))
        return
    checking = await message.answer("⏳ " + _("Checking the file…"))
    content = io.BytesIO()
    await bot.download(document, destination=content)
    prepared = await workbooks.prepare_import(services.catalogue_edits, services.settings.data_dir,
                                              content.getvalue(), services.served)
    name = community_name(services, prepared.community) if prepared.community else ""
    text = texts.describe(prepared, name, locale(), _, ngettext)
    if not prepared.applicable:
        await checking.edit_text(text)
        return
    token = await services.catalogue_edits.hold(prepared, message.from_user.id, message.chat.id)
    shown = await checking.edit_text(text + "\n\n" + _("Apply these changes?"), reply_markup=keyboard([[
        cat_button(_("✅ Apply"), "apply", prepared.community or "", token),
        cat_button(_("✖️ Cancel"), "drop", prepared.community or "", token)]]))
    await services.catalogue_edits.attach(token, shown.message_id if isinstance(shown, Message)
                                          else checking.message_id)


@router.callback_query(CatCb.filter(F.action.in_({"apply", "drop"})))
async def decided(query: CallbackQuery, callback_data: CatCb, services: Services) -> None:
    message = await allowed(query, services)
    if message is None:
        return
    pending = await services.catalogue_edits.pending(callback_data.value)
    if pending is None or pending.message_id != message.message_id or pending.chat_id != message.chat.id:
        await query.answer(_(versions.GONE), show_alert=True)
        return
    if pending.author_id != query.from_user.id:
        await query.answer(_(versions.NOT_YOURS), show_alert=True)
        return
    if callback_data.action == "drop":
        if not await services.catalogue_edits.cancel(pending.token):
            await query.answer(_(versions.GONE), show_alert=True)
            return
        await query.answer()
        await message.edit_text(message.html_text + "\n\n" + "✖️ " + h(_("Cancelled: nothing has changed.")))
        return
    try:
        version = await serving.apply_import(services, pending.token, query.from_user.id, message.message_id)
    except versions.EditRefused as exc:
        await query.answer(_(exc.reason), show_alert=True)
        return
    await query.answer(_("Applied."))
    await message.edit_text(message.html_text + "\n\n" + "✅ " + h(_(
        "Applied: version {version}. Residents see it from their next step. /catalogue_undo undoes it.").format(
        version=version)))


@router.callback_query(CatCb.filter(F.action.in_({"back", "keep"})))
async def undo_decided(query: CallbackQuery, callback_data: CatCb, services: Services) -> None:
    message = await allowed(query, services, callback_data.community)
    if message is None:
        return
    if callback_data.action == "keep":
        await query.answer()
        await message.edit_text(message.html_text + "\n\n" + "✖️ " + h(_("Kept: nothing has changed.")))
        return
    try:
        version = int(callback_data.value)
        undone = await serving.undo(services, callback_data.community, version, query.from_user.id)
    except ValueError:
        await query.answer(_("This button is out of date. Please open the menu again: /menu"), show_alert=True)
        return
    except versions.EditRefused as exc:
        await query.answer(_(exc.reason), show_alert=True)
        return
    await query.answer(_("Undone."))
    await message.edit_text(message.html_text + "\n\n" + "↩️ " + h(_(
        "Version {version} undone: residents see the catalogue as it was before it from their next step.").format(
        version=undone.version)))


def build():
    return router.build()
