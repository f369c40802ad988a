"""The web chat's e-mail notice (bot/webchat/notice.py) against a local SMTP server (tests/support/smtp.py): without
SMTP no e-mail field and nothing sent; with SMTP one short e-mail without the message when something arrives while
no page is open, none again within the window, none while a page is open, a failed send tried again later; the
address is in «Мої дані» and gone after deletion. The request form tells a web resident the web chat's file limit."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestServer

from bot import privacy
from bot.app import build_app
from bot.privacy import erasure
from bot.requests.models import MAX_FILE_BYTES, max_file_bytes
from bot.storage.residents import WEB_ID_BASE
from bot.webchat import notice
from bot.webchat.files import UPLOAD_BYTES
from bot.webchat.http import WebChatServer
from bot.webchat.notice import Notifier, valid_email
from tests.support.config import make_settings
from tests.support.smtp import SmtpServer
from tests.support.webchat import Browser, web_world

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
SECRET = "Ваш борг за квартиру списано, справа № 7"
CHAT_URL = "https://bot.example.org/chat"


@pytest.fixture
async def smtp():
    server = await SmtpServer().start()
    yield server
    await server.stop()


async def serve(tmp_path, smtp: SmtpServer, **settings_kw):
    settings = make_settings(tmp_path, WEB_CHAT="on", WEB_CHAT_POW_BITS=4, **settings_kw)
    app = await build_app(settings)
    world = web_world(app)
    now = {"at": NOW}
    notifier = Notifier(world.store, settings, CHAT_URL, now=lambda: now["at"]) if settings.email_notice else None
    server = WebChatServer(world.channel, settings, app.services.served, now=lambda: now["at"], notifier=notifier)
    test_server = TestServer(server.app())
    await test_server.start_server()
    return app, world, now, notifier, test_server


@pytest.fixture
async def configured(tmp_path, monkeypatch, smtp):
    monkeypatch.chdir(tmp_path)
    app, world, now, notifier, test_server = await serve(
        tmp_path, smtp, SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_STARTTLS="off",
        SMTP_FROM="chat@bot.example.org", WEB_CHAT_EMAIL_HOURS=6)
    me = Browser(test_server)
    yield me, world, now, notifier, smtp
    await me.close()
    await test_server.close()
    await app.close()


def test_what_counts_as_an_address() -> None:
    assert valid_email(" Olena.K+chat@Ukr.NET ") == "Olena.K+chat@ukr.net"
    for bad in ("", "olena", "olena@", "@ukr.net", "olena@ukr", "o lena@ukr.net", "olena@ukr..net",
                "a@b.c\r\nBcc: x@y.z", "<olena@ukr.net>", "x" * 65 + "@ukr.net"):
        assert valid_email(bad) is None, bad


async def test_without_smtp_there_is_no_email_field_and_nothing_is_sent(tmp_path, monkeypatch, smtp) -> None:
    monkeypatch.chdir(tmp_path)
    app, world, _, notifier, test_server = await serve(tmp_path, smtp)
    me = Browser(test_server)
    try:
        assert notifier is None and world.store.arrived is None
        hello = await me.hello()
        assert hello["email"] is None
        assert await me.prove() == 200
        status, body = await me.post("/chat/api/email", {"email": "olena@ukr.net"})
        assert (status, body["error"]) == (404, "no_email")
        async with me.http.get(me.server.make_url("/chat")) as response:
            page = await response.text()
        assert 'id="email" type="button" class="quiet" aria-haspopup="dialog" hidden' in page
        await world.store.add_message(WEB_ID_BASE + 1, True, SECRET)
        await asyncio.sleep(0)
        assert smtp.received == []
    finally:
        await me.close()
        await test_server.close()
        await app.close()


async def test_one_short_email_without_the_message_and_not_again_within_the_window(configured) -> None:
    me, world, now, notifier, smtp = configured
    hello = await me.hello()
    assert hello["email"] == {"hours": 6, "address": None}
    assert await me.prove() == 200
    user_id = WEB_ID_BASE + 1
    status, body = await me.post("/chat/api/email", {"email": "not an address"})
    assert (status, body["error"]) == (400, "bad_email")
    status, body = await me.post("/chat/api/email", {"email": "Olena@Ukr.net"})
    assert (status, body["email"]) == (200, "Olena@ukr.net")
    assert (await me.hello())["email"]["address"] == "Olena@ukr.net"
    await me.poll()

    now["at"] += timedelta(minutes=10)  # the page is closed; staff answer
    await world.store.add_message(user_id, True, SECRET)
    assert await notifier.run_once() == 0  # a page may be between two polls: not yet
    now["at"] += timedelta(seconds=notice.GRACE_SECONDS)
    assert await notifier.run_once() == 1
    [mail] = smtp.received
    assert mail.recipients == ["Olena@ukr.net"] and mail.sender == "chat@bot.example.org"
    assert CHAT_URL + "?lang=uk&community=lutsk" in mail.text and "6" in mail.text
    assert SECRET not in mail.text and "борг" not in mail.text and "борг" not in mail.message["Subject"]

    for hours in (1, 5):  # more arrives within the window: nothing more
        now["at"] = NOW + timedelta(hours=hours)
        await world.store.add_message(user_id, True, "ще одне")
        assert await notifier.run_once() == 0
    now["at"] = NOW + timedelta(hours=6, minutes=20)  # the window is over and the page never opened: one more
    assert await notifier.run_once() == 1 and len(smtp.received) == 2


async def test_no_email_while_a_page_is_open(configured) -> None:
    me, world, now, notifier, smtp = configured
    await me.hello()
    assert await me.prove() == 200
    user_id = WEB_ID_BASE + 1
    await me.post("/chat/api/email", {"email": "olena@ukr.net"})
    version = (await world.store.user(user_id)).version

    waiting = asyncio.create_task(world.store.wait(user_id, version, 5))  # a page waits in the long poll
    await asyncio.sleep(0.01)
    assert world.store.watching(user_id)
    await world.store.add_message(user_id, True, SECRET)
    await waiting
    now["at"] += timedelta(minutes=5)
    assert await notifier.run_once() == 0

    now["at"] += timedelta(minutes=1)  # between two polls: the page asks again after the message arrived
    await world.store.add_message(user_id, True, SECRET)
    now["at"] += timedelta(seconds=5)
    await me.poll()
    now["at"] += timedelta(minutes=5)
    assert await notifier.run_once() == 0
    now["at"] += timedelta(hours=7)
    assert await notifier.run_once() == 0 and smtp.received == []


async def test_a_failed_send_is_logged_and_tried_again_later(configured, caplog) -> None:
    me, world, now, notifier, smtp = configured
    await me.hello()
    assert await me.prove() == 200
    user_id = WEB_ID_BASE + 1
    await me.post("/chat/api/email", {"email": "olena@ukr.net"})
    now["at"] += timedelta(minutes=1)
    await world.store.add_message(user_id, True, SECRET)
    now["at"] += timedelta(minutes=3)
    real_port = notifier.settings.smtp_port
    await smtp.stop()  # the mail server is down
    assert await notifier.run_once() == 0
    assert "could not be sent" in caplog.text
    smtp.port = real_port
    await smtp.start()
    now["at"] += timedelta(minutes=1)
    assert await notifier.run_once() == 0  # not at every round: after RETRY_MINUTES
    now["at"] += timedelta(minutes=notice.RETRY_MINUTES)
    assert await notifier.run_once() == 1 and len(smtp.received) == 1


async def test_the_address_is_in_my_data_and_gone_after_deletion(configured) -> None:
    me, world, _, _, _ = configured
    await me.hello()
    assert await me.prove() == 200
    user_id = WEB_ID_BASE + 1
    await me.post("/chat/api/email", {"email": "olena@ukr.net"})
    data = await privacy.collect(world.app.services.db, user_id)
    assert data["web_chat"]["email_for_notices"] == "olena@ukr.net"
    await erasure.erase(world.app.services, user_id)
    assert (await world.store.user(user_id)).email is None
    assert (await privacy.collect(world.app.services.db, user_id))["web_chat"]["email_for_notices"] is None


def test_the_request_form_tells_each_channel_its_own_file_limit() -> None:
    assert max_file_bytes(4242) == MAX_FILE_BYTES
    assert max_file_bytes(WEB_ID_BASE + 7) == UPLOAD_BYTES < MAX_FILE_BYTES


async def test_a_web_resident_is_told_the_web_chats_file_limit(settings) -> None:
    app = await build_app(settings)
    try:
        resident = await web_world(app).resident("lutsk")
        await resident.tap("Українська")
        await resident.say("📝 Попросити допомогу")
        await resident.tap("Погоджуюся")
        await resident.tap("Літня людина потребує догляду")
        shown = (await resident.tap("Для себе"))[1]
        asked = shown[-1].text
        assert f"до {UPLOAD_BYTES // (1024 * 1024)} МБ" in asked and "20 МБ" not in asked
    finally:
        await app.close()
