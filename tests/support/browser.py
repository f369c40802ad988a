"""Debian's Chromium for the browser tests of the web chat (installed by `make test`)."""
from __future__ import annotations

import os

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip on a developer's machine without Chromium; in CI its absence is a failure."""
    if os.path.exists(CHROMIUM):
        return
    reason = f"{CHROMIUM} is absent: install Debian's chromium (make browser) to run the web chat test"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
