from aiogram.fsm.storage.base import StorageKey

from bot.storage.db import Database, migrations
from bot.storage.fsm import SQLiteStorage
from bot.storage.residents import ResidentRepo


async def test_wal_and_migrations(tmp_path):
    db = await Database(tmp_path / "a.sqlite3").connect()
    assert await db.journal_mode() == "wal"
    latest = len(migrations())
    assert await db.schema_version() == latest
    assert await db.migrate() == latest  # applying again changes nothing
    await db.close()
    db = await Database(tmp_path / "a.sqlite3").connect()
    rows = await db.fetchall("SELECT version FROM schema_version")
    assert [r[0] for r in rows] == list(range(1, latest + 1))
    await db.close()


async def test_residents(tmp_path):
    db = await Database(tmp_path / "r.sqlite3").connect()
    repo = ResidentRepo(db)
    assert await repo.get(1) is None
    await repo.set_locale(1, "en")
    await repo.set_community(1, "lutsk")
    resident = await repo.get(1)
    assert (resident.locale, resident.community, resident.blocked) == ("en", "lutsk", False)
    await repo.mark_blocked(1)
    assert (await repo.get(1)).blocked
    await repo.ensure(1)  # writing /start again unblocks
    assert not (await repo.get(1)).blocked
    assert await repo.count() == 1
    await db.close()


async def test_fsm_state_survives_reconnect(tmp_path):
    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    other = StorageKey(bot_id=1, chat_id=3, user_id=3)
    db = await Database(tmp_path / "f.sqlite3").connect()
    storage = SQLiteStorage(db)
    await storage.set_state(key, "Form:step")
    await storage.set_data(key, {"service": "home-care", "text": "ім'я <b>"})
    await db.close()
    db = await Database(tmp_path / "f.sqlite3").connect()
    storage = SQLiteStorage(db)
    assert await storage.get_state(key) == "Form:step"
    assert await storage.get_data(key) == {"service": "home-care", "text": "ім'я <b>"}
    assert await storage.get_state(other) is None and await storage.get_data(other) == {}
    await storage.set_state(key, None)
    assert await storage.get_state(key) is None
    assert await storage.get_data(key) == {"service": "home-care", "text": "ім'я <b>"}
    await db.close()


async def test_the_database_is_private_and_deleted_text_does_not_linger(tmp_path):
    """0600 for the database and its log, 0700 for a folder it creates; deleted pages are overwritten."""
    path = tmp_path / "new" / "bot.sqlite3"
    db = await Database(path).connect()
    await db.execute("CREATE TABLE notes (text TEXT)")
    secret = "Бабуся Ганна, вул. Тестова 1, 067 000 00 00"
    await db.execute("INSERT INTO notes VALUES (?)", (secret,))
    await db.execute("DELETE FROM notes")
    assert (await db.fetchone("PRAGMA secure_delete"))[0] == 1
    for name in ("bot.sqlite3", "bot.sqlite3-wal"):
        assert (path.parent / name).stat().st_mode & 0o777 == 0o600, name
    assert path.parent.stat().st_mode & 0o777 == 0o700
    await db.close()
    assert secret.encode() not in path.read_bytes()


def test_a_backup_is_private(tmp_path):
    import asyncio

    from bot.ops.backup import backup

    async def make() -> None:
        db = await Database(tmp_path / "bot.sqlite3").connect()
        await db.close()

    asyncio.run(make())
    copy = backup(tmp_path / "bot.sqlite3", tmp_path / "copies" / "b.sqlite3")
    assert copy.path.stat().st_mode & 0o777 == 0o600
