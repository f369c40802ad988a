"""The web chat over HTTP (aiohttp, in the bot's process): the page at /chat, its JSON API under /chat/api, and
/chat/widget.js, which a community's website loads to put the page in an iframe of the bot's own origin.

Every POST must come from the chat's own page (Origin) and, once a session exists, carry its CSRF token in a header;
nothing a session sends is handled before it solved its proof of work; sessions and addresses have limits
(bot/webchat/guard.py). A session is a long random token in an HttpOnly cookie; only its SHA-256 is stored. Over
https the cookie is `SameSite=None; Secure; Partitioned`, so that it works inside the community site's iframe
(partitioned by that site: not a third-party cookie), over plain http (on one's own machine) `SameSite=Lax`."""
from __future__ import annotations

import io
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from aiohttp import web

from bot.config import LOCALES, Settings
from bot.webchat import guard, words
from bot.webchat.channel import WebChannel
from bot.webchat.files import FILE_PREFIX, uploadable
from bot.webchat.notice import Notifier, valid_email
from bot.webchat.store import Shown, WebUser

log = logging.getLogger("bot.webchat")
STATIC = Path(__file__).parent / "static"
ASSETS = {"chat.css": "text/css", "chat.js": "text/javascript", "pow.js": "text/javascript",
          "icon.svg": "image/svg+xml"}
PAGE = (STATIC / "chat.html").read_text(encoding="utf-8")
WIDGET = (STATIC / "widget.js").read_text(encoding="utf-8")
POLL_SECONDS = 25.0
TEXT_LIMIT = 4096
COOKIE_DAYS = 180
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# what each API call needs: a session (with its CSRF token), a solved proof of work, a turn from the session's limit
OPEN, SESSION, INPUT = "open", "session", "input"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False),
                             headers={"Cache-Control": "no-store"})


def _refuse(status: int, reason: str) -> web.Response:
    return _json({"ok": False, "error": reason}, status)


