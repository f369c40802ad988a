"""What news a resident receives: topics to tick in settings and after /start, and one-tap unsubscribe."""
from __future__ import annotations

from aiogram import F
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.services import Services
from dialogs.campaign_view import Unsub
from dialogs.common import Nav, Routes, button, h, keyboard, locale, nav_row

router = Routes("resident.subscriptions")


async def subscriptions_screen(services: Services, user_id: int, first_time: bool = False
                               ) -> tuple[str, InlineKeyboardMarkup]:
    chosen = await services.subscriptions.of(user_id)
    lang = locale()
    if first_time:
        text = _("Would you like news from your community? Tick the topics that matter to you; you can change "
                 "this any time in ⚙️ Settings. Messages are rare, and every one has a button to stop them.")
    else:
        text = _("<b>News I receive</b>\nTick the topics that matter to you. Important messages for all residents "
                 "still come unless you unsubscribe from their topic.")
    rows = []
    for topic in services.catalogue.news_topics:
        mark = "✅" if chosen.get(topic.id) else "⬜"
        rows.append([button(f"{mark} {topic.name.get(lang)}", "sub", topic.id, page=int(first_time))])
    rows.append([button(_("👍 Done"), "menu")] if first_time else nav_row(back=("settings", "", 0)))
    return text, keyboard(rows)


async def offer_subscriptions(message: Message, services: Services, user_id: int) -> None:
    """After the first /start: the topics, all unticked (nobody is subscribed without asking)."""
    if services.catalogue.news_topics:
        text, markup = await subscriptions_screen(services, user_id, first_time=True)
        await message.answer(text, reply_markup=markup)


@router.callback_query(Nav.filter(F.screen == "subs"))
async def show(query: CallbackQuery, services: Services) -> None:
    await query.answer()
    text, markup = await subscriptions_screen(services, query.from_user.id)
    await query.message.answer(text, reply_markup=markup)


@router.callback_query(Nav.filter(F.screen == "sub"))
async def toggle(query: CallbackQuery, callback_data: Nav, services: Services) -> None:
    topic = services.catalogue.news_topic(callback_data.item)
    if topic is None:
        await query.answer(_("This button is out of date."))
        return
    subscribed = await services.subscriptions.toggle(query.from_user.id, topic.id)
    name = topic.name.get(locale())
    await query.answer(_("Subscribed: {topic}").format(topic=name) if subscribed
                       else _("Unsubscribed: {topic}").format(topic=name))
    text, markup = await subscriptions_screen(services, query.from_user.id, first_time=bool(callback_data.page))
    try:
        await query.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest:  # an old message that cannot be edited: show the screen anew
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(Unsub.filter())
async def unsubscribe(query: CallbackQuery, callback_data: Unsub, services: Services) -> None:
    """One tap under a campaign message: no more messages of this topic, not even those to everyone."""
    topic = services.catalogue.news_topic(callback_data.topic)
    if topic is None:
        await query.answer(_("This button is out of date."))
        return
    await services.subscriptions.set(query.from_user.id, topic.id, False)
    name = topic.name.get(locale())
    await query.answer(_("Done: no more messages on «{topic}».").format(topic=name), show_alert=True)
    markup = query.message.reply_markup if query.message else None
    if markup is not None:  # the other buttons stay; the unsubscribe one has done its work
        rows = [[b for b in row if not (b.callback_data or "").startswith(f"{Unsub.__prefix__}:")]
                for row in markup.inline_keyboard]
        try:
            await query.message.edit_reply_markup(reply_markup=keyboard(rows) if any(rows) else None)
        except TelegramBadRequest:
            pass
    await query.message.answer(
        _("You unsubscribed from «{topic}». To choose again: ⚙️ Settings → 🔔 News I receive.").format(topic=h(name)),
        reply_markup=keyboard([[button(_("🔔 News I receive"), "subs")]]))

