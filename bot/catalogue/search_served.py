"""Whether a query asks for something: which of its words say what it is about, not for whom or how it asks
(`says_what`), and whether a short query asks for what this community's services never mention
(`asks_for_missing`: "хоспіс для мами, рак" where there is no hospice). bot/catalogue/search.py decides with them
whether the catalogue serves a query at all.
"""
from __future__ import annotations

from typing import Callable

from bot.catalogue.search_index import CommunityIndex, Query, QueryWord, Scored

AGE_UNITS = frozenset("рік роки років року год года лет годик годика годиків місяць місяці місяців місяця "
                      "месяц месяца месяцев".split())
SHORT_QUERY = 4  # words that say something; a longer query may ask for more than one thing (see asks_for_missing)
# Who the query is for and how it asks: not what it is about (see SearchEngine._serves in bot/catalogue/search.py).
NEUTRAL_WORDS = frozenset(
    """
    мама мати тато батько батьки син донька дочка дитина діти онук онука онучка дід дідусь баба бабуся чоловік
    дружина брат сестра сім'я родина людина особа сусід сусідка пенсіонер пенсіонерка оформити отримати зробити
    записати записатися взяти дати шукати знайти дізнатися влаштувати потрібний безкоштовно безкоштовний платно
    терміново допомога допомогти можна треба де куди як хто сам самий один хотіти почати йти піти погано
    free get back find help where who pensioner
    """.split()
)


def asks_for_missing(index: CommunityIndex, query: Query, ranked: list[Scored],
                     names: Callable[[QueryWord], bool], known: set[str]) -> bool:
    """A short query whose first services matched only who it is for or how it asks ("хоспіс для мами": «мама»,
    "free tooth implants for pensioners": «free»), and whose other words all name something (`names`) this
    community's services never use: nothing here is about it."""
    if len(query.words) > SHORT_QUERY or ranked[0].covered >= 0.5:
        return False
    content = [word for word in query.words if says_what(word)]
    if not all(names(word) and all(term not in index.idf for term in word.terms) for word in content):
        return False
    # one such word alone may be this community's way of not saying it; two, or one that other communities'
    # services use ("усиновити"), are not
    return len(content) >= 2 or any(term in known for word in content for term in word.terms)


def says_what(word: QueryWord) -> bool:
    """Whether a query word says what is asked about, not for whom or how ("мама", "free", "get", "80")."""
    if word.text.isdigit():
        return len(word.terms) > 1  # an age that reads as a young child's ("2 роки")
    return word.text not in AGE_UNITS and NEUTRAL_WORDS.isdisjoint(word.lemmas)
