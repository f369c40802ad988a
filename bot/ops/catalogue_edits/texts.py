"""What people read of the catalogue's corrections: the diff of an import, the history, the undo question; in
the bot (HTML) and, through `plain`, on the server."""
from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any, Callable, Optional

from bot.catalogue.loader import CommunityView
from bot.catalogue.overlay import Change
from bot.catalogue.workbook import N_, status_label
from bot.ops.catalogue_edits.versions import Version
from bot.ops.catalogue_edits.workbooks import Prepared

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
