import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT, ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("BOT_TOKEN", "ADMIN_IDS", "COMMUNITIES", "TIMEZONE", "DEFAULT_LOCALE", "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults():
    settings = load_settings()
    assert settings.default_locale == "uk"
    assert settings.timezone == "Europe/Kyiv"
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.token is None and settings.communities == [] and settings.admin_ids == []


def test_lists_from_the_environment(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "12, 34;56")
    monkeypatch.setenv("COMMUNITIES", "Lutsk,kakhovka")
    settings = load_settings()
    assert settings.admin_ids == [12, 34, 56]
    assert settings.communities == ["lutsk", "kakhovka"]


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("ADMIN_IDS=7\nDEFAULT_LOCALE=en\n")
    settings = load_settings()
    assert settings.admin_ids == [7] and settings.default_locale == "en"


@pytest.mark.parametrize(
    "name,value",
    [
        ("ADMIN_IDS", "12,abc"),
        ("TIMEZONE", "Mars/Olympus"),
        ("BOT_TOKEN", "not-a-token"),
        ("DEFAULT_LOCALE", "ru"),
        ("TELEGRAM_API_URL", "ftp://x"),
        ("SANDBOX_PORT", "eighty"),
    ],
)
def test_wrong_value_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith("configuration error: " + name + ":")
    assert "\n" not in message


def test_wrong_value_stops_start_up_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "ADMIN_IDS": "boss", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "check-data"], cwd=tmp_path, env={**env, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: ADMIN_IDS: 'boss' is not a Telegram user id (digits only)"
    assert "Traceback" not in result.stderr
