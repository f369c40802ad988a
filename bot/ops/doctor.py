"""`python -m bot doctor`: is this deployment ready to run? One line per check, OK or PROBLEM with what to do.

A command above the bot's assembly: bot/cli.py imports it when `doctor` runs, and it asks Telegram's getMe through
the client bot/app.py's make_bot builds."""
from __future__ import annotations

import asyncio
import gettext
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError

from bot import admins
from bot.app import make_bot
from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.config import LOCALES, Settings
from bot.i18n import LOCALES_DIR
from bot.ops.catalogue import with_overlays
from bot.ops.catalogue_edits.versions import stored_overlays
from bot.storage.db import applied_version, migrations

API_TIMEOUT = 5  # seconds for getMe
RECENT_WEBHOOK_ERROR = 3600  # seconds: an older error of Telegram's webhook delivery is history


@dataclass
class Check:
    name: str
    ok: Optional[bool]  # None: skipped
    text: str
    details: list[str] = field(default_factory=list)
    warning: bool = False  # worth doing something about, but the bot runs well without it

    def lines(self) -> list[str]:
        status = "SKIPPED" if self.ok is None else "WARNING" if self.warning else "OK" if self.ok else "PROBLEM"
        return [f"{status}: {self.name}: {self.text}"] + [f"    {line}" for line in self.details]


def ok(name: str, text: str) -> Check:
    return Check(name, True, text)


def problem(name: str, text: str, details: Optional[list[str]] = None) -> Check:
    return Check(name, False, text, details or [])


def check_configuration(settings: Settings) -> Check:
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "polling"
    communities = ", ".join(settings.communities) if settings.communities else "every community in DATA_DIR"
    return ok("configuration", f"{mode}; serves {communities}; {len(settings.admin_ids)} id(s) in ADMIN_IDS")


def check_database(settings: Settings) -> list[Check]:
    path = Path(settings.database_path)
    if not path.exists():
        if not os.access(_existing_parent(path), os.W_OK):
            return [problem("database", f"{path} does not exist and its folder is not writable: fix DATABASE_PATH "
                                        "or the folder's owner")]
        return [ok("database", f"{path} does not exist yet; `python -m bot run` creates it")]
    checks: list[Check] = []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=5)
    except sqlite3.Error as exc:
        return [problem("database", f"{path} cannot be opened for writing ({exc}): check the file's owner and mode")]
    try:
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            return [problem("database", f"{path} is not a readable SQLite database ({exc}): restore a backup "
                                        "with `python -m bot restore FILE`")]
        if not os.access(path.parent, os.W_OK):
            checks.append(problem("database", f"the folder {path.parent} is not writable (SQLite keeps -wal and "
                                              "-shm files there): give the bot's user write access"))
        elif mode.lower() != "wal":
            checks.append(problem("database", f"{path}: journal mode is {mode}, not wal: start the bot once, it "
                                              "switches to WAL"))
        else:
            checks.append(ok("database", f"{path} opens, WAL"))
        available = len(migrations())
        applied = 0
        if "schema_version" in tables:
            applied = applied_version(conn)
        if applied < available:
            checks.append(problem("migrations", f"{applied} of {available} applied: make a backup "
                                                "(`python -m bot backup DIR`), then start the bot, it applies the "
                                                "rest at start"))
        elif applied > available:
            checks.append(problem("migrations", f"the database has schema {applied}, this code knows {available}: "
                                                "update the code, or restore a backup made by this version"))
        else:
            checks.append(ok("migrations", f"{applied} of {available} applied"))
        started = time.perf_counter()
        result = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        if result == ["ok"]:
            checks.append(ok("integrity", f"quick_check ok ({(time.perf_counter() - started) * 1000:.0f} ms)"))
        else:
            checks.append(problem("integrity", "quick_check found damage: stop the bot and restore the latest "
                                               "backup (`python -m bot restore FILE`)", result))
    except sqlite3.Error as exc:
        checks.append(problem("database", f"{path}: {exc}"))
    finally:
        conn.close()
    return checks


