"""Load data/ into validated models and check every cross-reference."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import yaml
from pydantic import ValidationError

from bot.catalogue.models import (
    Community,
    ConsultationTopic,
    Hotline,
    Institution,
    NewsTopic,
    Service,
    ServiceType,
    SharedData,
    Situation,
    TargetGroup,
    TriageRules,
)
from bot.catalogue.triage import compile_pattern

SHARED_FILES = {
    "target_groups": "target_groups.yaml",
    "situations": "situations.yaml",
    "service_types": "service_types.yaml",
    "hotlines": "hotlines.yaml",
    "synonyms": "synonyms.yaml",
    "ru_uk": "ru_uk.yaml",
    "en_uk": "en_uk.yaml",
    "out_of_scope": "out_of_scope.yaml",
    "triage": "triage.yaml",
    "consultation_topics": "consultation_topics.yaml",
    "news_topics": "news_topics.yaml",
    "schedule": "schedule.yaml",
}
COMMUNITY_FILE = "community.yaml"


class CatalogueError(Exception):
    """Raised with every problem found, one `file: path.to.field: problem` line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class CommunityView:
    """A community with indexes for quick lookups."""

    model: Community
    institutions: dict[str, Institution] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return self.model.slug

    def services_for_situation(self, situation_id: str) -> list[Service]:
        return _ordered(s for s in self.services.values() if situation_id in s.situations)

    def services_for_group(self, group_id: str) -> list[Service]:
        return _ordered(s for s in self.services.values() if group_id in s.target_groups)

    def services_of(self, institution_id: str) -> list[Service]:
        return _ordered(
            s for s in self.services.values() if s.provider == institution_id or institution_id in s.co_providers
        )


STATUS_ORDER = {"active": 0, "introducing": 1, "planned": 2}


def _ordered(services: Iterable[Service]) -> list[Service]:
    """Running services first, then those being introduced, then planned ones; stable otherwise."""
    return sorted(services, key=lambda s: STATUS_ORDER.get(s.status.value, 3))


@dataclass
class Catalogue:
    shared: SharedData
    communities: dict[str, CommunityView]

    @property
    def situations(self) -> dict[str, Situation]:
        return {s.id: s for s in sorted(self.shared.situations, key=lambda s: s.order)}

    @property
    def target_groups(self) -> dict[str, TargetGroup]:
        return {g.id: g for g in sorted(self.shared.target_groups, key=lambda g: g.order)}

    @property
    def service_types(self) -> dict[str, ServiceType]:
        return {t.id: t for t in self.shared.service_types}

    @property
    def consultation_topics(self) -> list[ConsultationTopic]:
        return sorted(self.shared.consultation_topics, key=lambda t: t.order)

    @property
    def news_topics(self) -> list[NewsTopic]:
        return sorted(self.shared.news_topics, key=lambda t: t.order)

    def news_topic(self, topic_id: str) -> Optional[NewsTopic]:
        return next((t for t in self.shared.news_topics if t.id == topic_id), None)

    @property
    def hotlines(self) -> list[Hotline]:
        return sorted(self.shared.hotlines, key=lambda h: h.order)

    def community(self, slug: Optional[str]) -> Optional[CommunityView]:
        return self.communities.get(slug) if slug else None

    def situations_of(self, community: CommunityView) -> list[Situation]:
        used = {sid for s in community.services.values() for sid in s.situations}
        return [s for s in self.situations.values() if s.id in used]

    def groups_of(self, community: CommunityView) -> list[TargetGroup]:
        used = {gid for s in community.services.values() for gid in s.target_groups}
        return [g for g in self.target_groups.values() if g.id in used]


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        problems.append(f"{path}: file is missing")
    except yaml.YAMLError as exc:
        problems.append(f"{path}: not valid YAML: {exc}".replace("\n", " "))
    return None


def _loc_path(loc: tuple[Any, ...], raw: Any) -> str:
    """Turn a pydantic location into `services[early-help].name.en`, naming list items by their id."""
    parts: list[str] = []
    node = raw
    for item in loc:
        if isinstance(item, int):
            label = str(item)
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and node.get("id"):
                    label = str(node["id"])
            else:
                node = None
            if parts:
                parts[-1] = f"{parts[-1]}[{label}]"
            else:
                parts.append(f"[{label}]")
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts) or "(top)"


def _validation_problems(path: Path, exc: ValidationError, raw: Any, prefix: tuple[Any, ...] = ()) -> list[str]:
    out = []
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        message = err["msg"]
        if err["type"] == "missing" and loc and loc[-1] in ("uk", "en"):
            message = f"missing translation ({loc[-1]})"
        out.append(f"{path}: {_loc_path(loc, raw)}: {message}")
    return out


