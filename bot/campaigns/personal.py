"""What the campaigns keep about one resident, as the resident's own export («Мої дані», bot.privacy) shows it:
their news subscriptions and the campaign messages sent to them. (Their erasure is
bot.campaigns.service.forget_person_in.)"""
from __future__ import annotations

from typing import Any

from bot.storage.db import Database


async def export_subscriptions(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT topic, subscribed, updated_at FROM subscriptions WHERE user_id = ? ORDER BY topic", (user_id,)
    )
    return [{"topic": s["topic"], "subscribed": bool(s["subscribed"]), "changed_at": s["updated_at"]} for s in rows]


async def export_campaign_messages(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetchall(
        "SELECT r.campaign_id, c.topic, r.status, r.sent_at FROM campaign_recipients r "
        "LEFT JOIN campaigns c ON c.id = r.campaign_id WHERE r.user_id = ? ORDER BY r.campaign_id", (user_id,)
    )
    return [{"campaign": m["campaign_id"], "topic": m["topic"], "status": m["status"], "sent_at": m["sent_at"]}
            for m in rows]