class WebChatServer:
    def __init__(self, channel: WebChannel, settings: Settings, communities: list[str], *,
                 gate: Optional[guard.Gate] = None, now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 notifier: Optional[Notifier] = None):
        self.channel = channel
        self.notifier = notifier
        self.store = channel.store
        self.settings = settings
        self.communities = communities
        self.gate = gate or guard.Gate()
        self.now = now
        self.bits = settings.web_chat_pow_bits
        self.headers = guard.headers(settings.web_chat_embed_origins)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.protect], client_max_size=guard.UPLOAD_BYTES + 64 * 1024)
        get, post = app.router.add_get, app.router.add_post
        get("/chat", self.page)
        get("/chat/", self.page)
        get("/chat/widget.js", self.widget)
        get("/chat/static/{name}", self.asset)
        get("/chat/api/poll", self.api(SESSION, self.poll))
        get("/chat/api/file/{message_id}", self.api(SESSION, self.file))
        post("/chat/api/hello", self.api(OPEN, self.hello))
        post("/chat/api/continue", self.api(OPEN, self.continue_))
        post("/chat/api/prove", self.api(SESSION, self.prove))
        post("/chat/api/link", self.api(SESSION, self.link))
        post("/chat/api/say", self.api(INPUT, self.say))
        post("/chat/api/press", self.api(INPUT, self.press))
        post("/chat/api/contact", self.api(INPUT, self.contact))
        post("/chat/api/upload", self.api(INPUT, self.upload))
        post("/chat/api/email", self.api(INPUT, self.email))
        return app

    # ----- what every answer and every call goes through -------------------------------------------------------------

    def address(self, request: web.Request) -> str:
        """The resident's address for the per-address limits: behind a trusted reverse proxy every call comes
        from the proxy, which puts the caller's address last in X-Forwarded-For."""
        remote = request.remote or ""
        if remote in self.settings.web_chat_trusted_proxies:
            forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
            if forwarded:
                return forwarded[:64]
        return remote

    def own_origin(self, request: web.Request) -> str:
        return self.settings.web_chat_url or f"{request.scheme}://{request.host}"

    @web.middleware
    async def protect(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await self._guarded(request, handler)
        except web.HTTPException as exc:  # a path the chat does not have: the same headers on the refusal
            for name, value in self.headers.items():
                exc.headers.setdefault(name, value)
            raise
        for name, value in self.headers.items():
            response.headers.setdefault(name, value)
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST":
            response = await handler(request)
        elif not self.gate.allows("address", self.address(request)):
            response = _refuse(429, "slow_down")
        elif not guard.origin_allowed(request.headers.get("Origin"), request.headers.get("Sec-Fetch-Site"),
                                      self.own_origin(request)):
            response = _refuse(403, "origin")
        else:
            response = await handler(request)
        return response

    def api(self, needs: str, handler: Callable[..., Awaitable[web.StreamResponse]]) -> Handler:
        async def call(request: web.Request) -> web.StreamResponse:
            if needs == OPEN:
                return await handler(request)
            session = await self.session_of(request)
            if session is None:
                return _refuse(401, "no_session")
            user_id, csrf, _token_hash = session
            if request.method == "POST" and not guard.same(request.headers.get(guard.CSRF_HEADER, ""), csrf):
                return _refuse(403, "csrf")
            if needs == INPUT:
                user = await self.store.user(user_id)
                if user is None or not user.proven:
                    return _refuse(428, "proof_needed")
                if not self.gate.allows("session", user_id):
                    return _refuse(429, "slow_down")
            return await handler(request, session)
        return call

    async def session_of(self, request: web.Request) -> Optional[tuple[int, str, str]]:
        token = request.cookies.get(guard.COOKIE, "")
        if not token or len(token) > 128:
            return None
        token_hash = guard.digest(token)
        found = await self.store.session(token_hash, self.now().isoformat(timespec="seconds"))
        return (found[0], found[1], token_hash) if found else None

    async def new_session(self, user_id: int, request: web.Request) -> tuple[web.Response, str]:
        """A session for `user_id`: the answer that sets its cookie (its body: what the page needs), and its CSRF."""
        token, csrf = guard.new_token(), guard.new_token()
        token_hash = guard.digest(token)
        await self.store.add_session(token_hash, user_id, csrf)
        response = _json(self.greeting(await self.store.user(user_id), csrf, token_hash))
        secure = self.own_origin(request).startswith("https://")
        response.set_cookie(guard.COOKIE, token, max_age=COOKIE_DAYS * 86400, path="/chat", httponly=True,
                            secure=secure or None, samesite="None" if secure else "Lax", partitioned=secure or None)
        return response, csrf

    # ----- the page --------------------------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The page with its words filled in: in the language its address asks for (?lang=), else the one the
        resident chose in the chat, else the default (Ukrainian, as public services do, whatever the browser's)."""
        session = await self.session_of(request)
        chosen = await self.channel.chosen_locale(session[0]) if session is not None else None
        locale = words.choose(request.query.get("lang"), chosen, self.settings.default_locale)
        return web.Response(text=words.render(PAGE, locale), content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-cache", "Vary": "Cookie"})

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS:
            return web.Response(status=404, text="Not found")
        return web.FileResponse(STATIC / name, headers={"Content-Type": ASSETS[name] + "; charset=utf-8",
                                                         "Cache-Control": "no-cache"})

    async def widget(self, request: web.Request) -> web.StreamResponse:
        response = web.Response(text=words.widget_script(WIDGET), content_type="text/javascript", charset="utf-8",
                                headers={"Cache-Control": "no-cache"})
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # loaded by the community's own pages
        return response

    # ----- sessions --------------------------------------------------------------------------------------------------

    async def hello(self, request: web.Request) -> web.StreamResponse:
        """The page's first call: the session it has, or a new resident with a new session."""
        body = await _body(request)
        session = await self.session_of(request)
        if session is not None:
            user_id, csrf, token_hash = session
            return _json(self.greeting(await self.store.user(user_id), csrf, token_hash))
        if not self.gate.allows("new", self.address(request)):
            return _refuse(429, "slow_down")
        community = body.get("community") if body.get("community") in self.communities else None
        lang = body.get("lang") if body.get("lang") in LOCALES else None
        user_id = await self.channel.new_resident(community, lang)
        response, _ = await self.new_session(user_id, request)
        return response

    def greeting(self, user: Optional[WebUser], csrf: str, token_hash: str) -> dict[str, Any]:
        """What the page needs to begin: its CSRF token, the proof of work, and the e-mail notice's settings (None
        when the deployment has no SMTP: the page then shows no e-mail field)."""
        email = {"hours": self.notifier.hours, "address": user.email if user else None} if self.notifier else None
        return {"ok": True, "csrf": csrf, "challenge": guard.challenge_of(token_hash), "bits": self.bits,
                "proven": bool(user and user.proven), "email": email}

    async def prove(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        user_id, _, token_hash = session
        body = await _body(request)
        user = await self.store.user(user_id)
        if user is not None and not user.proven:
            if not guard.solved(guard.challenge_of(token_hash), str(body.get("nonce", "")), self.bits):
                return _refuse(400, "not_solved")
            await self.store.prove(user_id)
            if user.version == 0:
                await self.channel.start(user_id)
        return _json({"ok": True})

    async def link(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        """«Continue on another device»: a one-time code (and a link that carries it) for LINK_MINUTES."""
        code = guard.new_code()
        expires = self.now() + timedelta(minutes=guard.LINK_MINUTES)
        await self.store.add_link(guard.digest(code), session[0], expires.isoformat(timespec="seconds"))
        shown = "-".join(code[i:i + 4] for i in range(0, len(code), 4))
        return _json({"ok": True, "code": shown, "url": f"{self.own_origin(request)}/chat#code={code}",
                      "minutes": guard.LINK_MINUTES})

    async def continue_(self, request: web.Request) -> web.StreamResponse:
        if not self.gate.allows("new", self.address(request)):
            return _refuse(429, "slow_down")
        code = guard.normal_code(str((await _body(request)).get("code", "")))
        user_id = None
        if len(code) == guard.CODE_LENGTH:
            user_id = await self.store.use_link(guard.digest(code), self.now().isoformat(timespec="seconds"))
        if user_id is None:
            return _refuse(404, "no_such_code")
        response, _ = await self.new_session(user_id, request)
        return response

    # ----- the chat --------------------------------------------------------------------------------------------------

    async def poll(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        """What changed after version `after`; waits up to POLL_SECONDS for news when `wait` is not 0."""
        user_id = session[0]
        try:
            after = max(0, int(request.query.get("after", "0")))
        except ValueError:
            return _refuse(400, "after")
        if self.notifier is not None:
            self.notifier.seen(user_id)
        if request.query.get("wait", "1") != "0":
            await self.store.wait(user_id, after, POLL_SECONDS)
        user = await self.store.user(user_id)
        changes = await self.store.changes(user_id, after)
        keyboard = [[{"text": b["text"], "contact": bool(b.get("request_contact"))} for b in row]
                    for row in ((user.keyboard or {}).get("keyboard", []) if user else [])]
        return _json({"ok": True, "version": user.version if user else 0, "keyboard": keyboard,
                      "messages": [shown_json(m) for m in changes]})

    async def say(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        text = str((await _body(request)).get("text", "")).strip()
        if not text or len(text) > TEXT_LIMIT:
            return _refuse(400, "text")
        await self.channel.say(session[0], text)
        return _json({"ok": True})

    async def press(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        body = await _body(request)
        try:
            message_id, data = int(body.get("message_id")), str(body.get("data", ""))
        except (TypeError, ValueError):
            return _refuse(400, "press")
        popup = await self.channel.press(session[0], message_id, data)
        return _json({"ok": True, "popup": popup})

    async def contact(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        phone = str((await _body(request)).get("phone", "")).strip()
        if not phone or len(phone) > 32:
            return _refuse(400, "phone")
        await self.channel.contact(session[0], phone)
        return _json({"ok": True})

    async def email(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        """The address for the e-mail notice (empty: none), only when the deployment configures SMTP."""
        if self.notifier is None:
            return _refuse(404, "no_email")
        text = str((await _body(request)).get("email", "")).strip()
        email = valid_email(text) if text else None
        if text and email is None:
            return _refuse(400, "bad_email")
        await self.store.set_email(session[0], email)
        return _json({"ok": True, "email": email})

    async def upload(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        """One photo (JPEG, PNG) or PDF, its type read from its bytes, with an optional caption."""
        user_id = session[0]
        since = (self.now() - timedelta(days=1)).isoformat(timespec="seconds")
        if await self.store.files_since(user_id, since) >= guard.UPLOADS_A_DAY:
            return _refuse(429, "too_many_files")
        try:
            content, caption, name = await _read_upload(request)
        except ValueError as exc:
            return _refuse(413 if str(exc) == "too_big" else 400, str(exc))
        content_type = uploadable(content)
        if content_type is None:
            return _refuse(415, "file_type")
        await self.channel.upload(user_id, content, content_type, caption[:1024], name)
        return _json({"ok": True})

    async def file(self, request: web.Request, session: tuple[int, str, str]) -> web.StreamResponse:
        """A file shown in the resident's own chat (never anyone else's)."""
        try:
            shown = await self.store.message(session[0], int(request.match_info["message_id"]))
        except ValueError:
            shown = None
        if shown is None or not shown.file_id:
            return web.Response(status=404, text="Not found")
        content, content_type = await self._file_bytes(shown.file_id)
        if content is None:
            return web.Response(status=404, text="Not found")
        inline = content_type in ("image/jpeg", "image/png")
        headers = {"Content-Type": content_type, "Cache-Control": "private, max-age=3600",
                   "Content-Disposition": "inline" if inline else "attachment; filename=\"file\""}
        return web.Response(body=content, headers=headers)

    async def _file_bytes(self, file_id: str) -> tuple[Optional[bytes], str]:
        if file_id.startswith(FILE_PREFIX):
            found = await self.store.file(file_id)
            return (found[2], found[1]) if found else (None, "")
        telegram = self.channel.session.telegram  # a file staff sent from Telegram
        if telegram is None:
            return None, ""
        try:
            data = await telegram.download(file_id, destination=io.BytesIO())
        except Exception as exc:  # a file Telegram no longer gives: shown as missing
            log.info("web chat: a Telegram file could not be read: %s", type(exc).__name__)
            return None, ""
        content = data.getvalue() if data is not None else b""
        return content, uploadable(content) or "application/octet-stream"


def shown_json(message: Shown) -> dict[str, Any]:
    """A message as the page draws it (its text is Telegram's HTML, which the page renders through an allow-list)."""
    buttons = []
    for row in (message.markup or {}).get("inline_keyboard", []):
        line = []
        for b in row:
            if b.get("callback_data"):
                line.append({"text": b["text"], "data": b["callback_data"]})
            elif str(b.get("url", "")).startswith(("https://", "http://", "tel:")):
                line.append({"text": b["text"], "url": b["url"]})
        buttons.append(line)
    file = None
    if message.file_id and not message.deleted:
        file = {"kind": message.file_kind, "name": message.file_name, "url": f"api/file/{message.message_id}"}
    return {"id": message.message_id, "bot": message.from_bot, "html": message.text, "buttons": buttons,
            "file": file, "deleted": message.deleted, "at": message.sent_at}


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


async def _read_upload(request: web.Request) -> tuple[bytes, str, Optional[str]]:
    """(bytes, caption, file name) of a multipart upload; ValueError "too_big" or "no_file"."""
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise ValueError("no_file") from None
    content, caption, name = None, "", None
    async for part in reader:
        if part.name == "caption":
            caption = (await part.text())[:2000]
        elif part.name == "file" and content is None:
            name = (part.filename or "")[:100] or None
            chunks, size = [], 0
            while chunk := await part.read_chunk(64 * 1024):
                size += len(chunk)
                if size > guard.UPLOAD_BYTES:
                    raise ValueError("too_big")
                chunks.append(chunk)
            content = b"".join(chunks)
    if not content:
        raise ValueError("no_file")
    return content, caption, name