def _duplicates(ids: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    dup: set[str] = set()
    for item in ids:
        (dup if item in seen else seen).add(item)
    return dup


def load_shared(data_dir: Path, problems: list[str]) -> Optional[SharedData]:
    shared_dir = data_dir / "shared"
    raw: dict[str, Any] = {}
    for key, filename in SHARED_FILES.items():
        raw[key] = _read_yaml(shared_dir / filename, problems)
    if any(value is None for value in raw.values()):
        return None
    weights = shared_dir / "triage_weights.json"
    if weights.exists():  # optional: without it the triage uses its rules alone
        try:
            raw["triage_weights"] = json.loads(weights.read_text(encoding="utf-8"))
        except ValueError as exc:
            problems.append(f"{weights}: not valid JSON: {exc}")
            return None
    try:
        shared = SharedData.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            key = err["loc"][0]
            path = shared_dir / SHARED_FILES.get(str(key), "?")
            message = err["msg"]
            if err["type"] == "missing" and err["loc"][-1] in ("uk", "en"):
                message = f"missing translation ({err['loc'][-1]})"
            problems.append(f"{path}: {_loc_path(tuple(err['loc'][1:]), raw[key])}: {message}")
        return None
    for topic in shared.consultation_topics:
        if topic.situation and topic.situation not in {s.id for s in shared.situations}:
            problems.append(f"{shared_dir / SHARED_FILES['consultation_topics']}: [{topic.id}].situation: "
                            f"unknown life situation '{topic.situation}'")
        for group in topic.target_groups:
            if group not in {g.id for g in shared.target_groups}:
                problems.append(f"{shared_dir / SHARED_FILES['consultation_topics']}: [{topic.id}].target_groups: "
                                f"unknown target group '{group}'")
    for topic in shared.news_topics:
        for group in topic.target_groups:
            if group not in {g.id for g in shared.target_groups}:
                problems.append(f"{shared_dir / SHARED_FILES['news_topics']}: [{topic.id}].target_groups: "
                                f"unknown target group '{group}'")
    for key in ("target_groups", "situations", "service_types", "hotlines", "consultation_topics", "news_topics"):
        for dup in sorted(_duplicates(item.id for item in getattr(shared, key))):
            problems.append(f"{shared_dir / SHARED_FILES[key]}: [{dup}]: duplicate id")
    problems.extend(_out_of_scope_problems(shared_dir / SHARED_FILES["out_of_scope"], shared))
    problems.extend(_triage_problems(shared_dir / SHARED_FILES["triage"], shared.triage))
    return shared


def _triage_problems(path: Path, rules: TriageRules) -> list[str]:
    """Every pattern of the triage's rules, calm and needs patterns, frames and quiet shapes, compiled as the bot
    will: a pattern it would refuse at start (a hyphenated or capitalised option, an unknown @group) is a problem."""
    places: list[tuple[str, str]] = []
    for kind in rules.kinds:
        places += [(f"{kind.id}.rules", p) for rule in kind.rules for p in (*rule.all, *rule.unless)]
        places += [(f"{kind.id}.calm", p) for p in kind.calm] + [(f"{kind.id}.needs", p) for p in kind.needs]
    for name, frame in rules.frames.items():
        places += [(f"frames.{name}", p) for p in (*frame.patterns, *frame.but)]
    for name, shape in rules.quiet.items():
        places += [(f"quiet.{name}", p) for p in (*shape.patterns, *shape.but)]
    problems = []
    for where, pattern in places:
        try:
            compile_pattern(pattern, rules.groups)
        except ValueError as exc:
            problems.append(f"{path}: {where}: {exc}")
    return problems


def _out_of_scope_problems(path: Path, shared: SharedData) -> list[str]:
    problems = []
    scope = shared.out_of_scope
    lines = {line.id for line in shared.hotlines}
    referrals = {r.id for r in scope.referrals}
    service_types = {t.id for t in shared.service_types}
    for dup in sorted(_duplicates(r.id for r in scope.referrals)):
        problems.append(f"{path}: referrals[{dup}]: duplicate id")
    for dup in sorted(_duplicates(t.id for t in scope.topics)):
        problems.append(f"{path}: topics[{dup}]: duplicate id")
    for referral in scope.referrals:
        if referral.hotline and referral.hotline not in lines:
            problems.append(f"{path}: referrals[{referral.id}].hotline: unknown national line '{referral.hotline}'")
    for topic in scope.topics:
        for rid in topic.refer:
            if rid not in referrals:
                problems.append(f"{path}: topics[{topic.id}].refer: unknown referral '{rid}'")
        for kind in topic.types:
            if kind not in service_types:
                problems.append(f"{path}: topics[{topic.id}].types: unknown service type '{kind}'")
        for pattern in topic.when:
            if not pattern.split() or any(not part.strip("|") for part in pattern.split()):
                problems.append(f"{path}: topics[{topic.id}].when: empty word in '{pattern}'")
    return problems


def check_community(path: Path, community: Community, shared: SharedData) -> list[str]:
    problems = []
    inst_ids = [i.id for i in community.institutions]
    svc_ids = [s.id for s in community.services]
    for dup in sorted(_duplicates(inst_ids)):
        problems.append(f"{path}: institutions[{dup}]: duplicate id")
    for dup in sorted(_duplicates(svc_ids)):
        problems.append(f"{path}: services[{dup}]: duplicate id")
    known_inst = set(inst_ids)
    groups = {g.id for g in shared.target_groups}
    situations = {s.id for s in shared.situations}
    types = {t.id for t in shared.service_types}
    for field_name in ("intake_institution", "children_institution"):
        value = getattr(community, field_name)
        if value not in known_inst:
            problems.append(f"{path}: {field_name}: unknown institution '{value}'")
    for situation_id, inst in community.situation_routes.items():
        if situation_id not in situations:
            problems.append(f"{path}: situation_routes.{situation_id}: unknown life situation")
        if inst not in known_inst:
            problems.append(f"{path}: situation_routes.{situation_id}: unknown institution '{inst}'")
    topics = {t.id for t in shared.consultation_topics}
    for line in community.consultation:
        if line.topic not in topics:
            problems.append(f"{path}: consultation[{line.topic}].topic: unknown consultation topic")
        if line.institution and line.institution not in known_inst:
            problems.append(f"{path}: consultation[{line.topic}].institution: unknown institution '{line.institution}'")
    if path.parent.name != community.slug:
        problems.append(f"{path}: slug: '{community.slug}' differs from its folder '{path.parent.name}'")
    for service in community.services:
        where = f"{path}: services[{service.id}]"
        if service.provider not in known_inst:
            problems.append(f"{where}.provider: unknown institution '{service.provider}'")
        for other in service.co_providers:
            if other not in known_inst:
                problems.append(f"{where}.co_providers: unknown institution '{other}'")
        for gid in service.target_groups:
            if gid not in groups:
                problems.append(f"{where}.target_groups: unknown target group '{gid}'")
        for sid in service.situations:
            if sid not in situations:
                problems.append(f"{where}.situations: unknown life situation '{sid}'")
        if service.service_type and service.service_type not in types:
            problems.append(f"{where}.service_type: unknown service type '{service.service_type}'")
        if service.status.value in ("planned", "introducing") and service.planned_year is None:
            problems.append(f"{where}.planned_year: a {service.status.value} service needs the years the programme "
                            "gives for it")
        if service.planned_until is not None and service.planned_year is None:
            problems.append(f"{where}.planned_until: needs planned_year, the first year")
        if service.planned_until is not None and (service.planned_year or 0) > service.planned_until:
            problems.append(f"{where}.planned_until: ends before planned_year")
        if service.provider_source == "routing" and service.provider_note is None:
            problems.append(f"{where}.provider_note: say why the bot sends residents to this institution")
    if community.indicators is not None and community.indicators.topic is not None:
        if community.indicators.topic not in topics:
            problems.append(f"{path}: indicators.topic: unknown consultation topic '{community.indicators.topic}'")
    return problems


def load_catalogue(data_dir: Path, only: Optional[Iterable[str]] = None) -> Catalogue:
    """Load shared data and every community folder (or just `only`). Raises CatalogueError."""
    data_dir = Path(data_dir)
    problems: list[str] = []
    shared = load_shared(data_dir, problems)
    wanted = set(only or [])
    communities: dict[str, CommunityView] = {}
    folders = sorted(p for p in data_dir.iterdir() if p.is_dir() and (p / COMMUNITY_FILE).exists())
    for unknown in sorted(wanted - {p.name for p in folders}):
        problems.append(f"{data_dir / unknown}: community '{unknown}' is not in {data_dir}")
    for folder in folders:
        if wanted and folder.name not in wanted:
            continue
        path = folder / COMMUNITY_FILE
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        try:
            community = Community.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_validation_problems(path, exc, raw))
            continue
        if shared is not None:
            problems.extend(check_community(path, community, shared))
        communities[community.slug] = CommunityView(
            community,
            institutions={i.id: i for i in community.institutions},
            services={s.id: s for s in community.services},
        )
    if not communities and not problems:
        problems.append(f"{data_dir}: no community folder with {COMMUNITY_FILE}")
    if problems or shared is None:
        raise CatalogueError(problems)
    return Catalogue(shared=shared, communities=communities)
