"""Webhook mode: Telegram POSTs updates to WEBHOOK_URL; a local aiohttp server takes them (usually behind a
reverse proxy that terminates HTTPS) and also serves `/healthz`."""
from __future__ import annotations

import asyncio
import json
import logging
import secrets
from typing import TYPE_CHECKING, Optional

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.runtime import inbox
from bot.runtime.activity import Activity
from bot.runtime.health import health_handler
from bot.storage.db import Database

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("bot.webhook")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(SimpleRequestHandler):
    """aiogram's handler (answers at once, handles the update in a task) with the secret always required, and
    503 while stopping, so that Telegram keeps the update and sends it again after the restart."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret: str, activity: Activity, db: Database):
        super().__init__(dispatcher, bot, handle_in_background=True, secret_token=secret)
        self.activity = activity
        self.db = db

    async def _handle_request_background(self, bot: Bot, request: web.Request) -> web.Response:
        """Keep the update in the inbox before answering: once answered, Telegram forgets it, and a kill -9
        before its handling ends would lose it."""
        update = await request.json(loads=bot.session.json_loads)
        if isinstance(update, dict) and isinstance(update.get("update_id"), int):
            await inbox.keep(self.db, [(update["update_id"], json.dumps(update, ensure_ascii=False))])
        return await super()._handle_request_background(bot, request)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        return bool(self.secret_token) and secrets.compare_digest(telegram_secret_token.encode(),
                                                                  self.secret_token.encode())

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            log.warning("webhook: a call without the right secret from %s refused", request.remote)
            return web.Response(status=401, text="Unauthorized")
        if self.activity.stopping:
            return web.Response(status=503, text="Stopping")
        try:
            return await super().handle(request)
        except ValueError:  # not JSON
            return web.Response(status=400, text="Bad Request")


def webhook_app(app: "App", bot: Bot, secret: str) -> web.Application:
    services = app.services
    web_app = web.Application()
    web_app.router.add_get("/healthz", health_handler(services))
    handler = UpdateHandler(app.dispatcher, bot, secret, services.activity, services.db)
    # Registered by hand: aiogram's register() would close the bot's session at shutdown, before the outbox
    # has finished the rows in flight.
    web_app.router.add_post(app.settings.webhook_path, handler.handle)
    return web_app


async def run_webhook(app: "App", bot: Bot, stop: Optional[asyncio.Event] = None) -> None:
    """Serve the webhook until cancelled (or until `stop` is set). The webhook stays set at Telegram on stop:
    updates wait there until the bot is back."""
    settings = app.settings
    if not settings.webhook_url:
        raise RuntimeError("WEBHOOK_URL is not set")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    runner = web.AppRunner(webhook_app(app, bot, secret), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        async with app.serving(bot, "webhook"):
            replaying = asyncio.create_task(inbox.replay(bot, app.dispatcher, app.services.db), name="inbox replay")
            await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
            try:
                await bot.set_webhook(
                    settings.webhook_url,
                    secret_token=secret,
                    allowed_updates=app.dispatcher.resolve_used_update_types(),
                    drop_pending_updates=False,
                )
            except TelegramAPIError as exc:
                raise SystemExit(f"Telegram refused the webhook {settings.webhook_url}: {exc.message}") from None
            log.info("webhook: %s → http://%s:%s%s", settings.webhook_url, settings.webhook_host,
                     settings.webhook_port, settings.webhook_path)
            await (stop.wait() if stop is not None else asyncio.Event().wait())
            replaying.cancel()
    finally:
        await runner.cleanup()
