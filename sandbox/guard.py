"""Who may talk to the sandbox.

Every request must name the sandbox's own address in ``Host`` (127.0.0.1, localhost or [::1] on the port
it listens on, plus the hosts it was told to allow): a page on another site that points a name of its own
at 127.0.0.1 (DNS rebinding) is refused. A browser request from another page (``Origin`` of another site
or port, ``Sec-Fetch-Site`` cross-site or same-site) is refused as well. The control API and the web chat
page also need the control token, a random value made at start and printed with the web chat's address;
the page carries it for its own requests. The Bot API keeps Telegram's rule: the bot's token is the key.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

TOKEN_HEADER = "X-Sandbox-Token"
TOKEN_PARAMETER = "token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("", "0.0.0.0", "::", "[::]")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    """A fresh control token (192 random bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def host_name(host: str) -> str:
    """How a listening address appears in a Host header ("::1" → "[::1]")."""
    host = host.strip().lower()
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def needs_token(path: str) -> bool:
    """The control API and the web chat page; not the Bot API, file downloads of bots or static files."""
    return path == "/" or path == "/sandbox" or path.startswith("/sandbox/")


class Guard:
    """The checks above, as an aiohttp middleware."""

    def __init__(self, token: str, hosts: Iterable[str] = ()) -> None:
        if not token:
            raise ValueError("the control token is empty")
        self.token = token
        self.hosts = {host_name(host) for host in (*LOOPBACK_HOSTS, *hosts) if host_name(host) not in WILDCARD_HOSTS}

    def addresses(self, port: int) -> set[str]:
        """What a Host header of a request to this sandbox may say."""
        names = {f"{host}:{port}" for host in self.hosts}
        if port == 80:
            names |= self.hosts
        return names

    @staticmethod
    def _port(request: web.Request) -> int:
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        return int(sockname[1]) if sockname and len(sockname) > 1 else 0

    def refusal(self, request: web.Request) -> str | None:
        """Why this request is refused, or None."""
        addresses = self.addresses(self._port(request))
        host = request.headers.get("Host", "").strip().lower()
        if host not in addresses:
            return f"Host {host or '(none)'!r} is not this sandbox's address (allowed: {', '.join(sorted(addresses))})"
        origin = request.headers.get("Origin")
        if origin is not None and origin.strip().lower() not in {f"http://{address}" for address in addresses}:
            return f"requests from the page {origin!r} are not allowed"
        if request.headers.get("Sec-Fetch-Site", "").lower() in ("cross-site", "same-site"):
            return "requests from another site are not allowed"
        if needs_token(request.path) and not self.has_token(request):
            return (f"the control token is missing or wrong: send it in the {TOKEN_HEADER} header (it is printed "
                    "when the sandbox starts, with the web chat's address)")
        return None

    def has_token(self, request: web.Request) -> bool:
        given = request.headers.get(TOKEN_HEADER) or request.query.get(TOKEN_PARAMETER) or ""
        return hmac.compare_digest(given.encode("utf-8", "replace"), self.token.encode("utf-8"))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        reason = self.refusal(request)
        if reason is None:
            return await handler(request)
        path = request.path
        if path.startswith("/bot") or path.startswith("/file/"):
            return web.json_response({"ok": False, "error_code": 403, "description": f"Forbidden: {reason}"},
                                     status=403)
        if path.startswith("/sandbox"):
            return web.json_response({"error": reason}, status=403)
        text = ("Доступ заборонено (Forbidden).\n\nВідкрийте адресу веб-чату з токеном, яку надруковано під час "
                "запуску пісочниці.\nOpen the web chat's address with the token, as printed when the sandbox "
                f"started.\n\n{reason}\n")
        return web.Response(status=403, text=text, headers={"Cache-Control": "no-store"})
