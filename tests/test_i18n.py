import re
from pathlib import Path

from babel.messages.pofile import read_po

from bot.config import PROJECT_ROOT

LOCALES = PROJECT_ROOT / "locales"


def catalog(lang):
    with open(LOCALES / lang / "LC_MESSAGES" / "messages.po", "rb") as fh:
        return read_po(fh)


def template_ids():
    with open(LOCALES / "messages.pot", "rb") as fh:
        return {m.id for m in read_po(fh) if m.id}


def test_every_message_has_a_ukrainian_translation():
    uk = catalog("uk")
    missing = []
    for msgid in template_ids():
        message = uk.get(msgid)
        strings = message.string if message else None
        if not message or not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(msgid)
    assert missing == []


def test_the_template_is_up_to_date():
    """Every text the code marks for translation is in the template (run `make extract` after changing texts)."""
    import subprocess
    import sys
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pot") as fresh:
        subprocess.run(
            [str(Path(sys.executable).parent / "pybabel"), "-q", "extract", "-k", "_", "-k", "__", "-k",
             "ngettext:1,2", "-k", "N_", "--no-location", "-o", fresh.name, "bot", "dialogs"],
            cwd=PROJECT_ROOT, check=True, capture_output=True,
        )
        with open(fresh.name, "rb") as fh:
            current = {m.id for m in read_po(fh) if m.id}
    assert current - template_ids() == set()


def test_ukrainian_plural_forms():
    uk = catalog("uk")
    assert uk.num_plurals == 3
    from aiogram.utils.i18n import I18n

    i18n = I18n(path=LOCALES, default_locale="uk", domain="messages")
    forms = [i18n.gettext("I found {n} service that may help:", "I found {n} services that may help:", n, locale="uk")
             for n in (1, 2, 5, 11, 21, 22, 25)]
    words = [f.split()[3] for f in forms]
    assert words == ["послугу,", "послуги,", "послуг,", "послуг,", "послугу,", "послуги,", "послуг,"]


def test_placeholders_and_tags_match():
    for lang in ("uk",):
        for message in catalog(lang):
            if not message.id or not message.string:
                continue
            source = message.id[0] if isinstance(message.id, tuple) else message.id
            targets = message.string if isinstance(message.string, tuple) else (message.string,)
            for target in targets:
                assert sorted(re.findall(r"\{\w+\}", source)) == sorted(re.findall(r"\{\w+\}", target)), source
                assert sorted(re.findall(r"</?\w+>", source)) == sorted(re.findall(r"</?\w+>", target)), source


# ----- how the Ukrainian texts read -------------------------------------------------------------------------------
# Every Ukrainian text a resident or a specialist reads (the catalogue's msgstr and the `uk:` strings of data/):
# no Latin words but names of things and formats, one apostrophe (’), and no count put next to a noun without
# ngettext («мешканців: {n}» reads, «{n} днів» does not for n = 1 or 2).

DATA = PROJECT_ROOT / "data"
LATIN_NAMES = {"Telegram", "ID", "JSON", "HTML", "SVG", "PNG", "PDF", "QR", "CSV", "XLSX", "Excel", "LibreOffice"}
# placeholders that hold a count (of people, days, files, rows, …); «{n} днів» must go through ngettext
COUNTS = {
    "n", "count", "days", "hours", "minutes", "seconds", "files", "limit", "mb", "total", "sent", "delivered",
    "blocked", "failed", "remaining", "opens", "communities", "services", "institutions", "target", "rate", "value",
    "rows", "added", "changed", "refused", "people", "residents", "requests", "consultations",
}
UNITS = {"хв", "с", "год", "МБ", "КБ", "ГБ", "дн", "км"}  # abbreviations do not change with the number
MONTHS = set("січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня".split())
CYRILLIC = "А-Яа-яІіЇїЄєҐґ"
WORD = rf"[{CYRILLIC}’]+"


def ukrainian_texts():
    """(where, whether it went through ngettext, text) for every msgstr and every `uk:` string of data/."""
    import yaml

    for message in catalog("uk"):
        if not message.id:
            continue
        plural = isinstance(message.id, tuple)
        for text in message.string if plural else (message.string,):
            yield f"msgid {str(message.id[0] if plural else message.id)[:60]!r}", plural, text

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "uk" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for path in sorted(DATA.rglob("*.yaml")):
        for text in walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
            yield str(path.relative_to(DATA)), False, text


