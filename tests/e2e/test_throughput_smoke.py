"""benchmarks/throughput.py still runs: a small run prints every figure (the values are not checked)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from bot.config import PROJECT_ROOT

NUMBER = r"[\d.]+|nan"
FIGURES = {
    "ours": rf"^ours: \d+ updates handled in ({NUMBER}) s = ({NUMBER}) updates/s; latency p50 ({NUMBER}) ms, "
    rf"p95 ({NUMBER}) ms, p99 ({NUMBER}) ms; peak RSS ({NUMBER}) MB;",
    "echo": rf"^echo: \d+ updates handled in ({NUMBER}) s = ({NUMBER}) updates/s; latency p50 ({NUMBER}) ms, "
    rf"p95 ({NUMBER}) ms, p99 ({NUMBER}) ms; peak RSS ({NUMBER}) MB;",
    "ratio": rf"^ratio ours/echo updates/s: ({NUMBER}); p99 ours ({NUMBER}) ms, echo ({NUMBER}) ms$",
    "updates/s target": r"^target updates/s >= 500: (met|NOT met) \(",
    "ratio target": r"^target ratio >= 0.5: (met|NOT met) \(",
    "p99 target": r"^target p99 < 100 ms: (met|NOT met) \(",
}


def test_quick_benchmark_prints_the_figures() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_PATH")}
    done = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "benchmarks" / "throughput.py"), "--quick"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for name, pattern in FIGURES.items():
        assert re.search(pattern, done.stdout, re.MULTILINE), f"no {name} line in:\n{output}"
