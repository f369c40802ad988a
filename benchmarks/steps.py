"""Steps with the bot that the benchmarks and the e2e tests both take (tests may import this module; nothing under
benchmarks/ imports tests/): the shell variables a bot process must not inherit, the language buttons of /start,
residents written into a database, and an administrator composing a campaign up to its test send."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.storage.db import Database, utcnow
from sandbox.person import Person

# Variables of a developer's shell that would change what the bot serves.
ENV_VARS = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_PATH",
    "COMMUNITIES",
    "ADMIN_IDS",
    "DEFAULT_LOCALE",
    "TIMEZONE",
    "DATA_DIR",
    "LOG_LEVEL",
)
LANGUAGE_BUTTONS = {"uk": "🇺🇦 Українська", "en": "🇬🇧 English"}
TOPICS = {
    "services": "Нові послуги та як їх отримати",
    "families": "Сім’ї з дітьми",
    "older": "Літні люди",
    "disability": "Люди з інвалідністю",
    "veterans": "Ветерани та їхні родини",
    "idp": "Переселенці (ВПО)",
    "events": "Події громади",
}


async def compose(admin: Person, topic: str, text: str, *, audience: str | None = None,
                  timeout: float | None = None) -> list[dict[str, Any]]:
    """The administrator's guided composition up to the test send; returns the last messages."""
    await admin.say("/campaign")
    await admin.tap(TOPICS[topic])
    await admin.say(text)
    await admin.tap("➡️ Без вкладення", new=1)
    await admin.tap("➡️ Без кнопки", new=1)
    await admin.tap(audience or f"🔔 Підписники теми «{TOPICS[topic]}»", new=1)
    return await admin.tap("Будь-якою мовою", new=3, timeout=timeout)


async def residents(database: Path, ids: list[int]) -> None:
    db = await Database(database).connect()
    now = utcnow()
    async with db.transaction() as conn:
        for user_id in ids:
            await conn.execute("INSERT INTO residents (user_id, locale, community, created_at, updated_at) "
                               "VALUES (?, 'uk', 'lutsk', ?, ?)", (user_id, now, now))
    await db.close()
