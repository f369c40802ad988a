"""The web chat over HTTP (bot/webchat/http.py) with aiohttp's test server: sessions in cookies, the proof of work,
CSRF and origin checks, a session that cannot read another's chat, upload limits, rate limits, the one-time code."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import ConfigError
from bot.runtime.ratelimit import Limit
from bot.webchat.guard import UPLOAD_BYTES, Gate, Limits, leading_zero_bits, solve, solved
from bot.webchat.http import WebChatServer
from tests.support.config import make_settings
from tests.support.webchat import JPEG, PDF, Browser, Ticks, web_world

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
async def chat(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = make_settings(tmp_path, WEB_CHAT="on", WEB_CHAT_POW_BITS=6)
    app = await build_app(settings)
    world = web_world(app)
    clock = Ticks()
    now = {"at": NOW}
    server = WebChatServer(world.channel, settings, app.services.served,
                           gate=Gate(Limits(session=Limit(60, 8), new_sessions=Limit(60, 6)), clock=clock),
                           now=lambda: now["at"])
    test_server = TestServer(server.app())
    await test_server.start_server()
    browsers: list[Browser] = []

    def browser(**kw) -> Browser:
        browsers.append(Browser(test_server, **kw))
        return browsers[-1]

    yield browser, world, now, clock
    for b in browsers:
        await b.close()
    await test_server.close()
    await app.close()


def test_the_proof_of_work() -> None:
    assert leading_zero_bits(b"\x00\x0f") == 12 and leading_zero_bits(b"\x80") == 0
    nonce = solve("abc", 10)
    assert solved("abc", nonce, 10) and not solved("abc", "", 1) and not solved("abc", "x" * 40, 0)


async def test_a_resident_chats_over_http(chat) -> None:
    browser, world, _, _ = chat
    me = browser()
    await me.hello()
    cookie = next(iter(me.http.cookie_jar))
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and len(cookie.value) >= 40
    stored = await world.app.services.db.fetchone("SELECT token_hash FROM web_sessions")
    assert cookie.value not in stored["token_hash"]  # only its hash is kept
    status, body = await me.post("/chat/api/say", {"text": "привіт"})
    assert (status, body["error"]) == (428, "proof_needed")
    status, _ = await me.post("/chat/api/prove", {"nonce": "wrong"})
    assert status == 400 or solved(me.challenge, "wrong", me.bits)
    assert await me.prove() == 200
    [greeting] = (await me.poll())["messages"]
    assert greeting["bot"] and "Українська" in str(greeting["buttons"])
    status, _ = await me.tap("Українська")
    assert status == 200
    page = await me.poll()
    assert "🔎 Пошук" in str(page["keyboard"]) and any("меню" in m["html"] for m in page["messages"])
    assert (await me.post("/chat/api/say", {"text": "🔎 Пошук"}))[0] == 200
    assert (await me.post("/chat/api/say", {"text": "гарячі обіди"}))[0] == 200
    assert any("Безоплатне гаряче харчування" in m["html"] for m in (await me.poll())["messages"])
    async with me.http.get(me.server.make_url("/chat")) as response:
        csp = response.headers["Content-Security-Policy"]
        assert response.status == 200 and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "<script" in await response.text() and "onclick" not in await response.text()


async def test_a_second_session_cannot_read_the_first_ones_chat(chat) -> None:
    browser, world, _, _ = chat
    first, second = browser(), browser()
    for b in (first, second):
        await b.hello()
        await b.prove()
    await first.tap("Українська")
    await first.post("/chat/api/say", {"text": "Моя таємниця"})
    assert (await first.upload(JPEG))[0] == 200
    mine = (await first.poll(0))["messages"]
    photo = next(m for m in mine if m["file"])
    async with first.http.get(first.server.make_url("/chat/" + photo["file"]["url"])) as response:
        assert response.status == 200 and await response.read() == JPEG
    theirs = (await second.poll(0))["messages"]
    assert not any("Моя таємниця" in m["html"] for m in theirs)
    async with second.http.get(second.server.make_url("/chat/" + photo["file"]["url"])) as response:
        assert response.status == 404
    status, body = await second.post("/chat/api/press", {"message_id": mine[0]["id"], "data": "pick:lang:en"})
    assert body.get("popup") is None
    assert [m["id"] for m in (await first.poll(0))["messages"]] == [m["id"] for m in mine]


async def test_csrf_and_origin(chat) -> None:
    browser, _, _, _ = chat
    me = browser()
    await me.hello()
    await me.prove()
    assert (await me.post("/chat/api/say", {"text": "x"}, csrf=False))[0] == 403
    assert (await me.post("/chat/api/say", {"text": "x"}, headers={"X-Chat-CSRF": me.csrf}))[0] == 403  # no Origin
    evil = {"Origin": "https://evil.example", "X-Chat-CSRF": me.csrf}
    assert (await me.post("/chat/api/say", {"text": "x"}, headers=evil))[0] == 403
    cross = {**me.headers(), "Sec-Fetch-Site": "cross-site"}
    assert (await me.post("/chat/api/say", {"text": "x"}, headers=cross))[0] == 403
    assert (await me.post("/chat/api/say", {"text": "x"}))[0] == 200
    stranger = browser()
    assert (await stranger.post("/chat/api/say", {"text": "x"}))[0] == 401  # no session at all


async def test_uploads_are_limited_by_size_and_checked_by_their_bytes(chat) -> None:
    browser, _, _, _ = chat
    me = browser()
    await me.hello()
    await me.prove()
    assert (await me.upload(JPEG + b"\x00" * UPLOAD_BYTES))[0] == 413
    assert (await me.upload(b"<html><script>alert(1)</script>", name="photo.jpg"))[0] == 415
    assert (await me.upload(b"MZ\x90\x00 a program", name="invoice.pdf"))[0] == 415
    assert (await me.upload(PDF, name="довідка.pdf"))[0] == 200


async def test_rate_limits_per_session_and_for_new_sessions(chat) -> None:
    browser, _, _, clock = chat
    me = browser()
    await me.hello()
    await me.prove()
    statuses = [(await me.post("/chat/api/say", {"text": f"{i}"}))[0] for i in range(10)]
    assert statuses[:8] == [200] * 8 and statuses[8:] == [429, 429]
    clock.advance(120)
    assert (await me.post("/chat/api/say", {"text": "знову"}))[0] == 200
    news = [browser() for _ in range(7)]  # the bucket of new sessions refilled meanwhile: 6 at once
    assert [(await b.post("/chat/api/hello", {}))[0] for b in news] == [200] * 6 + [429]


async def test_behind_the_reverse_proxy_each_resident_is_limited_on_their_own_address(chat) -> None:
    """Every call comes from the proxy (127.0.0.1 here); the limits go by the address it forwards, so one person
    opening sessions in a loop does not lock out everyone else."""
    browser, _, _, _ = chat

    async def hello_from(address: str) -> int:
        b = browser()
        return (await b.post("/chat/api/hello", {}, headers={**b.headers(), "X-Forwarded-For": address}))[0]

    assert [await hello_from("203.0.113.7") for _ in range(7)] == [200] * 6 + [429]
    assert await hello_from("198.51.100.9") == 200  # someone else, through the same proxy
    assert await hello_from("10.0.0.1, 203.0.113.7") == 429  # only the address the proxy added counts


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(tmp_path) -> None:
    from aiohttp.test_utils import make_mocked_request

    def address(trusted: str, remote: str) -> str:
        settings = make_settings(tmp_path, WEB_CHAT="on", WEB_CHAT_TRUSTED_PROXIES=trusted)
        server = WebChatServer.__new__(WebChatServer)
        server.settings = settings
        request = make_mocked_request("POST", "/chat/api/hello", headers={"X-Forwarded-For": "203.0.113.7"})
        return server.address(request.clone(remote=remote))

    assert address("127.0.0.1", "127.0.0.1") == "203.0.113.7"
    assert address("", "127.0.0.1") == "127.0.0.1"  # no proxy in front: the header is anyone's to write
    assert address("127.0.0.1", "192.0.2.44") == "192.0.2.44"
    with pytest.raises(ConfigError, match="WEB_CHAT_TRUSTED_PROXIES"):
        make_settings(tmp_path, WEB_CHAT_TRUSTED_PROXIES="proxy.example.org")


async def test_another_device_with_a_one_time_code(chat) -> None:
    browser, _, now, _ = chat
    phone = browser()
    await phone.hello()
    await phone.prove()
    await phone.tap("Українська")
    status, link = await phone.post("/chat/api/link")
    assert status == 200 and link["url"].endswith(link["code"].replace("-", ""))
    laptop = browser()
    status, body = await laptop.post("/chat/api/continue", {"code": link["code"].lower()})
    assert status == 200 and body["proven"]
    laptop.csrf = body["csrf"]
    assert [m["id"] for m in (await laptop.poll(0))["messages"]] == [m["id"] for m in (await phone.poll(0))["messages"]]
    assert (await laptop.post("/chat/api/say", {"text": "з ноутбука"}))[0] == 200
    assert any("з ноутбука" in m["html"] for m in (await phone.poll(0))["messages"])
    again = browser()
    assert (await again.post("/chat/api/continue", {"code": link["code"]}))[0] == 404  # once only
    _, late = await phone.post("/chat/api/link")
    now["at"] = NOW + timedelta(minutes=16)
    assert (await again.post("/chat/api/continue", {"code": late["code"]}))[0] == 404  # expired


def test_the_sites_that_may_frame_the_chat(tmp_path) -> None:
    from bot.config import ConfigError
    from bot.webchat.guard import headers

    assert headers()["Content-Security-Policy"].endswith("frame-ancestors 'self'")
    settings = make_settings(tmp_path, WEB_CHAT_EMBED_ORIGINS="https://lutsk.example.org/, http://127.0.0.1:8000")
    assert settings.web_chat_embed_origins == ["https://lutsk.example.org", "http://127.0.0.1:8000"]
    csp = headers(settings.web_chat_embed_origins)["Content-Security-Policy"]
    assert csp.endswith("frame-ancestors 'self' https://lutsk.example.org http://127.0.0.1:8000")
    for wrong in ("*", "lutsk.example.org", "https://lutsk.example.org/chat", "https://a.org; script-src *"):
        with pytest.raises(ConfigError):
            make_settings(tmp_path, WEB_CHAT_EMBED_ORIGINS=wrong)


async def test_the_page_speaks_the_language_asked_for_from_the_catalogues(chat) -> None:
    import html
    import json
    import re

    from bot.webchat.words import WORDS

    browser, _, _, _ = chat
    me = browser()

    async def page(query: str = "", **headers: str) -> str:
        async with me.http.get(me.server.make_url("/chat" + query), headers=headers) as response:
            return await response.text()

    uk, en = await page("?lang=uk"), await page("?lang=en")
    assert '<html lang="uk">' in uk and "Інший пристрій" in uk and "{{" not in uk
    assert '<html lang="en">' in en and "Another device" in en
    # Ukrainian unless asked otherwise, whatever the browser's settings (a phone bought abroad, a child's laptop)
    assert '<html lang="uk">' in await page(**{"Accept-Language": "en-GB,en;q=0.8"})
    await me.hello(lang=None)
    await me.prove()
    await me.tap("English")  # the resident's own choice in the chat: the page follows it from then on
    assert '<html lang="en">' in await page()
    said = json.loads(html.unescape(re.search(r'data-words="([^"]*)"', uk).group(1)))
    assert set(said) == set(WORDS) and said["offline"] == "Немає зв’язку. Пробуємо ще раз…"
