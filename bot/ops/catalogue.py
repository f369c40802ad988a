"""Reloading data/ while the bot runs: load and check the new catalogue beside the old one, swap only when
it is sound and still knows everything the database refers to."""
from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.catalogue.loader import Catalogue, CatalogueError, load_catalogue
from bot.catalogue.search import SearchEngine

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger("bot.reload")
_reloading = asyncio.Lock()


@dataclass
class Reloaded:
    ok: bool
    problems: list[str] = field(default_factory=list)
    communities: int = 0
    services: int = 0


async def reload_catalogue(services: "Services") -> Reloaded:
    """Read DATA_DIR again; on success the bot serves the new catalogue and search index from the next update,
    on any problem it keeps the old ones."""
    settings = services.settings

    def load() -> tuple[Catalogue, SearchEngine]:
        catalogue = load_catalogue(settings.data_dir, settings.communities or None)
        return catalogue, SearchEngine(catalogue, services.search.morph)

    async with _reloading:
        try:
            catalogue, search = await asyncio.to_thread(load)
        except CatalogueError as exc:
            log.warning("reload: %d problem(s) in %s; the old catalogue stays", len(exc.problems), settings.data_dir)
            return Reloaded(False, exc.problems)
        except Exception as exc:  # an unreadable folder or file
            log.warning("reload failed: %s; the old catalogue stays", type(exc).__name__)
            return Reloaded(False, [f"{settings.data_dir}: {type(exc).__name__}: {exc}"])
        problems = await still_known(services, catalogue)
        if problems:
            log.warning("reload: the new catalogue drops what the database refers to; the old one stays")
            return Reloaded(False, problems)
        services.use_catalogue(catalogue, search)
        if gc.get_freeze_count():  # let the collector free the old catalogue, then keep the new one out of its way
            gc.unfreeze()
            gc.collect()
            gc.freeze()
    count = sum(len(view.services) for view in catalogue.communities.values())
    log.info("reload: %d communities, %d services", len(catalogue.communities), count)
    return Reloaded(True, [], len(catalogue.communities), count)


async def still_known(services: "Services", catalogue: Catalogue) -> list[str]:
    """What the running bot serves and the database refers to, but the new catalogue would not have."""
    problems = []
    data = services.settings.data_dir
    for slug in services.served:
        if slug not in catalogue.communities:
            problems.append(f"{data / slug}: community '{slug}' is served now and missing from the new data; "
                            "its requests refer to it")
    rows = await services.db.fetchall(
        "SELECT community, institution_id FROM groups WHERE active = 1 "
        "UNION SELECT community, institution_id FROM requests WHERE status IN ('new', 'in_progress') "
        "UNION SELECT community, institution_id FROM consultations WHERE status IN ('queued', 'active')")
    for row in rows:
        view = catalogue.communities.get(row["community"])
        if view is not None and row["institution_id"] not in view.institutions:
            problems.append(f"{data / row['community'] / 'community.yaml'}: institution '{row['institution_id']}' "
                            "is missing, but it has a bound staff group or open requests")
    return problems
