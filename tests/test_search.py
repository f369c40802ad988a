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


def test_quality_on_the_dev_half(engine):
    """The half the search may be tuned on (benchmarks/search_queries/dev); the test half is only measured."""
    sys.path.insert(0, str(PROJECT_ROOT / "benchmarks"))
    from search_quality import evaluate, search_figures

    figures = search_figures(evaluate(engine, engine.triage, "dev"))
    assert figures["all"]["n"] >= 200
    assert figures["all"]["top3"] >= 0.95
    assert figures["ru"]["top3"] >= 0.95
    assert figures["unserved"]["honest"] >= 0.9
    assert figures["served_told_nothing"] <= 0.03


def test_honest_answer_for_what_social_services_do_not_do(engine):
    for text in ("де зробити закордонний паспорт", "стоматолог", "взять кредит", "когда пенсию по возрасту повысят"):
        answer = engine.answer("lutsk", text)
        assert not answer.served, text
        assert answer.refer and answer.referrals, text
    pension = engine.answer("lutsk", "когда пенсию по возрасту повысят")
    assert pension.topic == "pension" and "pension-fund" in pension.refer
    assert engine.answer("lutsk", "квантова хромодинаміка").served is False
    # a service the community has is served, even when the words are also an out-of-scope topic elsewhere
    assert engine.answer("lutsk", "перекладач жестової мови до лікаря").served
    assert engine.answer("lutsk", "психолог").served


def test_a_need_one_community_serves_and_another_does_not(engine):
    """Free meals and a walker on loan: where the community has the service it comes first, however much else the
    resident tells; where it has none, the honest answer, not a service that only shares the story's words."""
    walker = "где взять ходунки напрокат на время, после операции на бедре, муж сам не дойдёт"
    assert engine.answer("pervomaiskyi", walker).hits[0].service.id == "rehab-equipment"
    elsewhere = engine.answer("kakhovka", walker)
    assert not elsewhere.served and elsewhere.topic == "rehab-aids" and elsewhere.referrals
    meals = ("Я одинокая пенсионерка, руки трясутся, самой у плиты стоять тяжело. Есть ли в городе бесплатные "
             "обеды для стариков?")
    assert engine.answer("lutsk", meals).hits[0].service.id == "hot-meals"
    assert engine.answer("druzhkivka", meals).topic == "meals"
    # care at home that mentions a hot lunch asks for care at home, not for free meals
    carer = "Мама лежача, потрібна доглядальниця, бо сама не може навіть приготувати гарячий обід"
    assert engine.answer("lutsk", carer).hits[0].service.id != "hot-meals"
    assert engine.answer("druzhkivka", carer).topic == "home-care"
    # a wheelchair named in passing is not a request for one
    assert engine.answer("volodymyr", "Are there any events where my daughter, who uses a wheelchair, can meet "
                                      "other young people?").served
    assert not engine.answer("kakhovka", "хотим ипотеку как молодая семья, помогает ли город").served


def test_running_services_come_before_planned_ones(engine):
    planned = {s.id for s in engine.catalogue.communities["lutsk"].services.values() if s.status.value == "planned"}
    # the only fit is planned: it still comes first
    assert ids(engine, "lutsk", "модульний будинок для бездомних")[0] in planned
    # as good a running fit: it comes first
    hits = engine.search("lutsk", "догляд вдома", limit=5)
    assert hits[0].service.id not in planned


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


def test_search_command_says_when_the_catalogue_has_nothing():
    """The plain output says what the resident is told: nothing here, and whom to ask; a served query lists services."""
    honest = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--community", "druzhkivka", "бесплатные обеды для пенсионеров"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert honest.returncode == 0, honest.stderr
    assert honest.stdout.startswith("у каталозі громади немає послуги для цього")
    assert "куди звернутися:" in honest.stdout
    served = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--community", "lutsk", "бесплатные обеды для пенсионеров"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert served.stdout.startswith("1. Безоплатне гаряче харчування"), served.stdout


def test_search_command_unknown_community():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "search", "--community", "atlantis", "догляд"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2 and "unknown community" in result.stderr
