"""Assembly of the bot: settings, database, catalogue, dispatcher, and what runs around polling or a webhook."""
from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import AsyncIterator, Optional

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.strategy import FSMStrategy
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats
from aiogram.utils.i18n import I18n

from bot.admins import AdminRepo
from bot.campaigns.engine import CampaignEngine
from bot.campaigns.service import CampaignService, Subscriptions
from bot.catalogue.loader import load_catalogue
from bot.catalogue.reader import load_language_model
from bot.catalogue.search import SearchEngine
from bot.config import Settings
from bot.consult.service import ConsultService
from bot.delivery.limiter import Limiter, Limits
from bot.delivery.outbox import Outbox
from bot.i18n import make_i18n
from bot.ops.catalogue import with_overlays
from bot.ops.catalogue_edits.versions import CatalogueEdits
from bot.requests.service import Caps, RequestService
from bot.runtime import inbox
from bot.runtime.health import serve_health
from bot.runtime.housekeeping import housekeeping
from bot.runtime.middlewares import LocaleMiddleware, ResidentMiddleware, UpdateLogMiddleware
from bot.runtime.polling import TolerantSession
from bot.runtime.ratelimit import RateLimitMiddleware, limiter_of
from bot.runtime.routing import route_updates
from bot.runtime.sending import LimiterMiddleware, attach_once, retry_in_place
from bot.runtime.speedups import fast_bot_context, keep_response_types
from bot.services import Services
from bot.storage.db import Database
from bot.storage.fsm import InTurn, SQLiteStorage
from bot.storage.residents import ResidentRepo
from dialogs import setup_routers
from dialogs.campaign_view import TelegramCampaignSender
from dialogs.outbox.sender import TelegramSender

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    services: Services
    dispatcher: Dispatcher
    i18n: I18n

    async def close(self) -> None:
        await self.dispatcher.storage.close()
        await self.services.db.close()

    def serving(self, bot: Bot, mode: str):
        """`serving` below, for bot/runtime/web.py, which must not import this module."""
        return serving(self, bot, mode)


async def build_services(settings: Settings) -> Services:
    """data/ with the communities' own corrections kept in the database (bot/ops/catalogue_edits/)."""

    load_language_model()  # first: what loading it frees is reused by the catalogue (a lower peak of memory)
    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    db = await Database(settings.database_path, settings.database_busy_timeout).connect()
    edits = CatalogueEdits(db)
    signature = await edits.signature()
    catalogue = with_overlays(catalogue, await edits.overlays(), settings.data_dir)
    edits.served = signature
    requests = RequestService(db, catalogue, settings.tz, caps=Caps(
        requests=settings.daily_requests, reports=settings.daily_reports, follow_ups=settings.daily_follow_ups,
        bookings=settings.daily_bookings))
    return Services(
        settings=settings,
        db=db,
        catalogue=catalogue,
        search=SearchEngine(catalogue),
        residents=ResidentRepo(db),
        requests=requests,
        consult=ConsultService(db, catalogue, settings.tz, requests),
        admins=await AdminRepo(db, settings.admin_ids).load(),
        limiter=Limiter(limits_of(settings)),
        campaigns=CampaignService(db, list(catalogue.communities)),
        subscriptions=Subscriptions(db),
        catalogue_edits=edits,
    )


def limits_of(settings: Settings) -> Limits:
    return Limits(per_second=settings.send_per_second, per_chat_per_second=settings.send_per_chat_per_second,
                  per_group_per_minute=settings.send_per_group_per_minute, paid_per_second=settings.paid_per_second)


def attach_limiter(bot: Bot, limiter: Limiter) -> None:
    """Every message this bot sends takes its turn from `limiter` (once, however often it is called)."""

    attach_once(bot, LimiterMiddleware(limiter))


async def build_app(settings: Settings) -> App:

    services = await build_services(settings)
    i18n = make_i18n(settings)
    # A dialog state is kept per person and forum topic: an answer begun under one request's card and written in
    # another request's topic belongs to the topic it is written in (USER_IN_CHAT would send it to the first).
    dp = Dispatcher(storage=SQLiteStorage(services.db, max_age=timedelta(days=settings.draft_days)),
                    fsm_strategy=FSMStrategy.USER_IN_TOPIC, events_isolation=InTurn(), services=services,
                    settings=settings)
    dp.update.outer_middleware(inbox.ForgetHandled(services.db))  # outermost: whatever happens inside
    dp.update.outer_middleware(UpdateLogMiddleware(services.activity))
    limiter = limiter_of(settings)
    if limiter is not None:  # before anything that reads the database: a flood is dropped cheaply
        dp.update.outer_middleware(RateLimitMiddleware(limiter, i18n, settings.default_locale))
    dp.update.outer_middleware(ResidentMiddleware())
    LocaleMiddleware(i18n, settings.default_locale).setup(dp)
    setup_routers(dp)
    route_updates(dp)  # an update goes only to the handlers whose filters could accept it
    return App(settings=settings, services=services, dispatcher=dp, i18n=i18n)


