"""The community keeps its own catalogue: the versions of its corrections, importing an edited workbook, undo and
history, for /catalogue in the bot (dialogs/admin/catalogue.py) and `python -m bot catalogue` on the server.

The corrections live in the database (tables catalogue_versions and catalogue_imports, migration 0011; every
query of them is here), so backups carry them and data/ stays the shipped baseline: nothing here writes to data/.
The bot serves data/ with each community's latest overlay (bot/catalogue/overlay.py), swapped in by
`reload_catalogue` like /reload_data; a change made on the server is picked up by the running bot within a
housekeeping round (`pick_up`).
"""
from __future__ import annotations

import asyncio
import getpass
import json
import logging
import secrets
import sqlite3
import sys
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterable, Optional

from bot.catalogue.loader import CatalogueError, CommunityView, load_catalogue
from bot.catalogue.overlay import (
    Change,
    Overlay,
    apply_overlay,
    changes_between,
    community_path,
    get_field,
    overlay_between,
    tally,
)
from bot.catalogue.workbook import N_, SHEETS, Problem, export_workbook, read_workbook, status_label
from bot.storage.db import Database, utcnow

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

log = logging.getLogger("bot.catalogue")
PENDING_HOURS = 24  # an import not confirmed within this is out of date
DETAILS_SHOWN = 12
PROBLEMS_SHOWN = 10
VALUE_SHOWN = 80
LINE_SHOWN = 300
TEXT_LIMIT = 3800  # of a message's 4096, leaving room for the question under it
Gettext = Callable[[str], str]
Ngettext = Callable[[str, str, int], str]

FIELD_NAMES = {
    "contacts.phones": N_("phones"),
    "contacts.address": N_("address"),
    "contacts.hours": N_("opening hours"),
    "contacts.email": N_("e-mail"),
    "contacts.website": N_("website"),
    "description": N_("description"),
    "status": N_("status"),
    "planned_year": N_("planned from"),
    "planned_until": N_("planned until"),
    "summary": N_("what it is"),
    "who": N_("who can get it"),
    "how": N_("how to get it"),
}
STATUS_WORDS = {"active": N_("provided"), "introducing": N_("being introduced"), "planned": N_("planned")}


