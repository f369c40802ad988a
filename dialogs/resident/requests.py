"""Asking for help, reporting someone in need, «Мої звернення», follow-ups, withdrawal and rating."""
from __future__ import annotations

import functools
import re
from datetime import datetime
from typing import Any, Awaitable, Callable, Optional, Union

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.dates import human_date
from bot.requests.clean import clean_text
from bot.requests.models import MAX_DESCRIPTION, MAX_FILE_BYTES, MAX_FILES, Attachment, Draft, Status
from bot.requests.service import RequestError
from bot.services import CONSENT_VERSION, Services
from bot.storage.residents import Resident
from dialogs.common import (
    BTN_ASK,
    BTN_MY,
    BTN_REPORT,
    N_,
    MenuButton,
    Nav,
    Routes,
    h,
    keyboard,
    locale,
    main_menu,
    nav_row,
    too_long,
)
from dialogs.consult_view import Cons
from dialogs.requests_view import FOR_WHOM, Req, institution_name, resident_history, resident_list, topic_of
from dialogs.resident import render
from dialogs.resident.browse import ask_community, community_of

router = Routes("resident.requests")
LIST_SIZE = 8
PHONE = re.compile(r"^(?:\+?38)?0(\d{9})$")

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


class Follow(StatesGroup):
    writing = State()
    comment = State()


def normalise_phone(text: str) -> Optional[str]:
    """A Ukrainian number in any usual spelling as +380XXXXXXXXX, or None."""
    digits = re.sub(r"[\s()\-.]", "", text.strip())
    match = PHONE.match(digits)
    return f"+380{match.group(1)}" if match else None


def attachment_of(message: Message) -> Optional[Attachment]:
    if message.photo:
        photo = message.photo[-1]
        return Attachment("photo", photo.file_id, None, photo.file_size)
    if message.document:
        doc = message.document
        return Attachment("document", doc.file_id, doc.file_name, doc.file_size)
    if message.voice:
        return Attachment("voice", message.voice.file_id, None, message.voice.file_size)
    return None


def read_input(message: Message, limit: int,
               max_bytes: Optional[int] = MAX_FILE_BYTES) -> tuple[str, list[Attachment], Optional[str]]:
    """What a person sent: its text (or caption), its file, and what is wrong with it if anything:
    'empty' (nothing we can pass on), 'too_long' (over `limit` characters) or 'too_big' (a file over
    `max_bytes`; staff answers pass None, since files are passed on by their Telegram id)."""
    attachment = attachment_of(message)
    text = message.text or message.caption or ""
    files = [attachment] if attachment else []
    if not text and not files:
        return text, files, "empty"
    if len(text) > limit:
        return text, files, "too_long"
    if max_bytes and attachment is not None and attachment.size and attachment.size > max_bytes:
        return text, files, "too_big"
    return text, files, None


