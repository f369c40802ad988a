"""The arguments of `python -m bot`: one subcommand each, built here without importing what the commands run, so
that `python -m bot --help` stays fast. bot/cli.py runs the commands."""
from __future__ import annotations

import argparse

from bot.reports import arguments as report_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Resident help bot of a community")
    sub = parser.add_subparsers(dest="command", required=True)
    _running(sub)
    _data(sub)
    _staff_and_reports(sub)
    _qr(sub)
    _catalogue(sub)
    sandbox = sub.add_parser("sandbox", help="serve the local Bot API sandbox and its web chat")
    sandbox.add_argument("--port", type=int)
    return parser


def _running(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="start the bot (with BOT_TOKEN: Telegram; without: the local sandbox)")
    run.add_argument("--webhook", action="store_true", help="take updates at WEBHOOK_URL instead of polling")
    run.add_argument("--sandbox-on-real-data", action="store_true",
                     help="without BOT_TOKEN: start the sandbox even on a database that has served a real token")
    sub.add_parser("doctor", help="check configuration, database, data, translations and Telegram; exit 1 on a problem")
    backup = sub.add_parser("backup", help="a consistent copy of the database, also while the bot runs")
    backup.add_argument("path", help="a file, or a folder for bot-YYYYmmdd-HHMMSS.sqlite3")
    restore = sub.add_parser("restore", help="check a backup and put it in place of DATABASE_PATH")
    restore.add_argument("path")
    restore.add_argument("--force", action="store_true", help="even while a bot runs with the database")


def _data(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check-data", help="validate data/ and print counts per community")
    check.add_argument("--data", help="data folder (default DATA_DIR)")
    check.add_argument("--markdown", action="store_true",
                       help="print the per-community table of the README (statuses, whose choice the providers are)")
    search = sub.add_parser("search", help="search services of a community as a resident would")
    search.add_argument("--community", required=True)
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--json", action="store_true")
    search.add_argument("query", nargs="+")
    triage = sub.add_parser("triage", help="does a phrasing signal danger, and which lines come first")
    triage.add_argument("--json", action="store_true", help='print {"language", "danger", "lines"}')
    triage.add_argument("--explain", action="store_true", help="also print the lemmas each word was read as")
    triage.add_argument("text", nargs="+")
    sub.add_parser("triage-train", help="learn the triage model from the dev half and benchmarks/triage_tuning")


def _staff_and_reports(sub: argparse._SubParsersAction) -> None:
    bind = sub.add_parser("bind-code", help="a one-time code that binds a staff group to an institution")
    bind.add_argument("--community", required=True)
    bind.add_argument("institution")
    stats = sub.add_parser("stats", help="figures for reports")
    stats.add_argument("what", nargs="?", choices=["report", "consultations"], default="report",
                       help="report (default): every figure against the previous period; consultations: per month")
    stats.add_argument("--community")
    stats.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
    stats.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD")
    stats.add_argument("--json", action="store_true", help="the report's headline figures as JSON")
    stats.add_argument("--charts", metavar="DIR", help="also write the report's charts (PNG) to this folder")
    report_arguments.add_locale_argument(stats)
    report_arguments.add_export_parser(sub)


def _qr(sub: argparse._SubParsersAction) -> None:
    qr = sub.add_parser("qr", help="printable QR codes (PNG and SVG) of links into the bot")
    qr.add_argument("--community", required=True)
    what = qr.add_mutually_exclusive_group(required=True)
    what.add_argument("--service", help="a service id: the code opens its card")
    what.add_argument("--topic", help="a consultation topic id: the code opens the topic")
    what.add_argument("--menu", action="store_true", help="the code opens the community's menu")
    what.add_argument("--all", action="store_true", help="the community, every service and every topic")
    qr.add_argument("--out", default="qr", help="folder for the files (default ./qr)")
    qr.add_argument("--bot-username", help="the bot's @username (default BOT_USERNAME)")
    qr.add_argument("--campaign", type=int, help="a campaign id to count the opens under")
    qr.add_argument("--lang", choices=["uk", "en"], help="language of the sheet (default DEFAULT_LOCALE)")


def _catalogue(sub: argparse._SubParsersAction) -> None:
    catalogue = sub.add_parser("catalogue", help="the community's own corrections of contacts, descriptions and "
                                                 "statuses: export, import, history, undo")
    actions = catalogue.add_subparsers(dest="action", required=True)
    exported = actions.add_parser("export", help="the catalogue as the bot serves it, as an .xlsx workbook")
    exported.add_argument("--out", required=True, help="the .xlsx file to write")
    imported = actions.add_parser("import", help="check an edited workbook, print what it changes, apply it")
    imported.add_argument("--yes", action="store_true", help="apply without asking")
    imported.add_argument("file", help="the edited .xlsx workbook")
    history = actions.add_parser("history", help="every version: who, when, what")
    history.add_argument("--limit", type=int, default=20)
    undone = actions.add_parser("undo", help="undo the latest change")
    undone.add_argument("--yes", action="store_true", help="undo without asking")
    for action in (exported, imported, history, undone):
        action.add_argument("--community", required=True)
        report_arguments.add_locale_argument(action)