class EditRefused(Exception):
    """A confirmation or an undo that must not go through; `reason` is a gettext id to show."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


GONE = N_("This import is out of date. Send the file again.")
DONE = N_("These changes were already applied.")
CANCELLED = N_("This import was cancelled. Send the file again to apply it.")
NOT_YOURS = N_("Only the administrator who sent the file can apply it.")
CHANGED = N_("The catalogue has changed since this file was checked. Send the file again to see what it changes "
             "now.")
UNDO_STALE = N_("This is no longer the latest change: open /catalogue_undo again.")
NOTHING_TO_UNDO = N_("There is nothing to undo: the catalogue is as shipped.")


# ----- versions in the database -----------------------------------------------------------------------------------

@dataclass
class Version:
    id: int
    community: str
    version: int
    author_id: Optional[int]
    author: str
    created_at: str
    overlay: Overlay
    changes: list[Change]
    summary: dict[str, int]
    undone_at: Optional[str] = None
    undone_by: Optional[str] = None

    @classmethod
    def of(cls, row: Any) -> "Version":
        return cls(row["id"], row["community"], row["version"], row["author_id"], row["author"], row["created_at"],
                   json.loads(row["overlay"]), [Change.of(c) for c in json.loads(row["changes"])],
                   json.loads(row["summary"]), row["undone_at"], row["undone_by"])


@dataclass
class Pending:
    token: str
    community: str
    author_id: int
    chat_id: int
    message_id: Optional[int]
    base_id: int
    overlay: Overlay
    changes: list[Change]
    summary: dict[str, int]
    created_at: str
    state: str


LATEST = ("SELECT * FROM catalogue_versions WHERE community = ? AND undone_at IS NULL "
          "ORDER BY version DESC LIMIT 1")


class CatalogueEdits:
    """The versions of the communities' corrections; `served` is the signature of what the bot serves now."""

    def __init__(self, db: Database):
        self.db = db
        self.served: Optional[tuple[int, int]] = None

    async def overlays(self) -> dict[str, Overlay]:
        """Each community's overlay now: that of its latest version not undone."""
        rows = await self.db.fetchall(
            "SELECT v.community, v.overlay FROM catalogue_versions v WHERE v.undone_at IS NULL AND v.version = "
            "(SELECT MAX(w.version) FROM catalogue_versions w WHERE w.community = v.community "
            "AND w.undone_at IS NULL)")
        return {row["community"]: json.loads(row["overlay"]) for row in rows}

    async def current(self, community: str) -> Optional[Version]:
        row = await self.db.fetchone(LATEST, (community,))
        return Version.of(row) if row else None

    async def history(self, community: str, limit: int = 20) -> list[Version]:
        rows = await self.db.fetchall(
            "SELECT * FROM catalogue_versions WHERE community = ? ORDER BY version DESC LIMIT ?", (community, limit))
        return [Version.of(row) for row in rows]

    async def signature(self) -> tuple[int, int]:
        """Changes whenever a version is added or undone, by this process or another one."""
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) AS last, COUNT(undone_at) AS undone "
                                     "FROM catalogue_versions")
        return int(row["last"]), int(row["undone"])

    async def hold(self, prepared: "Prepared", author_id: int, chat_id: int) -> str:
        """Keep a checked import until its author confirms it; returns the token its button carries."""
        token = secrets.token_urlsafe(12)
        now = datetime.now(timezone.utc)
        async with self.db.transaction() as conn:
            conn.execute("DELETE FROM catalogue_imports WHERE created_at < ?",
                         ((now - timedelta(days=7)).isoformat(timespec="seconds"),))
            conn.execute(
                "INSERT INTO catalogue_imports (token, community, author_id, chat_id, base_id, overlay, changes, "
                "summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (token, prepared.community, author_id, chat_id, prepared.base_id, json.dumps(prepared.overlay),
                 json.dumps([c.as_dict() for c in prepared.changes]), json.dumps(prepared.summary),
                 now.isoformat(timespec="seconds")))
        return token

    async def attach(self, token: str, message_id: int) -> None:
        await self.db.execute("UPDATE catalogue_imports SET message_id = ? WHERE token = ?", (message_id, token))

    async def pending(self, token: str) -> Optional[Pending]:
        row = await self.db.fetchone("SELECT * FROM catalogue_imports WHERE token = ?", (token,))
        if row is None:
            return None
        return Pending(row["token"], row["community"], row["author_id"], row["chat_id"], row["message_id"],
                       row["base_id"], json.loads(row["overlay"]), [Change.of(c) for c in json.loads(row["changes"])],
                       json.loads(row["summary"]), row["created_at"], row["state"])

    async def cancel(self, token: str) -> bool:
        return bool(await self.db.execute(
            "UPDATE catalogue_imports SET state = 'cancelled' WHERE token = ? AND state = 'pending'", (token,)))


async def _insert_version(conn: Any, community: str, base_id: int, overlay: Overlay, changes: list[Change],
                          summary: dict[str, int], author_id: Optional[int], author: str) -> int:
    latest = await conn.execute(LATEST, (community,)).fetchone()
    if (latest["id"] if latest else 0) != base_id:
        raise EditRefused(CHANGED)
    row = await conn.execute("SELECT COALESCE(MAX(version), 0) + 1 AS next FROM catalogue_versions "
                             "WHERE community = ?", (community,)).fetchone()
    conn.execute(
        "INSERT INTO catalogue_versions (community, version, author_id, author, created_at, overlay, changes, summary) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (community, row["next"], author_id, author, utcnow(), json.dumps(overlay, ensure_ascii=False),
         json.dumps([c.as_dict() for c in changes], ensure_ascii=False), json.dumps(summary)))
    return int(row["next"])


