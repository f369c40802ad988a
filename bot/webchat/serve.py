"""The web chat in the bot's process: the web bot beside the Telegram bot, and its HTTP server (`python -m bot run`
with WEB_CHAT=on, and always beside the sandbox when there is no token)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from aiogram import Bot
from aiohttp import web

from bot.webchat.channel import WebChannel, make_web_bot
from bot.webchat.http import WebChatServer
from bot.webchat.notice import Notifier
from bot.webchat.store import WebStore

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("bot.webchat")


@dataclass
class RunningWebChat:
    server: WebChatServer
    runner: web.AppRunner
    url: str
    notices: Optional[tuple[asyncio.Task, asyncio.Event]] = None

    async def stop(self) -> None:
        if self.notices is not None:
            self.notices[1].set()
            await self.notices[0]
        await self.runner.cleanup()


async def start_web_chat(app: "App", telegram: Bot) -> RunningWebChat:
    """Give the Telegram bot its web half and serve the chat on WEB_CHAT_HOST:WEB_CHAT_PORT."""
    settings = app.settings
    store = WebStore(app.services.db)
    channel = WebChannel(store, make_web_bot(store, telegram), app.dispatcher)
    notifier = None
    if settings.email_notice:  # only with SMTP configured: web residents may leave an e-mail for a notice
        notifier = Notifier(store, settings, f"{settings.web_chat_url}/chat" if settings.web_chat_url else "")
    server = WebChatServer(channel, settings, app.services.served, notifier=notifier)
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.web_chat_host, settings.web_chat_port)
    await site.start()
    port = runner.addresses[0][1] if runner.addresses else settings.web_chat_port
    host = settings.web_chat_host if settings.web_chat_host not in ("0.0.0.0", "::") else "127.0.0.1"
    url = f"http://{host}:{port}/chat"
    log.info("web chat: %s%s", url, f" (public: {settings.web_chat_url}/chat)" if settings.web_chat_url else "")
    if notifier is not None and not settings.web_chat_url:  # on one's own machine: the local address
        notifier.chat_url = url
    running = RunningWebChat(server, runner, url)
    if notifier is not None:
        halt = asyncio.Event()
        running.notices = (asyncio.create_task(notifier.run(halt), name="web chat notices"), halt)
        log.info("web chat: e-mail notices through %s:%s", settings.smtp_host, settings.smtp_port)
    return running


async def web_chat_beside_sandbox(app: "App", telegram: Bot) -> tuple[Optional[RunningWebChat], str]:
    """Without a token the web chat runs beside the sandbox whatever WEB_CHAT says (it is all on this machine); when
    its port is taken (another local run) the bot and the sandbox go on without it. The line to print about it."""
    try:
        running = await start_web_chat(app, telegram)
    except OSError as exc:
        return None, f"  The residents' web chat did not start ({exc.strerror}; see WEB_CHAT_PORT).\n"
    return running, f"  The residents' web chat, for people without Telegram: {running.url}\n"
