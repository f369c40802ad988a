"""Housekeeping on a timer: late requests, whether the help came, the consultation line's clock (timeouts,
bookings), corrections of the catalogue made on the server, retention."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Optional

from bot import links
from bot.ops.catalogue_edits import serving as catalogue_edits
from bot.privacy import erasure
from bot.requests.confirmation import Confirmations
from bot.requests.store import due_soon_ids, late_ids
from bot.storage import updates
from bot.webchat import retention as webchat_retention

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.housekeeping")
EVERY_SECONDS = 30
Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


async def remind(services: "Services") -> int:
    """The due clock, on the requests' clock: a day before the answer date the group is reminded; requests not
    taken in time or past their answer date are announced again in the group and to the administrators."""
    hours = services.settings.remind_after_hours
    now = services.requests.clock().astimezone(timezone.utc)
    soon = await due_soon_ids(services.db, now)
    for request_id in soon:
        await services.requests.warn_due(request_id)
    ids = await late_ids(services.db, now, hours)
    for request_id in ids:
        await services.requests.queue_reminder(request_id)
    if ids or soon:
        services.wake_outbox()
    return len(ids) + len(soon)


async def consultation_clock(services: "Services") -> int:
    """Consultations nobody took in time, and reminders of booked times."""
    opened = await services.consult.open_due_bookings()
    timed_out = await services.consult.time_out()
    reminded = await services.consult.remind_bookings()
    if opened or timed_out or reminded:
        services.wake_outbox()
    return len(opened) + len(timed_out) + reminded


async def ask_whether_helped(services: "Services") -> int:
    """CONFIRM_AFTER_DAYS after a request was resolved, ask its resident whether the help came (once per
    resolution), and keep the questions not answered in time as unanswered; on the requests' clock."""
    desk = Confirmations(services.requests, services.settings.confirm_after_days)
    asked = await desk.ask_due()
    await desk.expire()
    if asked:
        services.wake_outbox()
    return asked


UPDATES_KEPT_DAYS = 7  # polling hands an update again only shortly after a crash


async def daily(services: "Services", now: Optional[datetime] = None) -> int:
    """Retention of personal data (requests closed, consultations ended and campaigns finished more than
    RETENTION_DAYS before `now`, who opened which link that long ago, dialogs left unfinished for DRAFT_DAYS,
    the web chat's unused sessions and idle residents), and forgetting update ids too old to come back."""
    now = now or system_clock()
    days = services.settings.retention_days
    purged = await erasure.expire(services, now)  # the staff cards say so, through the outbox
    drafts = await erasure.expire_drafts(services.db, now, services.settings.draft_days)
    if drafts:
        log.info("retention: %d unfinished dialog(s) older than %d days forgotten", drafts,
                 services.settings.draft_days)
    campaigns = await services.campaigns.purge_finished(days, now=now) if services.campaigns is not None else 0
    opens = await links.purge_opens(services.db, days, now=now)
    if campaigns or opens:
        log.info("retention: %d campaign(s) keep only their counts; %d link open(s) no longer name the resident",
                 campaigns, opens)
    old = (now - timedelta(days=UPDATES_KEPT_DAYS)).isoformat(timespec="seconds")
    await updates.forget_before(services.db, old)
    await webchat_retention.tidy(services, now)  # unused browser sessions, idle web residents
    return purged


async def housekeeping(services: "Services", stop: asyncio.Event, every: float = EVERY_SECONDS,
                       clock: Clock = system_clock) -> None:
    """Every `every` seconds: the consultation line's clock and reminders; once a day (UTC, and at start) the
    retention purge. `clock` tells the date the daily work goes by."""
    last_purge = ""
    while not stop.is_set():
        try:
            await consultation_clock(services)
            reminded = await remind(services)
            if reminded:
                log.info("reminded about %d request(s)", reminded)
            asked = await ask_whether_helped(services)
            if asked:
                log.info("asked %d resident(s) whether the help came", asked)
            await catalogue_edits.pick_up(services)  # a correction of the catalogue made on the server
            now = clock()
            today = now.astimezone(timezone.utc).date().isoformat()
            if today != last_purge:
                purged = await daily(services, now)
                last_purge = today
                if purged:
                    log.info("retention: removed personal data of %d closed request(s) and consultation(s)", purged)
        except Exception:
            log.exception("housekeeping failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except asyncio.TimeoutError:
            pass
