"""The web chat's share of the daily housekeeping (bot/runtime/housekeeping.py): browser sessions not used for
WEB_CHAT_SESSION_DAYS are forgotten, and so is a web resident not seen for WEB_CHAT_IDLE_DAYS who left nothing the
bot keeps for them besides the chat itself (no request, consultation, booking, consent, news or unfinished form):
their chat, files and sessions go, the anonymous language and community stay for the reports, as after
«Видалити мої дані». A resident with anything else kept is left alone: their chat is theirs to read."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import privacy
from bot.privacy import erasure
from bot.webchat import store

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.webchat")
AT_ONCE = 500  # web residents looked at in one day's run


def _before(now: datetime, days: int) -> str:
    return (now - timedelta(days=days)).isoformat(timespec="seconds")


async def left_nothing(services: "Services", user_id: int) -> bool:
    """Nothing is kept for the resident but the profile, the web chat and the opening of the page (which counts as
    a community link opened; the erasure keeps it counted without their id), as «Мої дані» would show."""
    data = await privacy.collect(services.db, user_id)
    data.pop("web_chat", None)
    data.pop("link_opens", None)
    return privacy.is_empty(data) and not data.get("notices_waiting")


async def tidy(services: "Services", now: datetime) -> tuple[int, int]:
    """(sessions forgotten, idle web residents forgotten) as of `now`."""
    settings = services.settings
    sessions = await store.forget_sessions_before(services.db, _before(now, settings.web_chat_session_days))
    idle = _before(now, settings.web_chat_idle_days)
    retired = 0
    for user_id in await store.unseen_since(services.db, idle, idle, AT_ONCE):
        if not await left_nothing(services, user_id):
            continue
        await erasure.erase(services, user_id)  # the raw updates, the dialog state and anything else of theirs
        await store.retire_user(services.db, user_id)
        retired += 1
    if sessions or retired:
        log.info("web chat: %d unused session(s) and %d idle web resident(s) forgotten", sessions, retired)
    return sessions, retired
