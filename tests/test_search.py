import json
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT


def ids(engine, community, text, limit=3):
    return [hit.service.id for hit in engine.search(community, text, limit=limit)]


def test_word_forms_are_understood(engine):
    assert ids(engine, "druzhkivka", "дітям з інвалідністю")[0] == ids(engine, "druzhkivka", "дитина інвалідність")[0]


def test_one_letter_typos_are_tolerated(engine):
    clean = ids(engine, "lutsk", "перекладач жестової мови")
    typo = ids(engine, "lutsk", "перекладач жестовоі мови")
    assert clean and clean[0] == typo[0]


def test_apostrophe_variants(engine):
    for spelling in ("сім'ї", "сім’ї", "симʼї"):
        assert engine.search("volodymyr", f"підтримка {spelling}")


def test_synonyms_for_everyday_words(engine):
    # only Volodymyr's programme names services for displaced people
    by_abbreviation = ids(engine, "volodymyr", "ми впо")
    assert by_abbreviation and by_abbreviation[0] == ids(engine, "volodymyr", "ми переселенці")[0]
    assert "idp" in engine.catalogue.communities["volodymyr"].services[by_abbreviation[0]].target_groups


def test_nothing_for_nonsense(engine):
    assert engine.search("lutsk", "квантова хромодинаміка") == []
    assert engine.search("lutsk", "") == []
    assert engine.search("atlantis", "догляд") == []


def test_quality_is_at_least_ninety_percent(engine):
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    from search_quality import evaluate

    outcomes = evaluate(engine)
    assert len(outcomes) >= 40
    assert sum(o.ok for o in outcomes) / len(outcomes) >= 0.9


@pytest.mark.parametrize(
    "text,kind",
    [
        ("чоловік б'є мене", "violence"),
        ("чоловік бє", "violence"),
        ("мене побили вдома", "violence"),
        ("не хочу жити", "suicide"),
        ("думаю про самогубство", "suicide"),
        ("сусідська дитина голодна, батьки п'ють", "child"),
        ("діти сидять самі вдома третій день", "child"),
        ("на заробітках відібрали паспорт", "trafficking"),
    ],
)
def test_danger_is_detected(engine, text, kind):
    assert kind in engine.triage.detect(text)


@pytest.mark.parametrize("text", ["мамі 80 років, сама не справляється", "потрібен візок", "сину 2 роки"])
def test_ordinary_requests_are_not_danger(engine, text):
    assert engine.triage.detect(text) == set()


def test_search_command_json():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--community", "lutsk", "--limit", "2", "--json", "гарячі обіди"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert 1 <= len(rows) <= 2
    assert {"id", "name", "provider"} <= set(rows[0])
    assert rows[0]["id"] == "hot-meals"


def test_search_command_unknown_community():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--community", "atlantis", "догляд"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "unknown community" in result.stderr
