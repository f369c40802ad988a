"""Fixtures: a running sandbox, its control client, an aiogram Bot on it and a raw Bot API caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot

from sandbox import Sandbox, SandboxClient
from tests.support.browser import chromium
from tests.support.sandbox_bots import BOT_TOKEN, RawCall, echo_dispatcher, make_bot


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sb = await Sandbox(bot_token=BOT_TOKEN).start("127.0.0.1", 0)
    yield sb
    await sb.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.url, timeout=5.0) as control:
        yield control


@pytest.fixture
async def bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    tg = make_bot(sandbox)
    yield tg
    await tg.session.close()


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[RawCall]:
    """``await raw("sendMessage", chat_id=1, text="x")`` posts JSON; ``how`` = json | form | query."""
    async with aiohttp.ClientSession() as http:

        async def call(
            method: str, *, token: str = BOT_TOKEN, how: str = "json", **params: Any
        ) -> tuple[int, dict[str, Any]]:
            url = f"{sandbox.api_url}/bot{token}/{method}"
            if how == "query":
                request = http.get(url, params={k: str(v) for k, v in params.items()})
            elif how == "form":
                request = http.post(url, data={k: str(v) for k, v in params.items()})
            else:
                request = http.post(url, json=params)
            async with request as response:
                return response.status, await response.json()

        yield call


@pytest.fixture
async def echo_bot(sandbox: Sandbox, client: SandboxClient) -> AsyncIterator[Bot]:
    """The echo bot polling the sandbox (as the default bot) until the test ends."""
    tg = make_bot(sandbox)
    dp = echo_dispatcher()
    task = asyncio.create_task(dp.start_polling(tg, handle_signals=False, polling_timeout=5))
    await client.wait_bot_ready()
    yield tg
    await dp.stop_polling()
    await task


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, for the web chat's tests (skipped where it is missing, except in CI)."""
    async with chromium() as launched:
        yield launched
