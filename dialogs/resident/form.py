"""The request form as data: which steps there are, what each asks, when it applies and what it stores; one
function finds the next step from the draft, one asks it. The answers are taken in dialogs/resident/form_answers.py.

A step is answered when the draft holds its answer, or (for a question whose answer may be "nothing", like «not
sure» or «stay anonymous») when the conversation's data has its `done` flag. The draft and the flags live in the
conversation's data, stored in SQLite, so a form survives a restart.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Optional, Union

from aiogram import F
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, KeyboardButton, Message, ReplyKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.requests.models import MAX_FILES, Draft, max_file_bytes
from bot.requests.routing import route
from bot.services import Services
from dialogs.common import N_, h, keyboard, locale, main_menu
from dialogs.requests_view import FOR_WHOM

BTN_SHARE = N_("📱 Share my number")
BTN_TYPE = N_("☎️ Type a number")
BTN_CHAT_ONLY = N_("💬 Only here in the chat")
BTN_CANCEL = N_("❌ Cancel")


class AskCb(CallbackData, prefix="a"):
    step: str
    value: str = ""


class Ask(StatesGroup):
    consent = State()
    topic = State()
    whom = State()
    about = State()
    description = State()
    anonymous = State()
    contact = State()
    phone = State()
    confirm = State()


def choice(text: str, step: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AskCb(step=step, value=value).pack())


# ----- the draft in the conversation's data ---------------------------------------------------------------------

async def draft_of(state: FSMContext) -> Optional[Draft]:
    raw = (await state.get_data()).get("draft")
    return Draft.from_dict(raw) if raw else None


async def save(state: FSMContext, draft: Draft, **extra: Any) -> None:
    await state.update_data(draft=draft.to_dict(), **extra)


async def lost(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("This form has expired. Please start again from the menu."), reply_markup=main_menu())


def with_draft(handler: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Give a step of the form its draft as `draft`; when the draft is gone (an old button after a reset),
    say kindly that the form expired instead of running the step."""

    @functools.wraps(handler)
    async def step(event: Union[Message, CallbackQuery], *args: Any, state: FSMContext, **kwargs: Any) -> None:
        draft = await draft_of(state)
        if draft is None:
            if isinstance(event, CallbackQuery):
                await event.answer()
                await lost(event.message, state)
            else:
                await lost(event, state)
            return
        await handler(event, *args, state=state, draft=draft, **kwargs)

    return step


# ----- the steps ------------------------------------------------------------------------------------------------

Options = Callable[[Services, Draft], list[tuple[str, str]]]  # (label as shown, value)


@dataclass(frozen=True)
class Step:
    name: str  # its state in Ask
    applies: Callable[[Draft], bool]  # whether this draft asks it at all
    answered: Callable[[Draft, Mapping[str, Any]], bool]  # given the draft and the conversation's data
    stores: str  # what its answer fills in (for the reader; the handlers in form_answers.py do it)
    question: str = ""  # a choice step: its question (a msgid) ...
    options: Optional[Options] = None  # ... and its buttons
    cancel: bool = True  # a choice step offers «Cancel»
    button: str = ""  # the `step` of its buttons' AskCb when not its name

    @property
    def pressed(self) -> str:
        return self.button or self.name

    def answer_filters(self) -> tuple[Any, ...]:
        """The filters of a press on one of its buttons: in its state, with its step."""
        return self.state, AskCb.filter(F.step == self.pressed)

    @property
    def state(self) -> State:
        return getattr(Ask, self.name)


def fixed(*options: tuple[str, str]) -> Options:
    """Options that are the same for every draft: (msgid, value)."""
    return lambda services, draft: [(_(label), value) for label, value in options]


def situations(services: Services, draft: Draft) -> list[tuple[str, str]]:
    community = services.catalogue.communities[draft.community]
    options = [(s.name.get(locale()), s.id) for s in services.catalogue.situations_of(community)]
    return options + [(_("🤷 I am not sure"), "-")]


