"""Deep links into the bot (t.me/<bot>?start=PAYLOAD): what a printed QR code or a campaign button opens.

A payload is a row of fields; each field is one capital letter and a value of lower-case letters, digits,
``-`` and ``_`` (catalogue ids never have capitals, so the letters separate the fields unambiguously):

* ``H<community slug>`` or ``G<hash>``: the community (always first);
* ``S<service id>`` or ``R<hash>``: a service card;
* ``T<topic id>`` or ``U<hash>``: a consultation topic;
* ``K<digits>``: the campaign the link was sent in.

``HlutskShome-care`` opens the home care card of Lutsk, ``HlutskTlegalK12`` the legal consultation topic from
campaign 12, ``Hlutsk`` the menu. Telegram takes at most 64 characters; when the readable form would be longer,
the target (and if still needed the community) is written as an 8-character hash of its id, which only the
catalogue can resolve. A payload is the same for the same link every time, so printed codes stay valid for as
long as the catalogue keeps the ids.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Optional, Union

from bot.storage.db import Database, utcnow
from bot.storage.residents import communities_of, community_sql

MAX_PAYLOAD = 64
PAYLOAD_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FIELD = re.compile(r"([A-Z])([a-z0-9_-]*)")
ID_VALUE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
HASH_LENGTH = 8
MAX_CAMPAIGN_DIGITS = 12
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")

SERVICE = "service"
CONSULTATION = "consultation"
COMMUNITY = "community"
KINDS = (SERVICE, CONSULTATION, COMMUNITY)

# field letters: (readable, hashed)
COMMUNITY_TAGS = ("H", "G")
TARGET_TAGS = {SERVICE: ("S", "R"), CONSULTATION: ("T", "U")}
CAMPAIGN_TAG = "K"
TAG_KIND = {"S": SERVICE, "R": SERVICE, "T": CONSULTATION, "U": CONSULTATION}


class LinkError(ValueError):
    """A link cannot be made from these values."""


@dataclass(frozen=True)
class Link:
    """What a start payload opens. ``code`` is the payload itself, as opened or as made."""

    kind: str
    community: str
    target: Optional[str]
    campaign_id: Optional[int]
    code: str


def short_hash(value: str) -> str:
    """A stable 8-character name of an id (40 bits of BLAKE2s in lower-case base32)."""
    digest = hashlib.blake2s(value.encode("utf-8"), digest_size=5).digest()
    return base64.b32encode(digest).decode("ascii").lower()


def _check_id(what: str, value: str) -> str:
    if not isinstance(value, str) or not ID_VALUE.match(value):
        raise LinkError(f"{what} {value!r} is not an id of lower-case letters, digits, '-' and '_'")
    return value


def _build(kind: str, community: str, target: Optional[str], campaign_id: Optional[int]) -> str:
    _check_id("community", community)
    if kind != COMMUNITY:
        _check_id(kind, target or "")
    campaign = ""
    if campaign_id is not None:
        if isinstance(campaign_id, bool) or not isinstance(campaign_id, int) or campaign_id <= 0 \
                or len(str(campaign_id)) > MAX_CAMPAIGN_DIGITS:
            raise LinkError(f"campaign id {campaign_id!r} is not a positive number of at most 12 digits")
        campaign = f"{CAMPAIGN_TAG}{campaign_id}"
    readable_tag, hashed_tag = TARGET_TAGS.get(kind, ("", ""))
    candidates = [
        (f"H{community}", f"{readable_tag}{target}" if target else ""),
        (f"H{community}", f"{hashed_tag}{short_hash(target)}" if target else ""),
        (f"G{short_hash(community)}", f"{hashed_tag}{short_hash(target)}" if target else ""),
    ]
    for head, tail in candidates:
        payload = head + tail + campaign
        if len(payload) <= MAX_PAYLOAD:
            return payload
    raise LinkError("the link does not fit into 64 characters")  # pragma: no cover - the last form is ≤ 31


def service_payload(community: str, service_id: str, campaign_id: Optional[int] = None) -> str:
    """The start payload that opens a service card."""
    return _build(SERVICE, community, service_id, campaign_id)


def consultation_payload(community: str, topic_id: str, campaign_id: Optional[int] = None) -> str:
    """The start payload that opens a consultation topic."""
    return _build(CONSULTATION, community, topic_id, campaign_id)


def community_payload(community: str, campaign_id: Optional[int] = None) -> str:
    """The start payload that opens the menu of a community."""
    return _build(COMMUNITY, community, None, campaign_id)


def payload_for(kind: str, community: str, target: Optional[str] = None, campaign_id: Optional[int] = None) -> str:
    if kind not in KINDS:
        raise LinkError(f"unknown kind of link {kind!r}")
    return _build(kind, community, target, campaign_id)


def deep_link(bot_username: str, payload: str) -> str:
    """https://t.me/<bot>?start=<payload>"""
    username = (bot_username or "").strip().lstrip("@")
    if not USERNAME.match(username):
        raise LinkError(f"{bot_username!r} is not a Telegram bot username")
    if not PAYLOAD_CHARS.match(payload or ""):
        raise LinkError("a start payload is 1–64 characters of A-Z, a-z, 0-9, '_' and '-'")
    return f"https://t.me/{username}?start={payload}"