def readable(text: str) -> str:
    """The text without what is not words: code, commands, links, e-mail, file names, markup, placeholders."""
    text = re.sub(r"<code>.*?</code>|`[^`]*`", " ", text, flags=re.S)
    text = re.sub(r"&lt;.*?&gt;", " ", text)  # markup shown as an example
    text = re.sub(r"</?\w+[^>]*>|&\w+;", " ", text)
    text = re.sub(r"https?://\S*|\S+@\S+\.\w+|(?<!\w)/\w+", " ", text)  # links, e-mail, commands
    text = re.sub(r"(?:\b\w+)?\.(?:xlsx|csv|json|txt|png|svg|pdf|zip)\b", " ", text)  # file names
    return re.sub(r"\{\w+\}", " ", text)


def test_ukrainian_texts_have_no_latin_words():
    found = []
    for where, _plural, text in ukrainian_texts():
        for word in re.findall(rf"[A-Za-z{CYRILLIC}’'ʼ]+", readable(text)):
            if re.search(r"[A-Za-z]", word) and word not in LATIN_NAMES:
                found.append((where, word))
    assert found == []


def test_ukrainian_texts_use_one_apostrophe():
    found = [(where, text) for where, _plural, text in ukrainian_texts() if re.search(r"['ʼ‘`]", readable(text))]
    assert found == []


def _is_noun(word: str) -> bool:
    if word in UNITS or word.lower() in MONTHS:
        return False
    parses = _morph().parse(word.lower())
    if any(p.tag.POS in {"PREP", "CONJ", "PRCL", "NPRO"} for p in parses):
        return False
    return parses[0].tag.POS == "NOUN" and "Abbr" not in parses[0].tag


def _morph():
    import pymorphy3

    global _MORPH
    try:
        return _MORPH
    except NameError:
        _MORPH = pymorphy3.MorphAnalyzer(lang="uk")
        return _MORPH


def _plural_category(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return "one"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return "few"
    return "many"


def count_faults(plural: bool, text: str) -> list[str]:
    """A count placeholder next to a noun ("{n} днів", "мешканців {n}") outside a plural message, and a written
    number that does not agree with its noun (1 день, 2 дні, 5 днів)."""
    faults = []
    if not plural:
        for match in re.finditer(r"\{(\w+)\}", text):
            if match.group(1) not in COUNTS:
                continue
            before = re.search(rf"({WORD}) $", text[: match.start()])
            after = re.match(rf" ({WORD})(?: ({WORD}))?", text[match.end():])
            neighbours = [before.group(1)] if before else []
            if after:
                neighbours.append(after.group(1))
                if after.group(2) and _morph().parse(after.group(1).lower())[0].tag.POS == "ADJF":
                    neighbours.append(after.group(2))  # «{n} робочих днів»
            if any(_is_noun(word) for word in neighbours):
                faults.append(text[max(match.start() - 20, 0): match.end() + 20])
    for match in re.finditer(rf"(?<![\d.,:/–-])(\d+) ({WORD})", text):
        number, word = match.groups()
        if len(number) == 4 or not _is_noun(word):  # a year: «2026 року»
            continue
        numbers = {p.tag.number for p in _morph().parse(word.lower()) if p.tag.POS == "NOUN"}
        if ("sing" if _plural_category(int(number)) == "one" else "plur") not in numbers:
            faults.append(match.group(0))
    return faults


def test_counts_next_to_nouns_go_through_ngettext():
    found = [(where, fault) for where, plural, text in ukrainian_texts() for fault in count_faults(plural, text)]
    assert found == []


def test_the_checks_catch_what_they_are_for():
    """The checks above on texts made to fail them."""
    assert re.findall(r"[A-Za-z]+", readable("Щоб відповісти, відповідайте (reply) на картку")) == ["reply"]
    assert re.findall(r"[A-Za-z]+", readable("Надішліть <code>/bind X1</code> або /bind КОД у Telegram")) == [
        "Telegram"]
    assert "'" in readable("Зв'язок лише тут")
    assert _is_noun("мешканців") and _is_noun("днів") and not _is_noun("хв") and not _is_noun("до")
    assert _plural_category(21) == "one" and _plural_category(12) == "many" and _plural_category(34) == "few"
    assert count_faults(False, "Зараз її отримають мешканців: {n}") == []
    assert count_faults(False, "Дані видаляються через {days} днів") != []
    assert count_faults(False, "Отримувачів {total}, доставлено: {delivered}") != []
    assert count_faults(False, "Відповідь очікуйте протягом {n} робочих днів") != []
    assert count_faults(True, "Відповідь очікуйте протягом {n} робочих днів") == []
    assert count_faults(False, "Залишилося приблизно {minutes} хв {seconds} с") == []
    assert count_faults(False, "Код діє протягом 48 годин, від 1 до 5, з 2026 року") == []
    assert count_faults(False, "Код діє протягом 48 година") != [] and count_faults(False, "2 дітей і 1 днів") != []
