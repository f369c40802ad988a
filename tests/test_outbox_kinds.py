"""The outbox's kinds and targets as typed values (bot/delivery/kinds.py) read and write the stored strings."""
from __future__ import annotations

import json
import sqlite3

import pytest

from bot.delivery.kinds import Kind, Target, is_group_target, is_resident_target


@pytest.mark.parametrize("text", ["resident:7", "institution:lutsk/tcso", "admins"])
def test_a_stored_target_reads_back_as_it_was(text: str) -> None:
    assert str(Target.parse(text)) == text


def test_the_three_forms() -> None:
    assert Target.resident(7) == Target.parse("resident:7")
    assert Target.parse("resident:7").resident_id == 7 and Target.parse("resident:7").is_resident
    group = Target.parse("institution:lutsk/tcso")
    assert (group.community, group.institution_id, group.is_institution) == ("lutsk", "tcso", True)
    assert str(Target.admins()) == "admins" and not Target.admins().is_resident
    assert is_group_target("institution:lutsk/tcso") and not is_group_target("resident:7")
    assert is_resident_target("resident:7") and not is_resident_target("admins")


@pytest.mark.parametrize("text", ["", "resident:", "resident:x", "institution:lutsk", "institution:/tcso",
                                  "admins:1", "group:5"])
def test_what_is_no_target_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Target.parse(text)


def test_a_kind_is_its_stored_string() -> None:
    assert Kind.CARD == "card" and Kind("consult_to_resident") is Kind.CONSULT_TO_RESIDENT
    assert {Kind.CARD: 1}["card"] == 1  # a handler table keyed by kinds answers the stored string
    assert json.dumps({"kind": Kind.CARD_ERASED}) == '{"kind": "card_erased"}'
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE outbox (kind TEXT, target TEXT)")
    db.execute("INSERT INTO outbox VALUES (?, ?)", (Kind.REGROUP, str(Target.institution("lutsk", "tcso"))))
    assert db.execute("SELECT kind, target FROM outbox").fetchone() == ("regroup", "institution:lutsk/tcso")
    assert len({kind.value for kind in Kind}) == len(Kind)
