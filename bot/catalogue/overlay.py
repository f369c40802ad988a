"""A community's own corrections to the shipped catalogue: contacts, descriptions and statuses.

data/ stays the baseline derived from the programmes; what a community corrects lives in the database
(bot/ops/catalogue_edits.py) as an overlay, and the catalogue the bot serves is data/ with the overlay applied,
validated by the same models and checks as data/ itself (`check_community`).

An overlay holds only the editable fields that differ from data/, as JSON values of the model's fields (a dotted
path for the contacts):

    {"institutions": {"tcso": {"contacts.phones": ["+380 33 272 45 12"]}},
     "services": {"home-care": {"status": "active"}}}
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from bot.catalogue.loader import COMMUNITY_FILE, Catalogue, CommunityView, check_community
from bot.catalogue.models import Community, Institution, Service, SharedData

INSTITUTION_FIELDS = ("contacts.phones", "contacts.address", "contacts.hours", "contacts.email", "contacts.website",
                      "description")
SERVICE_FIELDS = ("status", "planned_year", "planned_until", "summary", "who", "how")
FIELDS = {"institutions": INSTITUTION_FIELDS, "services": SERVICE_FIELDS}
MODELS = {"institutions": Institution, "services": Service}
CONTACTS = "contacts."

Overlay = dict[str, dict[str, dict[str, Any]]]


@dataclass(frozen=True)
class Refusal:
    """An entry of an overlay that cannot be applied: what it is and why (the models' and checks' words)."""

    kind: str  # institutions | services
    id: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Change:
    """One field of one institution or service, before and after (JSON values)."""

    kind: str
    id: str
    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "field": self.field, "before": self.before, "after": self.after}

    @classmethod
    def of(cls, raw: dict[str, Any]) -> "Change":
        return cls(raw["kind"], raw["id"], raw["field"], raw.get("before"), raw.get("after"))


def get_field(item: dict[str, Any], path: str) -> Any:
    node: Any = item
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def set_field(item: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = item
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[last] = value


def view_of(community: Community) -> CommunityView:
    return CommunityView(community, institutions={i.id: i for i in community.institutions},
                         services={s.id: s for s in community.services})


def community_path(data_dir: Path, slug: str) -> Path:
    return Path(data_dir) / slug / COMMUNITY_FILE


def _messages(exc: ValidationError) -> list[str]:
    out = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"])
        out.append(f"{where}: {err['msg']}" if where else err["msg"])
    return out


def apply_overlay(view: CommunityView, shared: SharedData, overlay: Overlay, path: Path
                  ) -> tuple[CommunityView, list[Refusal]]:
    """`view` with every entry of `overlay` that passes the models and the community's checks; the others are
    returned as refusals (an institution or service data/ no longer has, a value the models refuse, a check that
    fails only because of the entry)."""
    if not overlay:
        return view, []
    shared_checks = set(check_community(path, view.model, shared))
    accepted = view.model.model_dump(mode="json")
    refused: list[Refusal] = []
    for kind, entries in overlay.items():
        if kind not in FIELDS:
            refused += [Refusal(kind, str(key), (f"unknown part '{kind}'",)) for key in entries]
            continue
        for entity_id, fields in entries.items():
            index = next((n for n, item in enumerate(accepted[kind]) if item.get("id") == entity_id), None)
            if index is None:
                refused.append(Refusal(kind, entity_id, (f"no {kind[:-1]} '{entity_id}' in data/",)))
                continue
            unknown = sorted(set(fields) - set(FIELDS[kind]))
            if unknown:
                refused.append(Refusal(kind, entity_id, tuple(f"{name}: not editable" for name in unknown)))
                continue
            item = copy.deepcopy(accepted[kind][index])
            for name, value in fields.items():
                set_field(item, name, copy.deepcopy(value))
            try:
                MODELS[kind].model_validate(item)
                candidate = dict(accepted)
                candidate[kind] = accepted[kind][:index] + [item] + accepted[kind][index + 1:]
                community = Community.model_validate(candidate)
            except ValidationError as exc:
                refused.append(Refusal(kind, entity_id, tuple(_messages(exc))))
                continue
            fresh = [line for line in check_community(path, community, shared) if line not in shared_checks]
            if fresh:
                refused.append(Refusal(kind, entity_id, tuple(line.split(": ", 1)[-1] for line in fresh)))
                continue
            accepted = candidate
    return view_of(Community.model_validate(accepted)), refused


def apply_overlays(catalogue: Catalogue, overlays: dict[str, Overlay], data_dir: Path
                   ) -> tuple[Catalogue, dict[str, list[Refusal]]]:
    """The catalogue with each community's overlay applied (communities the catalogue does not serve are left
    out), and per community what could not be applied."""
    communities = dict(catalogue.communities)
    refusals: dict[str, list[Refusal]] = {}
    for slug, overlay in overlays.items():
        view = communities.get(slug)
        if view is None or not overlay:
            continue
        try:
            communities[slug], refused = apply_overlay(view, catalogue.shared, overlay,
                                                       community_path(data_dir, slug))
        except (ValidationError, ValueError, KeyError, TypeError) as exc:  # the community as a whole: keep data/
            refused = [Refusal("community", slug, (f"{type(exc).__name__}: {exc}"[:300],))]
        if refused:
            refusals[slug] = refused
    return Catalogue(shared=catalogue.shared, communities=communities), refusals


def _entities(view: CommunityView, kind: str) -> dict[str, dict[str, Any]]:
    items = view.institutions if kind == "institutions" else view.services
    return {key: item.model_dump(mode="json") for key, item in items.items()}


def changes_between(before: CommunityView, after: CommunityView) -> list[Change]:
    """Every editable field that differs, in the catalogue's order."""
    out = []
    for kind, names in FIELDS.items():
        old, new = _entities(before, kind), _entities(after, kind)
        for key, item in new.items():
            if key not in old:
                continue
            for name in names:
                if get_field(old[key], name) != get_field(item, name):
                    out.append(Change(kind, key, name, get_field(old[key], name), get_field(item, name)))
    return out


def overlay_between(shipped: CommunityView, effective: CommunityView) -> Overlay:
    """The overlay that turns `shipped` (data/) into `effective`: only the fields that differ."""
    overlay: Overlay = {}
    for change in changes_between(shipped, effective):
        overlay.setdefault(change.kind, {}).setdefault(change.id, {})[change.field] = change.after
    return overlay


def tally(changes: Iterable[Change], before: CommunityView) -> dict[str, int]:
    """What a set of changes amounts to, counted per institution or service: contacts added (there were none),
    removed (none are left) or changed, statuses, planned years, descriptions."""
    counts: Counter = Counter()
    contacts: dict[str, dict[str, Any]] = {}
    described: set[tuple[str, str]] = set()
    years: set[str] = set()
    for change in changes:
        if change.field.startswith(CONTACTS):
            contacts.setdefault(change.id, {})[change.field] = change.after
        elif change.field == "status":
            counts["status"] += 1
        elif change.field in ("planned_year", "planned_until"):
            years.add(change.id)
        else:
            described.add((change.kind, change.id))
    for key, changed in contacts.items():
        institution = before.institutions.get(key)
        was = institution.contacts.model_dump(mode="json") if institution is not None else {}
        now = {**{f"{CONTACTS}{name}": value for name, value in was.items()}, **changed}
        if not any(was.values()):
            counts["contacts_added"] += 1
        elif not any(now.values()):
            counts["contacts_removed"] += 1
        else:
            counts["contacts_changed"] += 1
    counts["years"] = len(years)
    counts["descriptions"] = len(described)
    return {key: value for key, value in counts.items() if value}
