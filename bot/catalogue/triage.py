"""Does a resident's text signal danger now? One answer for every text: a search, a request, a report
about someone, a consultation message.

The words are data: data/shared/triage.yaml lists each kind of danger, the national lines it needs (in
the order the resident sees them) and its rules. A rule is one or more patterns over the words of the
text as the reader turns them into Ukrainian lemmas (so a Russian or misspelled text is matched by the
same rules). A pattern is a sequence of steps separated by spaces:

    бити|побити      a word whose lemma is one of these
    =мене            the word exactly as written (after lower case)
    суїцид*          a word or lemma that starts with this (so does =суїцид*)
    ~3               up to three words of any kind
    $                the end of a clause (. ! ? ; a new line or the end of the text)

`not_before` / `not_after` void the first pattern's match when the word right before / after it is one
of those lemmas («не хочу жити» is danger, «не хочу жити на орендованій квартирі» is not); `unless`
voids the rule when any of its patterns occurs anywhere. A frame (`frames:` in the file) voids the first
pattern's match of every rule of its kinds when one of its patterns occurs in the same sentence (or within
`within` words of the match, or in one of the `reach` sentences before it): «в серіалі чоловік бив дружину»,
«сусід б'є собаку», «у 2008 мене побили», «Дивилась серіал. Там чоловік бив дружину»; `but` keeps the danger
when the match's sentence also has one of its patterns («... а мене він теж б'є»).

The learned model's guess of a kind (bot/catalogue/triage_model.py) stands down for a kind's `calm` patterns and its
frames, and for every kind in a `quiet` shape: a text that asks for an ordinary service or says all is well, with
nothing of now, fear or a call for help in it («чи є група продовженого дня», «це нормально?»); a rule never does.

A text in Latin letters only («ne hochu bilshe zhyty») is read a second time turned into Cyrillic the Ukrainian
way (bot/catalogue/translit.py), or the Russian way (translit_ru.py) when that reading has more Russian words than
the Ukrainian one has Ukrainian words («net sil zhit»). A pattern whose first word is nowhere in the text is skipped
before any matching.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from bot.catalogue.models import DangerFrame, DangerRule, TriageRules
from bot.catalogue.reader import Reader, Reading, number_of
from bot.catalogue.translit import in_latin, known_share, reads_as_words, to_cyrillic
from bot.catalogue.translit_ru import to_russian
from bot.catalogue.triage_model import TriageModel

# When kinds come together, the line for the most urgent comes first.
PRIORITY = ("helpless", "suicide", "violence", "child", "trafficking")


@dataclass(frozen=True)
class Step:
    kind: str  # "word", "gap", "end"
    lemmas: frozenset[str] = frozenset()
    exact: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    gap: int = 0

    def accepts(self, reading: Reading, at: int) -> bool:
        word = reading.words[at]
        if word in self.exact:
            return True
        options = reading.lemmas[at]
        if self.lemmas and not self.lemmas.isdisjoint(options):
            return True
        return bool(self.prefixes) and (word.startswith(self.prefixes)
                                        or any(o.startswith(self.prefixes) for o in options))


def compile_pattern(pattern: str, groups: Optional[dict[str, list[str]]] = None) -> tuple[Step, ...]:
    groups = groups or {}
    steps = []
    for part in pattern.split():
        if part == "$":
            steps.append(Step("end"))
        elif part.startswith("~") and part[1:].isdigit():
            steps.append(Step("gap", gap=int(part[1:])))
        else:
            lemmas, exact, prefixes = set(), set(), []
            options = []
            for option in part.split("|"):
                if option.startswith("@"):
                    if option[1:] not in groups:
                        raise ValueError(f"unknown word group {option!r} in {pattern!r}")
                    options += groups[option[1:]]
                else:
                    options.append(option)
            for option in options:
                option = option.replace("’", "'").replace("ʼ", "'")
                if "-" in option or " " in option:  # the reader reads «когда-то» as two words: one never matched
                    raise ValueError(f"{option!r} in {pattern!r} is more than one word: write its words as steps")
                if option != option.lower():  # the reader lowers every word: «=ШВЛ» would never match
                    raise ValueError(f"{option!r} in {pattern!r} has capital letters: write it in lower case")
                if option.endswith("*") and len(option.lstrip("=")) > 1:  # «=секрет*» is a prefix too
                    prefixes.append(option.lstrip("=")[:-1])
                elif option.startswith("="):
                    exact.update(filter(None, (option[1:], number_of(option[1:]))))  # «п'ять» is read as «5»
                elif option.endswith("*"):
                    prefixes.append(option[:-1])
                else:
                    lemmas.update(filter(None, (option, number_of(option))))
            steps.append(Step("word", frozenset(lemmas), frozenset(exact), tuple(prefixes)))
    if not steps or steps[0].kind != "word":
        raise ValueError(f"a pattern starts with a word: {pattern!r}")
    return tuple(steps)


def _match_from(steps: Sequence[Step], reading: Reading, at: int, index: int = 0) -> Optional[int]:
    """The position after the match of steps[index:] starting at word `at`, or None."""
    n = len(reading.words)
    while index < len(steps):
        step = steps[index]
        if step.kind == "end":
            if at - 1 not in reading.ends:
                return None
            index += 1
        elif step.kind == "gap":
            for skip in range(step.gap + 1):
                if at + skip > n:
                    break
                found = _match_from(steps, reading, at + skip, index + 1)
                if found is not None:
                    return found
            return None
        else:
            if at >= n or not step.accepts(reading, at):
                return None
            at += 1
            index += 1
    return at


_LAST: list = [None, frozenset()]  # the reading last seen and every word and lemma in it


def _vocabulary(reading: Reading) -> frozenset[str]:
    if _LAST[0] is not reading:
        _LAST[0], _LAST[1] = reading, frozenset(reading.words).union(*reading.lemmas)
    return _LAST[1]


def matches(steps: Sequence[Step], reading: Reading) -> Iterable[tuple[int, int]]:
    first, vocabulary = steps[0], _vocabulary(reading)
    if first.lemmas.isdisjoint(vocabulary) and first.exact.isdisjoint(vocabulary) \
            and not (first.prefixes and any(word.startswith(first.prefixes) for word in vocabulary)):
        return  # none of the words the pattern starts with is in the text: most patterns, most texts
    for start in range(len(reading.words)):
        end = _match_from(steps, reading, start)
        if end is not None:
            yield start, end


class FirstWords:
    """Which of many patterns could match a text, found from the words the text has: each pattern is filed under
    the lemmas and words its first step accepts, and under the first two letters of its prefixes. Nothing that
    could match is left out (matches() would find nothing for the others), so a text is tried against the few
    patterns it may fire instead of all of them."""

    def __init__(self, firsts: Iterable[tuple[object, Step]]):
        self.by_word: dict[str, list[object]] = {}
        self.by_start: dict[str, list[tuple[str, object]]] = {}
        self.always: list[object] = []
        for key, step in firsts:
            for word in step.lemmas | step.exact:
                self.by_word.setdefault(word, []).append(key)
            for prefix in step.prefixes:
                if len(prefix) < 2:
                    self.always.append(key)
                else:
                    self.by_start.setdefault(prefix[:2], []).append((prefix, key))

    def candidates(self, reading: Reading) -> set[object]:
        out = set(self.always)
        for word in _vocabulary(reading):
            out.update(self.by_word.get(word, ()))
            for prefix, key in self.by_start.get(word[:2], ()):
                if word.startswith(prefix):
                    out.add(key)
        return out


def sentence_of(reading: Reading, at: int, clause: bool = False) -> tuple[int, int]:
    """The first word of the sentence (or clause) holding word `at` and the word after its last."""
    ends = reading.ends if clause else reading.stops
    start, end, last = at, at, len(reading.words) - 1
    while start > 0 and start - 1 not in ends:
        start -= 1
    while end < last and end not in ends:
        end += 1
    return start, end + 1


def _any_match(patterns: Iterable[Sequence[Step]], reading: Reading) -> bool:
    return any(any(True for _ in matches(pattern, reading)) for pattern in patterns)


@dataclass(frozen=True)
class CompiledFrame:
    name: str
    patterns: tuple[tuple[Step, ...], ...]
    within: Optional[int]
    but: tuple[tuple[Step, ...], ...]
    reach: int = 0

    @classmethod
    def of(cls, name: str, frame: DangerFrame, groups: dict[str, list[str]]) -> "CompiledFrame":
        return cls(name, tuple(compile_pattern(p, groups) for p in frame.patterns), frame.within,
                   tuple(compile_pattern(p, groups) for p in frame.but), frame.reach)

    def _kept(self, reading: Reading, first: int, last: int) -> bool:
        """Whether a `but` pattern occurs between these words (the danger stands)."""
        return any(first <= a and b <= last for pattern in self.but for a, b in matches(pattern, reading))

    def voids(self, reading: Reading, start: int, end: int) -> bool:
        """Whether the match of words [start, end) is inside this frame."""
        first, last = sentence_of(reading, start)
        if self.within is None:
            low, high = first, last
            for _ in range(self.reach):  # the sentences before: «Дивилась серіал. Там чоловік бив дружину»
                if low == 0:
                    break
                low = sentence_of(reading, low - 1)[0]
        else:
            low, high = sentence_of(reading, start, clause=True)
            low, high = max(low, start - self.within), min(high, end + self.within)
        if not any(low <= a and b <= high for pattern in self.patterns for a, b in matches(pattern, reading)):
            return False
        return not self._kept(reading, first, last)

    def anywhere(self, reading: Reading) -> bool:
        """Whether the frame occurs in some sentence without a `but` (silences the model's guess); a frame
        that needs to be next to a rule's match never does."""
        if self.within is not None:
            return False
        for pattern in self.patterns:
            for a, _ in matches(pattern, reading):
                if not self._kept(reading, *sentence_of(reading, a)):
                    return True
        return False


@dataclass(frozen=True)
class CompiledRule:
    patterns: tuple[tuple[Step, ...], ...]
    not_before: frozenset[str]
    not_after: frozenset[str]
    unless: tuple[tuple[Step, ...], ...]
    source: str = ""  # the rule's patterns as written, to tell which rule fired
    after: frozenset[str] = frozenset()  # kinds that must be found first

    @classmethod
    def of(cls, rule: DangerRule, groups: dict[str, list[str]]) -> "CompiledRule":
        def expand(words: list[str]) -> frozenset[str]:
            out: set[str] = set()
            for word in words:
                out.update(groups[word[1:]] if word.startswith("@") else [word])
            plain = {w.lstrip("=") for w in out}
            return frozenset(plain | set(filter(None, map(number_of, plain))))

        return cls(tuple(compile_pattern(p, groups) for p in rule.all), expand(rule.not_before),
                   expand(rule.not_after), tuple(compile_pattern(p, groups) for p in rule.unless), " + ".join(rule.all),
                   frozenset(rule.after))

    def fires(self, reading: Reading, frames: Sequence[CompiledFrame] = ()) -> bool:
        first, *others = self.patterns
        if not any(self._clear(reading, start, end) and not any(f.voids(reading, start, end) for f in frames)
                   for start, end in matches(first, reading)):
            return False
        if not all(any(True for _ in matches(p, reading)) for p in others):
            return False
        return not any(any(True for _ in matches(p, reading)) for p in self.unless)

    def _clear(self, reading: Reading, start: int, end: int) -> bool:
        # the word before or after counts only inside the same clause: «не хочу жити, в мене ...» is danger
        if start > 0 and self.not_before and start - 1 not in reading.ends \
                and self._is(reading, start - 1, self.not_before):
            return False
        if end < len(reading.words) and self.not_after and end - 1 not in reading.ends \
                and self._is(reading, end, self.not_after):
            return False
        return True

    @staticmethod
    def _is(reading: Reading, at: int, words: frozenset[str]) -> bool:
        return reading.words[at] in words or not words.isdisjoint(reading.lemmas[at])


@dataclass(frozen=True)
class Assessment:
    language: str
    danger: tuple[str, ...]  # kinds, most urgent first
    lines: tuple[str, ...]  # national numbers to show first, in order

    def __bool__(self) -> bool:
        return bool(self.danger)

    def as_dict(self) -> dict:
        return {"language": self.language, "danger": list(self.danger), "lines": list(self.lines)}


class Triage:
    """Built once from the catalogue's rules; `assess` takes well under a millisecond for a usual text."""

    def __init__(self, rules: TriageRules, reader: Reader, weights: Optional[Mapping[str, Mapping]] = None):
        self.reader = reader
        self.model = TriageModel(weights) if weights else None
        self.kinds = {kind.id: kind for kind in rules.kinds}
        self.rules = {kind.id: [CompiledRule.of(rule, rules.groups) for rule in kind.rules] for kind in rules.kinds}
        self._firsts = FirstWords(((kind, at), rule.patterns[0][0]) for kind, compiled in self.rules.items()
                                  for at, rule in enumerate(compiled))
        self.calm = {kind.id: [compile_pattern(p, rules.groups) for p in kind.calm] for kind in rules.kinds}
        self.needs = {kind.id: [compile_pattern(p, rules.groups) for p in kind.needs] for kind in rules.kinds}
        unknown = {k for frame in rules.frames.values() for k in frame.kinds} - set(self.kinds)
        unknown |= {k for kind in rules.kinds for rule in kind.rules for k in rule.after} - set(self.kinds)
        if unknown:
            raise ValueError(f"frames name unknown kinds: {sorted(unknown)}")
        frames = [(frame.kinds, CompiledFrame.of(name, frame, rules.groups)) for name, frame in rules.frames.items()]
        self.frames = {kind: [frame for kinds, frame in frames if not kinds or kind in kinds] for kind in self.kinds}
        self._all_frames = [frame for _, frame in frames]
        self._frame_firsts = FirstWords(((at, which), pattern[0]) for at, (_, frame) in enumerate(frames)
                                        for which, pattern in enumerate(frame.patterns))
        # every group of words is a feature of the model too («group:near_person»): a word of the group it never
        # saw in training weighs as the group's words it did
        self._groups = [(name, compile_pattern("@" + name, rules.groups)) for name in rules.groups]
        self._group_firsts = FirstWords((at, steps[0]) for at, (_, steps) in enumerate(self._groups))
        self.quiet = {name: (tuple(compile_pattern(p, rules.groups) for p in shape.patterns),
                             tuple(compile_pattern(p, rules.groups) for p in shape.but))
                      for name, shape in rules.quiet.items()}

    def assess(self, text: str, reading: Optional[Reading] = None) -> Assessment:
        reading = reading or self.reader.read(text[:4000])
        found, language = self._found(reading), reading.language
        if in_latin(text):  # «ne hochu bilshe zhyty», «net sil zhit»: read once more as Cyrillic
            for converted in self._cyrillic_readings(text[:4000]):
                cyrillic = self.reader.read(converted)
                also = self._found(cyrillic)
                if also and set(found) <= set(also):  # it was Ukrainian or Russian after all
                    language = cyrillic.language
                found += [kind for kind in also if kind not in found]
        found.sort(key=lambda kind: (PRIORITY.index(kind) if kind in PRIORITY else len(PRIORITY), kind))
        return Assessment(language, tuple(found), self.lines_for(found))

    def _cyrillic_readings(self, text: str) -> list[str]:
        """Latin letters read the Ukrainian way, or the Russian way when more of its words are Russian words than
        the Ukrainian reading's are Ukrainian ones («net sil zhit»; read the Ukrainian way «vse horosho» is
        «все горошо», words that mean nothing there). None when most of its words are no words at all: English so
        turned («тхис хеат ис киллинг ме») is read as English only, not as typos of Cyrillic words."""
        ukrainian = to_cyrillic(text, self.reader.known)
        russian = to_russian(text, self.reader.russian_infinitive)
        if russian != ukrainian and (known_share(russian, self.reader.ru_known)
                                     > known_share(ukrainian, self.reader.morph.known)):
            ukrainian = russian
        return [ukrainian] if reads_as_words(ukrainian, self.reader.known) else []

    def _found(self, reading: Reading) -> list[str]:
        """The kinds a rule finds in this reading, then those the model adds, then the rules that need a kind found
        first (`after`)."""
        found: list[str] = []
        later = []
        for kind, at in sorted(self._firsts.candidates(reading)):  # the order is the file's; assess() sorts kinds
            rule = self.rules[kind][at]
            if rule.after:
                later.append((kind, rule))
            elif kind not in found and rule.fires(reading, self.frames[kind]):
                found.append(kind)
        if self.model is not None:
            found += [kind for kind in self.model.raised(reading, self.context(reading))
                      if kind in self.kinds and kind not in found and not self._calm(kind, reading)]
        for kind, rule in later:
            if kind not in found and rule.after <= set(found) and rule.fires(reading, self.frames[kind]):
                found.append(kind)
        return found

    def context(self, reading: Reading) -> set[str]:
        """The frames the text has, as features for the model («frame:sport»): a frame next to a rule's match
        voids it, and the model learns what the same words weigh when no rule fired; and the groups of words it has
        («group:near_person»)."""
        out: set[str] = set()
        for at, which in self._frame_firsts.candidates(reading):
            frame = self._all_frames[at]
            name = frame.name
            if "frame:" + name not in out and any(True for _ in matches(frame.patterns[which], reading)):
                out.add("frame:" + name)
        for at in self._group_firsts.candidates(reading):
            name, steps = self._groups[at]
            if any(True for _ in matches(steps, reading)):
                out.add("group:" + name)
        return out

    def quiet_shape(self, reading: Reading) -> Optional[str]:
        """The ordinary shape the text has («чи є група продовженого дня», «це нормально?») with nothing of now or
        fear in it, which silences the model's guess of every kind (never a rule), or None."""
        for name, (patterns, but) in self.quiet.items():
            if _any_match(patterns, reading) and not _any_match(but, reading):
                return name
        return None

    def _calm(self, kind: str, reading: Reading) -> bool:
        """Whether the model's guess of this kind stands down: a calm pattern, a frame or a quiet shape occurs,
        or none it needs does."""
        if _any_match(self.calm.get(kind, ()), reading) or self.quiet_shape(reading):
            return True
        if any(frame.anywhere(reading) for frame in self.frames.get(kind, ())):
            return True
        needed = self.needs.get(kind)
        return bool(needed) and not any(any(True for _ in matches(pattern, reading)) for pattern in needed)

    def explain(self, text: str) -> list[str]:
        """Which rules fired and what the model says, one line each (for `python -m bot triage --explain`)."""
        reading = self.reader.read(text[:4000])
        found = set(self._found(reading))
        out = [f"rule {kind}: {rule.source}" for kind, rules in self.rules.items() for rule in rules
               if rule.after <= found and rule.fires(reading, self.frames[kind])]
        out += [f"rule {kind} voided by frame {frame.name}: {rule.source}"
                for kind, rules in self.rules.items() for rule in rules
                if rule.fires(reading) and not rule.fires(reading, self.frames[kind])
                for frame in self.frames[kind] if not rule.fires(reading, [frame])]
        if self.model is not None:
            if self.quiet_shape(reading):
                out.append(f"model stands down: quiet shape {self.quiet_shape(reading)}")
            for kind, probability in sorted(self.model.probabilities(reading, self.context(reading)).items()):
                threshold = self.model.kinds[kind][1]
                out.append(f"model {kind}: {probability:.2f} (threshold {threshold:.2f})")
        return out

    def lines_for(self, kinds: Iterable[str]) -> tuple[str, ...]:
        """The lines of these kinds, most urgent kind first, each number once."""
        ordered = sorted((k for k in kinds if k in self.kinds),
                         key=lambda kind: PRIORITY.index(kind) if kind in PRIORITY else len(PRIORITY))
        return tuple(dict.fromkeys(number for kind in ordered for number in self.kinds[kind].lines))

    def detect(self, text: str) -> set[str]:
        return set(self.assess(text).danger)
