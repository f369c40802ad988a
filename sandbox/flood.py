"""Telegram-like flood control for message-sending methods (off unless enabled)."""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class FloodLimits:
    enabled: bool = False
    per_chat_per_sec: int = 1
    per_group_per_min: int = 20
    global_per_sec: int = 30
    # Telegram "may allow short bursts" to one chat: up to this many messages at once, still one a second
    # over time (at most `per_chat_burst` in any `per_chat_burst / per_chat_per_sec` seconds); 1: no burst.
    per_chat_burst: int = 1

    def update(self, values: dict[str, Any]) -> None:
        for key in ("per_chat_per_sec", "per_group_per_min", "global_per_sec", "per_chat_burst"):
            if values.get(key) is not None:
                setattr(self, key, max(1, int(values[key])))
        if values.get("enabled") is not None:
            self.enabled = bool(values["enabled"])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FloodControl:
    """Sliding windows per private chat (1 s, or longer for a burst), per group (60 s) and per bot overall (1 s)."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._sent: dict[tuple[Any, ...], deque[float]] = defaultdict(deque)

    def reset(self) -> None:
        self._sent.clear()

    def check(self, bot_id: int, chat_id: int, count: int = 1) -> int:
        """Return 0 and count the messages if allowed, else the seconds to wait."""
        if not self.limits.enabled:
            return 0
        moment = self._clock()
        windows = self._windows(bot_id, chat_id)
        waits = [self._wait(key, limit, span, moment, count) for key, limit, span in windows]
        if max(waits) > 0:
            return max(waits)
        for key, _, _ in windows:
            self._sent[key].extend([moment] * count)
        return 0

    def _windows(self, bot_id: int, chat_id: int) -> list[tuple[tuple[Any, ...], int, float]]:
        limits = self.limits
        burst = max(limits.per_chat_burst, limits.per_chat_per_sec)
        chat_window = (
            ((bot_id, "chat", chat_id), burst, burst / limits.per_chat_per_sec)
            if chat_id > 0
            else ((bot_id, "group", chat_id), limits.per_group_per_min, 60.0)
        )
        return [chat_window, ((bot_id, "all"), limits.global_per_sec, 1.0)]

    def _wait(self, key: tuple[Any, ...], limit: int, span: float, moment: float, count: int) -> int:
        sent = self._sent[key]
        while sent and sent[0] <= moment - span:
            sent.popleft()
        if len(sent) + count <= limit:
            return 0
        oldest = sent[len(sent) + count - limit - 1] if len(sent) + count - limit - 1 < len(sent) else moment
        return max(1, math.ceil(oldest + span - moment))
