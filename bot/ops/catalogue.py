"""Reloading data/ while the bot runs: load and check the new catalogue beside the old one, swap only when
it is sound and still knows everything the database refers to.

The catalogue served is data/ with each community's corrections made in the bot or on the server
(bot/ops/catalogue_edits/) applied over it; applying or undoing a correction swaps it in the same way."""
from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from bot.catalogue.loader import Catalogue, CatalogueError, load_catalogue
from bot.catalogue.overlay import Overlay, apply_overlays
from bot.catalogue.search import SearchEngine
from bot.consult.store import open_institutions as open_consultations
from bot.groups import readers as groups_readers
from bot.requests.routing import open_institutions as open_requests

if TYPE_CHECKING:
    from bot.ops.catalogue_edits.versions import Edit
    from bot.services import Services

log = logging.getLogger("bot.reload")
_reloading = asyncio.Lock()


@dataclass
class Reloaded:
    ok: bool
    problems: list[str] = field(default_factory=list)
    communities: int = 0
    services: int = 0


def with_overlays(catalogue: Catalogue, overlays: dict[str, Overlay], data_dir, edited: Optional[str] = None
                  ) -> Catalogue:
    """data/ with the communities' corrections. A correction data/ no longer accepts (an institution gone, say) is
    left out with a warning; for `edited`, the community whose correction is being made, it refuses everything."""
    catalogue, refusals = apply_overlays(catalogue, overlays, data_dir)
    for slug, refused in refusals.items():
        lines = [f"{slug}: {r.kind}[{r.id}]: {'; '.join(r.problems)}" for r in refused]
        if slug == edited:
            raise CatalogueError(lines)
        log.warning("catalogue of %s: %d correction(s) no longer fit data/ and are not served: %s", slug,
                    len(lines), ", ".join(f"{r.kind}[{r.id}]" for r in refused)[:500])
    return catalogue


async def reload_catalogue(services: "Services", edit: "Optional[Edit]" = None) -> Reloaded:
    """Read DATA_DIR again, with the communities' corrections; on success the bot serves the new catalogue and
    search index from the next update, on any problem it keeps the old ones. With `edit`, that community's
    overlay is the edit's, and the edit is recorded (`edit.record`, which may refuse) just before the swap."""
    settings = services.settings
    edits = services.catalogue_edits

    async with _reloading:
        overlays = await edits.overlays() if edits is not None else {}
        signature = await edits.signature() if edits is not None else None
        if edit is not None:
            overlays[edit.community] = edit.overlay

        def load() -> tuple[Catalogue, SearchEngine]:
            catalogue = load_catalogue(settings.data_dir, settings.communities or None)
            catalogue = with_overlays(catalogue, overlays, settings.data_dir, edit.community if edit else None)
            return catalogue, SearchEngine(catalogue, services.search.morph)

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
        if edit is not None and edits is not None:
            edit.done = await edit.record(services.db)  # may refuse: then nothing is swapped
            signature = await edits.signature()
        services.use_catalogue(catalogue, search)
        if edits is not None:
            edits.served = signature
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
    in_use = (await groups_readers.bound_institutions(services.db) | await open_requests(services.db)
              | await open_consultations(services.db))
    for community, institution in sorted(in_use):
        view = catalogue.communities.get(community)
        if view is not None and institution not in view.institutions:
            problems.append(f"{data / community / 'community.yaml'}: institution '{institution}' "
                            "is missing, but it has a bound staff group or open requests")
    return problems
