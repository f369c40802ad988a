"""A community's workbook: exporting the catalogue as served now, and checking an edited one against it
(`prepare_import`: what it would change, or why it is refused)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

from bot.catalogue.loader import CatalogueError, CommunityView, load_catalogue
from bot.catalogue.overlay import (
    Change,
    Overlay,
    apply_overlay,
    changes_between,
    community_path,
    get_field,
    overlay_between,
    tally,
)
from bot.catalogue.workbook import N_, SHEETS, Problem
from bot.catalogue.workbook_export import export_workbook
from bot.catalogue.workbook_read import read_workbook
from bot.ops.catalogue_edits.versions import CatalogueEdits, Pending

log = logging.getLogger("bot.catalogue")


@dataclass
class Prepared:
    """What an edited workbook would change. `problems`: the file is refused as a whole; `refused`: rows refused
    (then nothing is applied either); `before`: the community as served now, for names."""

    community: Optional[str] = None
    problems: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    overlay: Overlay = field(default_factory=dict)
    base_id: int = 0
    version: int = 0  # the community's version now
    file_version: Optional[int] = None  # the version the file was exported from
    before: Optional[CommunityView] = None

    @property
    def applicable(self) -> bool:
        return not self.problems and not self.refused and bool(self.changes)

    def as_pending(self) -> Pending:
        return Pending("", self.community or "", 0, 0, None, self.base_id, self.overlay, self.changes, self.summary,
                       "", "pending")


async def effective_view(edits: CatalogueEdits, data_dir: Path, community: str
                         ) -> tuple[CommunityView, CommunityView, Any]:
    """(data/ as shipped, data/ with the community's corrections, the shared data) for one community."""
    catalogue = await asyncio.to_thread(load_catalogue, data_dir, [community])
    shipped = catalogue.communities[community]
    overlay = (await edits.overlays()).get(community, {})
    current, _ = await asyncio.to_thread(apply_overlay, shipped, catalogue.shared, overlay,
                                         community_path(data_dir, community))
    return shipped, current, catalogue.shared


async def prepare_import(edits: CatalogueEdits, data_dir: Path, content: bytes, allowed: Iterable[str],
                         community: Optional[str] = None) -> Prepared:
    """Check an edited workbook against the catalogue served now. `community`: the one it must be for (the
    command line names it); otherwise the file says, and it must be one of `allowed`."""
    first = await asyncio.to_thread(read_workbook, content)
    prepared = Prepared(problems=first.problems, file_version=first.version)
    if first.problems:
        return prepared
    slug, problem = _whose(first.community, community, list(allowed))
    if problem is not None:
        prepared.problems.append(problem)
        return prepared
    assert slug is not None
    prepared.community = slug
    try:
        shipped, current, shared = await effective_view(edits, data_dir, slug)
    except CatalogueError as exc:
        log.warning("catalogue import: data/ has %d problem(s)", len(exc.problems))
        prepared.problems.append(Problem(N_("The catalogue on the server has problems of its own, so nothing can be "
                                            "checked against it now. The server's administrator sees them with "
                                            "`python -m bot check-data`.")))
        return prepared
    latest = await edits.current(slug)
    prepared.base_id, prepared.version = (latest.id, latest.version) if latest else (0, 0)
    prepared.before = current
    await asyncio.to_thread(_compare, prepared, content, shipped, current, shared, community_path(data_dir, slug))
    return prepared


def _whose(found: Optional[str], wanted: Optional[str], allowed: list[str]) -> tuple[Optional[str], Optional[Problem]]:
    """(the community a file is for, or why it cannot be taken): `found` is what the file says, `wanted` the one
    the command line names."""
    slug = found or wanted or (allowed[0] if len(allowed) == 1 else None)
    if wanted is not None and found is not None and found != wanted:
        return slug, Problem(N_("This file is the catalogue of «{found}», not of «{wanted}»."),
                             {"found": found, "wanted": wanted})
    if slug is None:
        return slug, Problem(N_("The file does not say which community it is for (its hidden sheet is "
                                "missing). Edit the file /catalogue sends and send it back."))
    if slug not in allowed:
        return slug, Problem(N_("This file is the catalogue of «{found}», which this bot does not "
                                "serve."), {"found": slug})
    return slug, None


def _compare(prepared: Prepared, content: bytes, shipped: CommunityView, current: CommunityView, shared: Any,
             path: Path) -> None:
    """Fill in what the workbook changes against `current` (rows the catalogue's rules refuse go to `refused`)."""
    reading = read_workbook(content, current)
    prepared.problems, prepared.refused = reading.problems, reading.refused
    if reading.problems:
        return
    changed: Overlay = {}
    for kind, entries in reading.proposed.items():
        items = current.institutions if kind == "institutions" else current.services
        for key, values in entries.items():
            dump = items[key].model_dump(mode="json")
            fields = {name: value for name, value in values.items() if get_field(dump, name) != value}
            if fields:
                changed.setdefault(kind, {})[key] = fields
    after, refusals = apply_overlay(current, shared, changed, path)
    for refusal in refusals:
        sheet, row = reading.rows.get((refusal.kind, refusal.id), ("?", 0))
        prepared.refused.append(Problem(N_("the catalogue's rules refuse it: {problems}"),
                                        {"problems": "; ".join(refusal.problems)}, sheet=sheet, row=row))
    sheets = list(SHEETS)
    prepared.refused.sort(key=lambda p: (sheets.index(p.sheet) if p.sheet in sheets else len(sheets), p.row or 0))
    prepared.changes = changes_between(current, after)
    prepared.summary = tally(prepared.changes, current)
    prepared.overlay = overlay_between(shipped, after)


async def export(edits: CatalogueEdits, data_dir: Path, community: str) -> tuple[bytes, int]:
    """The community's catalogue as served now, as a workbook, and its version."""
    _, current, _ = await effective_view(edits, data_dir, community)
    latest = await edits.current(community)
    version = latest.version if latest else 0
    content = await asyncio.to_thread(export_workbook, current, version, datetime.now(timezone.utc))
    return content, version


def file_name(community: str, version: int, when: datetime) -> str:
    return f"catalogue-{community}-{when:%Y-%m-%d}-v{version}.xlsx"
