"""Plain data of staff groups."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Group:
    """A Telegram group bound to an institution; `active` while it is the institution's group in use."""

    chat_id: int
    community: str
    institution_id: str
    title: Optional[str]
    is_forum: bool
    active: bool
