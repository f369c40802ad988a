"""The web chat's e-mail notice: only when the deployment configures SMTP (SMTP_HOST), a web resident may leave an
e-mail address in the page; when the bot adds a message to their chat while no page of theirs is open, one short
e-mail says that something arrived and links to the chat. It never holds the message (it may be sensitive), goes at
most once in WEB_CHAT_EMAIL_HOURS per resident, and a failed send is logged and tried again later.

When is a page open: a page waiting in the long poll (WebStore.watching), or one that asked for news after the
message arrived (the page asks again at once after each answer). A notice is due from the first message that found
no page waiting and is sent only GRACE_SECONDS later if no page asked since, so a page that is reloading or between
two polls is not taken for a closed one. Due notices are kept in web_users (notice_due_at), so a restart loses none.
"""
from __future__ import annotations

import asyncio
import gettext
import logging
import re
import smtplib
import ssl
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Awaitable, Callable, Optional
from urllib.parse import quote

from bot.webchat.words import LOCALES_DIR, N_

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.webchat.store import WebStore

log = logging.getLogger("bot.webchat")
EVERY_SECONDS = 60.0
GRACE_SECONDS = 120
RETRY_MINUTES = 15  # after a failed send, the resident's notice is tried again this much later
AT_ONCE = 50
SMTP_TIMEOUT = 30.0
EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
                   r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
SUBJECT = N_("Something arrived in the community help chat")
BODY = N_("Hello!\n\nSomething new is waiting for you in the community help chat. This e-mail does not contain "
          "it: open the chat to read it.\n\n{url}\n\nWe write at most once in {hours} hours. You left this address "
          "in the chat; to stop these e-mails, open «E-mail notice» there and leave the field empty.")
Send = Callable[[str, str, str], Awaitable[None]]


def valid_email(text: str) -> Optional[str]:
    """The address as it will be kept (its domain in lower case), or None when it is not a plain e-mail address."""
    text = text.strip()
    if len(text) > 254 or not EMAIL.match(text) or ".." in text:
        return None
    local, domain = text.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class Notifier:
    def __init__(self, store: "WebStore", settings: "Settings", chat_url: str, *, send: Optional[Send] = None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.store = store
        self.settings = settings
        self.chat_url = chat_url.rstrip("/")
        self.hours = settings.web_chat_email_hours
        self.send = send or self.send_smtp
        self.now = now
        self._seen: dict[int, datetime] = {}  # when a page of the resident last asked for news
        self._failed: dict[int, datetime] = {}  # when a send to the resident last failed
        store.arrived = self.arrived

    async def arrived(self, user_id: int) -> None:
        """The bot added a message to the resident's chat: a notice is due unless a page waits for it now."""
        if self.store.watching(user_id):
            return
        try:
            await self.store.notice_due(user_id, _iso(self.now()))
        except Exception:  # the message is in the chat whatever happens to its notice
            log.exception("web chat: a notice could not be marked as due")

    def seen(self, user_id: int) -> None:
        """A page of the resident's asked for news."""
        self._seen[user_id] = self.now()

    async def run_once(self) -> int:
        """Send the notices that are due; how many went."""
        now = self.now()
        self._forget_before(now - timedelta(hours=self.hours, seconds=GRACE_SECONDS))
        due = await self.store.due_notices(_iso(now - timedelta(seconds=GRACE_SECONDS)),
                                           _iso(now - timedelta(hours=self.hours)), AT_ONCE)
        sent = 0
        for user_id, email, due_at, (locale, community) in due:
            seen = self._seen.get(user_id)
            if self.store.watching(user_id) or (seen is not None and _iso(seen) >= due_at):
                await self.store.notice_done(user_id, None)  # a page showed it
                continue
            failed = self._failed.get(user_id)
            if failed is not None and failed > now - timedelta(minutes=RETRY_MINUTES):
                continue
            try:
                await self.send(email, *self.letter(locale, community))
            except Exception as exc:  # noqa: BLE001 - any failure of the mail server: tried again later
                self._failed[user_id] = now
                # the kind of failure and the server's reply code only: its words may name the address
                log.warning("web chat: an e-mail notice could not be sent (%s %s); it is tried again later",
                            type(exc).__name__, getattr(exc, "smtp_code", ""))
                continue
            self._failed.pop(user_id, None)
            await self.store.notice_done(user_id, _iso(now))
            sent += 1
        return sent

    def _forget_before(self, moment: datetime) -> None:
        for known in (self._seen, self._failed):
            for user_id in [u for u, at in known.items() if at < moment]:
                del known[user_id]

    def letter(self, locale: Optional[str], community: Optional[str]) -> tuple[str, str]:
        """(subject, text) of the notice in the resident's language: a link to the chat, never the message."""
        catalogue = gettext.translation("messages", localedir=str(LOCALES_DIR),
                                        languages=[locale or self.settings.default_locale], fallback=True)
        query = [f"lang={quote(locale)}"] if locale else []
        if community:
            query.append(f"community={quote(community)}")
        url = self.chat_url + ("?" + "&".join(query) if query else "")
        return catalogue.gettext(SUBJECT), catalogue.gettext(BODY).format(url=url, hours=self.hours)

    async def send_smtp(self, to: str, subject: str, text: str) -> None:
        await asyncio.to_thread(self._send_now, to, subject, text)

    def _send_now(self, to: str, subject: str, text: str) -> None:
        s = self.settings
        sender = s.smtp_from or s.smtp_user or f"noreply@{s.smtp_host}"
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = sender, to, subject
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid()
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        host = (s.smtp_host or "").strip()
        if s.smtp_port == 465:
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, s.smtp_port, timeout=SMTP_TIMEOUT,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, s.smtp_port, timeout=SMTP_TIMEOUT)
        with client:
            if s.smtp_starttls and s.smtp_port != 465:
                client.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                client.login(s.smtp_user, s.smtp_password or "")
            client.send_message(message)

    async def run(self, stop: asyncio.Event, every: float = EVERY_SECONDS) -> None:
        """Send due notices every `every` seconds until `stop`; nothing that fails here stops anything else."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("web chat: the e-mail notices failed this time")
            try:
                await asyncio.wait_for(stop.wait(), every)
            except asyncio.TimeoutError:
                pass
