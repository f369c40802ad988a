from __future__ import annotations

import pytest

from bot.catalogue.loader import load_catalogue
from bot.catalogue.search import SearchEngine
from bot.config import PROJECT_ROOT
from tests.support.config import TOKEN, make_settings


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(PROJECT_ROOT / "data")


@pytest.fixture(scope="session")
def engine(catalogue):
    return SearchEngine(catalogue)


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
