"""Information campaigns and topic subscriptions: what is stored and how it changes. No Telegram types.

A campaign's recipients are written into `campaign_recipients` when it starts, one row each, and every
row is marked as it is sent: `pending` → `sending` (committed just before the Bot API call) →
`delivered` | `blocked` | `failed`. A restart resumes with the `pending` rows. Rows found `sending`
after a crash were handed to Telegram or were about to be; Telegram cannot be asked which, so they
become `uncertain` and are not sent again (nobody gets the message twice; the figures show how many).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

from bot import links
from bot.links import Link
from bot.storage import residents
from bot.storage.db import Database, Row, utcnow

STATUSES = ("scheduled", "running", "paused", "cancelled", "done")
ACTIVE = ("scheduled", "running", "paused")
BUTTON_KINDS = ("service", "consultation", "url")
MAX_TEXT = 4096  # a message
MAX_CAPTION = 1024  # the text under a photo or a document


class CampaignError(Exception):
    """Something an administrator asked that cannot be done; the message says what."""


@dataclass(frozen=True)
class Audience:
    """Who receives a campaign. Residents who unsubscribed from the campaign's topic never do."""

    community: Optional[str] = None  # None: every community this bot serves
    subscribers_only: bool = False  # only residents subscribed to the campaign's topic
    locale: Optional[str] = None  # None: any language

    def to_json(self) -> str:
        return json.dumps({"community": self.community, "subscribers_only": self.subscribers_only,
                           "locale": self.locale})

    @classmethod
    def from_json(cls, text: str) -> "Audience":
        raw = json.loads(text or "{}")
        return cls(raw.get("community"), bool(raw.get("subscribers_only")), raw.get("locale"))


@dataclass(frozen=True)
class Draft:
    topic: str
    text: str
    audience: Audience = field(default_factory=Audience)
    media_kind: Optional[str] = None  # photo | document
    media_file_id: Optional[str] = None
    button_kind: Optional[str] = None  # service | consultation | url
    button_value: Optional[str] = None  # "community:service", "topic" or the address
    paid: bool = False


@dataclass(frozen=True)
class Campaign:
    id: int
    created_by: int
    created_at: str
    status: str
    topic: str
    text: str
    audience: Audience
    media_kind: Optional[str]
    media_file_id: Optional[str]
    button_kind: Optional[str]
    button_value: Optional[str]
    paid: bool
    scheduled_at: Optional[datetime]
    started_at: Optional[str]
    finished_at: Optional[str]
    total: int
    progress_chat_id: Optional[int]
    progress_message_id: Optional[int]

    @classmethod
    def of(cls, row: Row) -> "Campaign":
        scheduled = datetime.fromisoformat(row["scheduled_at"]) if row["scheduled_at"] else None
        return cls(row["id"], row["created_by"], row["created_at"], row["status"], row["topic"], row["text"],
                   Audience.from_json(row["audience"]), row["media_kind"], row["media_file_id"], row["button_kind"],
                   row["button_value"], bool(row["paid"]), scheduled, row["started_at"], row["finished_at"],
                   row["total"], row["progress_chat_id"], row["progress_message_id"])

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Figures:
    total: int = 0
    pending: int = 0
    sending: int = 0
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    uncertain: int = 0
    opens: int = 0  # residents who opened the campaign's button

    @property
    def sent(self) -> int:
        """Handed to Telegram, whatever came of it."""
        return self.delivered + self.blocked + self.failed + self.uncertain

    @property
    def remaining(self) -> int:
        return self.pending + self.sending


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class Subscriptions:
    """Topics a resident chose. No row: never chose (gets campaigns to all, not those to subscribers)."""

    def __init__(self, db: Database):
        self.db = db

    async def of(self, user_id: int) -> dict[str, bool]:
        rows = await self.db.fetchall("SELECT topic, subscribed FROM subscriptions WHERE user_id = ?", (user_id,))
        return {row["topic"]: bool(row["subscribed"]) for row in rows}

    async def set(self, user_id: int, topic: str, subscribed: bool) -> None:
        await self.db.execute(
            "INSERT INTO subscriptions (user_id, topic, subscribed, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id, topic) DO UPDATE SET subscribed = excluded.subscribed, "
            "updated_at = excluded.updated_at",
            (user_id, topic, int(subscribed), utcnow()),
        )

    async def toggle(self, user_id: int, topic: str) -> bool:
        """Flip a topic; return whether the resident is subscribed now."""
        now = not (await self.of(user_id)).get(topic, False)
        await self.set(user_id, topic, now)
        return now


