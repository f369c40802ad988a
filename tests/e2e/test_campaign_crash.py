"""A campaign survives kill -9 of the bot halfway: after a restart it finishes, and every resident has exactly
one copy (Telegram's flood control on all along)."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.steps import compose, residents
from sandbox import Sandbox, SandboxClient
from tests.support.campaigns import copies
from tests.support.processes import kill_hard, stop_gently
from tests.support.world import ENV_VARS, Person

pytestmark = pytest.mark.asyncio(loop_scope="function")
TOKEN = "7000000003:campaign-crash-token-not-for-telegram"
BOT_ID = 7000000003
ADMIN = 910001
RECIPIENTS = 300
TEXT = "Оновлений графік роботи ЦНАП у святкові дні"


def start_bot(sandbox: Sandbox, database: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.api_url, DATABASE_PATH=str(database), LOG_LEVEL="INFO",
               ADMIN_IDS=str(ADMIN), COMMUNITIES="lutsk")
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=database.parent, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_kill_9_halfway_through_a_campaign(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    log = tmp_path / "bot.log"
    sandbox = await Sandbox(bot_token=TOKEN, flood_control=True).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=10.0, bot_id=BOT_ID)
    process = None
    try:
        # 30 messages a second overall (the campaign sends one message per chat; the per-chat limit is lifted
        # only for the administrator's quick dialog, which is not what this test is about)
        await client.set_flood(True, per_chat_per_sec=100)
        process = start_bot(sandbox, database, log)
        await client.wait_bot_ready(timeout=30, bot_id=BOT_ID)
        ids = await client.create_users(RECIPIENTS, name="Мешканка")
        await residents(database, ids)
        admin = Person(client, await client.create_user("Адміністратор", user_id=ADMIN))
        await admin.say("/start")
        shown = await compose(admin, "events", TEXT, audience="👥 Усі мешканці", timeout=15)
        assert f"отримають {RECIPIENTS} мешканців" in shown[-1]["text"]
        await admin.tap("🚀 Надіслати зараз", new=1)

        deadline = time.monotonic() + 60
        while sum((await copies(client, ids[::10], TEXT)).values()) < len(ids[::10]) // 2:
            assert time.monotonic() < deadline, "the campaign did not get halfway"
            await asyncio.sleep(0.2)
        kill_hard(process)
        halfway = sum((await copies(client, ids, TEXT)).values())
        assert 0 < halfway < RECIPIENTS

        process = start_bot(sandbox, database, log)
        deadline = time.monotonic() + 90
        while True:
            got = await copies(client, ids, TEXT)
            if all(got[i] >= 1 for i in ids) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1)
        await asyncio.sleep(1.5)  # nothing more arrives
        got = await copies(client, ids, TEXT)
        duplicates = sum(1 for i in ids if got[i] > 1)
        missing = sum(1 for i in ids if got[i] == 0)
        print(f"\nkill -9 after {halfway} of {RECIPIENTS}: after the restart missing {missing}, duplicates "
              f"{duplicates}")
        assert (missing, duplicates) == (0, 0)
        calls = await client.calls()
        assert [c for c in calls if c.get("error_code") == 429] == []
    finally:
        stop_gently(process)
        await client.close()
        await sandbox.stop()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
