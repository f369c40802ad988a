"""A kill -9 of the bot process between confirming a request and delivering it loses nothing."""
from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from sandbox import Sandbox, SandboxClient
from sandbox.client import message_text
from tests.support.processes import kill_hard, stop_gently
from tests.support.world import COMMUNITIES, ENV_VARS, Person

pytestmark = pytest.mark.asyncio(loop_scope="function")
TOKEN = "7000000002:crash-test-token-not-for-telegram"


def start_bot(sandbox: Sandbox, database: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.api_url, DATABASE_PATH=str(database), LOG_LEVEL="INFO",
               ADMIN_IDS="")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=database.parent, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def card_count(client: SandboxClient, group_id: int, number: str) -> int:
    messages = await client.messages(group_id)
    return sum(1 for m in messages if m.get("sender") == "bot" and f"Звернення № {number}" in message_text(m))


async def cards_settled(database: Path, timeout: float = 30.0) -> None:
    """Wait until the bot has recorded every card as delivered. A card whose call was under way when the process
    died is sent again on purpose (seen twice rather than never: Telegram cannot be asked whether it arrived), so
    a kill in the few milliseconds between Telegram's answer and the record would rightly post it twice; this test
    is about a card delivered and recorded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)) as conn:
            (left,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = 'card' AND (status = 'pending' "
                                   "OR in_flight_since IS NOT NULL)").fetchone()
        if not left:
            return
        assert loop.time() < deadline, f"{left} card row(s) still not recorded as delivered"
        await asyncio.sleep(0.1)


async def test_kill_between_confirming_and_delivering(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    sandbox = await Sandbox(bot_token=TOKEN).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=8.0, bot_id=7000000002)
    process = start_bot(sandbox, database, log)
    try:
        await client.wait_bot_ready(timeout=20, bot_id=7000000002)
        user = await client.create_user("Оксана", language_code="uk")
        person = Person(client, user)
        await person.say("/start")
        await person.tap("🇺🇦 Українська", new=1)
        await person.tap(COMMUNITIES["uk"]["kakhovka"], new=2)  # the menu and the offer of news
        [consent] = await person.say("📝 Попросити допомогу")
        await person.tap("✅ Погоджуюся", new=1)
        await person.tap("🤷 Не знаю", new=1)
        await person.tap("🙋 Для себе", new=1)
        await person.say("Потрібна порада, як оформити допомогу")
        await person.tap("Далі ➡️", new=1)
        await person.say("💬 Лише тут, у чаті", count=2)
        accepted = (await person.tap("✅ Надіслати", new=1))[-1]
        number = message_text(accepted).split("№", 1)[1].split()[0]

        # the institution has no group yet, so the card waits in the outbox; the process dies hard
        kill_hard(process)
        process = start_bot(sandbox, database, log)
        await client.wait_bot_ready(timeout=20, bot_id=7000000002)

        staff = await client.create_user("Ірина", language_code="uk")
        group = await client.create_group("Управління", forum=True, members=[staff], bots=[7000000002])
        code = subprocess.run(
            [sys.executable, "-m", "bot", "bind-code", "--community", "kakhovka", "uszn"],
            cwd=PROJECT_ROOT, env={**os.environ, "DATABASE_PATH": str(database)}, capture_output=True, text=True,
            timeout=60, check=True,
        ).stdout.split("code: ", 1)[1].split()[0]
        await client.send_text(staff, f"/bind {code}", chat_id=group["id"])
        for _ in range(100):
            if await card_count(client, group["id"], number):
                break
            await asyncio.sleep(0.1)
        assert await card_count(client, group["id"], number) == 1
        await cards_settled(database)

        # and another hard restart does not send it again
        kill_hard(process)
        process = start_bot(sandbox, database, log)
        await client.wait_bot_ready(timeout=20, bot_id=7000000002)
        await asyncio.sleep(1.5)
        assert await card_count(client, group["id"], number) == 1
    finally:
        stop_gently(process)
        await client.close()
        await sandbox.stop()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
