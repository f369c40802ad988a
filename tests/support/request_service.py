"""The requests service on a database in the test's folder, without Telegram: the fixtures `db` and `service`
(import them into the test module that uses them), a resident's draft and a staff group bound to an institution."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.requests.models import Draft
from bot.requests.service import RequestService
from bot.storage.db import Database

KYIV = ZoneInfo("Europe/Kyiv")


@pytest.fixture
async def db(tmp_path):
    database = await Database(tmp_path / "r.sqlite3").connect()
    yield database
    await database.close()


@pytest.fixture
def service(db, catalogue):
    return RequestService(db, catalogue, KYIV)


def draft(**values):
    base = dict(community="lutsk", resident_id=100, service_id="home-care", for_whom="self",
                description="Потрібна допомога вдома", contact_method="phone", contact_phone="+380671234567")
    base.update(values)
    return Draft(**base)


async def bound(service, community="lutsk", institution="tcso", chat_id=-100, forum=True):
    code = await service.groups.create_bind_code(community, institution, created_by=1)
    return await service.groups.bind(chat_id, code, title="Група", is_forum=forum, user_id=7)
