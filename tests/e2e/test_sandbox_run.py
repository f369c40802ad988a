"""`python -m bot run` without a token: the sandbox and the database persist together, ids are never given to
someone else, and the sandbox does not start on a database that has served a real token."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.storage import origin
from bot.storage.db import Database
from sandbox import SandboxClient
from sandbox.client import TOKEN_VARIABLE, SandboxError, message_text
from tests.support.world import COMMUNITIES, ENV_VARS, Person

pytestmark = pytest.mark.asyncio(loop_scope="function")
BOT_ID = 7000000001  # the sandbox bot of `run` (bot/cli.py SANDBOX_TOKEN)
CONTROL = "run-test-control-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Run:
    """One `python -m bot run` without BOT_TOKEN, on a database in `folder`."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "run.log"
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
        env.update(DATABASE_PATH=str(folder / "bot.sqlite3"), SANDBOX_PORT=str(self.port), LOG_LEVEL="INFO",
                   ADMIN_IDS="", **{TOKEN_VARIABLE: CONTROL})
        self.started = self.log.stat().st_size if self.log.exists() else 0
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "run", *args], cwd=folder, env=env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def output(self) -> str:
        return self.log.read_bytes()[self.started:].decode("utf-8", "replace")

    async def client(self) -> SandboxClient:
        client = SandboxClient(self.url, timeout=8.0, token=CONTROL, bot_id=BOT_ID)
        for _ in range(400):  # start-up only: the catalogue loads before the sandbox listens
            if self.process.poll() is not None:
                await client.close()
                raise AssertionError(f"`run` exited with {self.process.returncode}:\n{self.output()[-3000:]}")
            try:
                await client.wait_bot_ready(timeout=1)
                return client
            except (OSError, SandboxError, AssertionError):
                await asyncio.sleep(0.1)
        await client.close()
        raise AssertionError("the bot did not start polling the sandbox:\n" + self.output()[-3000:])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def finished(self, timeout: float = 60) -> int:
        return self.process.wait(timeout=timeout)


def requests_of(database: Path, resident_id: int) -> list[str]:
    with sqlite3.connect(database) as conn:
        return [row[0] for row in conn.execute("SELECT public_id FROM requests WHERE resident_id = ?", (resident_id,))]


async def file_request(person: Person) -> str:
    await person.say("/start")
    await person.tap("🇺🇦 Українська", new=1)
    await person.tap(COMMUNITIES["uk"]["kakhovka"], new=2)
    await person.say("📝 Попросити допомогу")
    await person.tap("✅ Погоджуюся", new=1)
    await person.tap("🤷 Не знаю", new=1)
    await person.tap("🙋 Для себе", new=1)
    await person.say("Потрібна порада, як оформити допомогу")
    await person.tap("Далі ➡️", new=1)
    await person.say("💬 Лише тут, у чаті", count=2)
    accepted = (await person.tap("✅ Надіслати", new=1))[-1]
    return message_text(accepted).split("№", 1)[1].split()[0]


