"""The language model of uk, ru and en derived from py3langid's (bot/catalogue/langid_model.py)."""
from __future__ import annotations

import builtins
import logging
import sys

import pytest

from benchmarks.language_id import phrasings
from bot.catalogue import langid_model
from bot.catalogue.reader import normalise


@pytest.fixture(scope="module")
def derived():
    return langid_model.load_derived(langid_model.derived_path()) if langid_model.derived_path().exists() \
        else langid_model.load()


@pytest.fixture(scope="module")
def full():
    return langid_model.load_full()


def test_the_derived_model_answers_as_the_full_one_on_every_phrasing(derived, full):
    texts = [normalise(text) for text, _ in phrasings()]
    texts += ["", "   ", "123", "😂", "так", "да", "hello", "мама", "пенсія", "пенсия", "ok дякую"]
    differ = [text for text in texts if derived.classify(text)[0] != full.classify(text)[0]]
    assert not differ
    assert max(abs(derived.classify(t)[1] - full.classify(t)[1]) for t in texts) < 0.01
    assert derived.nb_classes == full.nb_classes  # the same order: ties go the same way


def no_numpy(real_import):
    def guarded(name, *args, **kwargs):
        if name == "numpy" or name.startswith("numpy."):
            raise AssertionError("numpy was imported")
        return real_import(name, *args, **kwargs)

    return guarded


def test_the_derived_model_is_read_and_scored_without_the_full_one_or_numpy(derived, monkeypatch):
    import py3langid.langid
    import py3langid.modelio

    def refuse(*args, **kwargs):
        raise AssertionError("the full model was loaded")

    monkeypatch.setattr(py3langid.modelio, "load_model", refuse)
    monkeypatch.setattr(py3langid.langid, "_load_model_file", refuse)
    for name in [name for name in sys.modules if name == "numpy" or name.startswith("numpy.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", no_numpy(builtins.__import__))
    model = langid_model.load_derived(langid_model.derived_path())
    assert model.classify("сину два роки")[0] == derived.classify("сину два роки")[0]
    assert model.states < 60_000  # py3langid's automaton has 104,583 states


def test_a_missing_model_is_derived_aside_and_a_broken_one_gives_way_to_the_full_one(tmp_path, caplog):
    model = langid_model.load(tmp_path)
    assert langid_model.derived_path(tmp_path).exists()
    assert model.nb_classes == langid_model.load_full().nb_classes
    assert model.states < 60_000
    langid_model.derived_path(tmp_path).write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING):
        fallback = langid_model.load(tmp_path)
    assert "full model" in caplog.text
    assert len(fallback.tk_row) > 100_000
    assert fallback.classify("де поїсти")[0] == "uk"
