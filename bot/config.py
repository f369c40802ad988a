"""Configuration read once from the environment and `.env`."""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("uk", "en")
TOKEN_PATTERN = r"^\d{3,15}:[A-Za-z0-9_-]{20,}$"


class ConfigError(Exception):
    """A configuration value is wrong; the message is one readable line."""


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: Optional[SecretStr] = Field(default=None, alias="BOT_TOKEN")
    telegram_api_url: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_URL")
    # seconds one Bot API call may take before it counts as failed (and is tried again)
    api_timeout: float = Field(default=30.0, ge=1, le=600, alias="API_TIMEOUT")
    # for links and QR codes made without asking Telegram (the CLI); the running bot asks getMe
    bot_username: Optional[str] = Field(default=None, alias="BOT_USERNAME")
    database_path: Path = Field(default=PROJECT_ROOT / "var" / "bot.sqlite3", alias="DATABASE_PATH")
    communities: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="COMMUNITIES")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, alias="ADMIN_IDS")
    default_locale: str = Field(default="uk", alias="DEFAULT_LOCALE")
    timezone: str = Field(default="Europe/Kyiv", alias="TIMEZONE")
    data_dir: Path = Field(default=PROJECT_ROOT / "data", alias="DATA_DIR")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    admin_chat_id: Optional[int] = Field(default=None, alias="ADMIN_CHAT_ID")
    retention_days: int = Field(default=365, ge=1, le=3650, alias="RETENTION_DAYS")
    # an unfinished dialog (a half-written request holds a description, a phone, photos) is forgotten after this
    draft_days: int = Field(default=7, ge=1, le=365, alias="DRAFT_DAYS")
    remind_after_hours: int = Field(default=24, ge=1, le=720, alias="REMIND_AFTER_HOURS")
    # days after a request is resolved that the resident is asked whether the help came (0: never asked)
    confirm_after_days: int = Field(default=3, ge=0, le=60, alias="CONFIRM_AFTER_DAYS")
    # Webhook mode (`run --webhook`) and the health endpoint
    webhook_url: Optional[str] = Field(default=None, alias="WEBHOOK_URL")
    webhook_secret: Optional[SecretStr] = Field(default=None, alias="WEBHOOK_SECRET")
    webhook_host: str = Field(default="127.0.0.1", alias="WEBHOOK_HOST")
    webhook_port: int = Field(default=8081, ge=1, le=65535, alias="WEBHOOK_PORT")
    health_host: str = Field(default="127.0.0.1", alias="HEALTH_HOST")
    health_port: Optional[int] = Field(default=None, ge=1, le=65535, alias="HEALTH_PORT")
    sandbox_host: str = Field(default="127.0.0.1", alias="SANDBOX_HOST")
    sandbox_port: int = Field(default=8080, ge=0, le=65535, alias="SANDBOX_PORT")
    # The web chat for residents without Telegram (bot/webchat/): off unless WEB_CHAT=on
    web_chat: bool = Field(default=False, alias="WEB_CHAT")
    web_chat_host: str = Field(default="127.0.0.1", alias="WEB_CHAT_HOST")
    web_chat_port: int = Field(default=8082, ge=0, le=65535, alias="WEB_CHAT_PORT")
    # the public address the page is served at behind the reverse proxy (its origin is the only one allowed)
    web_chat_url: Optional[str] = Field(default=None, alias="WEB_CHAT_URL")
    web_chat_pow_bits: int = Field(default=18, ge=0, le=28, alias="WEB_CHAT_POW_BITS")
    # the community sites whose pages may show the chat in a frame (the widget); none: only the chat's own origin
    web_chat_embed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list,
                                                                   alias="WEB_CHAT_EMBED_ORIGINS")
    # the reverse proxies in front of the web chat: for a call from one of them, the resident's own address (for the
    # per-address limits) is the last one in X-Forwarded-For; from anywhere else that header is ignored
    web_chat_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["127.0.0.1", "::1"],
                                                                     alias="WEB_CHAT_TRUSTED_PROXIES")
    # a browser session not used for this long is forgotten (its cookie lives as long)
    web_chat_session_days: int = Field(default=180, ge=1, le=3650, alias="WEB_CHAT_SESSION_DAYS")
    # a web resident not seen for this long who left nothing but the chat itself (no request, consultation,
    # booking, consent or news) is forgotten: the chat, its files and sessions go
    web_chat_idle_days: int = Field(default=30, ge=1, le=3650, alias="WEB_CHAT_IDLE_DAYS")
    # The web chat's e-mail notice that something arrived (bot/webchat/notice.py): off unless SMTP_HOST is set
    smtp_host: Optional[str] = Field(default=None, alias="SMTP_HOST")
    smtp_port: int = Field(default=587, ge=1, le=65535, alias="SMTP_PORT")
    smtp_user: Optional[str] = Field(default=None, alias="SMTP_USER")
    smtp_password: Optional[str] = Field(default=None, alias="SMTP_PASSWORD")
    smtp_from: Optional[str] = Field(default=None, alias="SMTP_FROM")
    smtp_starttls: bool = Field(default=True, alias="SMTP_STARTTLS")
    # at most one notice per web resident in this many hours
    web_chat_email_hours: int = Field(default=6, ge=1, le=720, alias="WEB_CHAT_EMAIL_HOURS")
    # Sending limits (Telegram's published limits by default; 0 switches a limit off)
    send_per_second: float = Field(default=30.0, ge=0, le=10_000, alias="SEND_PER_SECOND")
    send_per_chat_per_second: float = Field(default=1.0, ge=0, le=100, alias="SEND_PER_CHAT_PER_SECOND")
    send_per_group_per_minute: float = Field(default=20.0, ge=0, le=10_000, alias="SEND_PER_GROUP_PER_MINUTE")
    paid_broadcast: bool = Field(default=False, alias="PAID_BROADCAST")
    paid_per_second: float = Field(default=1000.0, ge=1, le=100_000, alias="PAID_PER_SECOND")
    # Updates one person may send: a steady rate a minute and a burst on top (0 in either switches it off);
    # staff in groups work fast and get limits of their own. Over the limit a person is paused for
    # RATE_LIMIT_PAUSE seconds.
    rate_limit_per_minute: float = Field(default=30.0, ge=0, le=100_000, alias="RATE_LIMIT_PER_MINUTE")
    rate_limit_burst: int = Field(default=20, ge=0, le=100_000, alias="RATE_LIMIT_BURST")
    rate_limit_staff_per_minute: float = Field(default=300.0, ge=0, le=100_000, alias="RATE_LIMIT_STAFF_PER_MINUTE")
    rate_limit_staff_burst: int = Field(default=100, ge=0, le=100_000, alias="RATE_LIMIT_STAFF_BURST")
    rate_limit_pause: float = Field(default=60.0, ge=1, le=3600, alias="RATE_LIMIT_PAUSE")
    # What one resident may do in 24 hours (0 switches a cap off); words of danger pass every cap
    daily_requests: int = Field(default=5, ge=0, le=10_000, alias="DAILY_REQUESTS")
    daily_reports: int = Field(default=5, ge=0, le=10_000, alias="DAILY_REPORTS")
    daily_follow_ups: int = Field(default=40, ge=0, le=100_000, alias="DAILY_FOLLOW_UPS")
    daily_bookings: int = Field(default=3, ge=0, le=10_000, alias="DAILY_BOOKINGS")
    # How long a write waits for another process's lock on the database before it gives up (seconds);
    # the wait does not hold up anyone else's work.
    database_busy_timeout: float = Field(default=5.0, ge=0, le=300, alias="DATABASE_BUSY_TIMEOUT")

    @field_validator("admin_chat_id", mode="before")
    @classmethod
    def _admin_chat(cls, value: object) -> object:
        if value in (None, ""):
            return None
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            raise ValueError(f"{value!r} is not a Telegram chat id (digits, may start with -)")
        return value

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token(cls, value: object) -> object:
        import re

        if value in (None, ""):
            return None
        text = str(value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
        if not re.match(TOKEN_PATTERN, text):
            raise ValueError("does not look like a token from @BotFather (digits, colon, letters)")
        return text

    @field_validator("bot_username", mode="before")
    @classmethod
    def _bot_username(cls, value: object) -> object:
        if value in (None, ""):
            return None
        text = str(value).strip().lstrip("@")
        if not text[:1].isalpha() or not text.isascii() or not text.replace("_", "").isalnum() \
                or not 5 <= len(text) <= 32:
            raise ValueError("is not a Telegram bot username (5-32 letters, digits and _, e.g. hromada_help_bot)")
        return text

    @field_validator("telegram_api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("communities", mode="before")
    @classmethod
    def _communities(cls, value: object) -> object:
        return [slug.lower() for slug in _split(value)] if value is not None else []

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admins(cls, value: object) -> object:
        items = _split(value) if value is not None else []
        for item in items:
            if isinstance(item, str) and not item.lstrip("-").isdigit():
                raise ValueError(f"{item!r} is not a Telegram user id (digits only)")
        return items

    @field_validator("default_locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in LOCALES:
            raise ValueError(f"must be one of: {', '.join(LOCALES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not a time zone name such as Europe/Kyiv") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator("web_chat", "smtp_starttls", mode="before")
    @classmethod
    def _web_chat(cls, value: object) -> object:
        text = str(value).strip().lower() if value is not None else ""
        if text in ("on", "true", "1", "yes"):
            return True
        if text in ("off", "false", "0", "no", ""):
            return False
        raise ValueError("must be on or off")

    @field_validator("web_chat_url", mode="before")
    @classmethod
    def _web_chat_url(cls, value: object) -> object:
        text = str(value or "").strip().rstrip("/")
        if not text:
            return None
        if not re.match(r"^https?://[^\s/?#]+$", text):
            raise ValueError("must be the page's origin, like https://bot.example.org (no path)")
        return text

    @field_validator("web_chat_trusted_proxies", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: object) -> object:
        addresses = [str(item).strip() for item in _split(value)] if value is not None else []
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"{address!r} is not an IP address") from None
        return addresses

    @field_validator("web_chat_embed_origins", mode="before")
    @classmethod
    def _embed_origins(cls, value: object) -> object:
        origins = [str(item).strip().rstrip("/").lower() for item in _split(value)] if value is not None else []
        for origin in origins:
            if not re.match(r"^https?://[^\s/?#;,'*]+$", origin):
                raise ValueError(f"{origin!r} is not a site's origin, like https://lutsk.example.org (no path)")
        return origins

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _webhook_url(cls, value: object, info: ValidationInfo) -> object:
        if value in (None, ""):
            return None
        text = str(value).strip()
        official = str(info.data.get("telegram_api_url") or "").startswith("https://api.telegram.org")
        if not re.match(r"^https://[^\s/?#]+", text) and (official or not re.match(r"^http://[^\s/?#]+", text)):
            raise ValueError("must be the public https:// address Telegram sends updates to")
        return text

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if value in (None, ""):
            return None
        text = str(value.get_secret_value() if isinstance(value, SecretStr) else value).strip()
        if not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", text):
            raise ValueError("must be 16-256 characters of A-Z, a-z, 0-9, _ and - (e.g. from `openssl rand -hex 32`)")
        return text

    @field_validator("health_port", mode="before")
    @classmethod
    def _health_port(cls, value: object) -> object:
        return None if value in (None, "") else value

    @property
    def email_notice(self) -> bool:
        """Web residents may leave an e-mail for a notice that something arrived: only when SMTP is configured."""
        return bool((self.smtp_host or "").strip())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def token(self) -> Optional[str]:
        return self.bot_token.get_secret_value() if self.bot_token else None

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL, where the local server takes updates (a proxy passes it on unchanged)."""
        from urllib.parse import urlsplit

        return urlsplit(self.webhook_url or "").path or "/"


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn a validation failure into one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = err["loc"][0] if err["loc"] else "?"
            name = Settings.model_fields[field].alias if field in Settings.model_fields else str(field).upper()
            message = err["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}")
        raise ConfigError("configuration error: " + "; ".join(problems)) from None
