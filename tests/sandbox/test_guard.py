"""Who may talk to the sandbox (guard.py), and its state across restarts and crashes (ids never given twice)."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from sandbox import Sandbox, SandboxClient
from sandbox.client import TOKEN_HEADER, SandboxError
from sandbox.state import CRASH_MARGIN
from tests.support.sandbox_bots import BOT_TOKEN


async def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                body: dict | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http:
        async with http.request(method, url, headers=headers or {}, json=body) as response:
            return response.status, await response.text()


@pytest.mark.asyncio
async def test_control_api_needs_the_token(sandbox: Sandbox) -> None:
    token = {TOKEN_HEADER: sandbox.control_token}
    assert (await fetch(sandbox.url + "/sandbox/state"))[0] == 403
    assert (await fetch(sandbox.url + "/sandbox/state", headers={TOKEN_HEADER: "guess"}))[0] == 403
    status, text = await fetch(sandbox.url + "/sandbox/users", method="POST", body={"first_name": "Зловмисник"})
    assert status == 403 and "X-Sandbox-Token" in json.loads(text)["error"]
    status, text = await fetch(sandbox.url + "/sandbox/state", headers=token)
    assert status == 200 and json.loads(text)["users"] == []
    # the token in the query string works too (the web chat's images and file links)
    assert (await fetch(f"{sandbox.url}/sandbox/state?token={sandbox.control_token}"))[0] == 200


@pytest.mark.asyncio
async def test_web_chat_page_needs_the_token_and_carries_it(sandbox: Sandbox) -> None:
    status, text = await fetch(sandbox.url + "/")
    assert status == 403 and "token" in text and sandbox.control_token not in text
    status, text = await fetch(sandbox.chat_url)
    assert status == 200
    assert f'<meta name="sandbox-token" content="{sandbox.control_token}">' in text
    async with aiohttp.ClientSession() as http, http.get(sandbox.chat_url) as response:
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
    assert (await fetch(sandbox.url + "/static/app.js"))[0] == 200


@pytest.mark.asyncio
async def test_foreign_host_and_origin_are_refused_everywhere(sandbox: Sandbox) -> None:
    token = {TOKEN_HEADER: sandbox.control_token}
    port = sandbox.port
    bot_api = f"{sandbox.url}/bot{BOT_TOKEN}/getMe"
    assert (await fetch(bot_api))[0] == 200
    for headers in ({"Host": f"rebound.example:{port}"}, {"Host": f"127.0.0.1:{port + 1}"},
                    {"Origin": "http://rebound.example"}, {"Origin": f"http://localhost:{port + 1}"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        status, text = await fetch(sandbox.url + "/sandbox/state", headers={**token, **headers})
        assert status == 403, headers
        status, text = await fetch(bot_api, headers=headers)
        assert status == 403 and json.loads(text)["description"].startswith("Forbidden: "), headers
        assert (await fetch(sandbox.chat_url, headers=headers))[0] == 403, headers
    # the sandbox's own names and its own page are fine
    for headers in ({"Host": f"localhost:{port}"}, {"Origin": f"http://127.0.0.1:{port}"},
                    {"Origin": f"http://localhost:{port}", "Host": f"localhost:{port}"},
                    {"Sec-Fetch-Site": "same-origin"}):
        assert (await fetch(sandbox.url + "/sandbox/state", headers={**token, **headers}))[0] == 200, headers


@pytest.mark.asyncio
async def test_allowed_hosts_are_configurable() -> None:
    sandbox = await Sandbox(bot_token=BOT_TOKEN, allowed_hosts=("sandbox.lan",)).start()
    try:
        headers = {TOKEN_HEADER: sandbox.control_token, "Host": f"sandbox.lan:{sandbox.port}"}
        assert (await fetch(sandbox.url + "/sandbox/state", headers=headers))[0] == 200
        headers["Host"] = f"other.lan:{sandbox.port}"
        assert (await fetch(sandbox.url + "/sandbox/state", headers=headers))[0] == 403
    finally:
        await sandbox.stop()


@pytest.mark.asyncio
async def test_client_finds_the_token_by_url_and_each_sandbox_has_its_own(sandbox: Sandbox) -> None:
    other = await Sandbox(bot_token=BOT_TOKEN).start()
    try:
        assert other.control_token != sandbox.control_token
        async with SandboxClient(sandbox.url) as first, SandboxClient(other.url) as second:
            assert (await first.create_user("Олена"))["first_name"] == "Олена"
            assert (await second.state())["users"] == []
        async with SandboxClient(other.url, token=sandbox.control_token) as wrong:
            with pytest.raises(SandboxError) as refused:
                await wrong.state()
            assert refused.value.status == 403
    finally:
        await other.stop()


@pytest.mark.asyncio
async def test_reset_never_gives_an_id_again(client: SandboxClient) -> None:
    olena = await client.create_user("Олена")
    group = await client.create_group("Працівники", members=[olena])
    await client.send_text(olena, "привіт")
    await client.reset()
    petro = await client.create_user("Петро")
    assert petro["id"] > olena["id"]
    assert (await client.create_group("Інша група", members=[petro]))["id"] < group["id"]
    sent = await client.send_text(petro, "добрий день")
    assert sent["message_id"] > 1


@pytest.mark.asyncio
async def test_state_is_saved_while_running_and_a_crash_moves_every_counter_on(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.json"
    sandbox = await Sandbox(bot_token=BOT_TOKEN, state_file=path).start()
    try:
        async with sandbox.client() as control:
            olena = await control.create_user("Олена")
            group = await control.create_group("Працівники", members=[olena])
            sent = await control.send_text(olena, "привіт")
        # saved within a moment while running (not only at a clean stop), marked as not clean
        for _ in range(100):
            if path.exists() and any(u["id"] == olena["id"] for u in json.loads(path.read_text())["users"]):
                break
            await sandbox.core.wait_until(lambda: False, 0.05)
        saved = json.loads(path.read_text())
        assert saved["counters"]["clean"] is False
        assert any(user["id"] == olena["id"] for user in saved["users"])
        assert path.stat().st_mode & 0o077 == 0
        crashed = path.read_text()  # what a kill -9 would leave
    finally:
        await sandbox.stop()
    assert json.loads(path.read_text())["counters"]["clean"] is True
    path.write_text(crashed)
    again = await Sandbox(bot_token=BOT_TOKEN, state_file=path).start()
    try:
        async with again.client() as control:
            assert [m["text"] for m in await control.messages(olena["id"])] == ["привіт"]
            petro = await control.create_user("Петро")
            assert petro["id"] >= olena["id"] + CRASH_MARGIN
            assert (await control.create_group("Інша", members=[petro]))["id"] <= group["id"] - CRASH_MARGIN
            assert (await control.send_text(olena, "ще раз"))["message_id"] > sent["message_id"] + CRASH_MARGIN - 1
            assert (await control.send_text(petro, "перше"))["message_id"] > CRASH_MARGIN
    finally:
        await again.stop()