async def _mark_undone(conn: Any, community: str, target: Version, by: str) -> None:
    latest = await conn.execute(LATEST, (community,)).fetchone()
    if latest is None or latest["id"] != target.id:
        raise EditRefused(UNDO_STALE)
    conn.execute("UPDATE catalogue_versions SET undone_at = ?, undone_by = ? WHERE id = ? AND undone_at IS NULL",
                 (utcnow(), by, target.id))


# ----- a change of one community's overlay, written just before the catalogue is swapped ------------------------

@dataclass
class Edit:
    """The overlay `community` gets, and `record`, which writes it down (or raises EditRefused) once the
    catalogue with it has passed every check; only then is it served. `done` is what `record` returned."""

    community: str
    overlay: Overlay
    record: Callable[[Database], Awaitable[int]]
    done: int = 0


def import_edit(pending: Pending, author_id: Optional[int], author: str, token: Optional[str] = None) -> Edit:
    async def record(db: Database) -> int:
        async with db.transaction() as conn:
            if token is not None:
                marked = conn.execute("UPDATE catalogue_imports SET state = 'applied' WHERE token = ? "
                                      "AND state = 'pending'", (token,))
                if marked.rowcount != 1:
                    raise EditRefused(DONE)
            return await _insert_version(conn, pending.community, pending.base_id, pending.overlay, pending.changes,
                                         pending.summary, author_id, author)

    return Edit(pending.community, pending.overlay, record)


async def undo_edit(edits: CatalogueEdits, community: str, version: int, by: str) -> tuple[Edit, Version]:
    """The edit that undoes `version`, the community's latest change, and that version."""
    target = await edits.current(community)
    if target is None:
        raise EditRefused(NOTHING_TO_UNDO)
    if target.version != version:
        raise EditRefused(UNDO_STALE)
    previous = await edits.db.fetchone(
        "SELECT overlay FROM catalogue_versions WHERE community = ? AND undone_at IS NULL AND version < ? "
        "ORDER BY version DESC LIMIT 1", (community, version))

    async def record(db: Database) -> int:
        async with db.transaction() as conn:
            await _mark_undone(conn, community, target, by)
        return target.version

    return Edit(community, json.loads(previous["overlay"]) if previous else {}, record), target


# ----- checking an edited workbook --------------------------------------------------------------------------------

@dataclass
class Prepared:
    """What an edited workbook would change. `problems`: the file is refused as a whole; `refused`: rows refused
    (then nothing is applied either); `before`: the community as served now, for names."""

    community: Optional[str] = None
    problems: list[Problem] = field(default_factory=list)
    refused: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    overlay: Overlay = field(default_factory=dict)
    base_id: int = 0
    version: int = 0  # the community's version now
    file_version: Optional[int] = None  # the version the file was exported from
    before: Optional[CommunityView] = None

    @property
    def applicable(self) -> bool:
        return not self.problems and not self.refused and bool(self.changes)

    def as_pending(self) -> Pending:
        return Pending("", self.community or "", 0, 0, None, self.base_id, self.overlay, self.changes, self.summary,
                       "", "pending")


async def effective_view(edits: CatalogueEdits, data_dir: Path, community: str
                         ) -> tuple[CommunityView, CommunityView, Any]:
    """(data/ as shipped, data/ with the community's corrections, the shared data) for one community."""
    catalogue = await asyncio.to_thread(load_catalogue, data_dir, [community])
    shipped = catalogue.communities[community]
    overlay = (await edits.overlays()).get(community, {})
    current, _ = await asyncio.to_thread(apply_overlay, shipped, catalogue.shared, overlay,
                                         community_path(data_dir, community))
    return shipped, current, catalogue.shared


