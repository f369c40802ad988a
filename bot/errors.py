"""The refusal every service raises (requests, consultations, staff groups): one class, so the dialogs catch one."""
from __future__ import annotations

from typing import Optional


class RequestError(Exception):
    """An action that is not allowed; `reason` is a short key the dialogs translate. `who`: for a staff press
    that came too late, who was first (as the card shows them), when known."""

    def __init__(self, reason: str, who: Optional[str] = None):
        super().__init__(reason)
        self.reason = reason
        self.who = who
