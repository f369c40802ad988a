"""Running in production: webhook mode, /healthz, doctor, backup and restore, /reload_data."""
from __future__ import annotations

import asyncio
import shutil
import socket
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from bot import cli
from bot.app import build_app, build_services, make_bot, run_polling
from bot.config import PROJECT_ROOT, load_settings
from bot.ops.backup import check_backup, try_lock
from bot.runtime.health import snapshot
from bot.runtime.web import run_webhook
from bot.storage.db import Database, migrations
from sandbox import Sandbox, SandboxClient
from tests.support.config import make_settings

TOKEN = "7000000042:ops-webhook-token-not-for-telegram"
SECRET = "s3cret-token-of-the-webhook-0123456789"
ENV_VARS = ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH", "COMMUNITIES", "ADMIN_IDS", "DEFAULT_LOCALE", "TIMEZONE",
            "DATA_DIR", "LOG_LEVEL", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_HOST", "WEBHOOK_PORT", "HEALTH_HOST",
            "HEALTH_PORT", "ADMIN_CHAT_ID")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A clean environment in a folder of its own; returns the database path."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    database = tmp_path / "var" / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_PATH", str(database))
    monkeypatch.setenv("ADMIN_IDS", "1")
    monkeypatch.setenv("COMMUNITIES", "lutsk")
    return database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def private_update(update_id: int, user: dict, text: str) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1, "date": int(time.time()), "text": text,
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": {"id": user["id"], "is_bot": False, "first_name": user["first_name"], "language_code": "uk"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


# ----- webhook and /healthz -------------------------------------------------------------------------------------

async def test_webhook_takes_updates_only_with_the_secret_and_serves_healthz(tmp_path: Path, env: Path) -> None:
    sandbox = await Sandbox(bot_token=TOKEN, flood_control=False).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=5.0, bot_id=7000000042)
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/update"
    settings = load_settings(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.api_url, WEBHOOK_URL=url,
                             WEBHOOK_SECRET=SECRET, WEBHOOK_PORT=str(port))
    app = await build_app(settings)
    bot = make_bot(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_webhook(app, bot, stop))
    http = aiohttp.ClientSession()
    try:
        await client.wait_bot_ready(timeout=10, bot_id=7000000042)
        info = sandbox.core.webhook_info(sandbox.core.state.bots[7000000042])
        assert info["url"] == url
        user = await client.create_user("Олена", language_code="uk")

        # a forged update: without the secret, or with a wrong one, nothing is handled
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-wrong-secret"}):
            async with http.post(url, json=private_update(555001, user, "/start"), headers=headers) as response:
                assert response.status == 401
        await asyncio.sleep(0.3)
        assert app.services.activity.handled == 0
        assert await client.messages(user["id"]) == []

        # a real update through the sandbox (which sends the secret as Telegram does) is answered
        sent = await client.send_text(user, "/start")
        answers = await client.wait_bot_messages(user["id"], sent["message_id"], 1, timeout=10)
        assert "мов" in answers[0]["text"].lower() or answers[0]["text"]
        assert app.services.activity.handled >= 1

        async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200
            body = await response.json()
        assert body["status"] == "ok" and body["problems"] == []
        assert body["mode"] == "webhook"
        assert body["database"]["reachable"] is True
        assert set(body["outbox"]) >= {"pending", "held"}
        assert body["updates"]["last_at"] is not None and body["updates"]["handled"] >= 1
        assert body["workers"]["outbox"] and body["workers"]["housekeeping"] and all(body["workers"].values())
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await http.close()
        await bot.session.close()
        await app.close()
        # the webhook stays set, so that Telegram keeps the updates while the bot is away
        assert sandbox.core.webhook_info(sandbox.core.state.bots[7000000042])["url"] == url
        await client.close()
        await sandbox.stop()


