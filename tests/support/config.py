"""The bot's settings for the tests without HTTP (a token of the right shape, a database in the test's folder), and
the programmes of ../shared/seeds."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values = {"DATABASE_PATH": str(tmp_path / "bot.sqlite3"), "BOT_TOKEN": TOKEN, "ADMIN_IDS": "1"}
    values.update({k: str(v) for k, v in overrides.items()})
    return load_settings(**values)
