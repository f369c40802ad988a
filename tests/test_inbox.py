"""The durable inbox: what getUpdates returned is stored before it can be confirmed, removed once handled, and
handled again after a crash."""
import asyncio

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Message, Update

from bot.runtime import inbox
from bot.storage.db import Database

TOKEN = "42:inbox-test-token-not-for-telegram"


def update(update_id: int, text: str) -> Update:
    return Update.model_validate({"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "Ольга"}, "text": text}})


def dispatcher(db: Database, seen: list[str], fail_on: str = "") -> Dispatcher:
    dp = Dispatcher()
    dp.update.outer_middleware(inbox.ForgetHandled(db))

    @dp.message()
    async def record(message: Message) -> None:
        if message.text == fail_on:
            raise RuntimeError("a handler failed")
        seen.append(message.text or "")

    return dp


async def stored(db: Database) -> list[int]:
    return [r["update_id"] for r in await db.fetchall("SELECT update_id FROM inbox ORDER BY update_id")]


async def test_a_batch_is_kept_until_each_update_is_handled(tmp_path):
    db = await Database(tmp_path / "i.sqlite3").connect()
    batch = [update(1, "перше"), update(2, "друге")]

    async def telegram(bot, method):
        return batch

    keep = inbox.KeepUpdates(db)
    assert await keep(telegram, None, GetUpdates()) == batch
    assert await stored(db) == [1, 2]
    seen: list[str] = []
    bot = Bot(TOKEN)
    dp = dispatcher(db, seen, fail_on="друге")
    await dp.feed_update(bot, batch[0])
    assert seen == ["перше"] and await stored(db) == [2]
    try:
        await dp.feed_update(bot, batch[1])
    except RuntimeError:
        pass
    assert await stored(db) == []  # a failed update is not kept forever either
    await bot.session.close()
    await db.close()


async def test_after_a_crash_the_updates_in_hand_are_handled_once(tmp_path):
    db = await Database(tmp_path / "c.sqlite3").connect()

    async def telegram(bot, method):
        return [update(7, "сьоме"), update(8, "восьме")]

    await inbox.KeepUpdates(db)(telegram, None, GetUpdates())
    await db.close()  # the process died here, after getUpdates and before the handlers finished
    db = await Database(tmp_path / "c.sqlite3").connect()
    seen: list[str] = []
    bot = Bot(TOKEN)
    dp = dispatcher(db, seen)
    assert await inbox.replay(bot, dp, db) == 2
    assert seen == ["сьоме", "восьме"] and await stored(db) == []
    assert await inbox.replay(bot, dp, db) == 0 and seen == ["сьоме", "восьме"]
    await bot.session.close()
    await db.close()


async def test_an_update_that_keeps_killing_the_process_is_set_aside(tmp_path):
    db = await Database(tmp_path / "p.sqlite3").connect()
    await db.execute("INSERT INTO inbox (update_id, payload, received_at, attempts) VALUES (9, ?, '', ?)",
                     (update(9, "отрута").model_dump_json(), inbox.MAX_ATTEMPTS))
    seen: list[str] = []
    bot = Bot(TOKEN)
    assert await inbox.replay(bot, dispatcher(db, seen), db) == 0
    assert seen == [] and await stored(db) == []
    await bot.session.close()
    await db.close()


async def test_webhook_keeps_an_update_before_answering_telegram(tmp_path):
    import aiohttp
    from aiohttp import web

    from bot.runtime.activity import Activity
    from bot.runtime.web import SECRET_HEADER, UpdateHandler

    db = await Database(tmp_path / "w.sqlite3").connect()
    release = asyncio.Event()
    dp = Dispatcher()
    dp.update.outer_middleware(inbox.ForgetHandled(db))

    @dp.message()
    async def slow(message: Message) -> None:
        await release.wait()  # still being handled when Telegram already has its 200

    bot = Bot(TOKEN)
    handler = UpdateHandler(dp, bot, "webhook-secret-1234", Activity(), db)
    app = web.Application()
    app.router.add_post("/hook", handler.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession() as http:
        body = update(21, "через вебхук").model_dump(mode="json", by_alias=True, exclude_none=True)
        async with http.post(f"http://127.0.0.1:{port}/hook", json=body,
                             headers={SECRET_HEADER: "webhook-secret-1234"}) as answer:
            assert answer.status == 200
    assert await stored(db) == [21]  # a kill -9 now would not lose it
    release.set()
    for _ in range(50):
        if not await stored(db):
            break
        await asyncio.sleep(0.02)
    assert await stored(db) == []
    await runner.cleanup()
    await bot.session.close()
    await db.close()


async def test_the_inbox_keeps_telegrams_own_json_and_erasure_finds_a_group_message(tmp_path):
    import json

    from bot.runtime.polling import TolerantSession

    db = await Database(tmp_path / "r.sqlite3").connect()
    raw = {"update_id": 31, "message": {"message_id": 3, "date": 0, "chat": {"id": -100, "type": "supergroup",
                                                                          "title": "Служба"},
                                        "from": {"id": 77, "is_bot": False, "first_name": "Ірина"}, "text": "так"}}
    content = json.dumps({"ok": True, "result": [raw]}, ensure_ascii=False)
    bot = Bot(TOKEN, session=TolerantSession())
    method = GetUpdates()

    async def telegram(bot, method):
        return bot.session.check_response(bot, method, 200, content).result

    result = await inbox.KeepUpdates(db)(telegram, bot, method)
    assert [u.update_id for u in result] == [31] and result[0].message.from_user.id == 77
    row = await db.fetchone("SELECT payload FROM inbox WHERE update_id = 31")
    assert json.loads(row["payload"]) == raw  # as Telegram sent it: "from", not the model's "from_user"
    assert bot.session.raw_updates == {}  # taken once
    async with db.transaction() as conn:
        await inbox.forget_user_in(conn, 77)
    assert await stored(db) == []
    # a row written by an earlier version, with the model's field names, is found too
    older = Update.model_validate({**raw, "update_id": 32}).model_dump_json(exclude_none=True, exclude_unset=True)
    assert '"from_user"' in older
    await db.execute("INSERT INTO inbox (update_id, payload, received_at) VALUES (32, ?, '')", (older,))
    async with db.transaction() as conn:
        await inbox.forget_user_in(conn, 77)
    assert await stored(db) == []
    await bot.session.close()
    await db.close()


async def test_updates_that_finish_together_are_removed_in_one_transaction(tmp_path):
    db = await Database(tmp_path / "t.sqlite3").connect()
    batch = [update(n, f"разом {n}") for n in range(40, 46)]

    async def telegram(bot, method):
        return batch

    await inbox.KeepUpdates(db)(telegram, None, GetUpdates())
    statements: list[str] = []
    db.conn.raw.set_trace_callback(statements.append)
    seen: list[str] = []
    bot = Bot(TOKEN)
    dp = dispatcher(db, seen, fail_on="разом 43")
    results = await asyncio.gather(*(dp.feed_update(bot, u) for u in batch), return_exceptions=True)
    assert sum(isinstance(r, RuntimeError) for r in results) == 1 and len(seen) == 5
    assert [s for s in statements if s.startswith("DELETE")] == [
        "DELETE FROM inbox WHERE update_id IN (40,41,42,43,44,45)"]
    assert await stored(db) == []  # every update returned once its row was gone
    await dp.feed_update(bot, update(46, "сама"))  # alone: removed alone, before feed_update returns
    assert await stored(db) == []
    await bot.session.close()
    await db.close()
