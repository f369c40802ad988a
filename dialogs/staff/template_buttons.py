"""The reply templates' buttons: their callback data, and what «💬 Answer» offers under its prompt (the group's
ready answers, each a button). Kept apart from the handlers (dialogs/staff/templates.py), which need the staff
form of dialogs/staff/__init__.py, so that it can import this without a cycle."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.requests.models import Request
from bot.services import Services
from dialogs.requests_view import Staff


class Tpl(CallbackData, prefix="st"):
    """A reply template's button: `tid` the template, `rid` the request it is offered for (0 in /templates)."""

    action: str
    tid: int = 0
    rid: int = 0


def button(text: str, action: str, tid: int = 0, rid: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Tpl(action=action, tid=tid, rid=rid).pack())


async def offer(services: Services, request: Request, prompt: str) -> tuple[str, InlineKeyboardMarkup]:
    """The prompt of «Answer» with the institution's ready answers under it, and «Cancel»."""
    templates = await services.templates.of(request.community, request.institution_id)
    rows = [[button("📋 " + t.label, "use", t.id, request.id)] for t in templates]
    rows.append([InlineKeyboardButton(text=_("❌ Cancel"),
                                      callback_data=Staff(action="cancel", rid=request.id).pack())])
    if templates:
        prompt += "\n\n" + _("Or choose a ready answer below: you can change it before it is sent.")
    else:
        prompt += "\n\n" + _("Answers the group writes often can be kept as ready answers: /templates")
    return prompt, InlineKeyboardMarkup(inline_keyboard=rows)
