"""Words that suggest a person is in danger: violence, a child at risk, suicide, trafficking."""
from __future__ import annotations

from bot.catalogue.text import Morphology, morphology, normalise, tokens

VIOLENCE = {"бити", "побити", "вдарити", "бити", "насильство", "ґвалтувати", "зґвалтувати", "ґвалтування",
            "кривдник", "погрожувати", "погроза", "душити", "знущатися", "знущання", "катувати", "побої",
            "погрожує", "вбити", "убити", "бійка", "агресія", "домашній"}
CHILD = {"дитина", "син", "донька", "дочка", "малюк", "онук", "онука", "хлопчик", "дівчинка", "діти", "немовля"}
CHILD_RISK = {"кинути", "покинути", "голодний", "голодувати", "залишити", "небезпека",
              "бездоглядний", "безпритульний", "жебракувати", "вигнати", "виганяти", "пиячити", "п'яний",
              "пити", "бити"}
SUICIDE_WORDS = {"самогубство", "суїцид", "повіситися", "вішатися", "покінчити", "застрелитися", "отруїтися"}
SUICIDE_PHRASES = ("не хочу жити", "не хочеться жити", "жити не хочу", "жити не хочеться", "вбити себе",
                   "убити себе", "накласти на себе руки", "немає сенсу жити", "нема сенсу жити", "краще б я помер",
                   "краще б я померла")
TRAFFICKING_WORDS = {"торгівля", "рабство", "примусовий"}
TRAFFICKING_PHRASES = ("забрали паспорт", "відібрали паспорт", "відібрали документи", "забрали документи",
                       "не відпускають", "примусова праця", "торгівля людьми", "продали")


def detect(text: str, morph: Morphology | None = None) -> set[str]:
    """Return the kinds of danger the words suggest: violence, child, suicide, trafficking."""
    morph = morph or morphology()
    plain = normalise(text)
    lemmas = set()
    for word in tokens(plain):
        lemmas.add(morph.lemma(word))
        if not morph.known(word):  # "бє" for "б'є": a missing apostrophe or one wrong letter
            lemmas.update(morph.corrections(word)[:3])
    kinds: set[str] = set()
    if lemmas & VIOLENCE:
        kinds.add("violence")
    if lemmas & SUICIDE_WORDS or any(p in plain for p in SUICIDE_PHRASES):
        kinds.add("suicide")
    if lemmas & TRAFFICKING_WORDS and ("людина" in lemmas or "праця" in lemmas or "рабство" in lemmas) or any(
        p in plain for p in TRAFFICKING_PHRASES
    ):
        kinds.add("trafficking")
    alone = any(p in plain for p in ("сам вдома", "сама вдома", "одна вдома", "один вдома", "самі вдома"))
    if lemmas & CHILD and (lemmas & CHILD_RISK or alone or "violence" in kinds):
        kinds.add("child")
    return kinds