async def test_restart_keeps_the_sandbox_and_the_database_together(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    state_file = tmp_path / "bot.sandbox.json"
    run = Run(tmp_path)
    try:
        client = await run.client()
        assert f"{run.url}/?token={CONTROL}" in run.output()  # the web chat's address carries the token
        oksana = await client.create_user("Оксана", language_code="uk")
        number = await file_request(Person(client, oksana))
        assert requests_of(database, oksana["id"]) == [number]
        await client.close()
    finally:
        assert run.stop() == 0
    assert state_file.exists() and json.loads(state_file.read_text())["counters"]["clean"] is True

    run = Run(tmp_path)
    try:
        client = await run.client()
        state = await client.state()
        assert [(u["id"], u["first_name"]) for u in state["users"]] == [(oksana["id"], "Оксана")]
        chat = await client.messages(oksana["id"])
        assert any(f"№ {number}" in message_text(m) for m in chat if m.get("sender") == "bot")
        # the bot's database and the sandbox agree on who she is: her requests are listed to her
        oksana_again = Person(client, oksana)
        [listing] = await oksana_again.say("📂 Мої звернення")
        assert f"№ {number}" in str(listing.get("reply_markup"))
        petro = await client.create_user("Петро", language_code="uk")
        assert petro["id"] != oksana["id"]
        await Person(client, petro).say("/start")
        assert requests_of(database, petro["id"]) == []
        await client.close()
    finally:
        run.stop(signal.SIGKILL)  # a crash: the state file is the one saved while running

    run = Run(tmp_path)
    try:
        client = await run.client()
        # Petro may or may not have been saved in the moment before the kill; either way no id comes again
        ids = {u["id"] for u in (await client.state())["users"]}
        assert oksana["id"] in ids
        newcomer = await client.create_user("Марія", language_code="uk")
        assert newcomer["id"] not in (oksana["id"], petro["id"]) and newcomer["id"] > petro["id"]
        assert requests_of(database, newcomer["id"]) == []
        await client.close()
    finally:
        assert run.stop() == 0


async def test_a_new_database_starts_a_new_sandbox_and_a_lost_state_file_is_refused(tmp_path: Path) -> None:
    run = Run(tmp_path)
    try:
        client = await run.client()
        await Person(client, await client.create_user("Оксана", language_code="uk")).say("/start")
        await client.close()
    finally:
        assert run.stop() == 0
    state_file = tmp_path / "bot.sandbox.json"
    state_file.replace(tmp_path / "elsewhere.json")
    run = Run(tmp_path)
    assert run.finished() == 2
    said = run.output()
    assert "sandbox's own record of them" in said and "delete the database" in said
    assert not state_file.exists()

    (tmp_path / "elsewhere.json").replace(state_file)
    for leftover in tmp_path.glob("bot.sqlite3*"):
        leftover.unlink()
    run = Run(tmp_path)
    try:
        client = await run.client()
        assert (await client.state())["users"] == []
        assert "starts clean too" in run.output()
        assert (tmp_path / "bot.sandbox.json.old").exists()
        await client.close()
    finally:
        assert run.stop() == 0


async def test_sandbox_refuses_a_database_that_served_a_real_token(tmp_path: Path) -> None:
    database = tmp_path / "bot.sqlite3"
    db = await Database(database).connect()
    try:
        await origin.mark_telegram(db, "https://api.telegram.org", "123456789:real-token-secret-part")
        assert (await origin.read(db)).real
        rows = await db.fetchall("SELECT kind, api_server, bot_id FROM data_origin")
        assert [tuple(row) for row in rows] == [("telegram", "https://api.telegram.org", 123456789)]
    finally:
        await db.close()

    run = Run(tmp_path)
    assert run.finished() == 2
    said = run.output()
    assert "will not start" in said and "real bot token" in said and "--sandbox-on-real-data" in said
    assert "DATABASE_PATH=" in said  # says what to do instead
    assert not (tmp_path / "bot.sandbox.json").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", run.port), timeout=1).close()

    run = Run(tmp_path, "--sandbox-on-real-data")
    try:
        client = await run.client()
        assert (await client.state())["default_bot_id"] == BOT_ID
        await client.close()
    finally:
        assert run.stop() == 0
    # told once is not told for ever: the next start without the flag is refused again
    run = Run(tmp_path)
    assert run.finished() == 2


async def test_residents_of_unknown_origin_count_as_real(tmp_path: Path) -> None:
    db = await Database(tmp_path / "bot.sqlite3").connect()
    try:
        assert not (await origin.read(db)).real  # empty: nothing to protect
        await db.execute("INSERT INTO residents (user_id, created_at, updated_at) VALUES (555, '2025-01-01', "
                         "'2025-01-01')")
        found = await origin.read(db)
        assert found.real and found.kinds == {origin.UNKNOWN} and found.residents == 1
        await origin.mark(db, origin.SANDBOX)
        assert (await origin.read(db)).real  # a later sandbox run does not wash the unknown ones clean
    finally:
        await db.close()
    run = Run(tmp_path)
    assert run.finished() == 2
    assert "does not say where they came from" in run.output()
