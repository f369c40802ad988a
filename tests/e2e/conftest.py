"""The e2e package's fixtures: one sandbox and one bot for the whole package (see tests/support/world.py),
every test checked for Bot API calls answered with an error, and every log record kept for test_zz_logs.py.

Every test module here runs in the package's event loop:
``pytestmark = pytest.mark.asyncio(loop_scope="package")``.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from bot.runtime import housekeeping
from sandbox import Sandbox
from tests.support.world import (
    LOOP,
    SANDBOXES,
    KeepRecords,
    World,
    last_call_seq,
    serving_world,
    settle_calls,
    summarise,
)


@pytest_asyncio.fixture(scope=LOOP, loop_scope=LOOP)
async def world_once(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async def no_group_pacing(client: Any, admin: Any) -> dict[str, str]:
        # This world's sandbox does not enforce Telegram's flood control, and every group bound for an institution
        # gets the cards of all its open requests (many tests' requests by then): paced at Telegram's 20 a minute,
        # they would hold up what a test waits for. The pacing has tests of its own (test_outbox_flood.py,
        # test_flood.py, tests/test_limiter.py, tests/test_outbox_fairness.py), each with a world of its own.
        return {"SEND_PER_GROUP_PER_MINUTE": "0"}

    # The housekeeping loop's due reminders and «did the help come?» questions stay off in this world: tests that
    # pin the requests' clock to a moment of their own (tests/support/clock.py) leave requests that the loop, on
    # the wall clock, would find late days later in the run, and their reminders would come into whatever another
    # test reads. The tests of those timers call them themselves, on their own clock.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(housekeeping, "remind", nothing)
        patch.setattr(housekeeping, "ask_whether_helped", nothing)
        async with serving_world(tmp_path_factory.mktemp("e2e"), no_group_pacing) as world:
            yield world


async def nothing(services: Any) -> int:
    return 0


@pytest_asyncio.fixture(loop_scope=LOOP)
async def world(world_once: World) -> AsyncIterator[World]:
    """The running bot; fails the test when one of the bot's calls during it got an error."""
    client = world_once.client
    since = await last_call_seq(client)
    yield world_once
    await settle_calls(client, since)
    failed = world_once.unexpected(await client.calls(since=since))
    world_once.reported.update(call["seq"] for call in failed)
    if failed:
        pytest.fail("Bot API calls answered with an error:\n" + "\n".join(map(summarise, failed)), pytrace=False)


@pytest.fixture(scope="package", autouse=True)
def keep_log_records() -> Iterator[None]:
    """All loggers, DEBUG and up, from the first e2e test to the last; sandboxes are remembered as they start.
    The sandbox's own line per Bot API call (it stands for Telegram, not the bot) stays at INFO: at DEBUG it
    would slow the timing-sensitive tests."""
    root, sandbox_log = logging.getLogger(), logging.getLogger("sandbox")
    handler = KeepRecords(logging.DEBUG)
    level, sandbox_level = root.level, sandbox_log.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    sandbox_log.setLevel(logging.INFO)
    original_start = Sandbox.start

    async def start(self: Sandbox, *args: Any, **kwargs: Any) -> Sandbox:
        SANDBOXES.append(self)
        return await original_start(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Sandbox, "start", start)
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
            sandbox_log.setLevel(sandbox_level)
