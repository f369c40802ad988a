"""What the resident gets about their request in the chat with the bot: the notices (taken into work, passed on,
finished and why, with the rating asked), the head of a specialist's answer, and the question whether the help
came. Their list and the request's history are in dialogs/requests_view."""
from __future__ import annotations

from typing import Optional

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.catalogue.loader import Catalogue
from bot.requests.models import Request
from dialogs.common import h
from dialogs.requests_view import FINISH_TO_RESIDENT, Req, finish_sentence, institution_name


def _institution(catalogue: Catalogue, request: Request) -> str:
    return h(institution_name(catalogue, request, short=False))


def taken(catalogue: Catalogue, request: Request) -> str:
    return "🛠 " + _("A specialist of {institution} took your request No. {number} into work.").format(
        number=request.public_id, institution=_institution(catalogue, request))


def passed_on(catalogue: Catalogue, request: Request, reason: Optional[str] = None) -> str:
    """Passed to another institution, with the reason the staff member wrote for the resident (when still kept)."""
    text = "↪️ " + _("Your request No. {number} was passed to {institution}, which handles such "
                     "questions. You do not need to do anything.").format(number=request.public_id,
                                                                          institution=_institution(catalogue, request))
    if reason:
        text += "\n" + _("Why: {reason}").format(reason=h(reason))
    return text


def finished(catalogue: Catalogue, request: Request, resolved: bool, reason: Optional[str], words: Optional[str],
             answered: bool) -> tuple[str, Optional[InlineKeyboardMarkup]]:
    """Resolved or closed, and why (`reason`, with the staff's `words` for «Other»), in plain words; the rating is
    asked only of a resident who had an answer."""
    if resolved:
        text = "✅ " + _("{institution} marked your request No. {number} as resolved.")
    else:
        text = "☑️ " + _("{institution} closed your request No. {number}.")
    text = text.format(number=request.public_id, institution=_institution(catalogue, request))
    if reason in FINISH_TO_RESIDENT:
        text += "\n" + finish_sentence(reason, words, sep="\n")
    if not answered:
        return text, None
    text += "\n\n" + _("How did we help? Please rate from 1 to 5:")
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=str(n), callback_data=Req(action="rate", rid=request.id, arg=str(n)).pack())
        for n in range(1, 6)
    ]])
    return text, markup


def answer_head(catalogue: Catalogue, request: Request, signed: Optional[str]) -> str:
    """The head of a specialist's answer: the request, and who answered (`signed`, their role) from where."""
    header = "💬 " + _("Answer to your request No. {number}").format(number=request.public_id)
    signature = _("{role}, {institution}").format(
        role=h(signed or _("specialist")),
        institution=h(institution_name(catalogue, request)),
    )
    return f"{header}\n<i>{signature}</i>"


def answer_markup(request: Request) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=_("✍️ Answer"), callback_data=Req(action="write", rid=request.id).pack())
    ]])


def help_question(catalogue: Catalogue, request: Request) -> str:
    """Whether the help came, asked a few days after the request was resolved (its buttons:
    dialogs/resident/confirmation.py)."""
    return "🤝 " + _("Did you get the help? {institution} marked your request No. {number} as resolved a "
                    "few days ago. Please tell us whether the help came.").format(
        number=request.public_id, institution=_institution(catalogue, request))
