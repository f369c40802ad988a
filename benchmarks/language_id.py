"""Which language did a resident write in? Our identifier against the libraries made for short texts.

Run: .venv/bin/python benchmarks/language_id.py
Every phrasing of benchmarks/search_queries/ (both halves) carries the language its author wrote it in
(uk, ru, en; surzhyk counts as its main language). Prints accuracy overall and per language and the time
per text for:
  ours      letters only one language has (і ї є ґ / ы э ъ ё), then words only one dictionary knows,
            then py3langid limited to uk, ru, en (bot/catalogue/reader.py)
  py3langid alone, limited to uk, ru, en: the model the bot uses, derived from py3langid's for the three
            (bot/catalogue/langid_model.py)
  full      py3langid's own full model restricted to uk, ru, en (what the derived one was made from)
  lingua    lingua-language-detector limited to uk, ru, en, when it is installed (it is not a dependency)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.catalogue.langid_model import load_full  # noqa: E402
from bot.catalogue.reader import Reader  # noqa: E402

QUERIES = ROOT / "benchmarks" / "search_queries"


def phrasings() -> list[tuple[str, str]]:
    out = []
    for path in sorted([*QUERIES.glob("dev/*.yaml"), *QUERIES.glob("test/*.yaml")]):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            text = case.get("text") or case.get("query")
            lang = case.get("lang") or next((t for t in case.get("tags", []) if t in ("uk", "ru", "en")), None)
            if lang:
                out.append((text, lang))
    return out


def measure(name: str, identify, cases: list[tuple[str, str]]) -> None:
    times, right = [], {"uk": [0, 0], "ru": [0, 0], "en": [0, 0]}
    for text, lang in cases:
        started = time.perf_counter()
        got = identify(text)
        times.append(time.perf_counter() - started)
        right[lang][0] += got == lang
        right[lang][1] += 1
    total = sum(r[0] for r in right.values()) / len(cases)
    per = "  ".join(f"{lang} {r[0] / r[1]:.1%} of {r[1]}" for lang, r in right.items() if r[1])
    times.sort()
    print(f"{name:<10} {total:>6.1%}   {per}   p50 {statistics.median(times) * 1000:.3f} ms, "
          f"p99 {times[int(len(times) * 0.99)] * 1000:.3f} ms")


def main() -> int:
    cases = phrasings()
    print(f"{len(cases)} phrasings with their language")
    reader = Reader()
    reader.identifier.identify("прогрів")  # load the model before timing
    measure("ours", reader.identifier.identify, cases)
    model = reader.identifier._langid()
    measure("py3langid", lambda text: model.classify(text.lower())[0], cases)
    full = load_full()
    measure("full", lambda text: full.classify(text.lower())[0], cases)
    try:
        from lingua import Language, LanguageDetectorBuilder
    except ImportError:
        print("lingua     not installed (pip install lingua-language-detector to compare)")
        return 0
    detector = LanguageDetectorBuilder.from_languages(Language.UKRAINIAN, Language.RUSSIAN,
                                                      Language.ENGLISH).build()
    codes = {Language.UKRAINIAN: "uk", Language.RUSSIAN: "ru", Language.ENGLISH: "en"}
    detector.detect_language_of("прогрів")
    measure("lingua", lambda text: codes.get(detector.detect_language_of(text), "uk"), cases)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
