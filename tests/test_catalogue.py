import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.config import PROJECT_ROOT
from tests.conftest import seed_text

SLUGS = ["druzhkivka", "kakhovka", "lutsk", "pervomaiskyi", "volodymyr"]
EXPECTATIONS = PROJECT_ROOT / "tests" / "seed_expectations"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_all_five_communities_load(catalogue):
    assert sorted(catalogue.communities) == SLUGS
    for view in catalogue.communities.values():
        assert view.model.intake_institution in view.institutions
        assert view.model.children_institution in view.institutions
        assert len(view.services) >= 10


@pytest.mark.parametrize("slug", SLUGS)
def test_every_provider_and_service_of_the_seed_is_present(catalogue, slug):
    expected = yaml.safe_load((EXPECTATIONS / f"{slug}.yaml").read_text(encoding="utf-8"))
    view = catalogue.communities[slug]
    missing_inst = [x["id"] for x in expected["institutions"] if x["id"] not in view.institutions]
    missing_svc = [x["id"] for x in expected["services"] if x["id"] not in view.services]
    assert not missing_inst and not missing_svc


@pytest.mark.parametrize("slug", SLUGS)
def test_expectations_and_references_are_quoted_from_the_seed(catalogue, slug):
    """The list is drawn from the seed: every phrase and every seed_ref occurs in the seed text."""
    view = catalogue.communities[slug]
    seed = collapse(seed_text(view.model.source_file))
    expected = yaml.safe_load((EXPECTATIONS / f"{slug}.yaml").read_text(encoding="utf-8"))
    phrases = [x["seed_phrase"] for x in expected["institutions"] + expected["services"]]
    phrases += [x.seed_ref for x in view.model.institutions + view.model.services]
    assert [p for p in phrases if collapse(p) not in seed] == []


def test_no_invented_contacts(catalogue):
    """The seeds give no local phones or addresses, so none may appear in data/."""
    for view in catalogue.communities.values():
        for inst in view.institutions.values():
            assert inst.contacts.empty, inst.id


def test_planned_services_have_years(catalogue):
    planned = [s for v in catalogue.communities.values() for s in v.services.values() if s.status.value == "planned"]
    assert planned and all(s.planned_year for s in planned)


def test_hotlines_are_sourced_and_flagged(catalogue):
    numbers = {h.number for h in catalogue.hotlines}
    assert {"112", "102", "103", "1547", "116 123", "116 111", "7333", "1545"} <= numbers
    assert all(h.source and h.check_before_deployment for h in catalogue.hotlines)


def test_service_types_follow_the_law(catalogue):
    basic = {t.id for t in catalogue.shared.service_types if t.basic}
    assert {"home_care", "day_care", "natural_aid", "consulting", "crisis_intervention", "sign_language"} <= basic


@pytest.fixture
def data_copy(tmp_path):
    target = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", target)
    return target


def edit(path: Path, change) -> None:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_errors_name_file_and_field(data_copy):
    path = data_copy / "lutsk" / "community.yaml"

    def break_it(raw):
        raw["services"][0]["provider"] = "nobody"
        raw["services"][1]["id"] = raw["services"][2]["id"]
        del raw["services"][3]["name"]["en"]

    edit(path, break_it)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    text = "\n".join(info.value.problems)
    assert f"{path}: services" in text and "name.en: missing translation (en)" in text
    # once the translation is restored, cross-reference problems are reported too
    edit(path, lambda raw: raw["services"][3]["name"].__setitem__("en", "Restored"))
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    problems = info.value.problems
    assert any(p.startswith(f"{path}: services[") and "provider: unknown institution 'nobody'" in p for p in problems)
    assert any("duplicate id" in p for p in problems)


def test_check_data_command(data_copy):
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot", "check-data", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120,
    )
    ok = run("--data", str(data_copy))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for slug in SLUGS:
        assert re.search(rf"^{slug}\s+\d+\s+\d+\s+\d+\s+\d+$", ok.stdout, re.M)
    edit(data_copy / "kakhovka" / "community.yaml", lambda raw: raw["services"][0]["situations"].append("mars"))
    bad = run("--data", str(data_copy))
    assert bad.returncode == 1
    assert "kakhovka/community.yaml: services[" in bad.stdout and "unknown life situation 'mars'" in bad.stdout


def test_new_community_by_copying_a_folder(data_copy):
    shutil.copytree(data_copy / "lutsk", data_copy / "newtown")
    edit(data_copy / "newtown" / "community.yaml", lambda raw: raw.__setitem__("slug", "newtown"))
    catalogue = load_catalogue(data_copy)
    assert "newtown" in catalogue.communities


def test_only_served_communities(tmp_path):
    catalogue = load_catalogue(PROJECT_ROOT / "data", ["lutsk"])
    assert list(catalogue.communities) == ["lutsk"]
    with pytest.raises(CatalogueError):
        load_catalogue(PROJECT_ROOT / "data", ["atlantis"])
