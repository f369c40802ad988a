import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.catalogue.loader import CatalogueError, load_catalogue
from bot.config import PROJECT_ROOT
from tests.support.config import seed_text

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
    phrases += [x.seed_ref for x in view.model.institutions + view.model.services if x.source == "seed"]
    assert [p for p in phrases if collapse(p) not in seed] == []


# ----- every service and institution against its programme ------------------------------------------------------
# A programme is a table of measures; the "row" of a quote is the text from the number of its measure ("1.7",
# "2.3.4.", "Завдання 1.3.2.") to the next one: the measure, its term, executors, money and expected result.
ITEM = re.compile(r"(?:Завдання|Операційна ціль)\s*\d[\d.]*"
                  r"|(?<![\d,.\w])\d{1,2}\.(?:\d{1,2}\.?){0,2}(?=\s|[А-ЯІЇЄҐ«]|$)")
# after the quote a row also ends where the money columns or the table of indicators begin
ROW_END = re.compile(r"[Бб]юджет|Кошти місцевого|Назва показника|Показниками результативності")
YEAR = re.compile(r"(?<!\d)(?<!\d[.,])20[2-3]\d(?!\d|[.,]\d)")  # 2021, not 20.04.2021 nor an amount
INTRODUCED = re.compile(r"[Зз]апровад|[Вв]провад|[Сс]творенн|[Сс]творен[аоі]|[Оо]рганізаці\w* надання")
INTRODUCED_HEAD = re.compile(r"^\W*(?:Запровадж|Впровадж|Створенн|Відкритт|Розширення та запровадження"
                             r"|Підготовк|Придбанн)")
DRAFT = re.compile(r"[Пп]роект\w* (?:рішення|договору)|буде винесено|на розгляд сесії")
REACH = 2500


def rows_of(seed: str, quote: str) -> list[tuple[str, str]]:
    """(head, row) for every occurrence of the quote in the collapsed seed; head is the measure's own words."""
    found = []
    quote = collapse(quote)
    at = seed.find(quote)
    while at >= 0:
        before = seed[max(0, at - REACH):at]
        items = list(ITEM.finditer(before))
        start = max(0, at - REACH) + (items[-1].end() if items else 0)
        after = seed[at + len(quote):at + len(quote) + REACH]
        ends = [m.start() for m in (ITEM.search(after), ROW_END.search(after)) if m]
        end = at + len(quote) + min(ends, default=len(after))
        found.append((seed[start:start + 120], seed[start:end]))
        at = seed.find(quote, at + 1)
    return found


def years_agree(row: str, first, last, only, programme_until) -> bool:
    years = [int(y) for y in YEAR.findall(row)]
    if first is None or not years:
        return False
    ends = last == max(years) or ("починаючи" in row.lower() and last == programme_until)
    return first == min(years) and ends and all(year in years for year in only)


def service_problems(view, seed: str) -> list[str]:
    model = view.model
    problems = []
    for s in model.services:
        where = f"{s.id} ({s.status.value})"
        if s.source == "law":
            if not (s.law_ref and s.provider_source == "routing" and s.not_covered):
                problems.append(f"{where}: a service from the law needs law_ref, routing and what the seed lacks")
            continue
        rows = rows_of(seed, s.seed_ref)
        if not rows:
            problems.append(f"{where}: seed_ref not in the seed")
            continue
        first, last = s.first_year, s.last_year
        if s.status.value in ("planned", "introducing") or first is not None:
            dated = [row for _, row in rows if YEAR.search(row)]
            agree = [row for row in dated if years_agree(row, first, last, s.only_years, model.programme_until)]
            if not agree and not (not dated and (first, last) == (model.programme_from, model.programme_until)):
                seen = YEAR.findall(" ".join(dated))
                problems.append(f"{where}: years {first}–{last} disagree with the seed's {seen}")
        if s.status.value == "introducing" and not any(INTRODUCED.search(row) for _, row in rows):
            problems.append(f"{where}: the seed does not say it is being introduced")
        if s.status.value == "active" and not any(not DRAFT.search(row) and not INTRODUCED_HEAD.search(head)
                                                   for head, row in rows):
            problems.append(f"{where}: the seed only plans or introduces it: {rows[0][0][:80]}")
        if all(DRAFT.search(row) for _, row in rows) and s.status.value != "planned":
            problems.append(f"{where}: the seed has only a draft for it")
    return problems


@pytest.mark.parametrize("slug", SLUGS)
def test_every_service_agrees_with_its_seed(catalogue, slug):
    """Each seed_ref is in the seed, and the status and years agree with the measure the quote comes from: planned
    and introduced services carry the years of their row (or, when the row has none, the programme's), a service
    being introduced is introduced there, a running one is not only a plan or a draft."""
    view = catalogue.communities[slug]
    seed = collapse(seed_text(view.model.source_file))
    assert service_problems(view, seed) == []


