"""What several test modules share, in one place: test modules import from here, never from each other or from a
conftest.

* ``clock``: the time the tests run on (a fixed moment; a bot in a process of its own runs on a controlled clock
  with ``python -m benchmarks.botclock``);
* ``config``: the bot's settings for tests without HTTP, and the seed programmes;
* ``harness``: the Dispatcher with a recording session, for dialog tests without HTTP (``started``: a resident
  past /start);
* ``request_service``: the requests service on a test database (fixtures ``db`` and ``service``);
* ``world``: the real bot polling the local sandbox (``serving_world``, ``World``, ``Person``) for tests/e2e/;
* ``staff``: staff groups bound to an institution, requests filed through the form, messages in a group;
* ``consult``: the consultation line (its group, choosing a topic, asking, a moment in its hours);
* ``campaigns``: copies of a campaign each resident got (composing one is ``benchmarks/steps.py``);
* ``processes``: kill -9 and a gentle stop of a bot process;
* ``sandbox_bots``: the tokens, an aiogram Bot and an echo bot for the sandbox's own tests;
* ``browser``: Chromium for the web chat's browser tests;
* ``fuzz_updates``: random Bot API updates for the fuzz test.

The kill -9 day (tests/e2e/test_kill_day.py, benchmarks/soak.py) is ``benchmarks/soakday.py``: the benchmarks import
nothing from tests/.
"""