async def prepare_import(edits: CatalogueEdits, data_dir: Path, content: bytes, allowed: Iterable[str],
                         community: Optional[str] = None) -> Prepared:
    """Check an edited workbook against the catalogue served now. `community`: the one it must be for (the
    command line names it); otherwise the file says, and it must be one of `allowed`."""
    allowed = list(allowed)
    first = await asyncio.to_thread(read_workbook, content)
    prepared = Prepared(problems=first.problems, file_version=first.version)
    if first.problems:
        return prepared
    slug = first.community or community or (allowed[0] if len(allowed) == 1 else None)
    if community is not None and first.community is not None and first.community != community:
        prepared.problems.append(Problem(N_("This file is the catalogue of «{found}», not of «{wanted}»."),
                                         {"found": first.community, "wanted": community}))
    elif slug is None:
        prepared.problems.append(Problem(N_("The file does not say which community it is for (its hidden sheet is "
                                            "missing). Edit the file /catalogue sends and send it back.")))
    elif slug not in allowed:
        prepared.problems.append(Problem(N_("This file is the catalogue of «{found}», which this bot does not "
                                            "serve."), {"found": slug}))
    if prepared.problems:
        return prepared
    assert slug is not None
    prepared.community = slug
    try:
        shipped, current, shared = await effective_view(edits, data_dir, slug)
    except CatalogueError as exc:
        log.warning("catalogue import: data/ has %d problem(s)", len(exc.problems))
        prepared.problems.append(Problem(N_("The catalogue on the server has problems of its own, so nothing can be "
                                            "checked against it now. The server's administrator sees them with "
                                            "`python -m bot check-data`.")))
        return prepared
    latest = await edits.current(slug)
    prepared.base_id, prepared.version = (latest.id, latest.version) if latest else (0, 0)
    prepared.before = current
    path = community_path(data_dir, slug)

    def compare() -> None:
        reading = read_workbook(content, current)
        prepared.problems, prepared.refused = reading.problems, reading.refused
        if reading.problems:
            return
        changed: Overlay = {}
        for kind, entries in reading.proposed.items():
            items = current.institutions if kind == "institutions" else current.services
            for key, values in entries.items():
                dump = items[key].model_dump(mode="json")
                fields = {name: value for name, value in values.items() if get_field(dump, name) != value}
                if fields:
                    changed.setdefault(kind, {})[key] = fields
        after, refusals = apply_overlay(current, shared, changed, path)
        for refusal in refusals:
            sheet, row = reading.rows.get((refusal.kind, refusal.id), ("?", 0))
            prepared.refused.append(Problem(N_("the catalogue's rules refuse it: {problems}"),
                                            {"problems": "; ".join(refusal.problems)}, sheet=sheet, row=row))
        sheets = list(SHEETS)
        prepared.refused.sort(key=lambda p: (sheets.index(p.sheet) if p.sheet in sheets else len(sheets), p.row or 0))
        prepared.changes = changes_between(current, after)
        prepared.summary = tally(prepared.changes, current)
        prepared.overlay = overlay_between(shipped, after)

    await asyncio.to_thread(compare)
    return prepared


# ----- exporting --------------------------------------------------------------------------------------------------

async def export(edits: CatalogueEdits, data_dir: Path, community: str) -> tuple[bytes, int]:
    """The community's catalogue as served now, as a workbook, and its version."""
    _, current, _ = await effective_view(edits, data_dir, community)
    latest = await edits.current(community)
    version = latest.version if latest else 0
    content = await asyncio.to_thread(export_workbook, current, version, datetime.now(timezone.utc))
    return content, version


def file_name(community: str, version: int, when: datetime) -> str:
    return f"catalogue-{community}-{when:%Y-%m-%d}-v{version}.xlsx"


# ----- in the running bot -----------------------------------------------------------------------------------------

async def apply_import(services: "Services", token: str, user_id: int, message_id: Optional[int]) -> int:
    """Apply a checked import its author confirmed; returns the new version. Raises EditRefused."""
    from bot.ops.catalogue import reload_catalogue

    edits = services.catalogue_edits
    pending = await edits.pending(token)
    if pending is None or (pending.message_id is not None and pending.message_id != message_id):
        raise EditRefused(GONE)
    if pending.author_id != user_id:
        raise EditRefused(NOT_YOURS)
    if pending.state == "applied":
        raise EditRefused(DONE)
    if pending.state != "pending":
        raise EditRefused(CANCELLED)
    created = datetime.fromisoformat(pending.created_at)
    if datetime.now(timezone.utc) - created > timedelta(hours=PENDING_HOURS):
        raise EditRefused(GONE)
    edit = import_edit(pending, user_id, "bot", token)
    result = await reload_catalogue(services, edit)
    if not result.ok:
        log.warning("catalogue import of %s not applied: %d problem(s)", pending.community, len(result.problems))
        raise EditRefused(CHANGED)
    log.info("catalogue of %s: version %d applied by an administrator", pending.community, edit.done)
    return edit.done


