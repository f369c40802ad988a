"""Service cards say honestly when a service runs, who named its provider and where each claim comes from."""
from __future__ import annotations

from datetime import date

import pytest
from aiogram.utils.i18n import I18n

from bot.config import PROJECT_ROOT
from dialogs.resident import render


@pytest.fixture
def uk():
    i18n = I18n(path=PROJECT_ROOT / "locales", default_locale="uk", domain="messages")
    with i18n.context(), i18n.use_locale("uk"):
        yield


def card(catalogue, slug, service_id, today=date(2026, 6, 1)):
    view = catalogue.communities[slug]
    return render.service_card(catalogue, view, view.services[service_id], today)


def test_a_plan_spans_its_years_and_a_past_plan_is_not_called_abandoned(catalogue, uk):
    text = card(catalogue, "pervomaiskyi", "social-taxi")
    assert "Заплановано програмою громади: 2023." in text and "запитайте" in text
    assert "не надається" not in text
    text = card(catalogue, "pervomaiskyi", "palliative-care", today=date(2026, 6, 1))
    assert "2021–2027" in text
    # before its first year the same plan is "not available yet"
    assert "Поки що не надається" in card(catalogue, "pervomaiskyi", "respite-care", today=date(2024, 6, 1))


def test_being_introduced_and_funded_years(catalogue, uk):
    text = card(catalogue, "kakhovka", "patronage")
    assert "🆕" in text and "2021–2026" in text
    assert "Є в програмі громади: 2022–2025; ця програма вже завершилася" in card(catalogue, "lutsk", "hot-meals")
    assert "2021, 2024" in card(catalogue, "druzhkivka", "summer-school")


def test_the_bots_routing_choice_is_said_so(catalogue, uk):
    text = card(catalogue, "pervomaiskyi", "sign-language")
    assert "Куди звернутися" in text and "не називає, хто це надає" in text
    assert "Управління соціального захисту населення" in text
    text = card(catalogue, "pervomaiskyi", "home-care")
    assert "Хто надає" in text and "не називає" not in text


def test_claims_name_their_source(catalogue, uk):
    text = card(catalogue, "pervomaiskyi", "crisis-intervention")
    assert "за законом: Закон України «Про соціальні послуги», стаття 28" in text
    text = card(catalogue, "pervomaiskyi", "inclusive-assessment")
    assert "від 2 до 18 років" in text and "так сказано в програмі громади" in text
    assert "суд може направити" in card(catalogue, "pervomaiskyi", "abuser-programme")


def test_what_the_programme_does_not_cover_is_said(catalogue, uk):
    text = card(catalogue, "kakhovka", "violence-help")
    assert "не описує" in text and "102" in text
    view = catalogue.communities["lutsk"]
    inst = render.institution_card(view, view.institutions[view.model.children_institution])
    assert "закон доручає" in inst


def test_can_ask_about_a_plan_once_its_year_came(catalogue):
    service = catalogue.communities["pervomaiskyi"].services["respite-care"]
    assert render.can_ask(service, date(2026, 1, 1)) and not render.can_ask(service, date(2024, 12, 31))
