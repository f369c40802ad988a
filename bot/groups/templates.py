"""Reply templates: answers an institution's staff write often. Each institution has its own list, which starts
from the neutral ones shipped in data/shared/reply_templates.yaml (copied on the institution's first use) and is
changed by its staff with /templates. A template is looked up only together with the institution asking for it,
so a template of another institution is never shown or used. No Telegram types here. Owns `reply_templates`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml
from pydantic import BaseModel, Field, ValidationError

from bot.errors import RequestError
from bot.labels import shorten
from bot.storage.db import Database, Row, utcnow

MAX_TEMPLATES = 30  # per institution: every one is a button under «Answer»
MAX_TEMPLATE_TEXT = 4000  # what one answer to a resident may hold
LABEL_LENGTH = 40  # a template's button shows its beginning


class ShippedTemplate(BaseModel):
    uk: str = Field(min_length=1, max_length=MAX_TEMPLATE_TEXT)
    en: str = Field(min_length=1, max_length=MAX_TEMPLATE_TEXT)


class ShippedTemplates(BaseModel):
    templates: list[ShippedTemplate] = Field(default_factory=list, max_length=MAX_TEMPLATES)


def load_shipped(path: Path, locale: str) -> list[str]:
    """The shipped templates' texts in the deployment's language; none when the file is missing or invalid
    (staff then write their own)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        shipped = ShippedTemplates.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError):
        return []
    return [getattr(t, locale, t.uk).strip() for t in shipped.templates]


@dataclass(frozen=True)
class Template:
    id: int
    community: str
    institution_id: str
    text: str

    @property
    def label(self) -> str:
        return shorten(self.text, LABEL_LENGTH)


def _template(row: Row) -> Template:
    return Template(int(row["id"]), row["community"], row["institution_id"], row["text"])


def clean_text(text: str) -> str:
    """A template's text as kept; RequestError when it is empty or too long for one answer."""
    text = (text or "").strip()
    if not text:
        raise RequestError("template_empty")
    if len(text) > MAX_TEMPLATE_TEXT:
        raise RequestError("template_too_long")
    return text


class ReplyTemplates:
    def __init__(self, db: Database, shipped: list[str]):
        self.db = db
        self.shipped = shipped

    async def _seed(self, community: str, institution_id: str) -> None:
        """An institution that never had templates gets the shipped ones (once: removed ones stay removed)."""
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM reply_templates WHERE community = ? AND institution_id = ? LIMIT 1",
                (community, institution_id))
            if await cursor.fetchone() is not None:
                return
            now = utcnow()
            for text in self.shipped:
                await conn.execute(
                    "INSERT INTO reply_templates (community, institution_id, text, created_by, created_at, "
                    "updated_at) VALUES (?, ?, ?, NULL, ?, ?)", (community, institution_id, text, now, now))

    async def of(self, community: str, institution_id: str) -> list[Template]:
        """The institution's templates, oldest first."""
        await self._seed(community, institution_id)
        rows = await self.db.fetchall(
            "SELECT * FROM reply_templates WHERE community = ? AND institution_id = ? AND removed_at IS NULL "
            "ORDER BY id", (community, institution_id))
        return [_template(r) for r in rows]

    async def get(self, community: str, institution_id: str, template_id: int) -> Template:
        """One of the institution's templates; RequestError 'template_gone' for a removed one, another
        institution's or an id that never was (all the same to the asker)."""
        row = await self.db.fetchone(
            "SELECT * FROM reply_templates WHERE id = ? AND community = ? AND institution_id = ? "
            "AND removed_at IS NULL", (template_id, community, institution_id))
        if row is None:
            raise RequestError("template_gone")
        return _template(row)

    async def add(self, community: str, institution_id: str, text: str, by: Optional[int]) -> Template:
        text = clean_text(text)
        await self._seed(community, institution_id)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT COUNT(*) FROM reply_templates WHERE community = ? AND institution_id = ? "
                "AND removed_at IS NULL", (community, institution_id))
            if int((await cursor.fetchone())[0]) >= MAX_TEMPLATES:
                raise RequestError("templates_full")
            now = utcnow()
            cursor = await conn.execute(
                "INSERT INTO reply_templates (community, institution_id, text, created_by, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)", (community, institution_id, text, by, now, now))
            template_id = int(cursor.lastrowid)
        return await self.get(community, institution_id, template_id)

    async def edit(self, community: str, institution_id: str, template_id: int, text: str) -> Template:
        text = clean_text(text)
        changed = await self.db.execute(
            "UPDATE reply_templates SET text = ?, updated_at = ? WHERE id = ? AND community = ? "
            "AND institution_id = ? AND removed_at IS NULL", (text, utcnow(), template_id, community, institution_id))
        if changed != 1:
            raise RequestError("template_gone")
        return await self.get(community, institution_id, template_id)

    async def remove(self, community: str, institution_id: str, template_id: int) -> None:
        """Once: a second press (or a colleague's) is RequestError 'template_gone' and changes nothing."""
        changed = await self.db.execute(
            "UPDATE reply_templates SET removed_at = ? WHERE id = ? AND community = ? AND institution_id = ? "
            "AND removed_at IS NULL", (utcnow(), template_id, community, institution_id))
        if changed != 1:
            raise RequestError("template_gone")
