"""What keeps the web chat safe to put on a public website: session tokens kept only as hashes, one-time codes for
another device, the proof of work a session solves before anything it sends is handled, the origin and CSRF
checks, the limits per session and per address, and the headers every answer carries."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from bot.runtime.ratelimit import Limit, RateLimiter, Verdict
from bot.webchat import files

COOKIE = "hromada_chat"
CSRF_HEADER = "X-Chat-CSRF"
LINK_MINUTES = 15
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: a code is read off one screen and typed into another
CODE_LENGTH = 12  # 60 bits: with the limits per address, never guessed while it lives
UPLOAD_BYTES = files.UPLOAD_BYTES
UPLOADS_A_DAY = 20
# No inline script or style anywhere, nothing from another origin; only the chat itself and the community sites
# named in WEB_CHAT_EMBED_ORIGINS may frame the page.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
       "font-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Resource-Policy": "same-origin",
           "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}


def headers(embed_origins: Sequence[str] = ()) -> dict[str, str]:
    """The headers every answer carries; the sites in `embed_origins` may show the chat in a frame."""
    if not embed_origins:
        return dict(HEADERS)
    return {**HEADERS, "Content-Security-Policy": CSP + "".join(" " + origin for origin in embed_origins)}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What is stored of a session token or a one-time code: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normal_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch in CODE_ALPHABET)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# ----- proof of work ------------------------------------------------------------------------------------------------

def challenge_of(token_hash: str) -> str:
    """The session's puzzle, known only to whoever holds its cookie (the page is told it)."""
    return hashlib.sha256(("pow:" + token_hash).encode()).hexdigest()[:32]


def leading_zero_bits(data: bytes) -> int:
    bits = 0
    for byte in data:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solved(challenge: str, nonce: str, bits: int) -> bool:
    """Whether SHA-256 of "challenge:nonce" starts with `bits` zero bits."""
    if not nonce or len(nonce) > 32 or not nonce.isalnum():
        return False
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()) >= bits


def solve(challenge: str, bits: int) -> str:
    """The puzzle solved here (for tests and the benchmark; the page solves it in JavaScript)."""
    nonce = 0
    while not solved(challenge, str(nonce), bits):
        nonce += 1
    return str(nonce)


# ----- limits --------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    """Inputs one session may send, requests from one address, new sessions from one address."""

    session: Limit = Limit(30.0, 20)
    address: Limit = Limit(240.0, 120)
    new_sessions: Limit = Limit(6.0, 10)
    pause: float = 60.0


class Gate:
    """Token buckets per session, per address and for new sessions per address (bot/runtime/ratelimit.py)."""

    def __init__(self, limits: Limits = Limits(), clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        # (the two limits given are those that take longest to refill: idle buckets are forgotten after that)
        self.buckets = RateLimiter(limits.session, limits.new_sessions, limits.pause, clock=clock)

    def allows(self, kind: str, key: object) -> bool:
        limit = {"session": self.limits.session, "address": self.limits.address,
                 "new": self.limits.new_sessions}[kind]
        if not limit.on:
            return True
        return self.buckets.check((kind, key), limit) is Verdict.PASS


def origin_allowed(origin: Optional[str], fetch_site: Optional[str], own_origin: str) -> bool:
    """A state-changing call must come from the chat's own page: its Origin is the chat's origin, and the browser
    (when it says) calls it same-origin."""
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    return origin is not None and same(origin.rstrip("/").lower(), own_origin.rstrip("/").lower())
