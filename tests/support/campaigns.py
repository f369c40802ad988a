"""Campaigns in tests/e2e/: how many copies of a campaign's text each resident got."""
from __future__ import annotations

from collections import Counter

from sandbox import SandboxClient


async def copies(client: SandboxClient, ids: list[int], text: str) -> Counter[int]:
    """How many messages with `text` each resident got."""
    counts: Counter[int] = Counter()
    for user_id in ids:
        for message in await client.messages(user_id):
            if message.get("sender") == "bot" and text in (message.get("text") or ""):
                counts[user_id] += 1
    return counts
