"""On the server: `python -m bot catalogue export | import | history | undo --community SLUG`. A change made here
is written to the database; the running bot picks it up within a housekeeping round."""
from __future__ import annotations

import asyncio
import getpass
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Optional

from bot.catalogue.loader import CatalogueError, CommunityView, load_catalogue
from bot.config import Settings
from bot.i18n import make_i18n, plain_text
from bot.ops.catalogue_edits.texts import Gettext, Ngettext, describe, history_text, undo_question
from bot.ops.catalogue_edits.versions import (
    NOTHING_TO_UNDO,
    CatalogueEdits,
    EditRefused,
    Version,
    import_edit,
    undo_edit,
)
from bot.ops.catalogue_edits.workbooks import Prepared, effective_view, export, prepare_import
from bot.storage.db import Database


def _author() -> str:
    try:
        return f"server:{getpass.getuser()}"
    except Exception:  # no user name in this environment
        return "server:"


def _words(settings: Settings, locale: Optional[str]) -> tuple[Gettext, Ngettext, str]:
    i18n = make_i18n(settings)
    chosen = locale or settings.default_locale
    return (lambda message: i18n.gettext(message, locale=chosen),
            lambda singular, plural, n: i18n.gettext(singular, plural, n, locale=chosen), chosen)


def plain(html: str) -> str:
    return plain_text([html])


def _confirm(question: str) -> bool:
    print(question, end=" ", flush=True)
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("yes", "так")


@asynccontextmanager
async def _edits(settings: Settings) -> AsyncIterator[CatalogueEdits]:
    """The database's catalogue versions for one command-line step; the connection closes after it."""
    db = await Database(settings.database_path, settings.database_busy_timeout).connect()
    try:
        yield CatalogueEdits(db)
    finally:
        await db.close()


def cli(settings: Settings, args: Any) -> int:
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


def _cli_export(settings: Settings, args: Any, slug: str) -> int:
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


def _cli_import(settings: Settings, args: Any, slug: str, name: str, gettext: Gettext, ngettext: Ngettext,
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


def _cli_undo(settings: Settings, args: Any, slug: str, name: str, gettext: Gettext, ngettext: Ngettext,
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
