from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.catalogue.loader import load_catalogue
from bot.catalogue.search import SearchEngine
from bot.config import PROJECT_ROOT, Settings, load_settings

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"


def seed_text(file_name: str) -> str:
    """The text of one programme from ../shared/seeds.

    The seeds sit beside the checkout in CI (.ci/run sets CI), where a missing one is a failure; on a
    developer's clone without them the test is skipped and says why.
    """
    path = SEEDS / file_name
    if path.exists():
        return path.read_text(encoding="utf-8")
    reason = f"the programme {file_name} is not in {SEEDS} (../shared is not beside this checkout)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(PROJECT_ROOT / "data")


@pytest.fixture(scope="session")
def engine(catalogue):
    return SearchEngine(catalogue)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values = {"DATABASE_PATH": str(tmp_path / "bot.sqlite3"), "BOT_TOKEN": TOKEN, "ADMIN_IDS": "1"}
    values.update({k: str(v) for k, v in overrides.items()})
    return load_settings(**values)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for name in ("COMMUNITIES", "DEFAULT_LOCALE", "TIMEZONE", "DATA_DIR", "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's leaks in
    return make_settings(tmp_path)


@pytest.fixture
async def harness(settings):
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties

    from bot.app import build_app
    from tests.support.harness import Harness, RecordingSession

    app = await build_app(settings)
    session = RecordingSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield Harness(app=app, bot=bot, session=session)
    await app.close()
