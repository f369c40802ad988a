"""The residents kept in memory: a campaign reads each of its recipients once and keeps none of them, so that
100,000 recipients do not leave 50,000 residents in memory (benchmarks/broadcast.py, README «Measured figures»)."""
from bot.storage.db import Database
from bot.storage.residents import ResidentRepo


async def test_a_resident_read_without_keeping_is_not_kept_and_a_kept_one_stays(tmp_path):
    db = await Database(tmp_path / "r.sqlite3").connect()
    repo = ResidentRepo(db)
    await repo.set_locale(1, "en")
    await repo.set_community(2, "lutsk")
    repo._cache.clear()
    await repo.get(1)  # someone who writes to the bot: kept
    read = await repo.get(2, keep=False)
    assert read is not None and read.community == "lutsk"
    assert list(repo._cache) == [1]
    assert await repo.get(3, keep=False) is None and list(repo._cache) == [1]
    kept = await repo.get(1, keep=False)  # already in memory: the kept one, still kept
    assert kept is not None and kept.locale == "en" and list(repo._cache) == [1]
    await db.close()
