"""What the bot is doing now: the updates in hand and handled, the workers, whether it is stopping. The logging
middleware counts, a graceful stop waits on it, `/healthz` (bot/runtime/health.py) reports it."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Optional


@dataclass
class Activity:
    """Updated on every update by the logging middleware; read by `/healthz` and by a graceful stop."""

    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    last_update_at: Optional[datetime] = None
    handled: int = 0
    in_flight: int = 0
    stopping: bool = False
    mode: str = ""
    workers: list[asyncio.Task[Any]] = field(default_factory=list)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    def begin(self) -> None:
        self.in_flight += 1
        self._idle.clear()

    def end(self) -> None:
        self.in_flight -= 1
        self.handled += 1
        self.last_update_at = datetime.now(timezone.utc)
        if self.in_flight <= 0:
            self.in_flight = 0
            self._idle.set()

    async def drained(self, timeout: float) -> bool:
        """Wait until no update is being handled (updates already handed to tasks get a moment to start)."""
        deadline = time.monotonic() + timeout
        for _ in range(3):
            await asyncio.sleep(0)
        while self.in_flight > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._idle.wait(), timeout=left)
            except asyncio.TimeoutError:
                return False
        return True