def make_bot(settings: Settings, token: Optional[str] = None, api_url: Optional[str] = None) -> Bot:
    keep_response_types()
    fast_bot_context()
    url = api_url or settings.telegram_api_url
    session = (TolerantSession(api=TelegramAPIServer.from_base(url), timeout=settings.api_timeout) if url
               else TolerantSession(timeout=settings.api_timeout))
    return Bot(
        token=token or settings.token or "",
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


async def set_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in each language."""
    for locale in i18n.available_locales:
        with i18n.use_locale(locale):
            commands = [
                BotCommand(command="start", description=i18n.gettext("Start and choose the language")),
                BotCommand(command="menu", description=i18n.gettext("Main menu")),
                BotCommand(command="help", description=i18n.gettext("What this bot can do")),
                BotCommand(command="cancel", description=i18n.gettext("Stop what I am doing")),
            ]
        language = None if locale == i18n.default_locale else locale
        await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats(), language_code=language)


DRAIN_SECONDS = 25.0  # on stop: how long the updates in hand, then the outbox's rows in flight, may take


@asynccontextmanager
async def serving(app: App, bot: Bot, mode: str) -> AsyncIterator[None]:
    """What runs around the updates in either mode: the command menu, the outbox and the housekeeping. On the
    way out the updates in hand are finished first, then the outbox finishes the rows in flight."""

    me = await bot.get_me()
    log.info("bot @%s started (%s); serving %s", me.username, mode, ", ".join(app.services.served))
    try:
        await set_commands(bot, app.i18n)
    except Exception as exc:  # the command menu is a convenience, not a reason to stop
        log.warning("could not set the command menu: %s", type(exc).__name__)
    services = app.services
    attach_limiter(bot, services.limiter)
    services.outbox = Outbox(services.db, TelegramSender(bot, services, app.i18n))
    services.campaign_engine = CampaignEngine(services.campaigns, TelegramCampaignSender(bot, services, app.i18n),
                                              services.limiter, paid_allowed=app.settings.paid_broadcast)
    # The catalogue, the search index and the library's models live as long as the process: keep the
    # garbage collector from walking them again and again (full collections were pauses under load).
    gc.collect()
    gc.freeze()
    halt = asyncio.Event()
    own_retries = retry_in_place.set(False)  # the workers retry through their own durable rows
    workers = [
        asyncio.create_task(services.outbox.run(halt), name="outbox"),
        asyncio.create_task(housekeeping(services, halt), name="housekeeping"),
        asyncio.create_task(services.campaign_engine.run(halt), name="campaigns"),
    ]
    retry_in_place.reset(own_retries)
    activity = services.activity
    activity.mode, activity.stopping, activity.workers = mode, False, workers
    try:
        yield
    finally:
        activity.stopping = True
        if not await activity.drained(DRAIN_SECONDS):
            log.warning("stopping with %d update(s) still in hand", activity.in_flight)
        halt.set()
        _, late = await asyncio.wait(workers, timeout=DRAIN_SECONDS)
        for task in late:
            log.warning("%s did not finish in %.0f s; stopped", task.get_name(), DRAIN_SECONDS)
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        services.outbox = None
        services.campaign_engine = None
        log.info("bot stopped after %d update(s)", activity.handled)


async def run_polling(app: App, bot: Bot, stop: Optional[asyncio.Event] = None) -> None:
    """Poll until cancelled (or until `stop` is set); the outbox and the reminders work alongside. With
    HEALTH_PORT set, `/healthz` is served there."""

    try:
        await bot.delete_webhook(drop_pending_updates=False)  # after webhook mode: polling is refused while set
    except Exception as exc:
        log.warning("could not remove a webhook: %s", type(exc).__name__)
    health = await serve_health(app.services) if app.settings.health_port else None
    try:
        async with serving(app, bot, "polling"):
            inbox.attach(bot, app.services.db)
            # what the previous run took but did not finish goes alongside the new updates, never before them:
            # one of them waiting for Telegram must not keep the bot from listening
            replaying = asyncio.create_task(inbox.replay(bot, app.dispatcher, app.services.db), name="inbox replay")
            polling = asyncio.create_task(
                app.dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=10)
            )
            if stop is None:
                await polling
            else:
                waiter = asyncio.create_task(stop.wait())
                await asyncio.wait({polling, waiter}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if not polling.done():
                    await app.dispatcher.stop_polling()
                    await polling
            await asyncio.wait({replaying}, timeout=DRAIN_SECONDS)
            replaying.cancel()
    finally:
        if health is not None:
            await health.cleanup()
