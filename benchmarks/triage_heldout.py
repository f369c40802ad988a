"""The danger triage's model measured on phrasings it did not learn: each tuning set held out in turn.

Run: .venv/bin/python benchmarks/triage_heldout.py [--sets 18-24] [--budget child=0.006 ...] [--c 4.0]

For each tuning set N of benchmarks/triage_tuning/ (danger<N>.yaml with ordinary<N>.yaml), the model is trained as
`python -m bot triage-train` trains it, but without that set's phrasings, and the set is then read by the model
alone, by the rules alone and by both (the bot's verdict). The rules were tuned on these same phrasings, so their
figures here are optimistic; the model's, and what it adds to the rules, are what a set nobody tuned on would see.
The halves that are only measured (measure_only/, the test half) are never read: training leaves them out as the
bot's own training does, and nothing here scores them.

A change to the model (its features, its thresholds) is judged on these figures first; the weights in
data/shared/triage_weights.json are not touched. Each held-out set costs one training (about 20 s on two cores).
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue import triage_model  # noqa: E402
from bot.catalogue.loader import load_catalogue  # noqa: E402
from bot.catalogue.reader import reader_for  # noqa: E402
from bot.catalogue.triage import Triage  # noqa: E402
from bot.config import load_settings  # noqa: E402

TUNING = ROOT / "benchmarks" / "triage_tuning"


def set_of_each_phrasing() -> dict[str, int]:
    """The tuning set each phrasing was written in (danger.yaml and ordinary.yaml are the first)."""
    out: dict[str, int] = {}
    for path in sorted(TUNING.glob("*.yaml")):
        number = int(re.sub(r"\D", "", path.stem) or 1)
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            out.setdefault(case["text"], number)
    return out


def numbers(spec: str) -> list[int]:
    """«18-24» or «12,15,20-22» as a list of set numbers."""
    out: list[int] = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="18-24", help="the tuning sets to hold out in turn, e.g. 18-24 or 12,15")
    parser.add_argument("--budget", nargs="*", default=[],
                        help="kind=share of ordinary phrasings its threshold lets through, e.g. child=0.006")
    parser.add_argument("--c", type=float, default=4.0, help="the regression's inverse regularisation")
    args = parser.parse_args()
    budget = dict(triage_model.BUDGET)
    budget.update({kind: float(share) for kind, share in (item.split("=") for item in args.budget)})

    settings = load_settings()
    catalogue = load_catalogue(settings.data_dir, settings.communities or None)
    reader = reader_for(catalogue.shared.ru_uk, catalogue.shared.en_uk)
    rules = Triage(catalogue.shared.triage, reader)
    kinds = [kind.id for kind in catalogue.shared.triage.kinds]
    examples = triage_model.training_examples(ROOT, lambda text: bool(rules.assess(text)))
    origin = set_of_each_phrasing()

    totals = dict.fromkeys(("danger", "model", "rules", "both", "ordinary", "model_fa", "rules_fa", "both_fa"), 0)
    print(f"{'set':>4} {'danger':>6} {'model':>7} {'rules':>7} {'both':>7} {'ordinary':>8} {'model':>6} "
          f"{'rules':>6} {'both':>6}   (caught; false alarms)")
    for held in numbers(args.sets):
        started = time.perf_counter()
        learnt = [(text, found) for text, found in examples if origin.get(text) != held]
        weights = triage_model.train(reader, learnt, kinds, max_false_alarms=budget, c=args.c, context=rules.context)
        both = Triage(catalogue.shared.triage, reader, weights)
        model = triage_model.TriageModel(weights)
        row = dict.fromkeys(totals, 0)
        for text, found in examples:
            if origin.get(text) != held:
                continue
            reading = reader.read(text)
            by_model = model.raised(reading, both.context(reading))
            by_rules, by_both = rules.detect(text), both.detect(text)
            if found:
                row["danger"] += 1
                row["model"] += found <= by_model
                row["rules"] += found <= by_rules
                row["both"] += found <= by_both
            else:
                row["ordinary"] += 1
                row["model_fa"] += bool(by_model)
                row["rules_fa"] += bool(by_rules)
                row["both_fa"] += bool(by_both)
        for key in totals:
            totals[key] += row[key]
        took = time.perf_counter() - started
        print(f"{held:>4} {row['danger']:>6} {row['model']:>7} {row['rules']:>7} {row['both']:>7} {row['ordinary']:>8} "
              f"{row['model_fa']:>6} {row['rules_fa']:>6} {row['both_fa']:>6}   ({took:.0f} s)")
    danger, ordinary = max(totals["danger"], 1), max(totals["ordinary"], 1)
    print(f"\nheld out, all kinds caught: model alone {100 * totals['model'] / danger:.1f} %, rules alone "
          f"{100 * totals['rules'] / danger:.1f} %, both {100 * totals['both'] / danger:.1f} % of {totals['danger']}")
    print(f"false alarms: model alone {100 * totals['model_fa'] / ordinary:.1f} %, rules alone "
          f"{100 * totals['rules_fa'] / ordinary:.1f} %, both {100 * totals['both_fa'] / ordinary:.1f} % of "
          f"{totals['ordinary']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
