"""Which institution receives a request, and which institutions the open requests are with."""
from __future__ import annotations

from collections import Counter
from typing import Optional

from bot.catalogue.loader import CommunityView
from bot.storage.db import Database

CHILD_SITUATIONS = {"child_at_risk"}


def route(
    community: CommunityView,
    *,
    service_id: Optional[str] = None,
    situation_id: Optional[str] = None,
    about_child: bool = False,
    report: bool = False,
) -> str:
    """A service goes to its provider; a report about a child or a child at risk to the children's service;
    a life situation to the institution named for it in data/ (`situation_routes`), or else to the one that
    provides most of the running services for it; everything else to the intake institution."""
    model = community.model
    if report and about_child:
        return model.children_institution
    if situation_id in CHILD_SITUATIONS:
        return model.children_institution
    if service_id and service_id in community.services:
        return community.services[service_id].provider
    if situation_id and situation_id in model.situation_routes:
        return model.situation_routes[situation_id]
    if situation_id:
        provider = main_provider(community, situation_id)
        if provider:
            return provider
    return model.intake_institution


def main_provider(community: CommunityView, situation_id: str) -> Optional[str]:
    """The institution with the most running services (or ones being introduced) for a situation; the intake one
    wins a tie."""
    counts = Counter(s.provider for s in community.services_for_situation(situation_id) if s.available)
    if not counts:
        return None
    best = max(counts.values())
    leaders = [inst for inst, n in counts.items() if n == best]
    intake = community.model.intake_institution
    return intake if intake in leaders else sorted(leaders)[0]


async def open_institutions(db: Database) -> set[tuple[str, str]]:
    """(community, institution_id) of every request still open (new or in progress)."""
    rows = await db.fetchall(
        "SELECT DISTINCT community, institution_id FROM requests WHERE status IN ('new', 'in_progress')")
    return {(row["community"], row["institution_id"]) for row in rows}
