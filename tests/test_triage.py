"""Danger triage: the kinds a text signals and the lines a resident sees first."""
import json
import subprocess
import sys

import pytest
import yaml

from bot.catalogue.models import DangerRule, TriageRules
from bot.catalogue.translit import to_cyrillic
from bot.catalogue.triage import Triage, compile_pattern
from bot.catalogue.triage_model import training_examples
from bot.config import PROJECT_ROOT


@pytest.fixture(scope="module")
def triage(engine):
    return engine.triage


@pytest.mark.parametrize(
    "text,kind,first_line",
    [
        ("не хочу більше жити", "suicide", "7333"),
        ("не хочу жить, устала от всего", "suicide", "7333"),
        ("чоловік знову б'є, діти бачать", "violence", "102"),
        ("муж бьет меня каждый вечер", "violence", "102"),
        ("сусідка-пенсіонерка третій день не відчиняє двері", "helpless", "103"),
        ("соседка старенькая не отвечает уже два дня, дверь закрыта", "helpless", "103"),
        ("малий сам вдома з учора, мати не вертається", "child", "116 111"),
        ("на заробітках забрали паспорт і не відпускають додому", "trafficking", "1547"),
    ],
)
def test_danger_and_its_line_first(triage, text, kind, first_line):
    assessment = triage.assess(text)
    assert kind in assessment.danger
    assert assessment.lines[0] == first_line


@pytest.mark.parametrize(
    "text",
    [
        "не хочу жити на орендованій квартирі, шукаю соціальне житло",
        "не хочу жить в общежитии, есть ли жилье для переселенцев",
        "дитина сама ходить до школи, чи є супровід",
        "убила весь день в очереди в соцзащиту",
        "бабуся лежача, потрібна доглядальниця",
        "хочу стати прийомною сім'єю для дітей, які залишились без батьків",
        "психолог для дитини після розлучення",
        "Є свідоцтво про смерть і заповіт",
        "оформлюю спадщину після батька, треба до нотаріуса",
    ],
)
def test_ordinary_words_raise_no_alarm(triage, text):
    assert triage.assess(text).danger == ()


def test_the_language_is_told(triage):
    assert triage.assess("допоможіть з пенсією").language == "uk"
    assert triage.assess("помогите с пенсией").language == "ru"
    assert triage.assess("I need help with my pension").language == "en"


def test_the_dev_half_holds(triage):
    """The half the rules were tuned on stays fully caught: a change to the rules that loses one shows here."""
    folder = PROJECT_ROOT / "benchmarks" / "search_queries" / "dev"
    danger = yaml.safe_load((folder / "danger.yaml").read_text(encoding="utf-8"))
    ordinary = yaml.safe_load((folder / "ordinary.yaml").read_text(encoding="utf-8"))
    for kind in ("suicide", "violence"):
        missed = [c["text"] for c in danger if kind in c["danger"] and kind not in triage.detect(c["text"])]
        assert missed == []
    alarms = [c["text"] for c in ordinary if triage.detect(c["text"])]
    assert len(alarms) <= len(ordinary) // 100


def test_rules_are_data(engine):
    rules = TriageRules(groups={"kid": ["дитина"]},
                        kinds=[{"id": "child", "name": {"uk": "д", "en": "c"}, "lines": ["116 111"],
                                "rules": [{"all": ["@kid", "=сама ~2 =вдома"], "unless": ["=школу"]}]}])
    own = Triage(rules, engine.reader)
    assert own.detect("дитина сама вдома") == {"child"}
    assert own.detect("дитина сама вдома вчить уроки в школу") == set()
    assert DangerRule.model_validate("не ~1 хотіти").all == ["не ~1 хотіти"]


def test_not_after_stops_at_the_end_of_a_sentence(triage):
    assert "suicide" in triage.detect("не хочу жити. в мене нічого не лишилось")
    assert "suicide" not in triage.detect("не хочу жити в гуртожитку")