def _resolve(value: str, hashed: bool, known: Any) -> Optional[str]:
    """The id a field names: itself (when known), or the known id with that hash."""
    if not hashed:
        return value if known is None or value in known else None
    if known is None or len(value) != HASH_LENGTH:
        return None
    found = [item for item in known if short_hash(item) == value]
    return found[0] if len(found) == 1 else None


def parse_payload(text: Optional[str], catalogue: Any = None) -> Optional[Link]:
    """The link a start payload names, or None for anything else (made up, edited, unknown ids).

    With the catalogue, the community and the target must exist there, and hashed fields are resolved;
    without it only the form is checked, and hashed fields cannot be read (None)."""
    if not text or not PAYLOAD_CHARS.match(text):
        return None
    fields = FIELD.findall(text)
    if "".join(tag + value for tag, value in fields) != text or not fields:
        return None
    (head, community_value), rest = fields[0], fields[1:]
    if head not in COMMUNITY_TAGS or not community_value:
        return None
    communities = catalogue.communities if catalogue is not None else None
    community = _resolve(community_value, head == "G", communities)
    if community is None or not ID_VALUE.match(community):
        return None
    kind, target, campaign_id = COMMUNITY, None, None
    if rest and rest[0][0] in TAG_KIND:
        tag, value = rest.pop(0)
        kind = TAG_KIND[tag]
        hashed = tag in ("R", "U")
        if kind == SERVICE:
            known = communities[community].services if communities is not None else None
        else:
            known = [t.id for t in catalogue.consultation_topics] if catalogue is not None else None
        target = _resolve(value, hashed, known) if value else None
        if target is None or not ID_VALUE.match(target):
            return None
    if rest and rest[0][0] == CAMPAIGN_TAG:
        _, value = rest.pop(0)
        if not value.isdigit() or value.startswith("0") or len(value) > MAX_CAMPAIGN_DIGITS:
            return None
        campaign_id = int(value)
    if rest:
        return None
    if _not_canonical(text, kind, community, target, campaign_id):
        return None
    return Link(kind=kind, community=community, target=target, campaign_id=campaign_id, code=text)


def _not_canonical(text: str, kind: str, community: str, target: Optional[str],
                            campaign_id: Optional[int]) -> bool:
    """Only the payload we make is accepted: one link, one code, so the counts by code add up."""
    try:
        return _build(kind, community, target, campaign_id) != text
    except LinkError:
        return True


# ----- counting opens -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CodeOpens:
    """How often one code was opened in a period."""

    code: str
    kind: str
    community: Optional[str]
    target: Optional[str]
    campaign_id: Optional[int]
    opens: int
    residents: int  # distinct people
    new_residents: int  # distinct people who came to the bot through it


async def record_open(db: Database, link: Link, user_id: Optional[int], new_resident: bool) -> None:
    """Count one open of a link."""
    await db.execute(
        "INSERT INTO link_opens (code, kind, community, target, campaign_id, user_id, new_resident, opened_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (link.code, link.kind, link.community, link.target, link.campaign_id, user_id, int(bool(new_resident)),
         utcnow()),
    )


Moment = Union[datetime, date, str, None]


