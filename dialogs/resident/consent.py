"""The consent asked once before a resident's first request or consultation, and where they go after it.

Whoever asks (the request form, a consultation topic) says where the resident goes once they agree: `After`.
The answer is taken in dialogs/resident/requests.py, which hands over (`requests.hand_over`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services import Services
from dialogs.common import keyboard
from dialogs.resident.form import Ask, choice

AFTER = "after_consent"  # conversation data: where the resident goes once they agree


@dataclass(frozen=True)
class After:
    """Where a resident goes once they agree: the request form (its draft waits in the conversation's data) or,
    with `topic`, that consultation topic's line."""

    topic: Optional[str] = None

    def code(self) -> Optional[str]:
        return f"consult:{self.topic}" if self.topic else None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "After":
        code = data.get(AFTER)
        if isinstance(code, str) and code.startswith("consult:"):
            return cls(topic=code.split(":", 1)[1])
        return cls()


async def ask_consent(message: Message, state: FSMContext, services: Services, after: After,
                      header: str = "") -> None:
    await state.update_data({AFTER: after.code()})
    await state.set_state(Ask.consent)
    await message.answer((header + "\n\n" if header else "") + consent_text(services), reply_markup=keyboard([
        [choice(_("✅ I agree"), "consent", "yes")],
        [choice(_("No, thank you"), "consent", "no")],
    ]))


def consent_text(services: Services) -> str:
    days = services.settings.retention_days
    return ngettext(
        "<b>Before you send a request</b>\n\n"
        "• We keep what you write, the files you attach and the contact you choose to give.\n"
        "• Only the staff of the institution that handles your request see it. We do not pass it to anyone else.\n"
        "• Personal data of a finished request is deleted automatically after {days} day; the anonymous "
        "count stays for the community's reports.\n"
        "• You can delete your data at any time: ⚙️ Settings → 🗑 Delete my data.\n\n"
        "Do you agree? Without it you can still look for services and call the numbers.",
        "<b>Before you send a request</b>\n\n"
        "• We keep what you write, the files you attach and the contact you choose to give.\n"
        "• Only the staff of the institution that handles your request see it. We do not pass it to anyone else.\n"
        "• Personal data of a finished request is deleted automatically after {days} days; the anonymous "
        "count stays for the community's reports.\n"
        "• You can delete your data at any time: ⚙️ Settings → 🗑 Delete my data.\n\n"
        "Do you agree? Without it you can still look for services and call the numbers.",
        days,
    ).format(days=days)
