"""Debian's Chromium for the browser tests of the web chat (installed by `make test`), and axe-core from the npm
registry for their accessibility check (package.json; `make setup` installs it with npm ci where npm is)."""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.config import PROJECT_ROOT

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


@asynccontextmanager
async def chromium() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, through playwright (skipped where it is missing, except in CI)."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def require_axe() -> Path:
    """axe-core as `make setup` installs it; skipped, saying why, on a machine without npm, and where npm is but the
    package is not installed, skipped on a developer's machine and a failure in CI."""
    if AXE.exists():
        return AXE
    if shutil.which("npm") is None:
        pytest.skip("npm is absent, so axe-core (package.json) is not installed: the accessibility check needs it")
    reason = f"{AXE} is absent: run make setup (npm ci) to install axe-core for the accessibility check"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


async def axe_problems(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each (rule, impact, where)."""
    await page.evaluate(require_axe().read_text(encoding="utf-8"))
    found = await page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help,
                    where: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['where'])}" for v in found
            if v["impact"] in SERIOUS]