@pytest.mark.parametrize("slug", SLUGS)
def test_every_institution_and_claim_has_its_source(catalogue, slug):
    view = catalogue.communities[slug]
    seed = collapse(seed_text(view.model.source_file))
    problems = []
    for inst in view.model.institutions:
        if inst.source == "seed" and collapse(inst.seed_ref) not in seed:
            problems.append(f"institution {inst.id}: seed_ref not in the seed")
    for s in view.model.services:
        sources = [(c.source, c.ref) for c in s.claims]
        if s.cost.value != "unknown":
            sources.append((s.cost_source, s.cost_ref))
        for source, ref in sources:
            if source == "seed" and collapse(ref or "") not in seed:
                problems.append(f"{s.id}: «{ref}» is not in the seed")
            if source == "law" and not re.search(r"Закон|Кодекс|Положення|постанов", ref or ""):
                problems.append(f"{s.id}: «{ref}» names no act")
            if source is None:
                problems.append(f"{s.id}: free or paid without a source")
    assert problems == []
    # the programme's years are the seed's: "2021 – 2025", "2024-2027"
    assert re.search(rf"{view.model.programme_from}\s*[-–—]\s*{view.model.programme_until}", seed)


# what a card may not say in its own words: these need a source (a claim or the cost's source) or must go
CLAIMS = {
    "an age limit": re.compile(r"\b(?:від|до)\s+\d{1,2}\s*(?:рок|років|міс)|\b\d{1,2}\s*[–-]\s*\d{1,2}\s*років|віком"),
    "who pays": re.compile(r"фінансує держава|за рахунок держав|коштом держав"),
    "who refers": re.compile(r"(?:поліці\w*|суд\w*)\s+направля|направля\w*\s+(?:поліці|суд)|поліція або суд"),
    "free of charge": re.compile(r"безоплатн|безкоштовн"),
}


def test_claims_in_cards_have_a_source(catalogue):
    found = []
    for slug, view in catalogue.communities.items():
        for s in view.model.services:
            for field in ("summary", "who", "how"):
                text = getattr(s, field).uk
                for what, pattern in CLAIMS.items():
                    if pattern.search(text) and not (what == "free of charge" and s.cost_source):
                        found.append(f"{slug}/{s.id}.{field}: {what}")
            if s.cost_note and CLAIMS["free of charge"].search(s.cost_note.uk) and not s.cost_source:
                found.append(f"{slug}/{s.id}.cost_note: free of charge without a source")
    assert found == []


def test_no_invented_contacts(catalogue):
    """The seeds give no local phones or addresses, so none may appear in data/."""
    for view in catalogue.communities.values():
        for inst in view.institutions.values():
            assert inst.contacts.empty, inst.id


def test_planned_services_have_years(catalogue):
    waiting = [s for v in catalogue.communities.values() for s in v.services.values()
               if s.status.value in ("planned", "introducing")]
    assert waiting and all(s.planned_year for s in waiting)


def test_the_seed_check_catches_wrong_statuses(catalogue):
    """The check itself: a plan shown as running, a wrong span and a draft shown as running are caught."""
    pervomaiskyi = catalogue.communities["pervomaiskyi"]
    seed = collapse(seed_text(pervomaiskyi.model.source_file))
    broken = pervomaiskyi.model.model_copy(update={"services": [
        s.model_copy(update={"planned_year": 2021, "planned_until": None}) if s.id == "social-taxi" else
        s.model_copy(update={"status": s.status.__class__("active"), "planned_year": None, "planned_until": None})
        if s.id == "sign-language" else s for s in pervomaiskyi.model.services]})
    problems = service_problems(type(pervomaiskyi)(broken), seed)
    assert any(p.startswith("social-taxi") and "disagree" in p for p in problems)
    assert any(p.startswith("sign-language (active)") for p in problems)
    kakhovka = catalogue.communities["kakhovka"]
    seed = collapse(seed_text(kakhovka.model.source_file))
    broken = kakhovka.model.model_copy(update={"services": [
        s.model_copy(update={"status": s.status.__class__("active")}) if s.id == "orphan-housing" else s
        for s in kakhovka.model.services]})
    assert any(p.startswith("orphan-housing (active)") for p in service_problems(type(kakhovka)(broken), seed))


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


def test_a_triage_pattern_the_bot_would_refuse_is_named_when_the_data_is_checked(data_copy):
    # a reviewer's edit of triage.yaml: a hyphenated word, a capital and a group that does not exist; the bot
    # would stop at start, so loading the data names each place
    path = data_copy / "shared" / "triage.yaml"

    def break_it(raw):
        raw["kinds"][0]["rules"].append("=когда-то ~2 =впал")
        raw["kinds"][1]["calm"].append("=ШВЛ")
        raw["frames"][next(iter(raw["frames"]))]["patterns"].append("@nowhere")

    edit(path, break_it)
    with pytest.raises(CatalogueError) as info:
        load_catalogue(data_copy)
    problems = [p for p in info.value.problems if p.startswith(str(path))]
    assert len(problems) == 3
    assert "more than one word" in problems[0] and "capital letters" in problems[1] and "'@nowhere'" in problems[2]


def test_check_data_command(data_copy):
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot", "check-data", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
        timeout=120,
    )
    ok = run("--data", str(data_copy))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for slug in SLUGS:
        assert re.search(rf"^{slug}(\s+\d+){{9}}$", ok.stdout, re.M)
    table = run("--data", str(data_copy), "--markdown")
    assert table.returncode == 0 and sum(line.startswith("| ") for line in table.stdout.splitlines()) == len(SLUGS) + 1
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
