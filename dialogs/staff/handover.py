"""«👥 Hand over to a colleague» on a request's card: the group's staff who set a role with /role are listed, and
the one chosen becomes the one who took the request; the outbox mentions them in the request's topic (or under its
card). The buttons are the card's own (`Staff` data, actions `handover` and `hand_to`), so this router comes before the
card's router of dialogs/staff/__init__.py."""
from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.errors import RequestError
from bot.labels import shorten
from bot.requests.models import Request
from bot.services import Services
from bot.storage.db import Row
from dialogs.common import N_, Routes
from dialogs.requests_view import Staff
from dialogs.staff.common import StaffContext, StaffMember, is_member, refusal, who_label

router = Routes("staff.handover", chats=("group", "supergroup"))
HANDOVER_ACTIONS = {"handover", "hand_to"}
MAX_LISTED = 40  # colleagues offered as buttons

TEXTS = {
    "not_colleague": N_("This colleague cannot be chosen here. Press «Hand over to a colleague» on the card again."),
    "not_member_now": N_("This colleague is no longer a member of the group."),
}
WHO_TEXTS = {
    "handed_over": N_("This request is already with {who}."),
    "taken_by_other": N_("{who} has already taken this request."),
    "closed": N_("{who} has already finished this request."),
    "redirected": N_("{who} has already passed this request to another institution."),
}


def colleague_label(row: Row) -> str:
    """How a colleague is named on the card and to the resident, as `StaffMember.who` names the one who takes."""
    return shorten(who_label((row["role"] or "").strip(), row["first_name"]), 80)


async def colleagues(services: Services, request: Request, chat_id: int) -> list[Row]:
    """Who may get the request: the group's staff with a role, except the one who has it now."""
    rows = await services.groups.staff_with_roles(chat_id)
    return [r for r in rows if r["user_id"] != request.assignee_id][:MAX_LISTED]


@router.callback_query(Staff.filter(F.action.in_(HANDOVER_ACTIONS)))
async def hand_over(query: CallbackQuery, callback_data: Staff, services: Services, staff: StaffMember) -> None:
    """A press on «Hand over to a colleague», or on a colleague's name under it (by a member: see StaffContext)."""
    chat_id = query.message.chat.id
    try:
        request = await services.requests.for_group(chat_id, callback_data.rid)
        if not request.status.open:
            raise RequestError("closed")
        if callback_data.action == "handover":
            await offer(query, services, request)
        else:
            await choose(query, services, staff, request, callback_data.arg)
    except RequestError as exc:
        await query.answer(refusal(exc, who_texts=WHO_TEXTS, texts=TEXTS), show_alert=True)
        return
    services.wake_outbox()


async def offer(query: CallbackQuery, services: Services, request: Request) -> None:
    rows = await colleagues(services, request, query.message.chat.id)
    if not rows:
        await query.answer(_("Nobody else in the group has set a role yet. A colleague sets it with /role, for "
                             "example: /role social worker; then they can be chosen here."), show_alert=True)
        return
    buttons = [[InlineKeyboardButton(text=shorten(colleague_label(r), 60), callback_data=Staff(
        action="hand_to", rid=request.id, arg=str(r["user_id"])).pack())] for r in rows]
    buttons.append([InlineKeyboardButton(text=_("❌ Cancel"),
                                         callback_data=Staff(action="cancel", rid=request.id).pack())])
    await query.answer()
    await query.message.answer(_("Whom to hand request No. {number} over to?").format(number=request.public_id),
                               reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons))


async def choose(query: CallbackQuery, services: Services, staff: StaffMember, request: Request, arg: str) -> None:
    chat_id = query.message.chat.id
    # one marked as gone is looked up too: a list shown before they left names them, and Telegram has the last word
    row = next((r for r in await services.groups.staff_with_roles(chat_id, gone=True) if arg.isdigit()
                and r["user_id"] == int(arg)), None)
    if row is None:
        raise RequestError("not_colleague")
    if not await is_member(query.bot, chat_id, int(row["user_id"]), services):
        await services.groups.staff_left(chat_id, int(row["user_id"]))  # not offered again
        raise RequestError("not_member_now")
    if row["gone_at"] is not None:
        await services.groups.staff_back(chat_id, int(row["user_id"]))  # in the group again
    to_label = colleague_label(row)
    await services.requests.hand_over(chat_id, request.id, query.from_user.id, await staff.who(),
                                      int(row["user_id"]), to_label)
    await query.answer(_("Request No. {number} is now with {who}.").format(number=request.public_id, who=to_label))
    try:
        await query.message.delete()  # the list of colleagues has done its job
    except TelegramBadRequest:
        await query.message.edit_reply_markup(reply_markup=None)
    # the colleague is mentioned in the request's topic by the outbox (dialogs/outbox/requests.py)


def build() -> Router:
    built = router.build()
    built.callback_query.middleware(StaffContext())
    return built
