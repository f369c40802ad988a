"""Search quality: share of resident phrasings whose right service is in the top 3.

Run: .venv/bin/python benchmarks/search_quality.py [--verbose]
The phrasings live in benchmarks/search_queries/<community>.yaml.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.catalogue.search import SearchEngine  # noqa: E402
from bot.config import load_settings  # noqa: E402

QUERIES = ROOT / "benchmarks" / "search_queries"
TOP = 3


@dataclass
class Outcome:
    community: str
    query: str
    expect: list[str]
    got: list[str]

    @property
    def ok(self) -> bool:
        return bool(set(self.expect) & set(self.got[:TOP]))


def evaluate(engine: SearchEngine) -> list[Outcome]:
    outcomes = []
    for path in sorted(QUERIES.glob("*.yaml")):
        community = path.stem
        if community not in engine.indexes:
            continue
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            hits = engine.search(community, case["query"], limit=TOP)
            outcomes.append(Outcome(community, case["query"], case["expect"], [h.service.id for h in hits]))
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = load_settings()
    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    engine = SearchEngine(catalogue)
    built = time.perf_counter() - started
    started = time.perf_counter()
    outcomes = evaluate(engine)
    spent = time.perf_counter() - started
    print(f"{'community':<14} {'queries':>7} {'top-3':>6} {'share':>7}")
    for slug in engine.indexes:
        mine = [o for o in outcomes if o.community == slug]
        if mine:
            good = sum(o.ok for o in mine)
            print(f"{slug:<14} {len(mine):>7} {good:>6} {good / len(mine):>7.1%}")
    good = sum(o.ok for o in outcomes)
    share = good / len(outcomes) if outcomes else 0.0
    print(f"{'all':<14} {len(outcomes):>7} {good:>6} {share:>7.1%}")
    print(f"index built in {built * 1000:.0f} ms; {len(outcomes)} queries in {spent * 1000:.0f} ms "
          f"({spent / max(len(outcomes), 1) * 1000:.2f} ms a query)")
    for o in outcomes:
        if not o.ok and args.verbose:
            print(f"  miss [{o.community}] {o.query!r}: expected {o.expect}, got {o.got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