def test_triage_command_json():
    result = subprocess.run([sys.executable, "-m", "bot", "triage", "--json", "не хочу больше жить"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"language": "ru", "danger": ["suicide"], "lines": ["7333", "112"]}


@pytest.mark.parametrize(
    "text",
    [
        "вчора дивилась серіал, де чоловік бив дружину, є психолог поговорити про тривогу?",
        "сусід бʼє свого собаку палкою, куди скаржитись",
        "у 2008 році мене побили на вулиці, потрібна довідка для пільг",
        "у дитини синець на коліні після садочка, все ок. коли щеплення?",
        "якщо бачиш людину, що лежить на вулиці взимку, як правильно діяти?",
    ],
)
def test_a_frame_voids_danger_words_about_something_else(triage, text):
    assert triage.assess(text).danger == ()


@pytest.mark.parametrize(
    "text,kind",
    [
        ("в серіалі чоловік бив дружину. а мене мій так само б'є щовечора", "violence"),
        ("у 2019 він мене вже бив, а тепер знову б'є", "violence"),
        ("діда тиждень не видно, собака в квартирі виє", "helpless"),
    ],
)
def test_a_frame_stays_in_its_sentence_and_gives_way(triage, text, kind):
    assert kind in triage.detect(text)


def test_frames_are_data(engine):
    rules = TriageRules(groups={"kid": ["дитина"]},
                        frames={"film": {"patterns": ["=фільмі"], "but": ["=мене"]}},
                        kinds=[{"id": "violence", "name": {"uk": "н", "en": "v"}, "lines": ["102"],
                                "rules": ["бити"]}])
    own = Triage(rules, engine.reader)
    assert own.detect("у фільмі він її б'є") == set()
    assert own.detect("у фільмі він її б'є. він б'є мене") == {"violence"}
    assert own.detect("у фільмі він б'є мене") == {"violence"}


def test_latin_letters_are_read_as_cyrillic(triage):
    assessment = triage.assess("ne hochu bilshe zhyty")
    assert assessment.danger == ("suicide",) and assessment.language == "uk"
    assert "violence" in triage.detect("cholovik znovu b'ye mene")
    assert triage.assess("I need help with my pension").danger == ()


def test_russian_in_latin_letters_is_read_the_russian_way_when_it_is_russian(triage):
    # chat leaves out the soft sign: «zhit» is «жить», not the rye of «жит»
    assert triage.detect("vse, net sil zhit bolshe") == {"suicide"}
    assert triage.detect("ne hochu zhit, vse nadoelo") == {"suicide"}
    assert triage.detect("spasibo, vse horosho, zavtra pridu v centr") == set()


@pytest.mark.parametrize("text", [
    "the suspense is killing me, when are the results of the housing queue out",
    "my uncle was killed in action last spring, which office handles the family payments",
    "where can I donate warm clothes for evacuated families",
])
def test_english_is_not_misread_as_cyrillic(triage, text):
    # turned into Cyrillic, English is no words at all («тхе суспенсе ис киллинг ме»): read as English only
    assert triage.assess(text).danger == () and triage.assess(text).language == "en"


@pytest.mark.parametrize("text, kind", [
    ("my stepdad keeps punching my mum and he threatened to kill her", "violence"),
    ("granny fell in the bathroom and cannot get up, she is alone", "helpless"),
])
def test_english_danger_is_caught(triage, text, kind):
    assert kind in triage.detect(text)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("дедушке 90, соцработник не приходил уже неделю, он сам не ходит", "helpless"),
        ("жінка в лікарні, а я лежачий і ніхто не приходить третій день", "helpless"),
        ("опять режусь и не могу остановиться", "suicide"),
        ("син вчора сказав, що краще б його взагалі не було", "suicide"),
        ("у сусідів діти без їжі, батьків нема вже другий день", "child"),
        ("my 14 year old ran away last night and isn't picking up", "child"),
        ("хозяин сказал отрабатывать долг, работаю бесплатно, паспорт у него", "trafficking"),
    ],
)
def test_plain_words_of_danger_are_caught(triage, text, kind):
    assert kind in triage.detect(text)


