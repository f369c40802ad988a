"""HTTP server of the sandbox: the Bot API, file downloads, the control API and the web chat.

Start it with ``python -m sandbox [--port 8080] [--flood] [--state FILE] [--token TOKEN]``
or from code with :class:`Sandbox`. Every request passes the checks of guard.py (its own Host, no other
site's page, the control token for the control API and the web chat page).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import html
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .botapi import BotApi
from .control import ControlApi
from .core import SandboxConfig, SandboxCore
from .errors import ApiError, bad_request, not_found
from .faults import Fault
from .files import Upload
from .guard import TOKEN_PARAMETER, WILDCARD_HOSTS, Guard, new_token

if TYPE_CHECKING:
    from .client import SandboxClient

log = logging.getLogger("sandbox")
CORE_KEY: web.AppKey[SandboxCore] = web.AppKey("sandbox_core", SandboxCore)
BOT_API_KEY: web.AppKey[BotApi] = web.AppKey("sandbox_bot_api", BotApi)
STATIC_DIR = Path(__file__).with_name("static")
MAX_REQUEST = 60 * 1024 * 1024


async def _request_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    raw: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.method != "POST" or not request.can_read_body:
        return raw, uploads
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse request JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse request JSON object")
        raw.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                upload = Upload(value.filename or key, value.file.read(), value.content_type)
                uploads[key] = raw[key] = upload
            else:
                raw[key] = value
    return raw, uploads


async def _bot_api(request: web.Request) -> web.Response:
    api = request.app[BOT_API_KEY]
    token, name = request.match_info["token"], request.match_info["method"]
    try:
        raw, uploads = await _request_params(request)
    except ApiError as error:
        return web.json_response(error.to_json(), status=error.code)
    fault = api.core.faults.pick(name) if api.core.faults.active else None
    if fault is not None:
        return await _injected(request, api, fault, token, name, raw, uploads)
    status, body = await api.call(token, name, raw, uploads)
    return web.json_response(body, status=status)


async def _injected(request: web.Request, api: BotApi, fault: Fault, token: str, name: str,
                    raw: dict[str, Any], uploads: dict[str, Upload]) -> web.Response:
    """Answer a call the way a failing Telegram would (see faults.py); only `lost` carries the call out."""
    core = api.core
    bot_id = core.bot_id_for(token)
    if fault.kind == "lost":
        _status, body = await api.call(token, name, raw, uploads)
        core.mark_last_call_fault(fault.kind)
        request.transport.close()
        return web.Response(status=204)
    if fault.kind in ("500", "502"):
        code = int(fault.kind)
        body = {"ok": False, "error_code": code,
                "description": "Internal Server Error" if code == 500 else "Bad Gateway"}
    elif fault.kind == "429":
        body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after}}
    else:
        body = {"ok": False, "description": f"connection {'timed out' if fault.kind == 'timeout' else 'closed'}"}
    core.record_call(bot_id, name, {k: v for k, v in raw.items() if not isinstance(v, Upload)}, body,
                     fault=fault.kind)
    if fault.kind in ("500", "502", "429"):
        return web.json_response(body, status=int(body["error_code"]))
    if fault.kind == "timeout":
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(fault.hang)
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


async def _download(request: web.Request) -> web.StreamResponse:
    core = request.app[CORE_KEY]
    try:
        core.authenticate(request.match_info["token"])
        record = core.file_by_path(request.match_info["path"])
        if record is None:
            raise not_found()
    except ApiError as error:
        return web.json_response(error.to_json(), status=error.code)
    return web.Response(body=record.content, content_type=record.mime_type)


async def _index(request: web.Request) -> web.StreamResponse:
    """The web chat, carrying the control token for its own requests (the guard has checked it)."""
    token = request.app[CORE_KEY].config.control_token or ""
    page = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    page = page.replace("</head>", f'  <meta name="sandbox-token" content="{html.escape(token)}">\n</head>', 1)
    # no-referrer: a link in a bot's message must not carry the page's address (and its token) elsewhere
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=headers)


def create_app(config: SandboxConfig | None = None) -> web.Application:
    """The aiohttp application of one sandbox (its state lives in the app). Without a control token in
    ``config`` a random one is made (read it back from ``config.control_token``)."""
    config = config or SandboxConfig()
    config.control_token = config.control_token or new_token()
    core = SandboxCore(config)
    guard = Guard(config.control_token, config.allowed_hosts)
    app = web.Application(client_max_size=MAX_REQUEST, middlewares=[guard.middleware])
    app[CORE_KEY] = core
    app[BOT_API_KEY] = BotApi(core)
    ControlApi(core).add_routes(app)
    app.router.add_route("*", "/bot{token}/{method}", _bot_api)
    app.router.add_get("/file/bot{token}/{path:.+}", _download)
    app.router.add_get("/", _index)
    app.router.add_static("/static/", STATIC_DIR)

    async def on_startup(_: web.Application) -> None:
        await core.start()

    async def on_shutdown(_: web.Application) -> None:
        await core.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


class Sandbox:
    """A sandbox server for tests and local runs: ``await Sandbox().start(port=0)``."""

    def __init__(
        self,
        *,
        flood_control: bool = False,
        state_file: str | Path | None = None,
        bot_token: str | None = None,
        control_token: str | None = None,
        config: SandboxConfig | None = None,
        **options: Any,
    ) -> None:
        self.config = config or SandboxConfig(
            flood_control=flood_control,
            state_file=Path(state_file) if state_file else None,
            bot_token=bot_token,
            control_token=control_token,
            **options,
        )
        self.config.control_token = self.config.control_token or new_token()
        self.app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port = 0

    @property
    def core(self) -> SandboxCore:
        if self.app is None:
            raise RuntimeError("the sandbox is not started")
        return self.app[CORE_KEY]

    @property
    def url(self) -> str:
        """Base URL of the web chat and the control API."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL for aiogram: ``TelegramAPIServer.from_base(sandbox.api_url)``."""
        return self.url

    @property
    def control_token(self) -> str:
        """The token of the control API (header ``X-Sandbox-Token``); SandboxClient knows it by the URL."""
        return self.config.control_token or ""

    @property
    def chat_url(self) -> str:
        """The web chat's address, with the control token in it."""
        return f"{self.url}/?{TOKEN_PARAMETER}={self.control_token}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Sandbox:
        from .client import remember_token

        if host.strip().lower() not in WILDCARD_HOSTS and host not in self.config.allowed_hosts:
            self.config.allowed_hosts = (*self.config.allowed_hosts, host)
        self.app = create_app(self.config)
        # A request whose client has gone (a bot stopped while long polling) ends there, as in
        # Telegram: it neither holds the bot "listening" nor logs a 409 that nobody receives.
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host = "127.0.0.1" if host.strip().lower() in WILDCARD_HOSTS else host
        self.port = self._runner.addresses[0][1]
        remember_token(self.url, self.control_token)
        log.info("sandbox at %s", self.url)
        return self

    async def stop(self) -> None:
        from .client import forget_token

        if self.port:
            forget_token(self.url)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        return await self.start(self.host, self.port)

    async def __aexit__(self, *_: Any) -> None:
        await self.stop()

    def client(self) -> SandboxClient:
        """A :class:`~sandbox.client.SandboxClient` for this sandbox (close it when done)."""
        from .client import SandboxClient

        return SandboxClient(self.url, token=self.control_token)


