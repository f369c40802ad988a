"""The bot in a process of its own (tests/e2e/test_crash.py, test_campaign_crash.py): kill -9, and a gentle stop at
the end of a test."""
from __future__ import annotations

import signal
import subprocess


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def stop_gently(process: subprocess.Popen | None) -> None:
    """At the end of a test: SIGTERM, and kill -9 if the bot does not stop in 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_hard(process)