def too_much(problem: Optional[str], limit: int) -> Optional[str]:
    """What to tell a resident whose message is too long or whose file is too big (read_input's problem)."""
    if problem == "too_long":
        return too_long(limit)
    if problem == "too_big":
        return _("This file is larger than {mb} MB. Please send a smaller one or a photo of it.").format(
            mb=MAX_FILE_BYTES // (1024 * 1024))
    return None


def choice(text: str, step: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AskCb(step=step, value=value).pack())


async def draft_of(state: FSMContext) -> Optional[Draft]:
    raw = (await state.get_data()).get("draft")
    return Draft.from_dict(raw) if raw else None


async def save(state: FSMContext, draft: Draft, **extra: Any) -> None:
    await state.update_data(draft=draft.to_dict(), **extra)


async def drop_buttons(message: Message) -> None:
    """Take the buttons off the message pressed; a made-up press on a message without them changes nothing."""
    if not message.reply_markup:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            raise


# ----- entry points ---------------------------------------------------------------------------------------------

@router.message(MenuButton(BTN_ASK), StateFilter("*"))
async def ask_from_menu(message: Message, state: FSMContext, services: Services, resident: Optional[Resident]) -> None:
    await begin(message, message.from_user.id, state, services, resident, kind="help")


@router.message(MenuButton(BTN_REPORT), StateFilter("*"))
async def report_from_menu(message: Message, state: FSMContext, services: Services,
                           resident: Optional[Resident]) -> None:
    await begin(message, message.from_user.id, state, services, resident, kind="report")


@router.callback_query(Nav.filter(F.screen == "ask"))
async def ask_from_card(query: CallbackQuery, callback_data: Nav, state: FSMContext, services: Services,
                        resident: Optional[Resident]) -> None:
    await query.answer()
    await begin(query.message, query.from_user.id, state, services, resident, kind="help",
                service_id=callback_data.item or None)


async def begin(message: Message, user_id: int, state: FSMContext, services: Services, resident: Optional[Resident],
                *, kind: str, service_id: Optional[str] = None) -> None:
    community = community_of(services, resident)
    if community is None:
        await ask_community(message)
        return
    if service_id and service_id not in community.services:
        service_id = None
    await state.clear()
    if await services.requests.cap_reached(user_id, "reports" if kind == "report" else "requests"):
        from dialogs.resident.caps import cap_text

        await message.answer(cap_text(services, community, "reports" if kind == "report" else "requests"),
                             reply_markup=main_menu())
        return
    draft = Draft(community=community.slug, resident_id=user_id, kind=kind, service_id=service_id)
    await save(state, draft)
    if not await services.requests.has_consent(user_id, CONSENT_VERSION):
        await state.set_state(Ask.consent)
        await message.answer(consent_text(services), reply_markup=keyboard([
            [choice(_("✅ I agree"), "consent", "yes")],
            [choice(_("No, thank you"), "consent", "no")],
        ]))
        return
    await next_step(message, state, services, draft)


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


@router.callback_query(Ask.consent, AskCb.filter(F.step == "consent"))
async def consent(query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services) -> None:
    await query.answer()
    if callback_data.value != "yes":
        await state.clear()
        await query.message.edit_text(_("All right, nothing was saved. You can still look for services and call "
                                        "the numbers in 🆘 Emergency help."))
        return
    await services.requests.give_consent(query.from_user.id, CONSENT_VERSION)
    follow = (await state.get_data()).get("after_consent")
    if follow:
        from dialogs.resident.consult import after_consent

        await query.message.edit_text(_("Thank you."))
        await after_consent(query.message, state, services, follow)
        return
    await query.message.edit_text(_("Thank you. Let us fill in the request, it takes a minute."))
    draft = await draft_of(state)
    if draft is None:
        await lost(query.message, state)
        return
    await next_step(query.message, state, services, draft)


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


async def next_step(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    """Ask for the first thing the draft still lacks."""
    data = await state.get_data()
    if draft.kind == "report" and not data.get("about_done"):
        await state.set_state(Ask.about)
        await message.answer(_("Who needs help?"), reply_markup=keyboard([
            [choice(_("👶 A child"), "about", "child")],
            [choice(_("👵 An older person"), "about", "older")],
            [choice(_("🧑 Another person"), "about", "other")],
            [choice(_("❌ Cancel"), "cancel")],
        ]))
        return
    if draft.kind == "help" and not draft.service_id and not data.get("topic_done"):
        community = services.catalogue.communities[draft.community]
        situations = services.catalogue.situations_of(community)
        rows = [[choice(s.name.get(locale()), "topic", s.id)] for s in situations]
        rows.append([choice(_("🤷 I am not sure"), "topic", "-")])
        rows.append([choice(_("❌ Cancel"), "cancel")])
        await state.set_state(Ask.topic)
        await message.answer(_("What is your request about?"), reply_markup=keyboard(rows))
        return
    if draft.kind == "help" and not draft.for_whom:
        await state.set_state(Ask.whom)
        await message.answer(_("Who is the help for?"), reply_markup=keyboard([
            [choice(_("🙋 For me"), "whom", "self")],
            [choice(_("👶 For my child"), "whom", "child")],
            [choice(_("👵 For a relative or neighbour"), "whom", "other")],
            [choice(_("❌ Cancel"), "cancel")],
        ]))
        return
    if not draft.description and not draft.files:
        await ask_description(message, state, draft)
        return
    if draft.kind == "report" and not data.get("anonymous_done"):
        await state.set_state(Ask.anonymous)
        await message.answer(_("Would you like to stay anonymous? The institution will then not be able to "
                               "contact you."), reply_markup=keyboard([
            [choice(_("🕶 Stay anonymous"), "anon", "yes")],
            [choice(_("👤 Give my contact"), "anon", "no")],
        ]))
        return
    if not draft.anonymous and not data.get("contact_done"):
        await ask_contact(message, state)
        return
    await show_summary(message, state, services, draft)


async def ask_description(message: Message, state: FSMContext, draft: Draft) -> None:
    await state.set_state(Ask.description)
    if draft.kind == "report":
        text = _("Describe what is happening and where (the village or street, if you know). "
                 "You can also send a voice message.")
    else:
        text = _("Describe briefly what happened and what help you need. You can send a voice message instead.")
    text += "\n\n" + ngettext("You can also attach up to {files} photo or document, up to {mb} MB.",
                               "You can also attach up to {files} photos or documents, up to {mb} MB each.",
                               MAX_FILES).format(files=MAX_FILES, mb=MAX_FILE_BYTES // (1024 * 1024))
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


# ----- steps ----------------------------------------------------------------------------------------------------

@router.callback_query(StateFilter(Ask), AskCb.filter(F.step == "cancel"))
async def cancel_form(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await query.message.answer(_("Done, I stopped that. Nothing was saved.") + "\n" + _("You are in the main menu."),
                               reply_markup=main_menu())


@router.message(StateFilter(Ask), MenuButton(BTN_CANCEL))
async def cancel_from_keyboard(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(_("Done, I stopped that. Nothing was saved.") + "\n" + _("You are in the main menu."),
                         reply_markup=main_menu())


@router.callback_query(Ask.about, AskCb.filter(F.step == "about"))
@with_draft
async def about(
    query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft,
) -> None:
    await query.answer()
    if callback_data.value not in ("child", "older", "other"):
        await lost(query.message, state)
        return
    draft.about_child = callback_data.value == "child"
    draft.situation_id = {"child": "child_at_risk", "older": "older_care"}.get(callback_data.value)
    draft.for_whom = "child" if draft.about_child else "other"
    await save(state, draft, about_done=True)
    await next_step(query.message, state, services, draft)


@router.callback_query(Ask.topic, AskCb.filter(F.step == "topic"))
@with_draft
async def topic(
    query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft,
) -> None:
    await query.answer()
    value = callback_data.value
    draft.situation_id = value if value in services.catalogue.situations else None
    await save(state, draft, topic_done=True)
    await next_step(query.message, state, services, draft)


@router.callback_query(Ask.whom, AskCb.filter(F.step == "whom"))
@with_draft
async def whom(query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft) -> None:
    await query.answer()
    if callback_data.value not in FOR_WHOM:
        await lost(query.message, state)
        return
    draft.for_whom = callback_data.value
    await save(state, draft)
    await next_step(query.message, state, services, draft)


@router.message(Ask.description)
@with_draft
async def description(
    message: Message, state: FSMContext, services: Services, resident: Optional[Resident], draft: Draft,
) -> None:
    attachment = attachment_of(message)
    if attachment is not None:
        if not await add_file(message, state, draft, attachment):
            return
        if message.caption:
            draft.description = (draft.description + "\n" + message.caption).strip()[:MAX_DESCRIPTION]
            await save(state, draft)
    elif message.text:
        if len(message.text) > MAX_DESCRIPTION:
            await message.answer(too_long(MAX_DESCRIPTION))
            return
        draft.description = message.text.strip()
        await save(state, draft)
    else:
        await message.answer(_("Please write in words, send a voice message, a photo or a document."))
        return
    assessment = services.triage.assess(draft.description) if draft.description else None
    if assessment:
        data = await state.get_data()
        if not data.get("danger_shown"):
            community = services.catalogue.communities[draft.community]
            await message.answer(render.emergency_text(services.catalogue, community, assessment.danger,
                                                       assessment.lines))
        await state.update_data(danger=list(assessment.danger), danger_shown=True)
    left = MAX_FILES - len(draft.files)
    text = _("Got it.") + " "
    if left > 0:
        text += ngettext("You can add {n} more photo or document, or go on.",
                         "You can add {n} more photos or documents, or go on.", left).format(n=left)
    await message.answer(text, reply_markup=keyboard([[choice(_("Next ➡️"), "described")],
                                                       [choice(_("❌ Cancel"), "cancel")]]))


async def add_file(message: Message, state: FSMContext, draft: Draft, attachment: Attachment) -> bool:
    if len(draft.files) >= MAX_FILES:
        await message.answer(ngettext("You have already attached {n} file, that is the limit. Press «Next ➡️».",
                                      "You have already attached {n} files, that is the limit. Press «Next ➡️».",
                                      MAX_FILES).format(n=MAX_FILES))
        return False
    if attachment.size and attachment.size > MAX_FILE_BYTES:
        await message.answer(_("This file is larger than {mb} MB. Please send a smaller one or a photo of it.").format(
            mb=MAX_FILE_BYTES // (1024 * 1024)))
        return False
    draft.files.append(attachment)
    if attachment.kind == "voice" and not draft.description:
        draft.description = "🎤 " + _("voice message")
    await save(state, draft)
    return True


@router.callback_query(Ask.description, AskCb.filter(F.step == "described"))
@with_draft
async def described(query: CallbackQuery, state: FSMContext, services: Services, draft: Draft) -> None:
    await query.answer()
    if not draft.description and not draft.files:
        await ask_description(query.message, state, draft)
        return
    await next_step(query.message, state, services, draft)


@router.callback_query(Ask.anonymous, AskCb.filter(F.step == "anon"))
@with_draft
async def anonymous(
    query: CallbackQuery, callback_data: AskCb, state: FSMContext, services: Services, draft: Draft,
) -> None:
    await query.answer()
    draft.anonymous = callback_data.value == "yes"
    if draft.anonymous:
        draft.contact_method, draft.contact_phone, draft.contact_name = "chat", None, None
    await save(state, draft, anonymous_done=True)
    await next_step(query.message, state, services, draft)


@router.message(Ask.contact, F.contact)
@with_draft
async def shared_contact(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    contact = message.contact
    if contact.user_id is not None and contact.user_id != message.from_user.id:
        await message.answer(_("This is someone else's contact. Please share your own number with the button, "
                               "or type the number."))
        return
    typed = clean_text(contact.phone_number)
    if contact.user_id is None:  # a contact card, not the resident's own account: its number as if typed
        draft.contact_method, draft.contact_name = "phone", None
    else:
        draft.contact_method = "telegram"
        draft.contact_name = clean_text(" ".join(filter(None, [contact.first_name, contact.last_name])))[:100] or None
    draft.contact_phone = normalise_phone(typed) or typed[:20]
    await save(state, draft, contact_done=True)
    await show_summary(message, state, services, draft)


@router.message(Ask.contact, MenuButton(BTN_TYPE))
async def will_type(message: Message, state: FSMContext) -> None:
    await state.set_state(Ask.phone)
    await message.answer(_("Please type your phone number, for example 067 123 45 67."),
                         reply_markup=main_menu())


@router.message(Ask.contact, MenuButton(BTN_CHAT_ONLY))
@with_draft
async def chat_only(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    draft.contact_method, draft.contact_phone, draft.contact_name = "chat", None, None
    await save(state, draft, contact_done=True)
    await show_summary(message, state, services, draft)


@router.message(Ask.contact)
async def contact_other(message: Message) -> None:
    await message.answer(_("Please choose one of the buttons below: share your number, type it, or stay in the "
                           "chat."))


@router.message(Ask.phone, F.text)
@with_draft
async def typed_phone(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    phone = normalise_phone(message.text)
    if phone is None:
        await message.answer(_("I could not read this as a Ukrainian phone number. Please type it like "
                               "067 123 45 67 or +380 67 123 45 67."))
        return
    draft.contact_method, draft.contact_phone, draft.contact_name = "phone", phone, None
    await save(state, draft, contact_done=True)
    await show_summary(message, state, services, draft)


async def show_summary(message: Message, state: FSMContext, services: Services, draft: Draft) -> None:
    await state.set_state(Ask.confirm)
    community = services.catalogue.communities[draft.community]
    from bot.requests.routing import route

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
    rows = [[choice(_("✅ Send"), "send")], [choice(_("✏️ Change the description"), "edit", "description")]]
    if not draft.anonymous:
        rows.append([choice(_("📞 Change the contact"), "edit", "contact")])
    rows.append([choice(_("❌ Cancel"), "cancel")])
    await message.answer(_("Almost done."), reply_markup=main_menu())
    await message.answer("\n".join(lines), reply_markup=keyboard(rows))


@router.callback_query(Ask.confirm, AskCb.filter(F.step == "edit"))
@with_draft
async def edit(query: CallbackQuery, callback_data: AskCb, state: FSMContext, draft: Draft) -> None:
    await query.answer()
    if callback_data.value == "contact":
        await state.update_data(contact_done=False)
        await ask_contact(query.message, state)
        return
    draft.description, draft.files = "", []
    await save(state, draft, danger_shown=False, danger=[])
    await ask_description(query.message, state, draft)


@router.callback_query(Ask.confirm, AskCb.filter(F.step == "send"))
@with_draft
async def send(query: CallbackQuery, state: FSMContext, services: Services, event_update: Update, draft: Draft) -> None:
    danger = (await state.get_data()).get("danger") or []
    try:
        request = await services.requests.create(draft, update_id=event_update.update_id, danger=danger)
    except RequestError as exc:  # the daily cap (a request with words of danger is never held back)
        await state.clear()
        await query.answer()
        if exc.reason == "cap":
            from dialogs.resident.caps import cap_text

            what = "reports" if draft.kind == "report" else "requests"
            await query.message.answer(cap_text(services, None, what), reply_markup=main_menu())
        return
    await state.clear()
    services.wake_outbox()
    await query.answer(_("Sent"))
    await query.message.edit_reply_markup(reply_markup=None)
    days = services.requests.response_days(request.community, request.institution_id)
    due = human_date(datetime.fromisoformat(request.due_at), locale())
    text = "✅ " + _("Your request No. <b>{number}</b> is accepted.").format(number=request.public_id)
    text += "\n" + _("It went to: {institution}.").format(
        institution=h(institution_name(services.catalogue, request, short=False)))
    if request.urgent:
        # no "within 3 working days" for someone who may be in danger: it goes to the top of the staff's list
        text += "\n\n🔴 " + _("We marked it as urgent: it is at the top of the specialists' list and they will "
                               "answer as soon as they can.")
        text += "\n" + urgent_advice(services, danger)
    else:
        text += "\n" + ngettext("Expect an answer within {n} working day, by {date}.",
                                "Expect an answer within {n} working days, by {date}.", days).format(n=days,
                                                                                                  date=due)
    text += "\n\n" + _("You will get a message here when something changes. Follow it in «📂 My requests».")
    sent = await query.message.answer(text, reply_markup=main_menu())
    # a quote-reply to the confirmation goes to the request (dialogs/resident/follow_ups.py)
    await services.requests.remember_messages(sent.chat.id, [sent.message_id], request.id)


def urgent_advice(services: Services, danger: list[str]) -> str:
    """What to do right now, by the most urgent kind of danger the description signals."""
    kinds = [kind for kind in services.triage.kinds if kind in danger]
    if "helpless" in danger:
        return _("If the person may be lying helpless, do not wait for us: call 103 (ambulance) or 112 now.")
    if "suicide" in danger:
        return _("If your life is in danger right now, call 112. Psychological support: 7333, day and night.")
    lines = ", ".join(services.triage.lines_for(kinds))
    return _("If you are in danger right now, call 112 or 102. Confidential help: {lines}.").format(lines=lines)


# ----- «Мої звернення» ------------------------------------------------------------------------------------------

@router.message(MenuButton(BTN_MY), StateFilter("*"))
async def my_requests(message: Message, state: FSMContext, services: Services) -> None:
    await state.clear()
    text, markup = await list_screen(services, message.from_user.id, 0)
    await message.answer(text, reply_markup=markup)


async def list_screen(services: Services, user_id: int, page: int) -> tuple[str, InlineKeyboardMarkup]:
    total = await services.requests.count_for_resident(user_id)
    page = max(0, min(page, max(0, (total - 1) // LIST_SIZE)))
    items = await services.requests.for_resident(user_id, limit=LIST_SIZE, offset=page * LIST_SIZE)
    rows = [[InlineKeyboardButton(text=f"№ {r.public_id} · {topic_of(services.catalogue, r)}"[:60],
                                  callback_data=Req(action="open", rid=r.id).pack())] for r in items]
    paging = []
    if page > 0:
        paging.append(InlineKeyboardButton(text=_("⬅️ Previous"),
                                           callback_data=Req(action="list", rid=0, arg=str(page - 1)).pack()))
    if (page + 1) * LIST_SIZE < total:
        paging.append(InlineKeyboardButton(text=_("Next ➡️"),
                                           callback_data=Req(action="list", rid=0, arg=str(page + 1)).pack()))
    rows.append(paging)
    rows.append([InlineKeyboardButton(text=_("📅 My bookings and consultations"),
                                      callback_data=Cons(action="bookings").pack())])
    rows.append(nav_row())
    return resident_list(services.catalogue, items, services.settings.tz), keyboard(rows)


@router.callback_query(Req.filter(F.action == "list"))
async def list_page(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    page = int(callback_data.arg) if callback_data.arg.isdigit() else 0
    text, markup = await list_screen(services, query.from_user.id, page)
    await query.answer()
    await query.message.edit_text(text, reply_markup=markup)


async def owned(query: CallbackQuery, services: Services, request_id: int):
    try:
        return await services.requests.owned(query.from_user.id, request_id)
    except RequestError:
        await query.answer(_("I could not find this request."), show_alert=True)
        return None


@router.callback_query(Req.filter(F.action == "open"))
async def open_request(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    request = await owned(query, services, callback_data.rid)
    if request is None:
        return
    await query.answer()
    texts, markup = await request_screen(services, request)
    for index, text in enumerate(texts):  # a long history comes in several messages, the buttons under the last
        await query.message.answer(text, reply_markup=markup if index == len(texts) - 1 else None)


async def request_screen(services: Services, request) -> tuple[list[str], InlineKeyboardMarkup]:
    events = await services.requests.history(request.id, public_only=True)
    rows = []
    if request.status.open:
        rows.append([InlineKeyboardButton(text=_("✍️ Add a message or a file"),
                                          callback_data=Req(action="write", rid=request.id).pack())])
        rows.append([InlineKeyboardButton(text=_("↩️ Withdraw the request"),
                                          callback_data=Req(action="withdraw", rid=request.id).pack())])
    elif request.status in (Status.resolved, Status.closed) and not request.rating:
        rows.append([InlineKeyboardButton(text=str(n), callback_data=Req(action="rate", rid=request.id,
                                                                         arg=str(n)).pack()) for n in range(1, 6)])
    rows.append([InlineKeyboardButton(text=_("◀️ Back"), callback_data=Req(action="list", rid=0).pack())])
    return resident_history(services.catalogue, request, events, services.settings.tz), keyboard(rows)


@router.callback_query(Req.filter(F.action == "write"))
async def write(query: CallbackQuery, callback_data: Req, state: FSMContext, services: Services) -> None:
    request = await owned(query, services, callback_data.rid)
    if request is None:
        return
    await query.answer()
    if not request.status.open:
        await query.message.answer(_("This request is finished. If you need more help, please send a new request."))
        return
    await state.set_state(Follow.writing)
    await state.update_data(rid=request.id)
    await query.message.answer(
        _("Write your message to request No. {number}, or send a photo, a document or a voice message.").format(
            number=request.public_id),
        reply_markup=keyboard([[choice(_("❌ Cancel"), "cancel")]]),
    )


@router.callback_query(Follow.writing, AskCb.filter(F.step == "cancel"))
@router.callback_query(Follow.comment, AskCb.filter(F.step == "cancel"))
async def cancel_follow(query: CallbackQuery, state: FSMContext) -> None:
    await query.answer()
    await state.clear()
    await query.message.answer(_("You are in the main menu."), reply_markup=main_menu())


@router.message(Follow.writing)
async def follow_message(message: Message, state: FSMContext, services: Services, event_update: Update,
                         resident: Optional[Resident]) -> None:
    request_id = (await state.get_data()).get("rid")
    text, files, problem = read_input(message, MAX_DESCRIPTION)
    if problem == "empty":
        await message.answer(_("Please write in words, send a voice message, a photo or a document."))
        return
    refusal = too_much(problem, MAX_DESCRIPTION)
    if refusal:
        await message.answer(refusal)
        return
    assessment = services.triage.assess(text) if text else None
    try:
        await services.requests.resident_message(message.from_user.id, int(request_id or 0), text, files,
                                                 update_id=event_update.update_id, urgent=bool(assessment))
    except RequestError as exc:
        await state.clear()
        if exc.reason == "cap":
            from dialogs.resident.caps import cap_text

            await message.answer(cap_text(services, None, "follow_ups"), reply_markup=main_menu())
        elif exc.reason != "duplicate":
            await message.answer(_("This request is finished or was not found. Please send a new request."),
                                 reply_markup=main_menu())
        return
    await state.clear()
    services.wake_outbox()
    if assessment and await services.requests.cap_reached(message.from_user.id, "follow_ups"):
        # past the daily cap only words of danger get through: the lines that help now come with them
        await message.answer(render.emergency_text(services.catalogue, community_of(services, resident),
                                                   assessment.danger, assessment.lines))
    sent = await message.answer("📨 " + _("Sent to the specialist. You will get the answer here."),
                                reply_markup=main_menu())
    await services.requests.remember_messages(sent.chat.id, [sent.message_id], int(request_id))


@router.callback_query(Req.filter(F.action == "withdraw"))
async def withdraw_ask(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    request = await owned(query, services, callback_data.rid)
    if request is None:
        return
    await query.answer()
    await query.message.answer(
        _("Withdraw request No. {number}? The institution will stop working on it.").format(number=request.public_id),
        reply_markup=keyboard([[InlineKeyboardButton(text=_("Yes, withdraw"), callback_data=Req(
            action="withdraw_yes", rid=request.id).pack())], [InlineKeyboardButton(
                text=_("No, keep it"), callback_data=Req(action="open", rid=request.id).pack())]]),
    )


@router.callback_query(Req.filter(F.action == "withdraw_yes"))
async def withdraw(query: CallbackQuery, callback_data: Req, services: Services) -> None:
    if await owned(query, services, callback_data.rid) is None:
        return
    try:
        request = await services.requests.withdraw(query.from_user.id, callback_data.rid)
    except RequestError:
        await query.answer(_("This request is already finished."), show_alert=True)
        return
    services.wake_outbox()
    await query.answer()
    await query.message.edit_text("↩️ " + _("Request No. {number} is withdrawn.").format(number=request.public_id))


@router.callback_query(Req.filter(F.action == "rate"))
async def rate(query: CallbackQuery, callback_data: Req, state: FSMContext, services: Services) -> None:
    if await owned(query, services, callback_data.rid) is None:
        return
    try:
        rating = int(callback_data.arg)
        request = await services.requests.rate(query.from_user.id, callback_data.rid, rating)
    except (ValueError, RequestError):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    services.wake_outbox()
    await query.answer(_("Thank you!"))
    await drop_buttons(query.message)
    await state.set_state(Follow.comment)
    await state.update_data(rid=request.id)
    await query.message.answer(
        _("Thank you for the rating {stars}. Would you like to add a comment? Write it, or press «Skip».").format(
            stars="⭐" * rating),
        reply_markup=keyboard([[choice(_("Skip"), "cancel")]]),
    )


@router.message(Follow.comment, F.text)
async def rating_comment(message: Message, state: FSMContext, services: Services) -> None:
    request_id = (await state.get_data()).get("rid")
    await state.clear()
    if not await services.requests.rating_comment(message.from_user.id, int(request_id or 0), message.text[:1000]):
        await message.answer(_("You are in the main menu."), reply_markup=main_menu())
        return
    await message.answer(_("Thank you, your comment is saved."), reply_markup=main_menu())

