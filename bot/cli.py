"""Command line: python -m bot run | check-data | search | triage | sandbox | ..."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.cli_parser import build_parser
from bot.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from bot.runtime.sandbox_guard import SANDBOX_TOKEN, sandbox_refusal, sandbox_state_file
from bot.storage import origin

log = logging.getLogger("bot")


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("pymorphy3").setLevel(logging.WARNING)


CATALOGUE_TABLE_HEAD = (
    "| community | services | running | being introduced | planned | provider named by the programme | provider "
    "by the bot's routing choice | of them from the law (not in the programme) | institutions with contacts |\n"
    "|---|---|---|---|---|---|---|---|---|")


def catalogue_counts(catalogue, view) -> dict:
    """What the catalogue says of one community: services by status, whose choice each provider is, contacts."""
    services = list(view.services.values())
    status = [s.status.value for s in services]
    return {
        "slug": view.slug, "community": view.model.short_name.uk, "services": len(services),
        "running": status.count("active"), "introducing": status.count("introducing"),
        "planned": status.count("planned"),
        "by_seed": sum(s.provider_source == "seed" for s in services),
        "by_routing": sum(s.provider_source == "routing" for s in services),
        "from_law": sum(s.source == "law" for s in services),
        "institutions": len(view.institutions),
        "contacts": sum(not i.contacts.empty for i in view.institutions.values()),
        "situations": len(catalogue.situations_of(view)),
    }


def cmd_check_data(settings: Settings, args: argparse.Namespace) -> int:
    try:
        catalogue = load_catalogue(args.data or settings.data_dir, settings.communities or None)
    except CatalogueError as exc:
        for line in exc.problems:
            print(line)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    rows = [catalogue_counts(catalogue, view) for view in catalogue.communities.values()]
    if getattr(args, "markdown", False):
        print(CATALOGUE_TABLE_HEAD)
        for r in rows:
            print("| {community} | {services} | {running} | {introducing} | {planned} | {by_seed} | {by_routing} | "
                  "{from_law} | {contacts} of {institutions} |".format(**r))
        return 0
    print(f"{'community':<14} {'institutions':>12} {'services':>9} {'running':>8} {'introduced':>10} {'planned':>8} "
          f"{'by seed':>8} {'routing':>8} {'contacts':>9} {'situations':>10}")
    for r in rows:
        print(f"{r['slug']:<14} {r['institutions']:>12} {r['services']:>9} {r['running']:>8} {r['introducing']:>10} "
              f"{r['planned']:>8} {r['by_seed']:>8} {r['by_routing']:>8} {r['contacts']:>9} {r['situations']:>10}")
    shared = catalogue.shared
    print(
        f"shared: {len(shared.target_groups)} target groups, {len(shared.situations)} life situations, "
        f"{len(shared.service_types)} service types, {len(shared.hotlines)} national lines "
        f"({sum(h.check_before_deployment for h in shared.hotlines)} to check before deployment)"
    )
    return 0


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from bot.catalogue.search import SearchEngine

    catalogue = load_catalogue(settings.data_dir, [args.community])
    engine = SearchEngine(catalogue)
    view = catalogue.communities[args.community]
    answer = engine.answer(args.community, " ".join(args.query), limit=args.limit)
    hits = answer.hits
    rows = [
        {
            "id": hit.service.id,
            "name": hit.service.name.uk,
            "provider": view.institutions[hit.service.provider].name.uk,
            "status": hit.service.status.value,
            "score": round(hit.score, 3),
        }
        for hit in hits
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not answer.served:
        # what the resident is told instead of services: the catalogue has nothing for it, and whom to ask
        topic = next((t.name.uk for t in catalogue.shared.out_of_scope.topics if t.id == answer.topic), None)
        print(f"у каталозі громади немає послуги для цього{f' ({topic})' if topic else ''}")
        for referral in answer.referrals:
            print(f"  куди звернутися: {referral.name.uk}")
        if rows:
            print("найближчі за словами (мешканцю їх не показано):")
    if not rows and answer.served:
        print("нічого не знайдено")
    for number, row in enumerate(rows, 1):
        print(f"{number}. {row['name']} — {row['provider']} [{row['id']}, {row['score']}]")
    return 0


def cmd_triage(settings: Settings, args: argparse.Namespace) -> int:
    """Which language a phrasing is in, which dangers it signals and which lines the resident sees first."""
    from bot.catalogue.reader import reader_for
    from bot.catalogue.triage import Triage

    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    reader = reader_for(catalogue.shared.ru_uk, catalogue.shared.en_uk)
    triage = Triage(catalogue.shared.triage, reader, catalogue.shared.triage_weights)
    assessment = triage.assess(" ".join(args.text))
    if args.json:
        print(json.dumps(assessment.as_dict(), ensure_ascii=False))
    else:
        kinds = ", ".join(assessment.danger) or "no danger"
        lines = ", ".join(assessment.lines) or "-"
        print(f"language: {assessment.language}; danger: {kinds}; lines first: {lines}")
    if args.explain:
        for line in triage.explain(" ".join(args.text)):
            print("  " + line)
        reading = triage.reader.read(" ".join(args.text))
        for word, lemmas in zip(reading.words, reading.lemmas):
            print(f"  {word}: {' | '.join(lemmas)}")
    return 0


def cmd_triage_train(settings: Settings, args: argparse.Namespace) -> int:
    """Learn the triage model's weights from the phrasings that may be tuned on; write triage_weights.json."""
    from bot.catalogue.reader import reader_for
    from bot.catalogue.triage import Triage
    from bot.catalogue.triage_model import train, training_examples

    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    reader = reader_for(catalogue.shared.ru_uk, catalogue.shared.en_uk)
    rules = Triage(catalogue.shared.triage, reader)  # a search the rules alone find danger in is not ordinary
    examples = training_examples(PROJECT_ROOT, lambda text: bool(rules.assess(text)))
    kinds = [kind.id for kind in catalogue.shared.triage.kinds]
    weights = train(reader, examples, kinds, context=rules.context)
    out = settings.data_dir / "shared" / "triage_weights.json"
    out.write_text(json.dumps(weights, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    for kind, spec in weights.items():
        print(f"{kind:<12} threshold {spec['threshold']:.3f}  cross-validated recall "
              f"{spec['cross_validated_recall']:.1%}  weights {len(spec['weights'])}")
    print(f"{len(examples)} phrasings; written {out}")
    return 0


def cmd_bind_code(settings: Settings, args: argparse.Namespace) -> int:
    """A one-time code that binds a Telegram group to an institution."""
    from bot.requests.service import RequestError, RequestService
    from bot.storage.db import Database

    async def make() -> str:
        catalogue = load_catalogue(settings.data_dir, settings.communities or None)
        db = await Database(settings.database_path).connect()
        try:
            groups = RequestService(db, catalogue, settings.tz).groups
            return await groups.create_bind_code(args.community, args.institution, None)
        finally:
            await db.close()

    try:
        code = asyncio.run(make())
    except RequestError:
        print(f"unknown institution '{args.institution}' in '{args.community}'; see data/{args.community}/",
              file=sys.stderr)
        return 2
    print(f"code: {code}\nsend in the institution's Telegram group: /bind {code}\n(works once, for 48 hours)")
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import date

    if args.what != "consultations":
        from bot.reports.cli import cmd_report

        return cmd_report(settings, args)

    from bot.consult.stats import consultation_stats, render
    from bot.storage.db import Database

    try:
        start = date.fromisoformat(args.date_from) if args.date_from else None
        end = date.fromisoformat(args.date_to) if args.date_to else None
    except ValueError:
        print("dates are written as YYYY-MM-DD, e.g. --from 2026-01-01", file=sys.stderr)
        return 2

    async def collect() -> str:
        db = await Database(settings.database_path).connect()
        try:
            return render(await consultation_stats(db, settings.tz, community=args.community, start=start, end=end))
        finally:
            await db.close()

    print(asyncio.run(collect()))
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from bot.reports.cli import cmd_export as export

    return export(settings, args)


def cmd_catalogue(settings: Settings, args: argparse.Namespace) -> int:
    """The community's own corrections of the catalogue: export, import, history, undo."""
    from bot.ops.catalogue_edits.command_line import cli as catalogue_cli

    return catalogue_cli(settings, args)


def _stop_on_signals() -> asyncio.Event:
    """SIGTERM (systemctl stop) and SIGINT (Ctrl+C) ask for a graceful stop: the updates in hand are finished and
    the outbox sends the rows in flight."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def graceful() -> None:
        log.info("stopping: finishing the updates in hand and the messages being sent (signal again to stop at once)")
        stop.set()
        for sig in signals:  # a second signal gets the default handling: an immediate stop
            loop.remove_signal_handler(sig)

    for sig in signals:
        loop.add_signal_handler(sig, graceful)
    return stop


async def _run(settings: Settings, webhook: bool = False) -> int:
    from bot.app import build_app, make_bot, run_polling
    from bot.runtime.web import run_webhook
    from bot.webchat.serve import start_web_chat

    stop = _stop_on_signals()
    app = await build_app(settings)
    bot = make_bot(settings)
    web_chat = None
    try:
        # from now on this database holds real people's data: the sandbox will not start on it by mistake
        await origin.mark_telegram(app.services.db, settings.telegram_api_url, settings.token or "")
        if settings.web_chat:
            web_chat = await start_web_chat(app, bot)
            print(f"  The web chat: {web_chat.url}", flush=True)
        await (run_webhook if webhook else run_polling)(app, bot, stop)
    finally:
        if web_chat is not None:
            await web_chat.stop()
        await bot.session.close()
        await app.close()
    return 0


async def _run_with_sandbox(settings: Settings, port: Optional[int] = None, on_real_data: bool = False) -> int:
    """No token: start the local Bot API sandbox with its web chat and the bot against it. The sandbox keeps its
    state next to the database, so a restart brings both back together; a fresh database starts a fresh
    sandbox."""
    from bot.app import build_app, make_bot, run_polling
    from bot.webchat.serve import web_chat_beside_sandbox
    from sandbox.client import TOKEN_VARIABLE
    from sandbox.server import Sandbox

    database = Path(settings.database_path)
    state_file = sandbox_state_file(database)
    fresh = not database.exists()
    stop = _stop_on_signals()
    app = await build_app(settings)
    try:
        origins = await origin.read(app.services.db)
        refusal = sandbox_refusal(origins, database, state_file, on_real_data)
        if refusal is None:
            if fresh and state_file.exists():  # a new database: the old sandbox's people are not carried over
                aside = state_file.with_name(state_file.name + ".old")
                state_file.replace(aside)
                print(f"  The database is new, so the sandbox starts clean too (its previous state: {aside}).")
            await origin.mark(app.services.db, origin.SANDBOX)
    except BaseException:
        await app.close()
        raise
    if refusal is not None:
        print(refusal, file=sys.stderr)
        await app.close()
        return 2
    # the control token: SANDBOX_CONTROL_TOKEN if set (scripts that start `run` themselves), else a random one
    sandbox = Sandbox(bot_token=SANDBOX_TOKEN, state_file=state_file,
                      control_token=os.environ.get(TOKEN_VARIABLE) or None)
    try:
        await sandbox.start(settings.sandbox_host, settings.sandbox_port if port is None else port)
    except BaseException:
        await app.close()
        raise
    bot = make_bot(settings, token=SANDBOX_TOKEN, api_url=sandbox.api_url)
    web_chat, chat_line = await web_chat_beside_sandbox(app, bot)
    print(
        f"\n  BOT_TOKEN is not set, so the bot runs against the local sandbox.\n"
        f"  Open the web chat: {sandbox.chat_url}\n"
        f"  (the address carries the sandbox's control token, made anew at each start; tests and scripts send it\n"
        f"  in the X-Sandbox-Token header: {sandbox.control_token})\n"
        f"{chat_line}"
        f"  The sandbox's people and chats are kept in {state_file}, beside the database.\n"
        "  (no Telegram needed; stop with Ctrl+C; to use Telegram set BOT_TOKEN)\n",
        flush=True,
    )
    try:
        await run_polling(app, bot, stop)
    finally:
        if web_chat is not None:
            await web_chat.stop()
        await bot.session.close()
        await app.close()
        await sandbox.stop()
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    try:
        load_catalogue(settings.data_dir, settings.communities or None)
    except CatalogueError as exc:
        print("the catalogue in data/ has problems; run `python -m bot check-data`:", file=sys.stderr)
        for line in exc.problems[:10]:
            print("  " + line, file=sys.stderr)
        return 1
    if args.webhook and not settings.webhook_url:
        print("--webhook needs WEBHOOK_URL: the public https:// address Telegram sends updates to", file=sys.stderr)
        return 2
    if args.webhook and not settings.token:
        print("--webhook needs BOT_TOKEN (without it the bot runs against the local sandbox)", file=sys.stderr)
        return 2
    from bot.ops.backup import holder, try_lock

    lock = try_lock(settings.database_path)
    if lock is None:
        print(f"another bot (pid {holder(settings.database_path)}) runs with {settings.database_path}; stop it "
              "first", file=sys.stderr)
        return 1
    on_real_data = getattr(args, "sandbox_on_real_data", False)
    runner = _run(settings, args.webhook) if settings.token else _run_with_sandbox(settings, None, on_real_data)
    try:
        return asyncio.run(runner)
    except KeyboardInterrupt:
        return 0
    finally:
        lock.release()


def cmd_doctor(settings: Optional[Settings], args: argparse.Namespace) -> int:
    from bot.ops.doctor import diagnose

    checks = diagnose(settings, getattr(args, "config_error", None))
    for check in checks:
        for line in check.lines():
            print(line)
    return 1 if any(check.ok is False for check in checks) else 0


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.ops.backup import OpsError, backup

    try:
        copy = backup(settings.database_path, Path(args.path))
    except OpsError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    print(f"backup: {copy.path} ({copy.size / 1_048_576:.1f} MB, schema {copy.version}, integrity ok)")
    return 0


def cmd_restore(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bot.ops.backup import BEFORE_RESTORE, OpsError, restore

    try:
        copy = restore(Path(args.path), settings.database_path, force=args.force)
    except OpsError as exc:
        print(f"restore: refused: {exc}", file=sys.stderr)
        return 1
    print(f"restore: {args.path} → {copy.path} (schema {copy.version}); the previous database is kept as "
          f"{copy.path}{BEFORE_RESTORE}; start the bot (it applies newer migrations at start)")
    return 0


def cmd_sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from sandbox.server import run_sandbox

    try:
        asyncio.run(run_sandbox(settings.sandbox_host, args.port or settings.sandbox_port))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_qr(settings: Settings, args: argparse.Namespace) -> int:
    """Printable QR sheets (PNG and SVG) of deep links into the bot."""
    from pathlib import Path

    from bot import links
    from bot.app import make_i18n
    from bot.qr import QrError, sheet_for

    username = (args.bot_username or settings.bot_username or "").lstrip("@")
    if not username:
        print("the bot's username is needed for the link: set BOT_USERNAME or pass --bot-username", file=sys.stderr)
        return 2
    try:
        catalogue = load_catalogue(settings.data_dir, [args.community])
    except CatalogueError:
        print(f"unknown community '{args.community}'; known: {', '.join(_community_slugs(settings))}", file=sys.stderr)
        return 2
    view = catalogue.communities[args.community]
    topics = [t.id for t in catalogue.consultation_topics]
    if args.service and args.service not in view.services:
        print(f"no service '{args.service}' in {args.community}; known: {', '.join(view.services)}", file=sys.stderr)
        return 2
    if args.topic and args.topic not in topics:
        print(f"no consultation topic '{args.topic}'; known: {', '.join(topics)}", file=sys.stderr)
        return 2
    if args.service:
        wanted = [(links.SERVICE, args.service)]
    elif args.topic:
        wanted = [(links.CONSULTATION, args.topic)]
    elif args.menu:
        wanted = [(links.COMMUNITY, None)]
    else:
        wanted = [(links.COMMUNITY, None)] + [(links.SERVICE, s) for s in view.services] \
            + [(links.CONSULTATION, t) for t in topics]
    locale = args.lang or settings.default_locale
    i18n = make_i18n(settings)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for kind, target in wanted:
        try:
            stem, sheet = sheet_for(catalogue, username, kind, args.community, target, args.campaign, locale,
                                    lambda text: i18n.gettext(text, locale=locale))
        except (links.LinkError, QrError) as exc:
            print(f"qr: {exc}", file=sys.stderr)
            return 2
        (out / f"{stem}.png").write_bytes(sheet.png)
        (out / f"{stem}.svg").write_text(sheet.svg, encoding="utf-8")
        print(f"{out / stem}.png  {out / stem}.svg  {sheet.url}")
    return 0


COMMANDS = {"qr": cmd_qr, "run": cmd_run, "check-data": cmd_check_data, "search": cmd_search, "triage": cmd_triage,
            "triage-train": cmd_triage_train, "sandbox": cmd_sandbox,
            "bind-code": cmd_bind_code, "stats": cmd_stats, "doctor": cmd_doctor, "backup": cmd_backup,
            "restore": cmd_restore, "export": cmd_export, "catalogue": cmd_catalogue}


def main(argv: Optional[Sequence[str]] = None) -> int:
    # Everything the bot writes (database, backups, exports, QR sheets, logs) is for its own user only.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        if args.command == "doctor":
            args.config_error = str(exc)
            return cmd_doctor(None, args)
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    checked = args.command in ("search", "bind-code") or getattr(args, "community", None) is not None
    if checked and args.command != "check-data" and args.community not in _community_slugs(settings):
        print(f"unknown community '{args.community}'; known: {', '.join(_community_slugs(settings))}", file=sys.stderr)
        return 2
    return COMMANDS[args.command](settings, args)


def _community_slugs(settings: Settings) -> list[str]:
    return sorted(p.name for p in settings.data_dir.iterdir() if (p / "community.yaml").exists())
