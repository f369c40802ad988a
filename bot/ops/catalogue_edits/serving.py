"""In the running bot: applying an import its author confirmed, undoing the latest change, and serving a change
made on the server (`pick_up`, each housekeeping round); each swaps the catalogue through bot/ops/catalogue.py."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Optional

from bot.ops.catalogue import reload_catalogue
from bot.ops.catalogue_edits.versions import (
    CANCELLED,
    CHANGED,
    DONE,
    GONE,
    NOT_YOURS,
    UNDO_STALE,
    EditRefused,
    Version,
    import_edit,
    undo_edit,
)

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.catalogue")
PENDING_HOURS = 24  # an import not confirmed within this is out of date


async def apply_import(services: "Services", token: str, user_id: int, message_id: Optional[int]) -> int:
    """Apply a checked import its author confirmed; returns the new version. Raises EditRefused."""
    edits = services.catalogue_edits
    pending = await edits.pending(token)
    if pending is None or (pending.message_id is not None and pending.message_id != message_id):
        raise EditRefused(GONE)
    if pending.author_id != user_id:
        raise EditRefused(NOT_YOURS)
    if pending.state == "applied":
        raise EditRefused(DONE)
    if pending.state != "pending":
        raise EditRefused(CANCELLED)
    created = datetime.fromisoformat(pending.created_at)
    if datetime.now(timezone.utc) - created > timedelta(hours=PENDING_HOURS):
        raise EditRefused(GONE)
    edit = import_edit(pending, user_id, "bot", token)
    result = await reload_catalogue(services, edit)
    if not result.ok:
        log.warning("catalogue import of %s not applied: %d problem(s)", pending.community, len(result.problems))
        raise EditRefused(CHANGED)
    log.info("catalogue of %s: version %d applied by an administrator", pending.community, edit.done)
    return edit.done


async def undo(services: "Services", community: str, version: int, user_id: int) -> Version:
    """Undo the community's latest change (which must be `version`); returns it. Raises EditRefused."""
    edit, target = await undo_edit(services.catalogue_edits, community, version, f"tg:{user_id}")
    result = await reload_catalogue(services, edit)
    if not result.ok:
        log.warning("undo of %s version %d not applied: %d problem(s)", community, version, len(result.problems))
        raise EditRefused(UNDO_STALE)
    log.info("catalogue of %s: version %d undone by an administrator", community, version)
    return target


async def pick_up(services: "Services") -> bool:
    """Serve a change made by another process (the command line) since the catalogue was last swapped."""
    edits = services.catalogue_edits
    if edits is None or edits.served is None:
        return False
    if await edits.signature() == edits.served:
        return False
    result = await reload_catalogue(services)
    if result.ok:
        log.info("catalogue: a change made on the server is served now")
    return result.ok