# A campaign's audience: the residents who can be sent news (a question to their storage), less those who turned the
# topic off, and only its subscribers when the campaign says so. One query, which INSERT … SELECT writes as is.
AUDIENCE_SQL = residents.reachable_sql("""\
  AND NOT EXISTS (SELECT 1 FROM subscriptions s
                  WHERE s.user_id = r.user_id AND s.topic = :topic AND s.subscribed = 0)
  AND (:subscribers_only = 0 OR EXISTS (SELECT 1 FROM subscriptions s
                  WHERE s.user_id = r.user_id AND s.topic = :topic AND s.subscribed = 1))
""")


COMMUNITY = residents.community_sql("cr.user_id")  # a recipient's community, NULL for one the bot forgot


class CampaignService:
    def __init__(self, db: Database, served: list[str], clock: Any = None):
        self.db = db
        self.served = served
        self.clock = clock or (lambda: datetime.now(timezone.utc))  # tests move it to start scheduled ones

    def _audience_params(self, topic: str, audience: Audience) -> dict[str, Any]:
        return {"community": audience.community, "locale": audience.locale, "topic": topic,
                "subscribers_only": int(audience.subscribers_only)}

    async def audience_size(self, topic: str, audience: Audience) -> int:
        row = await self.db.fetchone("SELECT COUNT(*) AS n " + AUDIENCE_SQL,
                                     self._audience_params(topic, audience))
        return row["n"]

    async def create(self, draft: Draft, created_by: int, scheduled_at: Optional[datetime] = None) -> Campaign:
        if draft.button_kind is not None and draft.button_kind not in BUTTON_KINDS:
            raise CampaignError(f"unknown button kind {draft.button_kind}")
        if draft.audience.community is not None and draft.audience.community not in self.served:
            raise CampaignError(f"this bot does not serve {draft.audience.community}")
        now = self.clock()
        if scheduled_at is not None and scheduled_at <= now:
            raise CampaignError("the time to send is in the past")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO campaigns (created_by, created_at, status, topic, text, media_kind, media_file_id, "
                "button_kind, button_value, audience, paid, scheduled_at) "
                "VALUES (?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (created_by, _iso(now), draft.topic, draft.text, draft.media_kind, draft.media_file_id,
                 draft.button_kind, draft.button_value, draft.audience.to_json(), int(draft.paid),
                 _iso(scheduled_at or now)),
            )
            campaign_id = cursor.lastrowid
        return await self.get(campaign_id)

    async def get(self, campaign_id: int) -> Optional[Campaign]:
        row = await self.db.fetchone("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
        return Campaign.of(row) if row else None

    async def recent(self, limit: int = 20) -> list[Campaign]:
        rows = await self.db.fetchall("SELECT * FROM campaigns ORDER BY id DESC LIMIT ?", (limit,))
        return [Campaign.of(row) for row in rows]

    async def due_to_start(self) -> list[Campaign]:
        rows = await self.db.fetchall(
            "SELECT * FROM campaigns WHERE status = 'scheduled' AND scheduled_at <= ? ORDER BY scheduled_at, id",
            (_iso(self.clock()),))
        return [Campaign.of(row) for row in rows]

    async def running(self) -> list[Campaign]:
        rows = await self.db.fetchall("SELECT * FROM campaigns WHERE status = 'running' ORDER BY id")
        return [Campaign.of(row) for row in rows]

    async def start(self, campaign_id: int) -> Campaign:
        """Write the recipients (once: a campaign that already has them keeps them) and mark it running."""
        async with self.db.transaction() as conn:
            row = await (await conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))).fetchone()
            if row is None or row["status"] != "scheduled":
                raise CampaignError("only a scheduled campaign can start")
            campaign = Campaign.of(row)
            await conn.execute(
                "INSERT OR IGNORE INTO campaign_recipients (campaign_id, user_id, locale) "
                "SELECT :campaign, r.user_id, r.locale " + AUDIENCE_SQL,
                {"campaign": campaign_id, **self._audience_params(campaign.topic, campaign.audience)},
            )
            total = (await (await conn.execute(
                "SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ?", (campaign_id,))).fetchone())[0]
            await conn.execute("UPDATE campaigns SET status = 'running', started_at = ?, total = ? WHERE id = ?",
                               (_iso(self.clock()), total, campaign_id))
        return await self.get(campaign_id)

    async def _move(self, campaign_id: int, allowed: tuple[str, ...], status: str) -> Campaign:
        changed = await self.db.execute(
            f"UPDATE campaigns SET status = ?, finished_at = CASE WHEN ? IN ('cancelled', 'done') THEN ? "
            f"ELSE finished_at END WHERE id = ? AND status IN ({', '.join('?' * len(allowed))})",
            (status, status, _iso(self.clock()), campaign_id, *allowed),
        )
        campaign = await self.get(campaign_id)
        if campaign is None:
            raise CampaignError("no such campaign")
        if not changed and campaign.status != status:
            raise CampaignError(f"the campaign is {campaign.status}")
        return campaign

    async def pause(self, campaign_id: int) -> Campaign:
        return await self._move(campaign_id, ("running",), "paused")

    async def resume(self, campaign_id: int) -> Campaign:
        return await self._move(campaign_id, ("paused",), "running")

    async def cancel(self, campaign_id: int) -> Campaign:
        return await self._move(campaign_id, ACTIVE, "cancelled")

    async def finish(self, campaign_id: int) -> Campaign:
        return await self._move(campaign_id, ("running",), "done")

    async def set_progress_message(self, campaign_id: int, chat_id: int, message_id: Optional[int]) -> None:
        await self.db.execute("UPDATE campaigns SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
                              (chat_id, message_id, campaign_id))

    # ----- the recipients ---------------------------------------------------------------------------------

    async def recover(self) -> int:
        """After a crash: rows caught in the middle of sending are not sent again (see the module's note)."""
        return await self.db.execute(
            "UPDATE campaign_recipients SET status = 'uncertain', error = 'restarted while sending' "
            "WHERE status = 'sending'")

    async def next_batch(self, campaign_id: int, limit: int) -> list[tuple[int, Optional[str]]]:
        rows = await self.db.fetchall(
            "SELECT user_id, locale FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending' "
            "AND next_attempt_at <= ? ORDER BY next_attempt_at, user_id LIMIT ?",
            (campaign_id, time.time(), limit))
        return [(row["user_id"], row["locale"]) for row in rows]

    async def next_retry_at(self, campaign_id: int) -> Optional[float]:
        row = await self.db.fetchone(
            "SELECT MIN(next_attempt_at) AS at FROM campaign_recipients WHERE campaign_id = ? AND status = 'pending'",
            (campaign_id,))
        return row["at"]

    async def mark_sending(self, campaign_id: int, user_id: int) -> bool:
        """Claim a row just before the Bot API call; False if it is no longer pending."""
        return bool(await self.db.execute(
            "UPDATE campaign_recipients SET status = 'sending', attempts = attempts + 1 "
            "WHERE campaign_id = ? AND user_id = ? AND status = 'pending'", (campaign_id, user_id)))

    async def mark(self, campaign_id: int, user_id: int, status: str, error: Optional[str] = None) -> None:
        await self.db.execute(
            "UPDATE campaign_recipients SET status = ?, error = ?, sent_at = ? WHERE campaign_id = ? AND user_id = ?",
            (status, error, utcnow(), campaign_id, user_id))

    async def retry_later(self, campaign_id: int, user_id: int, delay: float, error: str) -> None:
        await self.db.execute(
            "UPDATE campaign_recipients SET status = 'pending', next_attempt_at = ?, error = ? "
            "WHERE campaign_id = ? AND user_id = ?", (time.time() + delay, error, campaign_id, user_id))

    async def give_back(self, campaign_id: int, user_id: int) -> None:
        """A claimed row that was not sent after all (Telegram asked to wait): pending again, no attempt used."""
        await self.db.execute(
            "UPDATE campaign_recipients SET status = 'pending', attempts = attempts - 1 "
            "WHERE campaign_id = ? AND user_id = ? AND status = 'sending'", (campaign_id, user_id))

    async def figures(self, campaign_id: int) -> Figures:
        rows = await self.db.fetchall(
            "SELECT status, SUM(n) AS n FROM ("
            "SELECT status, COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = ? GROUP BY status "
            "UNION ALL SELECT status, n FROM campaign_tallies WHERE campaign_id = ?) GROUP BY status",
            (campaign_id, campaign_id))
        counts = {row["status"]: row["n"] for row in rows}
        opens = await links.opens_of_campaign(self.db, campaign_id)
        campaign = await self.db.fetchone("SELECT total FROM campaigns WHERE id = ?", (campaign_id,))
        return Figures(total=campaign["total"] if campaign else sum(counts.values()), pending=counts.get("pending", 0),
                       sending=counts.get("sending", 0), delivered=counts.get("delivered", 0),
                       blocked=counts.get("blocked", 0), failed=counts.get("failed", 0),
                       uncertain=counts.get("uncertain", 0), opens=opens)

    async def purge_finished(self, older_than_days: int, now: Optional[datetime] = None) -> int:
        """Retention: campaigns finished (done or cancelled) longer ago than the period keep only how many of
        their recipients had each outcome, per community; who the recipients were is deleted."""
        now = now or datetime.now(timezone.utc)
        limit = (now - timedelta(days=older_than_days)).astimezone(timezone.utc).isoformat(timespec="seconds")
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT id FROM campaigns WHERE status IN ('done', 'cancelled') AND finished_at < ? "
                "AND purged_at IS NULL", (limit,))
            ids = [row[0] for row in await cursor.fetchall()]
            for campaign_id in ids:
                await conn.execute(
                    "INSERT INTO campaign_tallies (campaign_id, community, status, n) "
                    f"SELECT cr.campaign_id, COALESCE({COMMUNITY}, ''), cr.status, COUNT(*) "
                    "FROM campaign_recipients cr WHERE cr.campaign_id = ? "
                    f"GROUP BY cr.campaign_id, COALESCE({COMMUNITY}, ''), cr.status",
                    (campaign_id,))
                await conn.execute("DELETE FROM campaign_recipients WHERE campaign_id = ?", (campaign_id,))
                await conn.execute("UPDATE campaigns SET purged_at = ? WHERE id = ?", (utcnow(), campaign_id))
        return len(ids)


async def forget_person_in(conn: Any, user_id: int) -> None:
    """A resident's erasure, in the caller's transaction: their news subscriptions and the campaign messages sent
    to them go (the campaigns' tallies keep the counts)."""
    await conn.execute("DELETE FROM subscriptions WHERE user_id = ?", (user_id,))
    await conn.execute("DELETE FROM campaign_recipients WHERE user_id = ?", (user_id,))


async def known_campaign(db: Database, link: Link) -> Link:
    """The link as counted: a campaign id that names no campaign is not counted as one (the card still opens)."""
    if link.campaign_id is None:
        return link
    row = await db.fetchone("SELECT 1 FROM campaigns WHERE id = ?", (link.campaign_id,))
    return link if row else replace(link, campaign_id=None)
