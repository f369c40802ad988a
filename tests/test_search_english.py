"""English queries: everyday English words reach the services' English text through English synonyms, and a
misspelled English word is read as the known word one letter away."""
from bot.catalogue.text import en_stem


def test_english_synonym_finds_the_service_its_words_do_not_name(engine):
    answer = engine.answer("kakhovka", "my husband hits me, where can I get help")
    assert answer.served
    assert "violence-help" in [hit.service.id for hit in answer.hits[:3]]


def test_english_synonyms_are_stems_of_the_english_text(engine):
    assert engine.synonyms["en:hit"]["en:" + en_stem("violence")] > 0
    assert "en:hit" not in engine.synonyms.get("hit", {})


def test_misspelled_english_word_is_read_as_the_known_word(engine):
    terms = engine.query_terms("child with disabilty")
    assert "en:disability" in terms
    assert "en:disabilty" not in terms


def test_known_or_short_english_words_are_left_as_they_are(engine):
    assert engine.query_terms("daycare")  # no error for a word nothing is near
    terms = engine.query_terms("older help")
    assert "en:older" in terms
