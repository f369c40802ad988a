"""What every staff handler shares: the refusals, and what an update in a staff group is about, resolved once.

`StaffContext` (a middleware on the staff routers) gives every handler `staff`: the person acting, whether
Telegram says they are a member of the group (asked at most once per update) and how their answers are signed;
a button press by someone who is not a member is refused before any handler runs. `OnCard` (a filter) finds the
request or the consultation a staff message belongs to: by its topic, or, in a group without topics, by the
card it replies to; the handler gets `request` and `consultation` (at most one of them set)."""
from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Optional

from aiogram import BaseMiddleware, Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _

from bot.errors import RequestError
from bot.requests.clean import clean_text
from bot.services import Services
from dialogs.common import N_, h

MEMBER_STATUSES = {"creator", "administrator", "member", "restricted"}
MEMBER_TTL = 60.0  # seconds a "yes, a member" answer is trusted; a removed member loses access within a minute
ANSWER_LIMIT = 200  # Telegram's limit for the text of an answer to a button press
NAME_LIMIT = 40  # the most of a staff member's first name shown to colleagues

REASONS = {
    "group_not_bound": N_("This group is not bound to an institution. An administrator gives a code: /bind CODE."),
    "other_institution": N_("This request belongs to another institution; this group cannot act on it."),
    "taken_by_other": N_("A colleague has already taken this request."),
    "closed": N_("This request is already finished."),
    "not_finished": N_("This request is still open."),
    "no_resident": N_("The resident deleted their data or reported anonymously: there is nobody to answer."),
    "bad_institution": N_("This institution cannot receive the request."),
    "not_found": N_("Request not found."),
    "not_staff": N_("Only members of this group act for the institution."),
    "bad_code": N_("This code is not known. Ask the administrator for a new one."),
    "used_code": N_("This code was already used. Ask the administrator for a new one."),
    "expired_code": N_("This code has expired. Ask the administrator for a new one."),
    "bind_locked": N_("Too many wrong codes were sent here. Please wait an hour and ask the administrator for a "
                      "new code."),
    "taken_by_you": N_("This request is already yours."),
    "withdrawn": N_("The resident has withdrawn this request."),
    "redirected": N_("This request has already been passed to another institution."),
    "reopened": N_("This request is already back in work."),
    "changed": N_("The request has changed since this button was shown. Please look at the card and press again."),
    "bad_reason": N_("This button is out of date."),
}
# the same refusals when the service knows which colleague was first (as the card shows them)
REASONS_WHO = {
    "taken_by_other": N_("{who} has already taken this request."),
    "closed": N_("{who} has already finished this request."),
    "redirected": N_("{who} has already passed this request to another institution."),
    "reopened": N_("{who} has already taken this request back into work."),
}


def reason_text(reason: str) -> str:
    return _(REASONS.get(reason, N_("This action is not possible now.")))


def refusal(exc: RequestError, *, html: bool = False, who_texts: Optional[dict[str, str]] = None,
            texts: Optional[dict[str, str]] = None) -> str:
    """Why a press or a message changed nothing, naming the colleague who was first when the service knows
    them. `html`: for a message (the name escaped); else for the answer to a button press (plain, short)."""
    who_texts = REASONS_WHO if who_texts is None else who_texts
    if exc.who and exc.reason in who_texts:
        text = _(who_texts[exc.reason]).format(who=h(exc.who) if html else exc.who)
    elif texts and exc.reason in texts:
        text = _(texts[exc.reason])
    else:
        text = reason_text(exc.reason)
    return text if html or len(text) <= ANSWER_LIMIT else text[:ANSWER_LIMIT - 1] + "…"