def _bound(value: Moment, end: bool) -> Optional[str]:
    """A period bound as the stored text (UTC, ISO). A date as `until` includes that whole day."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value else date.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1) if end else value, time(0), tzinfo=timezone.utc)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")


async def opens_by_code(db: Database, since: Moment = None, until: Moment = None) -> list[CodeOpens]:
    """Opens per code, most opened first; `since` is inclusive, `until` exclusive (a date: up to its end)."""
    where, params = [], []
    start, end = _bound(since, False), _bound(until, True)
    if start:
        where.append("opened_at >= ?")
        params.append(start)
    if end:
        where.append("opened_at < ?")
        params.append(end)
    sql = (
        "SELECT code, MIN(kind) AS kind, MIN(community) AS community, MIN(target) AS target, "
        "MIN(campaign_id) AS campaign_id, COUNT(*) AS opens, COUNT(DISTINCT user_id) AS residents, "
        "COUNT(DISTINCT CASE WHEN new_resident = 1 THEN user_id END) AS new_residents FROM link_opens"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " GROUP BY code ORDER BY opens DESC, code"
    )
    return [CodeOpens(row["code"], row["kind"], row["community"], row["target"], row["campaign_id"], row["opens"],
                      row["residents"], row["new_residents"]) for row in await db.fetchall(sql, params)]


async def forget_resident(db: Database, user_id: int) -> None:
    """"Delete my data": the resident's opens stay counted under a random number instead of their id, so the
    counts of distinct residents hold and nothing leads back to them."""
    stand_in = -secrets.randbelow(2**62) - 1
    community = (await communities_of(db, [user_id])).get(user_id)
    await db.execute(
        "UPDATE link_opens SET user_id = ?, resident_community = COALESCE(resident_community, ?) WHERE user_id = ?",
        (stand_in, community, user_id))


async def purge_opens(db: Database, older_than_days: int, now: Optional[datetime] = None) -> int:
    """Retention: opens older than the period keep their counts but not the opener. Each opener of the batch
    gets one random stand-in (so distinct openers still count right within it) and their community is kept
    beside it for the reports."""
    now = now or datetime.now(timezone.utc)
    limit = (now - timedelta(days=older_than_days)).astimezone(timezone.utc).isoformat(timespec="seconds")
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "SELECT DISTINCT user_id FROM link_opens WHERE opened_at < ? AND user_id > 0", (limit,))
        openers = [row[0] for row in await cursor.fetchall()]
        communities = await communities_of(conn, openers)
        changed = 0
        for user_id in openers:
            community = communities.get(user_id)
            cursor = await conn.execute(
                "UPDATE link_opens SET user_id = ?, resident_community = COALESCE(resident_community, ?) "
                "WHERE user_id = ? AND opened_at < ?", (-secrets.randbelow(2**62) - 1, community, user_id, limit))
            changed += cursor.rowcount
    return changed


async def opens_of_campaign(db: Database, campaign_id: int) -> int:
    """How many distinct residents opened a link of the campaign."""
    row = await db.fetchone(
        "SELECT COUNT(DISTINCT user_id) FROM link_opens WHERE campaign_id = ? AND user_id IS NOT NULL", (campaign_id,)
    )
    return int(row[0] or 0)


async def campaign_opens(db: Database, campaign_id: int, community: Optional[str] = None) -> tuple[int, int]:
    """The reports' opens of a campaign's links and distinct openers; with `community`, only the opens of that
    community's residents (by the community the resident chose, else the one kept with the open, else the link's)."""
    where = f" AND COALESCE({community_sql('lo.user_id')}, lo.resident_community, lo.community) = ?"
    row = await db.fetchone(
        "SELECT COUNT(*) AS opens, COUNT(DISTINCT lo.user_id) AS openers FROM link_opens lo WHERE lo.campaign_id = ?"
        + (where if community else ""), (campaign_id, community) if community else (campaign_id,))
    return row["opens"] or 0, row["openers"] or 0


def active_sql(begin: str, end: str, community: Optional[str]) -> tuple[str, list[object]]:
    """A SELECT of the residents who opened a deep link in [begin, end), with its parameters: the reports join it
    with the other owners' in one count of active residents. Opens whose opener was replaced by a stand-in number
    (retention, "delete my data") are left out."""
    sql = ("SELECT lo.user_id FROM link_opens lo WHERE lo.opened_at >= ? AND lo.opened_at < ? AND lo.user_id > 0"
           + (f" AND COALESCE({community_sql('lo.user_id')}, lo.community) = ?" if community else ""))
    return sql, [begin, end, *([community] if community else [])]


async def export_opens(db: Database, user_id: int) -> list[dict[str, Any]]:
    """«Мої дані»: the links the resident opened (bot.privacy)."""
    rows = await db.fetchall(
        "SELECT code, kind, community, target, campaign_id, new_resident, opened_at FROM link_opens "
        "WHERE user_id = ? ORDER BY opened_at, id", (user_id,)
    )
    return [{"code": o["code"], "kind": o["kind"], "community": o["community"], "target": o["target"],
             "campaign": o["campaign_id"], "first_visit": bool(o["new_resident"]), "opened_at": o["opened_at"]}
            for o in rows]
