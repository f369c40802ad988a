"""Search and danger triage measured on a frozen set of resident phrasings, dev and test halves apart.

Run: .venv/bin/python benchmarks/search_quality.py [--verbose dev|tuned|tuning|tuning4...] [--sets] [--no-test]
     [--json]

The phrasings live in benchmarks/search_queries/:
  dev/   the half the rules, synonyms and lexicon may be tuned on
  test/  the half that is only measured (never read while tuning; never move a phrasing between halves)
  tuned/ the project's first, small set, written while the search was built (reported for comparison)
and benchmarks/triage_tuning/: more danger and ordinary phrasings, written after the halves were frozen, that the
triage rules may be tuned on (reported as "tuning"; with --sets also each set apart, "tuning4" being
danger4.yaml with ordinary4.yaml, so a new set's figures before it is used are printed the same way), and
benchmarks/triage_tuning/measure_only/: the half of a tuning set that is only measured ("measure6": its misses are
never listed, and the model never learns from it).
benchmarks/search_fresh/: search phrasings written after all of the above, split when written into tuning/ (may be
tuned on; "fresh-tuning") and measure_only/ (only measured, its misses never listed; "fresh-measure"), printed with
--sets or --verbose fresh-tuning; later sets in search_fresh2/, ... ("fresh2-tuning", "fresh2-measure").
Per community <slug>.yaml: {query, expect: [service ids], tags}; expect [] means the catalogue has nothing
for it and the honest answer is "nothing here, ask ...". danger.yaml and ordinary.yaml: {text, danger: [kinds]}.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.catalogue.search import SearchEngine  # noqa: E402
from bot.catalogue.triage import Triage  # noqa: E402
from bot.config import load_settings  # noqa: E402

QUERIES = ROOT / "benchmarks" / "search_queries"
TUNING = ROOT / "benchmarks" / "triage_tuning"
MEASURE_ONLY = TUNING / "measure_only"
# search_fresh/ is "fresh-tuning" and "fresh-measure"; a later set search_fresh2/ is "fresh2-tuning", ...
FRESH_HALVES = {f"{folder.name.replace('search_', '')}-{label}": folder / half
                for folder in sorted((ROOT / "benchmarks").glob("search_fresh*"))
                for label, half in (("tuning", "tuning"), ("measure", "measure_only"))}
HALVES = ("dev", "test")
KINDS = ("helpless", "suicide", "violence", "child", "trafficking")
GROUPS = ("all", "ru", "uk", "en", "typo", "short", "long")


@dataclass
class Outcome:
    community: str
    query: str
    expect: list[str]
    tags: list[str]
    got: list[str]
    served: bool  # the engine thinks the catalogue has something for it
    seconds: float

    def hit(self, top: int) -> bool:
        return bool(set(self.expect) & set(self.got[:top]))


@dataclass
class Half:
    name: str
    search: list[Outcome] = field(default_factory=list)
    danger: list[tuple[dict, set[str], float]] = field(default_factory=list)
    ordinary: list[tuple[dict, set[str], float]] = field(default_factory=list)


def read(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or []


def run_search(engine: SearchEngine, folder: Path) -> list[Outcome]:
    outcomes = []
    for path in sorted(folder.glob("*.yaml")):
        community = path.stem
        if community not in engine.indexes:
            continue
        for case in read(path):
            started = time.perf_counter()
            answer = engine.answer(community, case["query"], limit=3)
            spent = time.perf_counter() - started
            got = [hit.service.id for hit in answer.hits]
            outcomes.append(Outcome(community, case["query"], case["expect"], case.get("tags", []), got,
                                    answer.served, spent))
    return outcomes


def run_triage(triage: Triage, folder: Path, kind: str, suffix: str = "*") -> list[tuple[dict, set[str], float]]:
    out = []
    cases = [case for path in sorted(folder.glob(f"{kind}{suffix}.yaml")) for case in read(path)]
    for case in cases:
        started = time.perf_counter()
        kinds = triage.detect(case["text"])
        out.append((case, kinds, time.perf_counter() - started))
    return out


def tuning_sets() -> list[str]:
    """The tuning sets one by one: "tuning" (danger.yaml, ordinary.yaml), "tuning2", "tuning3", ..., then the
    measure-only halves: "measure6", ..."""
    def suffixes(folder: Path) -> list[str]:
        return sorted({path.stem[len("danger"):] for path in folder.glob("danger*.yaml")}, key=lambda s: (len(s), s))

    return ([f"tuning{suffix}" for suffix in suffixes(TUNING)]
            + [f"measure{suffix}" for suffix in suffixes(MEASURE_ONLY)])


def evaluate_set(triage: Triage, name: str) -> Half:
    prefix = "measure" if name.startswith("measure") else "tuning"
    folder, suffix = (MEASURE_ONLY if prefix == "measure" else TUNING), name[len(prefix):]
    result = Half(name if suffix else "tuning (first set)")
    result.danger = run_triage(triage, folder, "danger", suffix)
    result.ordinary = run_triage(triage, folder, "ordinary", suffix)
    return result


def evaluate(engine: SearchEngine, triage: Triage, half: str) -> Half:
    if half in FRESH_HALVES:
        return Half(half, run_search(engine, FRESH_HALVES[half]))
    folder = TUNING if half == "tuning" else QUERIES / half
    result = Half(half, run_search(engine, folder))
    result.danger = run_triage(triage, folder, "danger")
    result.ordinary = run_triage(triage, folder, "ordinary")
    return result


def in_group(outcome: Outcome, group: str) -> bool:
    return group == "all" or group in outcome.tags


def search_figures(half: Half) -> dict:
    served = [o for o in half.search if o.expect]
    unserved = [o for o in half.search if not o.expect]
    figures: dict = {}
    for group in GROUPS:
        mine = [o for o in served if in_group(o, group)]
        if mine:
            figures[group] = {"n": len(mine), "top1": sum(o.hit(1) for o in mine) / len(mine),
                              "top3": sum(o.hit(3) for o in mine) / len(mine)}
    if unserved:
        figures["unserved"] = {"n": len(unserved), "honest": sum(not o.served for o in unserved) / len(unserved)}
    if served:
        figures["served_told_nothing"] = sum(not o.served for o in served) / len(served)
    return figures


def triage_figures(half: Half) -> dict:
    figures: dict = {}
    pairs = found = 0
    for kind in KINDS:
        mine = [(case, got) for case, got, _ in half.danger if kind in case["danger"]]
        if mine:
            caught = sum(kind in got for _, got in mine)
            figures[kind] = {"n": len(mine), "recall": caught / len(mine)}
            pairs += len(mine)
            found += caught
    if half.danger:
        figures["overall"] = {"n": pairs, "recall": found / pairs if pairs else 0.0,
                              "any_danger_shown": sum(bool(got) for _, got, _ in half.danger) / len(half.danger)}
    if half.ordinary:
        alarms = sum(bool(got) for _, got, _ in half.ordinary)
        near = [(case, got) for case, got, _ in half.ordinary if "near" in case.get("tags", [])]
        figures["false_alarms"] = {"n": len(half.ordinary), "rate": alarms / len(half.ordinary),
                                   "near_n": len(near),
                                   "near_rate": sum(bool(g) for _, g in near) / len(near) if near else 0.0}
    return figures


def timing(half: Half) -> dict:
    times = [o.seconds for o in half.search] + [t for *_, t in half.danger] + [t for *_, t in half.ordinary]
    if not times:
        return {}
    times.sort()
    return {"n": len(times), "p50_ms": statistics.median(times) * 1000,
            "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))] * 1000}


def print_half(half: Half, search: dict, triage: dict, times: dict) -> None:
    print(f"\n== {half.name} ==")
    print(f"{'search':<22} {'n':>4} {'top-1':>7} {'top-3':>7}")
    for group in GROUPS:
        if group in search:
            row = search[group]
            print(f"  {group:<20} {row['n']:>4} {row['top1']:>7.1%} {row['top3']:>7.1%}")
    if "unserved" in search:
        row = search["unserved"]
        print(f"  {'unserved, honest':<20} {row['n']:>4} {row['honest']:>7.1%}")
        print(f"  {'served, told nothing':<20} {'':>4} {search['served_told_nothing']:>7.1%}")
    print(f"{'danger triage':<22} {'n':>4} {'recall':>7}")
    for kind in (*KINDS, "overall"):
        if kind in triage:
            print(f"  {kind:<20} {triage[kind]['n']:>4} {triage[kind]['recall']:>7.1%}")
    if "overall" in triage:
        print(f"  {'any danger shown':<20} {'':>4} {triage['overall']['any_danger_shown']:>7.1%}")
    if "false_alarms" in triage:
        row = triage["false_alarms"]
        print(f"  {'false alarms':<20} {row['n']:>4} {row['rate']:>7.1%}   (near-misses: {row['near_n']}, "
              f"{row['near_rate']:.1%})")
    if times:
        print(f"time per phrasing: p50 {times['p50_ms']:.2f} ms, p99 {times['p99_ms']:.2f} ms ({times['n']})")


def print_misses(half: Half) -> None:
    for o in half.search:
        if o.expect and not o.hit(3):
            print(f"  miss [{o.community}] {o.query!r} {o.tags}: expected {o.expect}, got {o.got}"
                  f"{'' if o.served else ' (told nothing)'}")
        if o.expect and o.hit(3) and not o.served:
            print(f"  told nothing [{o.community}] {o.query!r}: though a fitting one ranked in {o.got}")
        if not o.expect and o.served:
            print(f"  not honest [{o.community}] {o.query!r}: got {o.got}")
    for case, got, _ in half.danger:
        if set(case["danger"]) - got:
            print(f"  danger missed {sorted(set(case['danger']) - got)}: {case['text']!r} (got {sorted(got)})")
    for case, got, _ in half.ordinary:
        if got:
            print(f"  false alarm {sorted(got)}: {case['text']!r}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--verbose", help="list the misses of one set: dev, tuned, tuning or tuning2, tuning3, ..., "
                                          "fresh-tuning (never a measure-only half)")
    parser.add_argument("--sets", action="store_true", help="also print each tuning set apart")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-test", action="store_true",
                        help="leave the test half out (while tuning, its figures are looked at rarely)")
    args = parser.parse_args()
    started = time.perf_counter()
    settings = load_settings()
    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    engine = SearchEngine(catalogue)
    triage = engine.triage
    built = time.perf_counter() - started
    report = {}
    fresh = [name for name, folder in FRESH_HALVES.items() if folder.is_dir()
             and (args.sets or args.verbose == name or (args.verbose or "").startswith("fresh"))]
    for name in (*HALVES, "tuned", "tuning", *fresh):
        if args.no_test and name == "test":
            continue
        half = evaluate(engine, triage, name)
        figures = {"search": search_figures(half), "triage": triage_figures(half), "time": timing(half)}
        report[name] = figures
        if not args.json:
            print_half(half, figures["search"], figures["triage"], figures["time"])
        if args.verbose == name and name.endswith("-measure"):
            print("  (a measure-only half: its misses are not listed)")
        elif args.verbose == name:
            print_misses(half)
    for name in tuning_sets() if args.sets or (args.verbose or "").startswith(("tuning", "measure")) else ():
        if not args.sets and args.verbose != name:
            continue
        half = evaluate_set(triage, name)
        figures = {"triage": triage_figures(half), "time": timing(half)}
        report[half.name] = figures
        if not args.json:
            print_half(half, {}, figures["triage"], figures["time"])
        if args.verbose == name and name.startswith("measure"):
            print("  (a measure-only half: its misses are not listed)")
        elif args.verbose == name:
            print_misses(half)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"\nsearch index and triage built in {built * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
