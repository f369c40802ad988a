"""Administrators: /campaign, the guided composition of a campaign (topic, text, attachment, button, audience,
test send, now or at a time). /campaigns and the controls are in campaign_list.py, who may in admins.py."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Optional
from urllib.parse import urlsplit

from aiogram import F
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import get_i18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.campaigns.html import check_html
from bot.campaigns.service import MAX_CAPTION, MAX_TEXT, Audience, Campaign, CampaignError, Draft
from bot.labels import shorten
from bot.services import Services
from dialogs.admin.admins import allowed
from dialogs.campaign_view import Camp, deliver_to, topic_name
from dialogs.common import Routes, h, keyboard, locale

router = Routes("admin.campaigns")
PAGE = 8
LABEL = 60  # characters of a button's label
DETECTED = {"url", "mention", "hashtag", "cashtag", "bot_command", "email", "phone_number"}


class Form(StatesGroup):
    topic = State()
    text = State()
    media = State()
    button = State()
    url = State()
    audience = State()
    ready = State()
    when = State()


class Step(CallbackData, prefix="cs"):
    """A choice while composing: what (topic, media, button, comm, svc, cons, aud, lang, go) and its value."""

    what: str
    value: str = ""
    page: int = 0


def choice(text: str, what: str, value: str = "", page: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Step(what=what, value=value, page=page).pack())


def cancel_row() -> list[InlineKeyboardButton]:
    return [choice(_("✖️ Stop composing"), "stop")]


# ----- composing -----------------------------------------------------------------------------------------------

@router.message(Command("campaign"), StateFilter("*"))
async def compose(message: Message, state: FSMContext, services: Services) -> None:
    if not await allowed(message, services):
        return
    await state.clear()
    await state.set_state(Form.topic)
    lang = locale()
    rows = [[choice(t.name.get(lang), "topic", t.id)] for t in services.catalogue.news_topics]
    await message.answer(_("📣 <b>New campaign</b>\nWhich topic is it about? Residents who unsubscribed from the "
                           "topic will not receive it, and the message will carry a button to unsubscribe."),
                         reply_markup=keyboard([*rows, cancel_row()]))


@router.callback_query(Step.filter(F.what == "stop"), StateFilter("*"))
async def stop(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    await query.message.edit_text(_("Composing stopped; nothing was sent."))


@router.callback_query(Step.filter(F.what == "topic"), StateFilter(Form.topic))
async def topic_chosen(query: CallbackQuery, callback_data: Step, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    if services.catalogue.news_topic(callback_data.value) is None:
        await query.answer(_("This button is out of date."))
        return
    await state.update_data(topic=callback_data.value)
    await state.set_state(Form.text)
    await query.answer()
    await query.message.edit_text(
        _("Topic: {topic}\n\nNow send the text of the message. You may format it in Telegram, or write Telegram's "
          "HTML: &lt;b&gt;bold&lt;/b&gt;, &lt;i&gt;italic&lt;/i&gt;, &lt;a href=\"https://…\"&gt;link&lt;/a&gt;. "
          "Up to 4096 characters, or 1024 with a photo or a document.").format(
            topic=h(topic_name(services, callback_data.value, locale()))))


def html_of(message: Message) -> str:
    """Formatting made in Telegram arrives as entities; tags typed by hand arrive as text. (Links, mentions and
    commands Telegram finds by itself are entities too, but they are not formatting.)"""
    if any(entity.type not in DETECTED for entity in message.entities or ()):
        return message.html_text
    return message.text or ""


def problem_text(kind: Optional[str], detail: Optional[str]) -> str:
    lead = {
        "tag": _("A tag Telegram does not allow."),
        "attribute": _("A tag attribute Telegram does not allow."),
        "unclosed": _("A tag is opened but not closed."),
        "nesting": _("Tags are closed in the wrong order."),
        "entity": _("A special character must be written as an entity."),
        "link": _("A link must be a web address (https://…)."),
        "length": _("The text is too long."),
        "empty": _("The text is empty."),
    }.get(kind or "", _("The text cannot be sent."))
    return _("{lead} Details: <code>{detail}</code>\nPlease send the corrected text.").format(
        lead=lead, detail=h(detail or ""))


@router.message(StateFilter(Form.text))
async def text_given(message: Message, state: FSMContext, services: Services) -> None:
    if not await allowed(message, services):
        return
    if not message.text:
        await message.answer(_("Please send the text as a message; an attachment comes next."))
        return
    text = html_of(message)
    checked = check_html(text, MAX_TEXT)
    if not checked.ok:
        await message.answer(problem_text(checked.kind, checked.problem))
        return
    await state.update_data(text=text)
    await state.set_state(Form.media)
    await message.answer(_("Attach a photo or a document (a leaflet, a poster), or go on without one."),
                         reply_markup=keyboard([[choice(_("➡️ Without an attachment"), "media")], cancel_row()]))


@router.message(StateFilter(Form.media), F.photo | F.document)
async def media_given(message: Message, state: FSMContext, services: Services) -> None:
    if not await allowed(message, services):
        return
    data = await state.get_data()
    checked = check_html(data["text"], MAX_CAPTION)
    if not checked.ok:
        await message.answer(_("With an attachment the text may have at most 1024 characters; it has {n}. Send "
                               "a shorter text with /campaign, or go on without the attachment.").format(
                                   n=checked.length),
                             reply_markup=keyboard([[choice(_("➡️ Without an attachment"), "media")],
                                                    cancel_row()]))
        return
    if message.photo:
        await state.update_data(media_kind="photo", media_file_id=message.photo[-1].file_id)
    else:
        await state.update_data(media_kind="document", media_file_id=message.document.file_id)
    await ask_button(message, state)


@router.message(StateFilter(Form.media))
async def media_other(message: Message) -> None:
    await message.answer(_("Please send a photo or a document, or press «Without an attachment»."))


@router.callback_query(Step.filter(F.what == "media"), StateFilter(Form.media))
async def no_media(query: CallbackQuery, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    await query.answer()
    await state.update_data(media_kind=None, media_file_id=None)
    await ask_button(query.message, state)


async def ask_button(message: Message, state: FSMContext) -> None:
    await state.set_state(Form.button)
    await message.answer(
        _("Add a button under the message? A button to a service card or to a consultation topic opens it in the "
          "bot, and the opens are counted."),
        reply_markup=keyboard([
            [choice(_("📄 A service card"), "button", "service")],
            [choice(_("💬 A consultation topic"), "button", "consultation")],
            [choice(_("🔗 A web address"), "button", "url")],
            [choice(_("➡️ No button"), "button", "none")],
            cancel_row(),
        ]))


@router.callback_query(Step.filter(F.what == "button"), StateFilter(Form.button))
async def button_kind(query: CallbackQuery, callback_data: Step, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    await query.answer()
    kind = callback_data.value
    lang = locale()
    if kind == "service":
        served = services.served
        if len(served) == 1:
            await show_services(query.message, services, served[0], 0)
        else:
            rows = [[choice(services.catalogue.communities[s].model.name.get(lang), "comm", s)] for s in served]
            await query.message.answer(_("Services of which community?"), reply_markup=keyboard([*rows, cancel_row()]))
    elif kind == "consultation":
        rows = [[choice(t.name.get(lang), "cons", t.id)] for t in services.catalogue.consultation_topics]
        await query.message.answer(_("Which consultation topic? Each resident gets the line of their community."),
                                   reply_markup=keyboard([*rows, cancel_row()]))
    elif kind == "url":
        await state.set_state(Form.url)
        await query.message.answer(_("Send the web address (it starts with https://)."))
    else:
        await state.update_data(button_kind=None, button_value=None)
        await ask_audience(query.message, state, services)


async def show_services(message: Message, services: Services, community: str, page: int) -> None:
    view = services.catalogue.communities[community]
    items = list(view.services.values())
    lang = locale()
    chunk = items[page * PAGE:(page + 1) * PAGE]
    rows = [[choice(shorten(s.name.get(lang), LABEL), "svc", f"{community}.{s.id}")] for s in chunk]
    paging = []
    if page > 0:
        paging.append(choice("⬅️", "svcpage", community, page - 1))
    if (page + 1) * PAGE < len(items):
        paging.append(choice("➡️", "svcpage", community, page + 1))
    await message.answer(_("Which service? (page {page} of {pages})").format(
        page=page + 1, pages=max(1, -(-len(items) // PAGE))), reply_markup=keyboard([*rows, paging, cancel_row()]))


@router.callback_query(Step.filter(F.what.in_({"comm", "svcpage"})), StateFilter(Form.button))
async def services_page(query: CallbackQuery, callback_data: Step, services: Services) -> None:
    if not await allowed(query, services):
        return
    if callback_data.value not in services.catalogue.communities:
        await query.answer(_("This button is out of date."))
        return
    await query.answer()
    await show_services(query.message, services, callback_data.value, max(0, callback_data.page))


@router.callback_query(Step.filter(F.what.in_({"svc", "cons"})), StateFilter(Form.button))
async def target_chosen(query: CallbackQuery, callback_data: Step, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    if callback_data.what == "svc":
        community, _sep, service_id = callback_data.value.partition(".")
        view = services.catalogue.communities.get(community)
        if view is None or service_id not in view.services:
            await query.answer(_("This button is out of date."))
            return
        await state.update_data(button_kind="service", button_value=f"{community}:{service_id}", community=community)
    else:
        if callback_data.value not in {t.id for t in services.catalogue.consultation_topics}:
            await query.answer(_("This button is out of date."))
            return
        await state.update_data(button_kind="consultation", button_value=callback_data.value)
    await query.answer()
    await ask_audience(query.message, state, services)


@router.message(StateFilter(Form.url))
async def url_given(message: Message, state: FSMContext, services: Services) -> None:
    if not await allowed(message, services):
        return
    address = (message.text or "").strip()
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in address or len(address) > 2000:
        await message.answer(_("This does not look like a web address. Send one that starts with https://"))
        return
    await state.update_data(button_kind="url", button_value=address)
    await ask_audience(message, state, services)


# ----- the audience --------------------------------------------------------------------------------------------

async def ask_audience(message: Message, state: FSMContext, services: Services) -> None:
    await state.set_state(Form.audience)
    data = await state.get_data()
    lang = locale()
    topic = topic_name(services, data["topic"], lang)
    rows = []
    fixed = data.get("community")  # a service card belongs to one community: only its residents
    if fixed:
        name = services.catalogue.communities[fixed].model.name.get(lang)
        rows.append([choice(_("🏘 Residents of {community}").format(community=name), "aud", f"all.{fixed}")])
        rows.append([choice(_("🔔 Subscribers of «{topic}» in {community}").format(topic=topic, community=name),
                            "aud", f"subs.{fixed}")])
    else:
        rows.append([choice(_("👥 All residents"), "aud", "all.")])
        rows.append([choice(_("🔔 Subscribers of «{topic}»").format(topic=topic), "aud", "subs.")])
        if len(services.served) > 1:
            for slug in services.served:
                name = services.catalogue.communities[slug].model.name.get(lang)
                rows.append([choice(_("🏘 Residents of {community}").format(community=name), "aud", f"all.{slug}")])
    await message.answer(_("Who should receive it?"), reply_markup=keyboard([*rows, cancel_row()]))


@router.callback_query(Step.filter(F.what == "aud"), StateFilter(Form.audience))
async def audience_chosen(query: CallbackQuery, callback_data: Step, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    who, _sep, community = callback_data.value.partition(".")
    data = await state.get_data()
    if who not in ("all", "subs") or (community and community not in services.served) or (
            data.get("community") and community != data["community"]):
        await query.answer(_("This button is out of date."))
        return
    await state.update_data(who=who, audience_community=community or None)
    await query.answer()
    await query.message.answer(_("In which language do the recipients use the bot?"), reply_markup=keyboard([
        [choice(_("Any language"), "lang", "any")],
        [choice("🇺🇦 Українська", "lang", "uk"), choice("🇬🇧 English", "lang", "en")],
        cancel_row()]))


@router.callback_query(Step.filter(F.what == "lang"), StateFilter(Form.audience))
async def language_chosen(query: CallbackQuery, callback_data: Step, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    if callback_data.value not in ("any", "uk", "en"):
        await query.answer(_("This button is out of date."))
        return
    await state.update_data(language=None if callback_data.value == "any" else callback_data.value)
    await state.set_state(Form.ready)
    await query.answer()
    await preview(query.message, query.from_user.id, state, services)


def draft_of(data: dict[str, Any], services: Services) -> Draft:
    audience = Audience(community=data.get("audience_community"), subscribers_only=data.get("who") == "subs",
                        locale=data.get("language"))
    return Draft(topic=data["topic"], text=data["text"], audience=audience, media_kind=data.get("media_kind"),
                 media_file_id=data.get("media_file_id"), button_kind=data.get("button_kind"),
                 button_value=data.get("button_value"), paid=services.settings.paid_broadcast)


def as_campaign(draft: Draft, admin_id: int) -> Campaign:
    """The draft shaped like a campaign, for the test send (number 0: its opens are not counted anywhere)."""
    return Campaign(0, admin_id, "", "scheduled", draft.topic, draft.text, draft.audience, draft.media_kind,
                    draft.media_file_id, draft.button_kind, draft.button_value, False, None, None, None, 0, None,
                    None)


async def preview(message: Message, admin_id: int, state: FSMContext, services: Services) -> None:
    """Send the message to the administrator exactly as residents will get it (the engine's own rendering: the
    text, the attachment and the buttons in the audience's language, for the audience's community), then ask
    what to do."""
    data = await state.get_data()
    draft = draft_of(data, services)
    resident = await services.residents.get(admin_id)
    community = draft.audience.community or (resident.community if resident else None) or services.served[0]
    await message.answer(_("🧪 Test send: this is exactly what residents will get."))
    try:
        await deliver_to(message.bot, services, get_i18n(), as_campaign(draft, admin_id), admin_id, community,
                         draft.audience.locale or locale())
    except Exception as exc:  # Telegram refused the text or the file: say so and let them start again
        await state.clear()
        await message.answer(_("Telegram refused the message: {error}. Please compose it again: /campaign").format(
            error=h(str(exc)[:300])))
        return
    count = await services.campaigns.audience_size(draft.topic, draft.audience)
    await message.answer(
        ngettext("It will go to {n} resident now (the list is fixed when sending starts). Send it?",
                 "It will go to {n} residents now (the list is fixed when sending starts). Send it?",
                 count).format(n=count),
        reply_markup=keyboard([
            [choice(_("🚀 Send now"), "go", "now")],
            [choice(_("🕒 At a date and time"), "go", "later")],
            [choice(_("🧪 Test send again"), "go", "test")],
            cancel_row()]))


@router.callback_query(Step.filter(F.what == "go"), StateFilter(Form.ready))
async def go(query: CallbackQuery, callback_data: Step, state: FSMContext, services: Services) -> None:
    if not await allowed(query, services):
        return
    await query.answer()
    if callback_data.value == "test":
        await preview(query.message, query.from_user.id, state, services)
    elif callback_data.value == "later":
        await state.set_state(Form.when)
        await query.message.answer(_("Send the date and time in Kyiv time, like this: 25.12.2026 10:00"))
    elif callback_data.value == "now":
        await create(query.message, query.from_user.id, state, services, None)


WHEN = re.compile(r"^\s*(\d{1,2})\.(\d{1,2})\.(\d{4})\s+(\d{1,2})[:.](\d{2})\s*$")


@router.message(StateFilter(Form.when))
async def when_given(message: Message, state: FSMContext, services: Services) -> None:
    if not await allowed(message, services):
        return
    match = WHEN.match(message.text or "")
    moment = None
    if match:
        day, month, year, hour, minute = map(int, match.groups())
        try:
            moment = datetime(year, month, day, hour, minute, tzinfo=services.settings.tz)
        except ValueError:
            moment = None
    if moment is None:
        await message.answer(_("I did not understand the date. Please write it like this: 25.12.2026 10:00"))
        return
    if moment <= services.campaigns.clock():
        await message.answer(_("This moment has passed. Please send a later date and time."))
        return
    await create(message, message.from_user.id, state, services, moment)


async def create(message: Message, admin_id: int, state: FSMContext, services: Services,
                 when: Optional[datetime]) -> None:
    data = await state.get_data()
    try:
        campaign = await services.campaigns.create(draft_of(data, services), admin_id, when)
    except CampaignError as exc:
        await message.answer(_("The campaign cannot be created: {error}").format(error=h(str(exc))))
        return
    await state.clear()
    await services.campaigns.set_progress_message(campaign.id, message.chat.id, None)
    if when is None:
        await message.answer(_("🚀 Campaign No. {id} is starting. Its progress will be shown below.").format(
            id=campaign.id))
    else:
        local = when.astimezone(services.settings.tz).strftime("%d.%m.%Y %H:%M")
        await message.answer(_("🕒 Campaign No. {id} will start at {when} (Kyiv time). /campaigns lists it; it "
                               "can be cancelled until then.").format(id=campaign.id, when=local),
                             reply_markup=keyboard([[InlineKeyboardButton(
                                 text=_("⛔ Cancel"), callback_data=Camp(action="cancel", id=campaign.id).pack())]]))
    services.wake_campaigns()