async def test_a_webhook_process_stops_cleanly_on_sigterm(tmp_path: Path, env: Path) -> None:
    """`python -m bot run --webhook` as systemd runs it: answers through the webhook, exits 0 on SIGTERM, keeps
    the webhook set at Telegram and holds the database's lock while it runs."""
    import os
    import signal
    import subprocess
    import sys

    sandbox = await Sandbox(bot_token=TOKEN, flood_control=False).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=5.0, bot_id=7000000042)
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    process_env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    process_env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.api_url, DATABASE_PATH=str(env), ADMIN_IDS="1",
                       COMMUNITIES="lutsk", WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET, WEBHOOK_PORT=str(port))
    log = tmp_path / "bot.log"
    process = subprocess.Popen([sys.executable, "-m", "bot", "run", "--webhook"], cwd=tmp_path, env=process_env,
                               stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        await client.wait_bot_ready(timeout=30, bot_id=7000000042)
        user = await client.create_user("Тарас", language_code="uk")
        sent = await client.send_text(user, "/start")
        await client.wait_bot_messages(user["id"], sent["message_id"], 1, timeout=10)
        assert try_lock(env) is None  # the running bot holds it
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 40)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        await client.close()
        await sandbox.stop()
    output = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, output
    assert "bot stopped after" in output and "Traceback" not in output
    lock = try_lock(env)
    assert lock is not None
    lock.release()


async def test_graceful_stop_finishes_the_update_in_hand(tmp_path: Path, env: Path) -> None:
    from bot.runtime.activity import Activity

    activity = Activity()
    finished = []

    async def slow_update() -> None:
        activity.begin()
        try:
            await asyncio.sleep(0.3)
            finished.append(True)
        finally:
            activity.end()

    job = asyncio.create_task(slow_update())
    await asyncio.sleep(0)
    assert await activity.drained(5)
    assert finished == [True] and job.done() and activity.in_flight == 0