async def run_sandbox(
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    flood_control: bool = False,
    state_file: str | Path | None = None,
    bot_token: str | None = None,
    control_token: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
) -> None:
    """Serve until cancelled (Ctrl+C). The control token: ``control_token``, else the variable
    SANDBOX_CONTROL_TOKEN, else a random one; it is printed with the web chat's address."""
    from .client import TOKEN_VARIABLE

    sandbox = Sandbox(flood_control=flood_control, state_file=state_file, bot_token=bot_token,
                      control_token=control_token or os.environ.get(TOKEN_VARIABLE) or None,
                      allowed_hosts=tuple(allowed_hosts))
    await sandbox.start(host, port)
    print(f"Sandbox: web chat {sandbox.chat_url} ; Bot API base {sandbox.api_url} ; control token "
          f"{sandbox.control_token} (header X-Sandbox-Token)", flush=True)
    settle = asyncio.create_task(keep_history_out_of_full_collections(), name="sandbox gc")
    try:
        await asyncio.Event().wait()
    finally:
        settle.cancel()
        await sandbox.stop()


async def keep_history_out_of_full_collections(every: float = 2.0) -> None:
    """The sandbox keeps every chat's messages in memory for as long as it runs, and a full garbage collection
    walks all of them: under a load of hundreds of updates a second, a pause of 30–100 ms every few seconds in
    which no Bot API call is answered, which a benchmark then reads as the bot's latency (Telegram's servers have
    no such pause). Every `every` seconds, after a collection of the young generations, whatever survived is
    moved out of the collector's reach (`gc.freeze`); a server process only, never a test's."""
    while True:
        await asyncio.sleep(every)
        gc.collect(1)
        gc.freeze()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local Telegram Bot API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--flood", action="store_true", help="enable flood control (429 answers)")
    parser.add_argument("--state", default=None, help="JSON file to restore from and save to")
    parser.add_argument("--token", default=None, help="token of the default bot (registered at start)")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                        help="a name besides 127.0.0.1/localhost that requests may give in Host (repeatable)")
    parser.add_argument("--debug", action="store_true", help="log every Bot API call")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(asctime)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_sandbox(args.host, args.port, flood_control=args.flood, state_file=args.state, bot_token=args.token,
                        allowed_hosts=tuple(args.allow_host))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
