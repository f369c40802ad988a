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