async def test_healthz_in_polling_mode_and_an_outbox_that_does_not_send(tmp_path: Path, env: Path) -> None:
    sandbox = await Sandbox(bot_token=TOKEN, flood_control=False).start("127.0.0.1", 0)
    client = SandboxClient(sandbox.url, timeout=5.0, bot_id=7000000042)
    port = free_port()
    settings = load_settings(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sandbox.api_url, HEALTH_PORT=str(port))
    app = await build_app(settings)
    bot = make_bot(settings)
    stop = asyncio.Event()
    task = asyncio.create_task(run_polling(app, bot, stop))
    try:
        await client.wait_bot_ready(timeout=10, bot_id=7000000042)
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                assert response.status == 200
                body = await response.json()
            assert body["mode"] == "polling" and body["updates"]["last_at"] is None
            assert body["outbox"]["pending"] == 0 and body["outbox"]["held"] == 0

            # a row due ten minutes ago that nobody sent: the outbox is stuck
            long_ago = (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat(timespec="seconds")
            app.services.outbox = None  # (nothing picks the row up during the check)
            await app.services.db.execute(
                "INSERT INTO outbox (kind, target, payload, status, next_attempt_at, created_at) "
                "VALUES ('text', 'resident:1', '{}', 'pending', ?, ?)", (long_ago, long_ago))
            healthy, body = await snapshot(app.services)
            assert not healthy and body["outbox"]["overdue"] == 1
            assert any("overdue" in problem for problem in body["problems"])
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await bot.session.close()
        await app.close()
        await client.close()
        await sandbox.stop()


async def test_healthz_says_503_when_the_database_is_gone(tmp_path: Path) -> None:
    services = await build_services(make_settings(tmp_path, COMMUNITIES="lutsk"))
    await services.db.close()
    healthy, body = await snapshot(services)
    assert not healthy and body["database"]["reachable"] is False and body["status"] == "problem"


# ----- doctor ---------------------------------------------------------------------------------------------------

def doctor(capsys) -> tuple[int, list[str]]:
    code = cli.main(["doctor"])
    return code, capsys.readouterr().out.splitlines()


def test_doctor_all_well(env: Path, capsys) -> None:
    asyncio.run(_make_database(env))
    code, lines = doctor(capsys)
    assert code == 0, lines
    assert all(line.startswith(("OK: ", "SKIPPED: ", "WARNING: ", "    ")) for line in lines), lines
    assert any(line.startswith("WARNING: contacts:") for line in lines)  # the shipped data has no contacts
    assert any(line.startswith("SKIPPED: Bot API: BOT_TOKEN is not set") for line in lines)
    assert any(line.startswith("OK: migrations:") for line in lines)


def test_doctor_finds_a_broken_data_file(env: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    (data / "lutsk" / "community.yaml").write_text("slug: lutsk\nservices: [\n", encoding="utf-8")
    monkeypatch.setenv("DATA_DIR", str(data))
    code, lines = doctor(capsys)
    assert code == 1
    [line] = [line for line in lines if line.startswith("PROBLEM: data:")]
    assert "check-data" in line
    assert any("community.yaml" in detail for detail in lines if detail.startswith("    "))


def test_doctor_finds_a_missing_migration(env: Path, capsys) -> None:
    asyncio.run(_make_database(env))
    latest = len(migrations())
    with sqlite3.connect(env) as conn:
        conn.execute("DELETE FROM schema_version WHERE version = ?", (latest,))
    code, lines = doctor(capsys)
    assert code == 1
    assert f"PROBLEM: migrations: {latest - 1} of {latest} applied" in "\n".join(lines)


def test_doctor_reports_a_configuration_error(env: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "short")
    code, lines = doctor(capsys)
    assert code == 1
    assert lines[0].startswith("PROBLEM: configuration: WEBHOOK_SECRET:")


async def _make_database(path: Path) -> None:
    db = await Database(path).connect()
    await db.close()


# ----- backup and restore ---------------------------------------------------------------------------------------

INSERT = ("INSERT INTO requests (public_id, community, kind, institution_id, description, status, created_at, "
          "updated_at, due_at) VALUES (?, 'lutsk', 'help', 'tcso', ?, 'new', ?, ?, ?)")


def test_backup_while_another_connection_writes_restores_everything_committed(env: Path, tmp_path: Path,
                                                                             capsys) -> None:
    asyncio.run(_make_database(env))
    now = datetime.now(timezone.utc).isoformat()
    with sqlite3.connect(env) as conn:  # some bulk, so that the copy takes a while
        conn.executemany(INSERT, [(f"B-{n}", "x" * 2000, now, now, now) for n in range(5000)])
    committed: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(env, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        number = 0
        while not stop.is_set():
            number += 1
            public_id = f"W-{number}"
            conn.execute(INSERT, (public_id, "y" * 500, now, now, now))
            conn.commit()
            committed.append(public_id)
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(committed) < 50:
            time.sleep(0.01)
        before = list(committed)
        target = tmp_path / "backups"
        target.mkdir()
        assert cli.main(["backup", str(target)]) == 0
        during = len(committed)
    finally:
        stop.set()
        thread.join()
    out = capsys.readouterr().out
    assert out.startswith("backup: ")
    [copy] = list(target.glob("bot-*.sqlite3"))
    assert not list(target.glob("*.part"))
    assert during > len(before)  # the writer kept going while the copy was made

    restored = tmp_path / "restored" / "bot.sqlite3"
    code = _with_database(restored, ["restore", str(copy)])
    assert code == 0, capsys.readouterr()
    with sqlite3.connect(restored) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        ids = {row[0] for row in conn.execute("SELECT public_id FROM requests WHERE public_id LIKE 'W-%'")}
        assert conn.execute("SELECT COUNT(*) FROM requests WHERE public_id LIKE 'B-%'").fetchone()[0] == 5000
    assert set(before) <= ids
    assert ids <= set(committed)


def _with_database(path: Path, argv: list[str]) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_PATH", str(path))
        return cli.main(argv)


def test_restore_refuses_what_is_not_our_database(env: Path, tmp_path: Path, capsys) -> None:
    asyncio.run(_make_database(env))
    before = env.read_bytes()
    text = tmp_path / "notes.sqlite3"
    text.write_text("this is not a database at all, just some words " * 100, encoding="utf-8")
    assert cli.main(["restore", str(text)]) == 1
    assert "not an SQLite database" in capsys.readouterr().err

    foreign = tmp_path / "other.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
    assert cli.main(["restore", str(foreign)]) == 1
    assert "not one of this bot" in capsys.readouterr().err

    newer = tmp_path / "newer.sqlite3"
    shutil.copy(env, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("INSERT INTO schema_version VALUES (999, 'x')")
    assert cli.main(["restore", str(newer)]) == 1
    assert "newer version" in capsys.readouterr().err

    assert cli.main(["restore", str(tmp_path / "missing.sqlite3")]) == 1
    assert env.read_bytes() == before
    assert not Path(str(env) + ".before-restore").exists()


def test_restore_refuses_while_a_bot_holds_the_database_unless_forced(env: Path, tmp_path: Path, capsys) -> None:
    asyncio.run(_make_database(env))
    good = tmp_path / "good.sqlite3"
    assert cli.main(["backup", str(good)]) == 0
    assert check_backup(good) == len(migrations())
    lock = try_lock(env)  # what a running bot holds
    assert lock is not None
    try:
        assert cli.main(["restore", str(good)]) == 1
        assert "is running" in capsys.readouterr().err
        assert cli.main(["restore", str(good), "--force"]) == 0
    finally:
        lock.release()
    assert cli.main(["restore", str(good)]) == 0
    assert Path(str(env) + ".before-restore").exists()


# ----- /reload_data ---------------------------------------------------------------------------------------------

@pytest.fixture
async def reloadable(tmp_path, monkeypatch):
    """The bot with a copy of data/ it may reload."""
    from aiogram import Bot
    from aiogram.client.default import DefaultBotProperties

    from tests.support.config import TOKEN as TEST_TOKEN
    from tests.support.harness import Harness, RecordingSession

    for name in ("COMMUNITIES", "DEFAULT_LOCALE", "TIMEZONE", "DATA_DIR", "TELEGRAM_API_URL", "ADMIN_CHAT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    app = await build_app(make_settings(tmp_path, DATA_DIR=str(data), COMMUNITIES="lutsk"))
    session = RecordingSession()
    bot = Bot(TEST_TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML"))
    yield Harness(app=app, bot=bot, session=session), data
    await app.close()


async def test_reload_data_keeps_the_old_catalogue_on_a_broken_file_and_swaps_on_a_good_one(reloadable) -> None:
    harness, data = reloadable
    services = harness.app.services
    admin = harness.person(user_id=1, language_code="en")
    old = services.catalogue
    community = data / "lutsk" / "community.yaml"
    good = community.read_text(encoding="utf-8")

    community.write_text(good.replace("provider: ", "provider: nowhere-", 1), encoding="utf-8")
    [answer] = await admin.say("/reload_data")
    assert "Data not reloaded" in answer.text and "unknown institution" in answer.text
    assert services.catalogue is old and services.requests.catalogue is old and services.consult.catalogue is old

    community.write_text("slug: lutsk\nservices: [\n", encoding="utf-8")
    [answer] = await admin.say("/reload_data")
    assert "Data not reloaded" in answer.text and services.catalogue is old

    # a good file with a new word in a service's keywords: swapped, and search finds the word
    assert not services.search.search("lutsk", "Гелікоптерник", limit=3)
    fixed = good.replace("keywords: [", "keywords: [Гелікоптерник, ", 1)
    assert fixed != good
    community.write_text(fixed, encoding="utf-8")
    [answer] = await admin.say("/reload_data")
    assert "Data reloaded" in answer.text, answer.text
    new = services.catalogue
    assert new is not old and services.requests.catalogue is new and services.consult.catalogue is new
    assert services.search.catalogue is new
    assert services.search.search("lutsk", "гелікоптерник", limit=3)


async def test_reload_data_keeps_institutions_the_database_refers_to(reloadable) -> None:
    harness, _ = reloadable
    services = harness.app.services
    admin = harness.person(user_id=1, language_code="en")
    old = services.catalogue
    # a staff group bound to an institution the data no longer has (as after deleting it from the file)
    await services.db.execute(
        "INSERT INTO groups (chat_id, community, institution_id, bound_at) VALUES (-100123, 'lutsk', 'gone', 'x')")
    [answer] = await admin.say("/reload_data")
    assert "Data not reloaded" in answer.text and "&#x27;gone&#x27;" in answer.text or "'gone'" in answer.text
    assert services.catalogue is old


async def test_reload_data_is_for_administrators_in_private(reloadable) -> None:
    harness, _ = reloadable
    stranger = harness.person(user_id=77, language_code="en")
    [answer] = await stranger.say("/reload_data")
    assert "administrators" in answer.text
    assert services_unchanged(harness)


def services_unchanged(harness) -> bool:
    return harness.app.services.activity.handled >= 1