def flag(name: str) -> Callable[[Draft, Mapping[str, Any]], bool]:
    return lambda draft, data: bool(data.get(name))


ABOUT = {"child": N_("👶 A child"), "older": N_("👵 An older person"), "other": N_("🧑 Another person")}
ABOUT_SITUATION = {"child": "child_at_risk", "older": "older_care"}
# a help request's «for whom»: the keys of dialogs.requests_view.FOR_WHOM
WHOM = {"self": N_("🙋 For me"), "child": N_("👶 For my child"), "other": N_("👵 For a relative or neighbour")}

STEPS: tuple[Step, ...] = (
    Step("about", applies=lambda d: d.kind == "report", answered=flag("about_done"),
         stores="about_child, situation_id (a child at risk, an older person's care) and for_whom; flag about_done",
         question=N_("Who needs help?"), options=fixed(*((label, value) for value, label in ABOUT.items()))),
    Step("topic", applies=lambda d: d.kind == "help" and not d.service_id, answered=flag("topic_done"),
         stores="situation_id (none when not sure); flag topic_done",
         question=N_("What is your request about?"), options=situations),
    Step("whom", applies=lambda d: d.kind == "help", answered=lambda d, data: bool(d.for_whom),
         stores="for_whom", question=N_("Who is the help for?"),
         options=fixed(*((label, value) for value, label in WHOM.items()))),
    Step("description", applies=lambda d: True, answered=lambda d, data: bool(d.description or d.files),
         stores="description and files (up to MAX_FILES); the danger the words signal, in the data"),
    Step("anonymous", applies=lambda d: d.kind == "report", answered=flag("anonymous_done"),
         stores="anonymous (then no contact); flag anonymous_done",
         question=N_("Would you like to stay anonymous? The institution will then not be able to contact you."),
         options=fixed((N_("🕶 Stay anonymous"), "yes"), (N_("👤 Give my contact"), "no")), cancel=False,
         button="anon"),
    Step("contact", applies=lambda d: not d.anonymous, answered=flag("contact_done"),
         stores="contact_method, contact_phone, contact_name; flag contact_done"),
)
STEP = {step.name: step for step in STEPS}
# The choices the summary can change (besides the description and the contact): pressed, the step is asked again
# and, the rest of the draft kept, the summary comes back (`reopen` forgets only that step's answer).
CHANGES = (("topic", N_("🗂 Change the topic")), ("whom", N_("👥 Change for whom")),
           ("about", N_("👥 Change who needs help")))


def can_change(draft: Draft, name: str) -> bool:
    """Whether the summary offers to change step `name`: a help request's topic (also one started from a service
    card) and for whom, a report's «who needs help»."""
    if name == "topic":
        return draft.kind == "help"
    return name in STEP and name in {n for n, _label in CHANGES} and STEP[name].applies(draft)


def reopen(draft: Draft, name: str) -> dict[str, Any]:
    """Forget the answer of step `name` so that `next_of` asks it again; the flags to store with the draft. A
    request started from a service card changes its topic by leaving the service for a life situation."""
    if name == "topic":
        draft.service_id, draft.situation_id = None, None
        return {"topic_done": False}
    if name == "whom":
        draft.for_whom = None
        return {}
    draft.about_child, draft.situation_id, draft.for_whom = False, None, None
    return {"about_done": False}


def next_of(draft: Draft, data: Mapping[str, Any]) -> Optional[Step]:
    """The first step this draft still lacks; None when only the summary is left."""
    return next((step for step in STEPS if step.applies(draft) and not step.answered(draft, data)), None)