@pytest.mark.parametrize(
    "text",
    [
        "взяла кредит, по выходным работаю бесплатно волонтером в приюте для животных",
        "соцпрацівниця приходить по вівторках, мама лежача, чи можна записатися на візок",
        "колишній не платить аліменти вже рік, ніяких погроз, просто не платить. Як стягнути?",
        "запишіть мене до психіатра, треба продовжити рецепт, я давно на обліку, все стабільно",
        "our class is doing a project about human trafficking, who could speak to the students?",
        "донька ночує у бабусі сьогодні, як завжди по п'ятницях; чи є продовжена група в садку?",
        "аж жаба душить стільки платити за газ, чи є якісь пільги",
        # the plainest description of a request for care (the form's «Опишіть ситуацію»)
        "Батько після інсульту",
        "мама після інсульту, потрібна доглядальниця на кілька годин",
        "kolys' mene byv cholovik, zaraz rozluchena, treba dovidka pro sklad sim'ji",
    ],
)
def test_plain_words_of_everyday_life_raise_nothing(triage, text):
    assert triage.detect(text) == set()


def test_latin_letters_of_the_national_system_are_read_as_they_were_meant(triage):
    # ia, iu, ie for я, ю, є after a consonant: «дякую, все в порядку» is an all-clear, not a farewell
    assert triage.detect("dyakuiu, vse v poriadku, prosto khotila utochnyty hrafik") == set()
    assert to_cyrillic("mama ne vstaie z lizhka tretii den", triage.reader.known) == "мама не встає з ліжка третій ден"
    assert to_cyrillic("Mariia i Liudmyla, novyi", triage.reader.known) == "марія і людмила, новий"


@pytest.mark.parametrize(
    "text",
    [
        "вбив би за нормальний інтернет у нашому селі",
        "убью этого электрика, опять не пришел, куда жаловаться",
        "мене вдарило струмом від старої розетки, хто ремонтує",
        "лікар не відповідає третій день, як записатися до іншого",
        "прощавай, старий тариф, як тепер рахуватимуть газ",
    ],
)
def test_jest_hyperbole_and_forces_stand_down(triage, text):
    assert triage.assess(text).danger == ()


@pytest.mark.parametrize(
    "text,kind",
    [
        ("він би мене вбив, якби не сусіди, ховаюсь у них", "violence"),
        ("він каже: вб'ю тебе, якщо підеш", "violence"),
        ("не хочу жити без нього", "suicide"),
    ],
)
def test_a_threat_to_me_stays(triage, text, kind):
    assert kind in triage.detect(text)


def test_the_model_never_learns_the_measure_only_half_nor_the_test_half():
    measured = {case["text"] for path in (PROJECT_ROOT / "benchmarks" / "triage_tuning" / "measure_only").glob("*.yaml")
                for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []}
    test_half = {case.get("text") or case["query"]
                 for path in (PROJECT_ROOT / "benchmarks" / "search_queries" / "test").glob("*.yaml")
                 for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []}
    assert measured and "хочу вмерти" in test_half
    learnt = {text for text, _ in training_examples(PROJECT_ROOT)}
    assert not measured & learnt
    assert not test_half & learnt  # «хочу вмерти» is in a tuning set too, written again word for word


@pytest.mark.parametrize(
    "text",
    [
        "працюю соцпрацівницею, де взяти брошури про домашнє насильство для клієнтів",
        "працюю вчителькою, потрібні матеріали для уроку про торгівлю людьми",
        "де навчитися надавати першу допомогу людині без свідомості",
        "сына месяц назад избили в школе, виновных наказали, нужна справка для страховки",
        "син зник безвісти на фронті, як подати запит і отримати допомогу",
        "я не планую вбивати себе, не хвилюйтесь, мені потрібна консультація юриста",
        "прощавайте, їду у відпустку на два тижні 🙂 хто прийме документи на субсидію без мене",
        "сусід б'є молотком з 7 ранку, ремонт, куди скаржитись на шум",
        "на фізкультурі сина вчать повіситися на турніку і підтягнутись, де купити турнік додому",
        "в новинах показали, як мати залишила дітей самих на тиждень, а в нас є служба у справах дітей?",
        "Дивилась вчора серіал. Там чоловік бив дружину і замикав її. Чи є в громаді кризовий центр?",
        "Це було у 2015 році. Чоловік мене бив, я пішла від нього. Зараз потрібна довідка для суду",
        "Читаю книжку про Голодомор. Діти помирали від голоду. Де взяти ще літературу?",
    ],
)
def test_a_frame_without_a_person_in_danger_now_stands_down(triage, text):
    assert triage.detect(text) == set()


