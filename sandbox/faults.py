"""Faults the sandbox can inject into Bot API calls, as Telegram sometimes shows them.

A fault is switched on through the control API (``POST /sandbox/faults``) for some seconds or some
number of calls, for every method or a few, on every call or on a share of them:

* ``500`` / ``502``: an error answer, the call is not carried out;
* ``429``: "Too Many Requests" with ``retry_after``, not carried out;
* ``close``: the connection is closed without an answer, not carried out;
* ``timeout``: no answer for ``hang`` seconds, then the connection is closed, not carried out;
* ``lost``: the call IS carried out but the answer never reaches the bot (the connection is closed):
  the one case in which a bot cannot know whether its message went out.

Calls hit by a fault are logged in the call log with ``fault`` set.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

KINDS = ("500", "502", "429", "close", "timeout", "lost")


@dataclass
class Fault:
    kind: str
    until: float  # monotonic time after which the fault is over
    remaining: Optional[int] = None  # calls left to hit; None: no limit
    methods: Optional[frozenset[str]] = None  # lower-case method names; None: every method
    share: float = 1.0  # probability that a matching call is hit
    retry_after: int = 5
    hang: float = 10.0

    def matches(self, method: str, now: float) -> bool:
        if now >= self.until or self.remaining == 0:
            return False
        return self.methods is None or method.lower() in self.methods

    def to_json(self, now: float) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "seconds_left": round(max(0.0, self.until - now), 3),
            "remaining": self.remaining,
            "methods": sorted(self.methods) if self.methods else None,
            "share": self.share,
            "retry_after": self.retry_after,
            "hang": self.hang,
        }


@dataclass
class Faults:
    active: list[Fault] = field(default_factory=list)
    injected: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(default_factory=random.Random)

    def add(self, values: dict[str, Any]) -> Fault:
        kind = str(values.get("kind") or "")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        seconds = float(values.get("seconds") or 0) or 3600.0
        count = values.get("count")
        methods = values.get("methods")
        fault = Fault(
            kind=kind,
            until=time.monotonic() + seconds,
            remaining=int(count) if count is not None else None,
            methods=frozenset(str(m).lower() for m in methods) if methods else None,
            share=min(1.0, max(0.0, float(values.get("share", 1.0)))),
            retry_after=max(1, int(values.get("retry_after", 5))),
            hang=max(0.0, float(values.get("hang", 10.0))),
        )
        self.active.append(fault)
        return fault

    def clear(self) -> None:
        self.active.clear()

    def pick(self, method: str) -> Optional[Fault]:
        """The fault that hits this call, if any (counted)."""
        if not self.active:
            return None
        now = time.monotonic()
        self.active = [f for f in self.active if now < f.until and f.remaining != 0]
        for fault in self.active:
            if fault.matches(method, now) and (fault.share >= 1.0 or self.rng.random() < fault.share):
                if fault.remaining is not None:
                    fault.remaining -= 1
                self.injected[fault.kind] += 1
                return fault
        return None

    def to_json(self) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "active": [f.to_json(now) for f in self.active if now < f.until and f.remaining != 0],
            "injected": dict(self.injected),
            "total": sum(self.injected.values()),
        }
