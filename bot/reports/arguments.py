"""The arguments of `python -m bot stats` and `python -m bot export`. bot/cli.py builds its parser with them at
every start, so this module imports nothing heavy; the commands themselves are in bot/reports/cli.py."""
from __future__ import annotations

import argparse


def add_locale_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--locale", choices=["uk", "en"], help="language of labels (default DEFAULT_LOCALE)")


def add_export_parser(sub) -> None:
    export = sub.add_parser("export", help="a period's figures as a spreadsheet (xlsx, or csv files in a zip)")
    export.add_argument("--community")
    export.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD (default: this month)")
    export.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default: today)")
    export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    export.add_argument("--out", help="file or folder to write (default: a file named after the period here)")
    add_locale_argument(export)