async def undo(services: "Services", community: str, version: int, user_id: int) -> Version:
    """Undo the community's latest change (which must be `version`); returns it. Raises EditRefused."""
    from bot.ops.catalogue import reload_catalogue

    edit, target = await undo_edit(services.catalogue_edits, community, version, f"tg:{user_id}")
    result = await reload_catalogue(services, edit)
    if not result.ok:
        log.warning("undo of %s version %d not applied: %d problem(s)", community, version, len(result.problems))
        raise EditRefused(UNDO_STALE)
    log.info("catalogue of %s: version %d undone by an administrator", community, version)
    return target


async def pick_up(services: "Services") -> bool:
    """Serve a change made by another process (the command line) since the catalogue was last swapped."""
    from bot.ops.catalogue import reload_catalogue

    edits = services.catalogue_edits
    if edits is None or edits.served is None:
        return False
    if await edits.signature() == edits.served:
        return False
    result = await reload_catalogue(services)
    if result.ok:
        log.info("catalogue: a change made on the server is served now")
    return result.ok


# ----- what people read -------------------------------------------------------------------------------------------

def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= VALUE_SHOWN else text[:VALUE_SHOWN - 1] + "…"


def value_text(name: str, value: Any, locale: str, gettext: Gettext) -> str:
    if value in (None, "", []):
        return "—"
    if name == "status":
        return gettext(STATUS_WORDS[value]) if value in STATUS_WORDS else status_label(str(value))
    if isinstance(value, list):
        return _short(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return _short(str(value.get(locale) or value.get("uk") or ""))
    return _short(str(value))


def _around_difference(before: str, after: str) -> tuple[str, str]:
    """Two long texts that differ past what is shown: each from a little before where they part."""
    before, after = " ".join(before.split()), " ".join(after.split())
    same = next((n for n, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))
    start = max(0, same - 20)
    return tuple(("…" if start else "") + _short(text[start:]) for text in (before, after))  # type: ignore[return-value]


def summary_text(summary: dict[str, int], refused: int, gettext: Gettext, ngettext: Ngettext) -> str:
    _ = gettext
    parts = []
    order = ("contacts_added", "contacts_changed", "contacts_removed", "status", "years", "descriptions")
    for key in order:
        n = summary.get(key, 0)
        if not n:
            continue
        if key == "contacts_added":
            parts.append(ngettext("contacts added for {n} institution", "contacts added for {n} institutions", n))
        elif key == "contacts_changed":
            parts.append(ngettext("contacts changed for {n} institution", "contacts changed for {n} institutions",
                                  n))
        elif key == "contacts_removed":
            parts.append(ngettext("contacts removed for {n} institution", "contacts removed for {n} institutions",
                                  n))
        elif key == "status":
            parts.append(ngettext("{n} status changed", "{n} statuses changed", n))
        elif key == "years":
            parts.append(ngettext("planned years changed for {n} service", "planned years changed for {n} services",
                                  n))
        elif key == "descriptions":
            parts.append(ngettext("{n} description changed", "{n} descriptions changed", n))
        else:
            continue
        parts[-1] = parts[-1].format(n=n)
    if refused:
        parts.append(ngettext("{n} row refused", "{n} rows refused", refused).format(n=refused))
    text = ", ".join(parts) or _("no changes")
    return text[:1].upper() + text[1:]


def change_lines(changes: list[Change], view: Optional[CommunityView], locale: str, gettext: Gettext,
                 ngettext: Ngettext, limit: int = DETAILS_SHOWN) -> list[str]:
    lines = []
    for change in changes[:limit]:
        name = change.id
        if view is not None:
            if change.kind == "institutions" and change.id in view.institutions:
                name = view.institutions[change.id].short_name.get(locale)
            elif change.kind == "services" and change.id in view.services:
                name = view.services[change.id].name.get(locale)
        label = gettext(FIELD_NAMES[change.field]) if change.field in FIELD_NAMES else change.field
        before = value_text(change.field, change.before, locale, gettext)
        after = value_text(change.field, change.after, locale, gettext)
        if before == after and isinstance(change.before, dict) and isinstance(change.after, dict):
            before, after = _around_difference(str(change.before.get(locale) or change.before.get("uk") or ""),
                                               str(change.after.get(locale) or change.after.get("uk") or ""))
        lines.append(f"• {escape(name)} — {escape(label)}: {escape(before)} → {escape(after)}")
    if len(changes) > limit:
        more = len(changes) - limit
        lines.append(ngettext("… and {n} more change", "… and {n} more changes", more).format(n=more))
    return lines


def describe(prepared: Prepared, community_name: str, locale: str, gettext: Gettext, ngettext: Ngettext,
             limit: int = TEXT_LIMIT) -> str:
    """The diff of an import as HTML: a short summary, the changes, and the rows refused or why the file was;
    fewer of the changes and refusals when all of them would not fit in `limit` characters."""
    shown_changes, shown_problems = DETAILS_SHOWN, PROBLEMS_SHOWN
    while True:
        text = _describe(prepared, community_name, locale, gettext, ngettext, shown_changes, shown_problems)
        if len(text) <= limit or (shown_changes <= 1 and shown_problems <= 1):
            return text[:limit]
        shown_changes, shown_problems = max(1, shown_changes - 2), max(1, shown_problems - 2)


def _item(text: str) -> str:
    return "• " + escape(text if len(text) <= LINE_SHOWN else text[:LINE_SHOWN - 1] + "…")


def _describe(prepared: Prepared, community_name: str, locale: str, gettext: Gettext, ngettext: Ngettext,
              shown_changes: int, shown_problems: int) -> str:
    _ = gettext
    if prepared.problems:
        lines = ["❌ " + _("The file was not taken; nothing has changed.")]
        lines += [_item(p.render(gettext, ngettext)) for p in prepared.problems[:shown_problems]]
        return "\n".join(lines)
    lines = ["📒 <b>{}</b>".format(escape(_("{community}: what the file changes").format(
        community=community_name)))]
    lines.append(escape(summary_text(prepared.summary, len(prepared.refused), gettext, ngettext)) + ".")
    if prepared.changes:
        lines.append("")
        lines += change_lines(prepared.changes, prepared.before, locale, gettext, ngettext, shown_changes)
    if prepared.file_version is not None and prepared.file_version != prepared.version:
        lines += ["", "⚠️ " + escape(gettext(
            "The catalogue has changed since this file was exported (version {old}, now {new}): check that every "
            "change above is meant.").format(old=prepared.file_version, new=prepared.version))]
    if prepared.refused:
        lines += ["", "❌ " + escape(_("Nothing has changed: correct these rows and send the file again."))]
        lines += [_item(p.render(gettext, ngettext)) for p in prepared.refused[:shown_problems]]
        more = len(prepared.refused) - shown_problems
        if more > 0:
            lines.append(escape(ngettext("… and {n} more row", "… and {n} more rows", more).format(n=more)))
    elif not prepared.changes:
        lines += ["", escape(_("The file is the same as the catalogue now: there is nothing to apply."))]
    return "\n".join(lines)


def author_text(author_id: Optional[int], author: str, gettext: Gettext) -> str:
    _ = gettext
    if author_id is not None:
        return _("administrator {id}").format(id=author_id)
    return _("on the server ({user})").format(user=author.removeprefix("server:") or "?")


def undone_by_text(by: Optional[str], gettext: Gettext) -> str:
    if by and by.startswith("tg:"):
        return author_text(int(by[3:]), "", gettext)
    return author_text(None, by or "", gettext)


def when_text(stamp: str, tz: Any) -> str:
    return datetime.fromisoformat(stamp).astimezone(tz).strftime("%d.%m.%Y %H:%M")


def history_text(versions: list[Version], community_name: str, tz: Any, gettext: Gettext, ngettext: Ngettext) -> str:
    _ = gettext
    lines = ["📒 <b>{}</b>".format(escape(_("Catalogue changes: {community}").format(
        community=community_name)))]
    if not versions:
        lines.append(escape(_("No changes yet: the bot serves the catalogue as shipped.")))
        return "\n".join(lines)
    for version in versions:
        if len("\n".join(lines)) > TEXT_LIMIT - 300:
            lines.append("…")
            break
        line = _("Version {version} · {when} · {who}: {what}").format(
            version=version.version, when=when_text(version.created_at, tz),
            who=author_text(version.author_id, version.author, gettext),
            what=summary_text(version.summary, 0, gettext, ngettext))
        if version.undone_at:
            line += " · " + _("undone {when}, {who}").format(when=when_text(version.undone_at, tz),
                                                                    who=undone_by_text(version.undone_by, gettext))
        lines.append(("↩️ " if version.undone_at else "• ") + escape(line))
    return "\n".join(lines)


def undo_question(version: Version, community_name: str, tz: Any, gettext: Gettext, ngettext: Ngettext,
                  view: Optional[CommunityView], locale: str) -> str:
    _ = gettext
    lines = ["↩️ <b>{}</b>".format(escape(_("Undo the latest change of {community}?").format(
        community=community_name)))]
    lines.append(escape(_("Version {version} · {when} · {who}: {what}").format(
        version=version.version, when=when_text(version.created_at, tz),
        who=author_text(version.author_id, version.author, gettext),
        what=summary_text(version.summary, 0, gettext, ngettext))))
    lines += change_lines(version.changes, view, locale, gettext, ngettext)
    lines.append(escape(_("The catalogue returns to what it was before this change.")))
    return "\n".join(lines)


# ----- on the server: python -m bot catalogue export | import | history | undo -----------------------------------

def _author() -> str:
    try:
        return f"server:{getpass.getuser()}"
    except Exception:  # no user name in this environment
        return "server:"


def _words(settings: "Settings", locale: Optional[str]) -> tuple[Gettext, Ngettext, str]:
    from bot.app import make_i18n

    i18n = make_i18n(settings)
    chosen = locale or settings.default_locale
    return (lambda message: i18n.gettext(message, locale=chosen),
            lambda singular, plural, n: i18n.gettext(singular, plural, n, locale=chosen), chosen)


def plain(html: str) -> str:
    from bot.reports.cli import plain_text

    return plain_text([html])


def _confirm(question: str) -> bool:
    print(question, end=" ", flush=True)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("yes", "так")


@asynccontextmanager
async def _edits(settings: "Settings") -> AsyncIterator[CatalogueEdits]:
    """The database's catalogue versions for one command-line step; the connection closes after it."""
    db = await Database(settings.database_path, settings.database_busy_timeout).connect()
    try:
        yield CatalogueEdits(db)
    finally:
        await db.close()


def cli(settings: "Settings", args: Any) -> int:
    """`python -m bot catalogue ACTION --community SLUG …`; exit 0 when done, 1 when refused or declined."""
    gettext, ngettext, locale = _words(settings, getattr(args, "locale", None))
    slug = args.community
    try:
        name = load_catalogue(settings.data_dir, [slug]).communities[slug].model.short_name.get(locale)
    except CatalogueError as exc:
        print("the catalogue in data/ has problems; run `python -m bot check-data`:", file=sys.stderr)
        for line in exc.problems[:10]:
            print("  " + line, file=sys.stderr)
        return 1
    if args.action == "export":
        return _cli_export(settings, args, slug)
    if args.action == "import":
        return _cli_import(settings, args, slug, name, gettext, ngettext, locale)
    if args.action == "history":
        async def versions() -> list[Version]:
            async with _edits(settings) as edits:
                return await edits.history(slug, limit=args.limit)

        print(plain(history_text(asyncio.run(versions()), name, settings.tz, gettext, ngettext)))
        return 0
    return _cli_undo(settings, args, slug, name, gettext, ngettext, locale)


def _cli_export(settings: "Settings", args: Any, slug: str) -> int:
    out = Path(args.out)
    data = Path(settings.data_dir).resolve()
    if out.resolve() == data or data in out.resolve().parents:
        print(f"write the file outside {settings.data_dir}: it holds the shipped catalogue", file=sys.stderr)
        return 2

    async def make() -> tuple[bytes, int]:
        async with _edits(settings) as edits:
            return await export(edits, settings.data_dir, slug)

    content, version = asyncio.run(make())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(content)
    print(f"{out}: the catalogue of {slug}, version {version} ({len(content) // 1024 + 1} KB)")
    return 0


def _cli_import(settings: "Settings", args: Any, slug: str, name: str, gettext: Gettext, ngettext: Ngettext,
                locale: str) -> int:
    _ = gettext
    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        print(f"{path}: {exc.strerror}", file=sys.stderr)
        return 2

    async def check() -> Prepared:
        async with _edits(settings) as edits:
            return await prepare_import(edits, settings.data_dir, content, [slug], community=slug)

    prepared = asyncio.run(check())
    print(plain(describe(prepared, name, locale, gettext, ngettext)))
    if prepared.problems or prepared.refused:
        return 1
    if not prepared.changes:
        return 0
    if not args.yes and not _confirm(_("Apply these changes? Type yes to apply:")):
        print(_("Nothing has changed."))
        return 1

    async def apply() -> int:
        async with _edits(settings) as edits:
            edit = import_edit(prepared.as_pending(), None, _author())
            return await edit.record(edits.db)

    try:
        version = asyncio.run(apply())
    except EditRefused as exc:
        print(gettext(exc.reason), file=sys.stderr)
        return 1
    print(_("Applied: version {version}. The running bot serves it within a minute (or at once after "
                  "/reload_data).").format(version=version))
    return 0


def _cli_undo(settings: "Settings", args: Any, slug: str, name: str, gettext: Gettext, ngettext: Ngettext,
              locale: str) -> int:
    _ = gettext
    async def latest() -> tuple[Optional[Version], Optional[CommunityView]]:
        async with _edits(settings) as edits:
            version = await edits.current(slug)
            view = (await effective_view(edits, settings.data_dir, slug))[1] if version else None
            return version, view

    version, view = asyncio.run(latest())
    if version is None:
        print(gettext(NOTHING_TO_UNDO))
        return 1
    print(plain(undo_question(version, name, settings.tz, gettext, ngettext, view, locale)))
    if not args.yes and not _confirm(_("Undo it? Type yes to undo:")):
        print(_("Nothing has changed."))
        return 1

    async def apply() -> None:
        async with _edits(settings) as edits:
            edit, _ = await undo_edit(edits, slug, version.version, _author())
            await edit.record(edits.db)

    try:
        asyncio.run(apply())
    except EditRefused as exc:
        print(gettext(exc.reason), file=sys.stderr)
        return 1
    print(_("Version {version} undone. The running bot serves the catalogue as it was before it within a "
                  "minute (or at once after /reload_data).").format(version=version.version))
    return 0


# ----- for doctor -------------------------------------------------------------------------------------------------

def stored_overlays(database_path: Path) -> dict[str, Overlay]:
    """The communities' overlays read straight from the database file (read-only); none when there is no
    database yet or it predates the table."""
    path = Path(database_path)
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        rows = conn.execute(
            "SELECT v.community, v.overlay FROM catalogue_versions v WHERE v.undone_at IS NULL AND v.version = "
            "(SELECT MAX(w.version) FROM catalogue_versions w WHERE w.community = v.community "
            "AND w.undone_at IS NULL)").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        conn.close()
    return {community: json.loads(overlay) for community, overlay in rows}