def _existing_parent(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path("/")


def check_administrators(settings: Settings) -> Check:
    added = 0
    path = Path(settings.database_path)
    if path.exists():
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                added = admins.count_added(conn)
            finally:
                conn.close()
        except sqlite3.Error:
            added = 0
    total = len(settings.admin_ids) + added
    if not total:
        return problem("administrators", "nobody can bind staff groups or reload data: put your Telegram ID in "
                                         "ADMIN_IDS")
    return ok("administrators", f"{len(settings.admin_ids)} in ADMIN_IDS, {added} added in the bot")


def check_data(settings: Settings) -> Check:
    try:
        catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    except CatalogueError as exc:
        return problem("data", f"{len(exc.problems)} problem(s) in {settings.data_dir}; fix them (all of them: "
                               "`python -m bot check-data`), the bot does not start with them", exc.problems[:5])
    except OSError as exc:
        return problem("data", f"{settings.data_dir} cannot be read ({exc.strerror}): check DATA_DIR")
    services = sum(len(view.services) for view in catalogue.communities.values())
    return ok("data", f"{len(catalogue.communities)} communities, {services} services in {settings.data_dir}")


def check_contacts(settings: Settings) -> Optional[Check]:
    """How many institutions the bot still shows without any contact (data/ with the communities' corrections)."""
    try:
        catalogue = load_catalogue(settings.data_dir, settings.communities or None)
        catalogue = with_overlays(catalogue, stored_overlays(settings.database_path), settings.data_dir)
    except Exception:  # the data check above says what is wrong
        return None
    empty, total, per_community = 0, 0, []
    for slug, view in catalogue.communities.items():
        missing = sum(1 for institution in view.institutions.values() if institution.contacts.empty)
        empty += missing
        total += len(view.institutions)
        if missing:
            per_community.append(f"{slug}: {missing} of {len(view.institutions)}")
    if empty:
        return Check("contacts", True, f"{empty} of {total} institutions have no contact yet, so residents read "
                                       "\"Contacts are being clarified\": an administrator fills them in with "
                                       "/catalogue in the bot or `python -m bot catalogue export/import`",
                     per_community, warning=True)
    return ok("contacts", f"every one of {total} institutions has a contact")


def check_locales(locales_dir: Path = LOCALES_DIR) -> Check:
    problems = []
    for loc in LOCALES:
        folder = locales_dir / loc / "LC_MESSAGES"
        po, mo = folder / "messages.po", folder / "messages.mo"
        if not mo.exists():
            problems.append(f"{mo} is missing")
            continue
        try:
            with open(mo, "rb") as handle:
                gettext.GNUTranslations(handle)
        except Exception as exc:  # a bad magic number, a truncated file
            problems.append(f"{mo} cannot be read ({exc})")
            continue
        if po.exists() and po.stat().st_mtime > mo.stat().st_mtime + 1:
            problems.append(f"{mo} is older than {po.name}")
    if problems:
        return problem("translations", "; ".join(problems) + ": compile them with `make locales`")
    return ok("translations", "compiled: " + ", ".join(LOCALES))


async def check_bot_api(settings: Settings) -> list[Check]:
    if not settings.token:
        return [Check("Bot API", None, "BOT_TOKEN is not set, so `python -m bot run` starts the local sandbox; "
                                       "set it to check the connection to Telegram")]
    bot = make_bot(settings)
    checks: list[Check] = []
    try:
        try:
            me = await bot.get_me(request_timeout=API_TIMEOUT)
        except TelegramUnauthorizedError:
            return [problem("Bot API", "Telegram refuses BOT_TOKEN: copy the token again from @BotFather")]
        except TelegramNetworkError as exc:
            return [problem("Bot API", f"{settings.telegram_api_url} cannot be reached "
                                       f"({exc.message[:120]}): check the network, a proxy or TELEGRAM_API_URL")]
        except TelegramAPIError as exc:
            return [problem("Bot API", f"getMe failed: {exc.message}")]
        except Exception as exc:  # a timeout, no network, a refused connection
            return [problem("Bot API", f"{settings.telegram_api_url} does not answer in {API_TIMEOUT} s "
                                       f"({type(exc).__name__}): check the network, a proxy or TELEGRAM_API_URL")]
        checks.append(ok("Bot API", f"@{me.username} (id {me.id}) at {settings.telegram_api_url}"))
        if settings.webhook_url:
            checks.append(await _check_webhook(bot, settings))
    finally:
        await bot.session.close()
    return checks


async def _check_webhook(bot, settings: Settings) -> Check:
    try:
        info = await bot.get_webhook_info(request_timeout=API_TIMEOUT)
    except Exception as exc:
        return problem("webhook", f"getWebhookInfo failed ({type(exc).__name__})")
    if info.url != settings.webhook_url:
        where = f"set to {info.url}" if info.url else "not set"
        return ok("webhook", f"at Telegram it is {where}; `python -m bot run --webhook` sets {settings.webhook_url}")
    if info.last_error_date and time.time() - info.last_error_date.timestamp() < RECENT_WEBHOOK_ERROR:
        return problem("webhook", f"Telegram could not deliver lately: {info.last_error_message}; check the "
                                  "reverse proxy, the certificate and WEBHOOK_PORT "
                                  f"({info.pending_update_count} update(s) waiting)")
    return ok("webhook", f"{info.url}, {info.pending_update_count} update(s) waiting")


def diagnose(settings: Optional[Settings], config_error: Optional[str] = None) -> list[Check]:
    if settings is None:
        skipped = "needs a valid configuration"
        error = (config_error or "?").removeprefix("configuration error: ")
        return [problem("configuration", f"{error}; fix it in .env or the environment")] + [
            Check(name, None, skipped) for name in ("database", "data")] + [check_locales(),
                                                                             Check("Bot API", None, skipped)]
    checks = [check_configuration(settings), check_administrators(settings)]
    checks += check_database(settings)
    checks.append(check_data(settings))
    contacts = check_contacts(settings)
    if contacts is not None:
        checks.append(contacts)
    checks.append(check_locales())
    checks += asyncio.run(check_bot_api(settings))
    return checks
