"""The long reliability runs (`make soak`): everything goes to the local sandbox on 127.0.0.1.

1. A scripted day with kill -9 of the bot at 20 random moments (residents filing requests, staff answering,
   consultations, a campaign), plus a share of failing Bot API calls all day.
2. A day without kills in which the Bot API answers 429 to everything for a minute, then 500s, dropped
   connections and time-outs.
3. The update fuzzer with thousands of updates (tests/e2e/test_fuzz.py, FUZZ_UPDATES).
4. A flood: residents sending 100+ messages in a few seconds while others are measured (benchmarks/flood.py).

The figures are taken with the machine loaded: a CPU hog (a busy loop in a process of its own, pinned to one
core) runs from the first part to the last, and is killed at the end whatever happens (`--no-load` runs
without it).

Prints: updates handled, faults injected, kills survived, requests lost, duplicates, unhandled errors and p99
latency for unaffected residents, and the load it all ran under; exits non-zero if anything was lost, doubled or
unhandled. A full run took about ten minutes on a 2-core machine (with the hog).

    .venv/bin/python benchmarks/soak.py [--kills 20] [--fuzz 3000] [--quick] [--no-load]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.soakday import Plan, Report, run_day  # noqa: E402

SENDS = ["sendMessage", "editMessageText", "answerCallbackQuery", "createForumTopic", "copyMessage", "sendPhoto",
         "sendDocument"]


def kill_day(kills: int) -> Plan:
    return Plan(kills=kills, residents=6, talkers=2, recipients=600, seed=2026,
                background=[{"kind": "500", "share": 0.05, "methods": SENDS},
                            {"kind": "close", "share": 0.03, "methods": SENDS}])


def fault_day(minute: float) -> Plan:
    return Plan(kills=0, residents=6, talkers=2, recipients=300, seed=2027, faults=[
        {"kind": "429", "seconds": minute, "retry_after": 5},
        {"kind": "500", "seconds": 20, "share": 0.5},
        {"kind": "502", "seconds": 10, "share": 0.5},
        {"kind": "close", "seconds": 20, "share": 0.3},
        {"kind": "timeout", "seconds": 20, "share": 0.3, "hang": 3},
    ])


def show(title: str, report: Report, seconds: float) -> None:
    print(f"\n== {title} ({seconds:.0f} s)")
    for line in report.lines() + report.details[:6] + report.error_lines:
        print("  " + line)
    if len(report.details) > 6:
        print(f"  … and {len(report.details) - 6} more slow or uneven steps")


def run_child(title: str, command: list[str], env: dict[str, str], pattern: str,
              summary: str = "") -> tuple[str, int]:
    """Run a part in its own process; return its summary line (matched by `pattern`) and exit code."""
    print(f"\n== {title}: {' '.join(command)}", flush=True)
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if re.search(pattern, line)]
    for line in lines:
        print("  " + line.strip())
    lines = [line for line in lines if re.search(summary, line)] if summary else lines
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-2000:])
    print(f"  ({time.monotonic() - started:.0f} s, exit {done.returncode})")
    return (lines[-1] if lines else ""), done.returncode


# Busy until stopped; also ends by itself if this script dies without its `finally` (its parent changes).
HOG = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    for _ in range(1_000_000): pass\n"


class CpuHog:
    """A busy loop in a process of its own on one core (the last one), so that every figure below is taken
    with the machine loaded. Stopped by its pid."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.core: int | None = None
        self.started = 0.0

    def start(self) -> CpuHog:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.core = cores[-1] if cores else None
        core = self.core

        def pin() -> None:
            if core is not None:
                os.sched_setaffinity(0, {core})

        self.process = subprocess.Popen([sys.executable, "-c", HOG], preexec_fn=pin,
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        self.started = time.monotonic()
        return self

    def busy(self) -> float:
        """The share of one core the hog has used since it started (0..1)."""
        if self.process is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return seconds / max(time.monotonic() - self.started, 1e-9)

    def describe(self) -> str:
        if self.process is None:
            return "none (--no-load)"
        where = f"pinned to core {self.core} of {os.cpu_count()}" if self.core is not None else "on one core"
        return f"a CPU hog (busy loop, pid {self.process.pid}) {where}, busy {self.busy():.0%} of that core so far"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--minute", type=float, default=60.0, help="seconds of 429 for every call")
    parser.add_argument("--fuzz", type=int, default=3000, help="updates the fuzzer sends")
    parser.add_argument("--quick", action="store_true", help="a short run to try the script")
    parser.add_argument("--no-load", dest="load", action="store_false",
                        help="run without the CPU hog on one core (the figures are then for an idle machine)")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.minute, args.fuzz = 3, 10.0, 300
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stop runs the `finally` below too
    hog = CpuHog().start() if args.load else CpuHog()
    try:
        return soak(args, hog)
    finally:
        hog.stop()


def soak(args: argparse.Namespace, hog: CpuHog) -> int:
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    print(f"soak run; logs and databases in {folder}")
    print(f"load: {hog.describe()}", flush=True)

    reports: list[Report] = []
    for title, plan in (("kill -9 day", kill_day(args.kills)), ("failing Bot API day", fault_day(args.minute))):
        place = folder / title.split()[0].replace("-", "")
        place.mkdir()
        started = time.monotonic()
        report = asyncio.run(run_day(plan, place))
        show(title, report, time.monotonic() - started)
        reports.append(report)

    python = str(Path(sys.executable))
    env = {**os.environ, "FUZZ_UPDATES": str(args.fuzz)}
    fuzz_line, fuzz_code = "", 0
    if (ROOT / "tests" / "e2e" / "test_fuzz.py").exists():
        fuzz_line, fuzz_code = run_child("fuzzer", [python, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                                                    "tests/e2e/test_fuzz.py"], env, r"^\s*fuzz:|passed|failed")
    flood_line, flood_code = "", 0
    if (ROOT / "benchmarks" / "flood.py").exists():
        flood_line, flood_code = run_child("flood", [python, "benchmarks/flood.py"], dict(os.environ),
                                           r"p99|flood|baseline", summary=r"^\s*\d+ flooding")

    fuzz = dict(re.findall(r"(\w+)=(\d+)", fuzz_line))
    updates = sum(r.updates for r in reports) + int(fuzz.get("handled", 0))
    faults = sum(r.faults for r in reports)
    lost = sum(r.lost for r in reports)
    duplicates = sum(r.duplicates for r in reports)
    errors = sum(r.errors for r in reports) + int(fuzz.get("errors", 0))
    kill_report = reports[0]
    print("\n== soak summary")
    print(f"  ran under load: {hog.describe()}" + (" (--quick)" if args.quick else ""))
    print(f"  updates handled: {updates}")
    print(f"  faults injected: {faults}")
    print(f"  kills survived: {kill_report.kills} of {args.kills}")
    print(f"  requests lost: {lost}")
    cut = sum(r.outbox_interrupted for r in reports)
    print(f"  duplicates: {duplicates} (outbox rows a kill caught in the middle of sending, sent again: {cut}; "
          f"Telegram has no idempotency key)")
    print(f"  unhandled errors: {errors}")
    print(f"  p99 latency for unaffected residents: {kill_report.p(0.99):.0f} ms between restarts "
          f"(kill day, {len(kill_report.latencies)} steps)")
    if flood_line:
        print(f"  p99 for the others while residents flood (phase, steps, p50, p95, p99 ms, ratios to no flood): "
              f"{' '.join(flood_line.split())}")
    failed = lost or duplicates > cut or errors or fuzz_code or flood_code or kill_report.kills != args.kills
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