async def is_member(bot: Bot, chat_id: int, user_id: int, services: Services) -> bool:
    """Whether Telegram says the user belongs to the staff group (a positive answer is kept for a minute, so
    a busy consultation does not ask Telegram before every message)."""
    cache = services.members_until
    if cache.get((chat_id, user_id), 0.0) > time.monotonic():
        return True
    try:
        member = await bot.get_chat_member(chat_id, user_id)
    except TelegramAPIError:
        return False
    # a "restricted" person may have left the group already: only one who is still in it is staff
    ok = member.status in MEMBER_STATUSES and (member.status != "restricted" or bool(getattr(member, "is_member",
                                                                                              False)))
    if ok:
        cache[(chat_id, user_id)] = time.monotonic() + MEMBER_TTL
    else:
        cache.pop((chat_id, user_id), None)
    return ok


class StaffMember:
    """The person behind one update in a staff group; each answer is looked up once, when first needed."""

    def __init__(self, bot: Bot, services: Services, chat_id: int, user_id: int, first_name: Optional[str] = None):
        self.bot, self.services = bot, services
        self.chat_id, self.user_id = chat_id, user_id
        self.first_name = clean_text(first_name)[:NAME_LIMIT].strip() or None  # as Telegram gives it now
        self._member: Optional[bool] = None
        self._role: Optional[tuple[Optional[str]]] = None

    async def member(self) -> bool:
        """Whether Telegram says they belong to the group (see `is_member`)."""
        if self._member is None:
            self._member = await is_member(self.bot, self.chat_id, self.user_id, self.services)
        return self._member

    async def role(self) -> Optional[str]:
        """The role they set with /role, if any."""
        if self._role is None:
            self._role = (await self.services.groups.staff_role(self.chat_id, self.user_id),)
        return self._role[0]

    async def label(self) -> str:
        """How their answers are signed: their role, else «specialist» in the deployment's language (the resident
        and the card read it, whatever the language of the staff member's client)."""
        return await self.role() or _("specialist", locale=self.services.settings.default_locale)

    async def who(self) -> str:
        """How colleagues see who has a request: the role and the first name («соціальна працівниця Оксана»; a
        name the role already holds is not repeated)."""
        return who_label(await self.label(), self.first_name)

    async def remember_name(self) -> None:
        """Keep their first name with their role, so that colleagues' screens can name them."""
        await self.services.groups.remember_first_name(self.chat_id, self.user_id, self.first_name)


def who_label(label: str, first_name: Optional[str]) -> str:
    if not first_name or first_name.casefold() in label.casefold():
        return label
    return f"{label} {first_name}"


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class StaffContext(BaseMiddleware):
    """Gives the staff routers' handlers `staff` (a StaffMember); refuses a button press by a non-member."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, CallbackQuery):
            chat_id = event.message.chat.id
        elif isinstance(event, Message):
            chat_id = event.chat.id
        else:
            return await handler(event, data)
        staff = data["staff"] = StaffMember(data["bot"], data["services"], chat_id, event.from_user.id,
                                            event.from_user.first_name)
        if isinstance(event, CallbackQuery) and not await staff.member():
            await event.answer(reason_text("not_staff"), show_alert=True)
            return None
        return await handler(event, data)


def has_content(message: Message) -> bool:
    return bool(message.text or message.photo or message.document or message.voice)


class OnCard(Filter):
    """A message in a topic, or a reply to a message: passes it with the request or the consultation whose topic
    it is in, or whose card it replies to (a reply inside a topic counts for the topic only)."""

    async def __call__(self, message: Message, services: Services) -> bool | dict[str, Any]:
        found: dict[str, Any] = {"request": None, "consultation": None}
        if message.message_thread_id:
            if not has_content(message) or message.from_user.is_bot:
                return found
            chat_id, thread_id = message.chat.id, message.message_thread_id
            found["request"] = await services.requests.by_thread(chat_id, thread_id)
            if found["request"] is None:
                found["consultation"] = await services.consult.by_thread(chat_id, thread_id)
            return found
        if message.reply_to_message is None:
            return False
        chat_id, card_id = message.chat.id, message.reply_to_message.message_id
        found["request"] = await services.requests.by_card(chat_id, card_id)
        if found["request"] is None:
            found["consultation"] = await services.consult.by_card(chat_id, card_id)
        return found
