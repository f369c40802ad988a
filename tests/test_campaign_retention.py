"""Retention of campaigns and link opens: who got a campaign and who opened a link is forgotten after
RETENTION_DAYS, while every count the reports and /campaigns show stays the same."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import links, privacy
from bot.campaigns.service import CampaignService
from bot.reports.figures import Collector
from bot.reports.periods import Period
from bot.storage.db import Database

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2026, 11, 24, 12, tzinfo=timezone.utc)
DAYS = 90
JANUARY = Period(date(2026, 1, 1), date(2026, 1, 31), 1)
LONG_AGO, RECENTLY = "2026-01-10T10:00:00+00:00", "2026-11-20T10:00:00+00:00"


@pytest.fixture
async def db(tmp_path):
    db = await Database(tmp_path / "retention.sqlite3").connect()
    for user, community in ((1, "lutsk"), (2, "lutsk"), (9, "pervomaiskyi")):
        await db.execute("INSERT INTO residents (user_id, community, created_at, updated_at) VALUES (?, ?, ?, ?)",
                         (user, community, LONG_AGO, LONG_AGO))
    # campaign 1, to everyone, finished in January; campaign 2, to Lutsk, finished days ago
    for cid, finished, audience in ((1, LONG_AGO, None), (2, RECENTLY, "lutsk")):
        await db.execute(
            "INSERT INTO campaigns (id, created_by, created_at, status, topic, text, audience, started_at, "
            "finished_at, total) VALUES (?, 1, ?, 'done', 'news', 'т', ?, ?, ?, 3)",
            (cid, finished, json.dumps({"community": audience}), finished, finished))
    for cid, user, status in ((1, 1, "delivered"), (1, 2, "blocked"), (1, 9, "delivered"), (2, 1, "delivered")):
        await db.execute("INSERT INTO campaign_recipients (campaign_id, user_id, status, sent_at) VALUES (?, ?, ?, ?)",
                         (cid, user, status, LONG_AGO if cid == 1 else RECENTLY))
    # opens of campaign 1's button (resident 1 twice, resident 9 once), of a printed code long ago and lately
    for code, campaign, user, at in (("sK1", 1, 1, LONG_AGO), ("sK1", 1, 1, LONG_AGO), ("sK1", 1, 9, LONG_AGO),
                                     ("qr", None, 2, LONG_AGO), ("qr", None, 2, RECENTLY)):
        await db.execute("INSERT INTO link_opens (code, kind, community, campaign_id, user_id, opened_at) "
                         "VALUES (?, 'service', NULL, ?, ?, ?)", (code, campaign, user, at))
    yield db
    await db.close()


async def seen(db: Database, catalogue) -> dict:
    """What administrators are shown: /campaigns figures, the report's campaign rows, opens by code."""
    service = CampaignService(db, ["lutsk", "pervomaiskyi"])
    out = {"figures": [await service.figures(cid) for cid in (1, 2)]}
    for community in (None, "lutsk", "pervomaiskyi"):
        report = await Collector(db, catalogue, KYIV).report(JANUARY, community, now=NOW)
        out[community] = ([(c.id, c.recipients, c.delivered, c.blocked, c.opens, c.openers)
                           for c in report.current.campaigns], report.current.active_residents)
    out["codes"] = [(c.code, c.opens, c.residents) for c in await links.opens_by_code(db, "2026-01-01", "2026-01-31")]
    return out


async def test_who_is_forgotten_and_the_counts_stay(db, catalogue):
    before = await seen(db, catalogue)
    assert before["lutsk"][0] == [(1, 2, 1, 1, 2, 1)] and before["pervomaiskyi"][0] == [(1, 1, 1, 0, 1, 1)]
    assert (await privacy.collect(db, 1, now=NOW))["campaign_messages"]

    campaigns = await CampaignService(db, ["lutsk", "pervomaiskyi"]).purge_finished(DAYS, now=NOW)
    opens = await links.purge_opens(db, DAYS, now=NOW)
    assert (campaigns, opens) == (1, 4)

    # nobody is named any more for January; what is recent is untouched
    rows = await db.fetchall("SELECT campaign_id, user_id FROM campaign_recipients")
    assert [(r["campaign_id"], r["user_id"]) for r in rows] == [(2, 1)]
    old = await db.fetchall("SELECT user_id FROM link_opens WHERE opened_at < '2026-02-01'")
    assert old and all(r["user_id"] < 0 for r in old)
    assert [r["user_id"] for r in await db.fetchall("SELECT user_id FROM link_opens WHERE opened_at > '2026-11-01'")] \
        == [2]
    export = await privacy.collect(db, 1, now=NOW)
    assert [m["campaign"] for m in export["campaign_messages"]] == [2]
    assert export["link_opens"] == []

    # the same figures everywhere
    assert await seen(db, catalogue) == before

    # a second day changes nothing
    assert await CampaignService(db, ["lutsk", "pervomaiskyi"]).purge_finished(DAYS, now=NOW) == 0
    assert await links.purge_opens(db, DAYS, now=NOW) == 0
    assert await seen(db, catalogue) == before


async def test_a_campaign_still_running_is_kept(db):
    await db.execute("UPDATE campaigns SET status = 'paused' WHERE id = 1")
    assert await CampaignService(db, ["lutsk"]).purge_finished(DAYS, now=NOW) == 0
    assert (await db.fetchone("SELECT COUNT(*) AS n FROM campaign_recipients WHERE campaign_id = 1"))["n"] == 3
