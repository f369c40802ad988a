"""Which institution receives a request."""
from __future__ import annotations

from typing import Optional

from bot.catalogue.loader import CommunityView

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
    a life situation to the institution named for it in data/; everything else to the intake institution."""
    model = community.model
    if report and about_child:
        return model.children_institution
    if situation_id in CHILD_SITUATIONS:
        return model.children_institution
    if service_id and service_id in community.services:
        return community.services[service_id].provider
    if situation_id and situation_id in model.situation_routes:
        return model.situation_routes[situation_id]
    return model.intake_institution
