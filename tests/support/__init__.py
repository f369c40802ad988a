"""What several test modules share, in one place: test modules import from here, never from each other or from a
conftest.

* ``clock``: the time the tests run on (fixed or running from a chosen moment; ``python -m tests.support.clock``
  starts the bot in a process of its own on such a clock);
* ``harness``: the Dispatcher with a recording session, for dialog tests without HTTP;
* ``world``: the real bot polling the local sandbox (``serving_world``, ``World``, ``Person``) for tests/e2e/;
* ``browser``: Chromium for the web chat's browser tests;
* ``fuzz_updates``: random Bot API updates for the fuzz test;
* ``soakday``: the scripted day with kill -9 (tests/e2e/test_kill_day.py, benchmarks/soak.py).
"""