async def next_step(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    """Ask for the first thing the draft still lacks, or show the summary."""
    step = next_of(draft, await state.get_data())
    if step is None:
        await show_summary(message, state, services, draft)
    elif step.name == "description":
        await ask_description(message, state, draft)
    elif step.name == "contact":
        await ask_contact(message, state)
    else:
        await ask_choice(message, state, services, draft, step)


async def ask_choice(message: Message, state: FSMContext, services: Services, draft: Draft, step: Step) -> None:
    rows = [[choice(label, step.pressed, value)] for label, value in step.options(services, draft)]
    if step.cancel:
        rows.append([choice(_("❌ Cancel"), "cancel")])
    await state.set_state(step.state)
    await message.answer(_(step.question), reply_markup=keyboard(rows))


async def ask_description(message: Message, state: FSMContext, draft: Draft) -> None:
    await state.set_state(Ask.description)
    if draft.kind == "report":
        text = _("Describe what is happening and where (the village or street, if you know). "
                 "You can also send a voice message.")
    else:
        text = _("Describe briefly what happened and what help you need. You can send a voice message instead.")
    text += "\n\n" + ngettext("You can also attach up to {files} photo or document, up to {mb} MB.",
                               "You can also attach up to {files} photos or documents, up to {mb} MB each.",
                               MAX_FILES).format(files=MAX_FILES, mb=max_file_bytes(message.chat.id) // (1024 * 1024))
    await message.answer(text, reply_markup=keyboard([[choice(_("❌ Cancel"), "cancel")]]))


async def ask_contact(message: Message, state: FSMContext) -> None:
    await state.set_state(Ask.contact)
    markup = ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=_(BTN_SHARE), request_contact=True)],
            [KeyboardButton(text=_(BTN_TYPE))],
            [KeyboardButton(text=_(BTN_CHAT_ONLY))],
            [KeyboardButton(text=_(BTN_CANCEL))],
        ],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(_("How can the specialist reach you?"), reply_markup=markup)


# ----- the summary ----------------------------------------------------------------------------------------------

async def show_summary(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    await state.set_state(Ask.confirm)
    text = summary_text(services, draft)
    rows = [[choice(_("✅ Send"), "send")]]
    rows += [[choice(_(label), "edit", name)] for name, label in CHANGES if can_change(draft, name)]
    rows.append([choice(_("✏️ Change the description"), "edit", "description")])
    if not draft.anonymous:
        rows.append([choice(_("📞 Change the contact"), "edit", "contact")])
    rows.append([choice(_("❌ Cancel"), "cancel")])
    await message.answer(_("Almost done."), reply_markup=main_menu())
    await message.answer(text, reply_markup=keyboard(rows))


def summary_text(services: Services, draft: Draft) -> str:
    community = services.catalogue.communities[draft.community]
    institution_id = route(community, service_id=draft.service_id, situation_id=draft.situation_id,
                           about_child=draft.about_child or draft.for_whom == "child", report=draft.kind == "report")
    institution = community.institutions[institution_id]
    loc = locale()
    if draft.service_id:
        about = community.services[draft.service_id].name.get(loc)
    elif draft.situation_id:
        about = services.catalogue.situations[draft.situation_id].name.get(loc)
    else:
        about = _("Not sure, please advise")
    lines = ["<b>" + _("Please check your request") + "</b>", ""]
    lines.append(_("About: {topic}").format(topic=h(about)))
    if draft.kind == "help" and draft.for_whom in FOR_WHOM:
        lines.append(_("For whom: {whom}").format(whom=_(FOR_WHOM[draft.for_whom])))
    lines.append(_("Description: {text}").format(text=h(draft.description or "—")))
    if draft.files:
        lines.append(_("Attached files: {n}").format(n=len(draft.files)))
    if draft.anonymous:
        lines.append(_("Contact: anonymous"))
    elif draft.contact_method in ("telegram", "phone"):
        lines.append(_("Contact: {phone}").format(phone=h(draft.contact_phone or "")))
    else:
        lines.append(_("Contact: only here in the chat"))
    lines.append(_("It will go to: {institution}").format(institution=h(institution.name.get(loc))))
    return "\n".join(lines)