@pytest.mark.parametrize(
    "text,kind",
    [
        ("я прочитала статтю про насильство і зрозуміла, що мій чоловік робить зі мною те саме, він б'є мене",
         "violence"),
        ("на курсах англійської викладач пристає до моєї доньки, їй 14", "child"),
        ("тато повернувся з фронту і б'є маму", "violence"),
        ("чоловік прийшов з фронту і як вип'є то кидається на мене і на дітей", "child"),
        ("онук уже повернувся, але весь у синцях і мовчить, хто його бив не каже", "child"),
        ("я не збираюся нікому казати, але він знову мене бив", "violence"),
        ("хлопець у воді борсається біля греблі, кличе на поміч", "helpless"),
        ("дочь хотят насильно отдать замуж за мужчину, потому что отец ему должен", "trafficking"),
        ("Дивилась серіал. А мій чоловік так само мене б'є, я боюсь", "violence"),
        ("Це було у 2015 році. А зараз він знову прийшов і погрожує вбити", "violence"),
        ("Минулого року мама впала. А сьогодні зранку вона не відповідає і двері зачинені", "helpless"),
    ],
)
def test_the_same_frame_keeps_a_person_in_danger_now(triage, text, kind):
    assert kind in triage.detect(text)


def test_a_quiet_shape_silences_the_model_never_a_rule(engine):
    """A service asked for or an all-clear, with nothing of now or fear in the text, silences the learned model's
    guess; a rule still fires, and «зараз» or «боюсь» keeps the guess."""
    rules = TriageRules(quiet={"asks": {"patterns": ["=чи =є"], "but": ["=зараз|=боюсь"]}},
                        kinds=[{"id": "violence", "name": {"uk": "н", "en": "v"}, "lines": ["102"],
                                "rules": ["бити"]}])
    always = {"violence": {"bias": 5.0, "threshold": 0.5, "weights": {}}}  # a model that raises it for any text
    own = Triage(rules, engine.reader, always)
    assert own.detect("чи є секція боксу для дорослих") == set()
    assert own.detect("чи є притулок, він зараз під дверима") == {"violence"}
    assert own.detect("чи є притулок, боюсь іти додому") == {"violence"}
    assert own.detect("він мене б'є, чи є притулок") == {"violence"}
    assert own.detect("сусід кричить за стіною") == {"violence"}
    assert set(engine.catalogue.shared.triage.quiet) == {"asks_for_a_service", "says_all_is_well"}


@pytest.mark.parametrize("text,kind", [
    ("дідупавнеможевстати допоможіть", "helpless"),
    ("малий3рокисамвдомімамапоїхала", "child"),
    ("янехочужить", "suicide"),
])
def test_words_typed_without_spaces_are_read_apart(triage, text, kind):
    assert kind in triage.assess(text).danger


def test_a_misspelt_long_word_is_not_cut_into_pieces(engine):
    reader = engine.triage.reader
    for word in ("гуманитарку", "сурдоперевотчик", "виховательниця", "девятиэтажки", "пенсеонерів"):
        assert reader.read(word).words == (word,)


def test_a_pattern_cannot_hold_a_word_the_reader_splits():
    with pytest.raises(ValueError, match="more than one word"):
        compile_pattern("=колись|=когда-то")


def test_a_childs_own_thoughts_of_suicide_show_the_childrens_line_too(triage):
    child = triage.assess("мені 14 і я більше не хочу жити")
    adult = triage.assess("мені 40 і я більше не хочу жити")
    assert child.lines[0] == adult.lines[0] == "7333"
    assert "116 111" in child.lines and "116 111" not in adult.lines


def test_an_age_written_in_words_counts_as_one_in_digits(triage):
    assert "child" in triage.assess("мне пятнадцать, я нашла у мамы снотворное и сегодня ночью выпью всё").danger
    assert "child" in triage.assess("мені чотирнадцять і я більше не хочу жити").danger
    # «шістдесят вісім» is 68, not an eight-year-old
    assert "child" not in triage.assess("мамі шістдесят вісім років, вона сама вдома і не хоче жити").danger


def test_number_words_in_rules_still_match_once_read_as_digits(triage):
    assert not triage.assess("вбив дві години, щоб знайти бланк заяви на компенсацію").danger
