"""py3langid's model for Ukrainian, Russian and English only, derived once from the installed package.

py3langid ships one model of 97 languages: a byte automaton that finds the model's n-grams in a text (39 MB of
transitions once loaded) and a weight per n-gram and language (28 MB). Loading it takes about twice what it
keeps, and the bot asks only uk / ru / en. `derive` writes a model of the three from the installed one:

* the weights of the three languages only;
* n-grams none of the three was seen with (two thirds of them, all with the same smoothed weights) dropped: each
  adds nearly the same to every language's score (−14.9, −15.0 and −14.5 for uk, ru and en);
* the automaton minimised (states that emit the same n-grams on every continuation merged), so the states
  that only tell other languages' n-grams apart are gone: 104,583 → about 47,700 states, two bytes a transition.

The file holds plain arrays, read into `array`s and scored in pure Python (`SmallModel`, as py3langid scores),
so the bot imports neither py3langid nor numpy (16 MB resident) at all.

On the benchmark's phrasings every answer is the full model's (tests/test_language_model.py); on random strings
of mixed scripts a near tie goes the other way now and then. `make setup` derives it into .cache/langid/ (about
10 s, in a process of its own); a process that finds no derived model derives it in a child process on first
use, and when that is not possible loads the full model as before.

    .venv/bin/python -m bot.catalogue.langid_model          # derive into .cache/langid/ unless already there
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import os
import subprocess
import sys
import tempfile
import unicodedata
from array import array
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Optional

LANGUAGES = ("uk", "ru", "en")
FORMAT = 2  # bump when `derive` changes what it writes
MAGIC = b"LANGID-UK-RU-EN\n"
CODES = {"rows": "I", "outputs": "i", "weights": "f"}  # array codes of what the file holds (nextmove: H or I)
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "langid"

log = logging.getLogger(__name__)


def _full_model_file() -> Path:
    """py3langid's model file, found without importing py3langid (which imports numpy)."""
    spec = importlib.util.find_spec("py3langid")
    if spec is None or spec.origin is None:
        raise ImportError("py3langid is not installed")
    return Path(spec.origin).parent / "data" / "model.npz.xz"


def derived_path(folder: Path = CACHE) -> Path:
    """Where the derived model of this py3langid (its version and model file) lives."""
    source = _full_model_file()
    key = f"{metadata.version('py3langid')}|{source.stat().st_size}|{','.join(LANGUAGES)}|{FORMAT}"
    return folder / f"{'-'.join(LANGUAGES)}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.lid"


def _minimise(labels, rows, row_of):
    """Moore's partition refinement of the automaton: states → classes (state 0's class is 0)."""
    import numpy as np

    _, cls = np.unique(labels, return_inverse=True)
    cls = cls.ravel().astype(np.int32)
    count = int(cls.max()) + 1
    while True:
        _, row_sig = np.unique(cls[rows], axis=0, return_inverse=True)
        signature = np.stack([cls, row_sig.ravel().astype(np.int32)[row_of]], axis=1)
        _, refined = np.unique(signature, axis=0, return_inverse=True)
        cls = refined.ravel().astype(np.int32)
        refined_count = int(cls.max()) + 1
        if refined_count == count:
            break
        count = refined_count
    order = np.empty(count, dtype=np.int32)
    first = int(cls[0])
    order[first] = 0
    others = [c for c in range(count) if c != first]
    order[others] = np.arange(1, count, dtype=np.int32)
    return order[cls], count


def derive(target: Path) -> Path:
    """Write the model of LANGUAGES derived from py3langid's full one to `target` (atomically)."""
    import numpy as np
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row, out = load_model(_full_model_file())
    columns = sorted(classes.index(code) for code in LANGUAGES)  # the full model's order: the same ties
    weights = np.asarray(ptc[:, columns], dtype=np.float32)
    del ptc
    values, which, counts = np.unique(weights, axis=0, return_inverse=True, return_counts=True)
    unseen = int(np.argmax(counts))  # the smoothed weight of n-grams none of the languages was seen with
    kept_feature = which.ravel() != unseen
    out = np.asarray(out, dtype=np.int64)
    labels = np.where((out >= 0) & kept_feature[np.maximum(out, 0)], out, -1)
    rows = np.frombuffer(nextmove, dtype=np.uint32 if nextmove.itemsize == 4 else np.uint16).reshape(-1, 256)
    row_of = np.frombuffer(row, dtype=np.uint32 if row.itemsize == 4 else np.uint16).astype(np.int64)
    cls, count = _minimise(labels, rows, row_of)
    first_state = np.zeros(count, dtype=np.int64)
    first_state[cls[::-1]] = np.arange(len(cls))[::-1]
    transitions = cls[rows[row_of[first_state]]]
    state_features = labels[first_state]
    features = np.unique(state_features[state_features >= 0])
    renumber = np.full(len(weights), -1, dtype=np.int64)
    renumber[features] = np.arange(len(features))
    out_feat = np.where(state_features >= 0, renumber[np.maximum(state_features, 0)], -1)
    unique_rows, row_index = np.unique(transitions, axis=0, return_inverse=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    parts = {"nextmove": unique_rows.astype(np.uint16 if count <= 1 << 16 else np.uint32).ravel(),
             "rows": row_index.ravel().astype(np.uint32), "outputs": out_feat.astype(np.int32),
             "weights": weights[features].astype(np.float32).ravel()}
    header = {"classes": [classes[i] for i in columns], "priors": [float(v) for v in pc[columns]],
              "arrays": [[name, part.dtype.char if name == "nextmove" else CODES[name], len(part)]
                         for name, part in parts.items()]}
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".lid", delete=False) as tmp:
        head = json.dumps(header).encode()
        tmp.write(MAGIC + len(head).to_bytes(4, "little") + head)
        for part in parts.values():
            tmp.write(part.tobytes())
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, target)
    return target


class SmallModel:
    """The derived model, scored as py3langid scores with normalised probabilities: the automaton's n-grams
    counted, each language's prior plus log(1 + count) times the n-gram's weight, divided by the square root of
    the text's length in bytes, then a softmax. Pure Python over `array`s: numpy is not needed to read it."""

    def __init__(self, classes: list[str], priors: list[float], nextmove: array, rows: array, outputs: array,
                 weights: array) -> None:
        self.nb_classes = list(classes)
        self.priors = list(priors)
        self.nextmove, self.outputs, self.weights = nextmove, outputs, weights
        self.rowbase = array("I", (row << 8 for row in rows))

    @property
    def states(self) -> int:
        return len(self.rowbase)

    def classify(self, text: str | bytes) -> tuple[str, float]:
        if isinstance(text, str):
            text = unicodedata.normalize("NFC", text.lower() if text.isupper() else text)
            text = text.encode("utf8", errors="surrogatepass")
        nextmove, rowbase, outputs = self.nextmove, self.rowbase, self.outputs
        seen: list[int] = []
        state = 0
        for byte in text:
            state = nextmove[rowbase[state] + byte]
            if outputs[state] >= 0:
                seen.append(outputs[state])
        if not seen:  # py3langid: uniform, the first language
            return self.nb_classes[0], 1.0 / len(self.nb_classes)
        weights = self.weights
        first = second = third = 0.0  # the three languages' sums, in the order of nb_classes
        for feature, count in Counter(seen).items():
            times, base = math.log1p(count), feature * 3
            first += times * weights[base]
            second += times * weights[base + 1]
            third += times * weights[base + 2]
        scale = 1.0 / math.sqrt(len(text) or 1)
        scores = [prior + score for prior, score in zip(self.priors, (first, second, third))]
        top = max(scores)
        probabilities = [math.exp((score - top) * scale) for score in scores]
        best = probabilities.index(max(probabilities))
        return self.nb_classes[best], probabilities[best] / sum(probabilities)


def load_derived(path: Path) -> SmallModel:
    """The derived model, read without numpy and without the full model."""
    with open(path, "rb") as source:
        if source.read(len(MAGIC)) != MAGIC:
            raise ValueError(f"{path}: not a derived language model")
        header = json.loads(source.read(int.from_bytes(source.read(4), "little")))
        parts = {}
        for name, code, length in header["arrays"]:
            parts[name] = array(code)
            parts[name].fromfile(source, length)
    return SmallModel(header["classes"], header["priors"], **parts)


def load_full():
    """py3langid's full model restricted to LANGUAGES, the weights of the others let go (the old way)."""
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Model

    model = Model.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages(list(LANGUAGES))
    model._full_model = (model.nb_ptc, model.nb_pc, model.nb_classes)
    return model


def _derive_aside(path: Path) -> bool:
    """Derive in a child process, so that this one never holds the full model."""
    try:
        done = subprocess.run([sys.executable, "-m", "bot.catalogue.langid_model", "--out", str(path)],
                              capture_output=True, timeout=300, cwd=str(Path(__file__).resolve().parents[2]))
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not derive the language model: %s", exc)
        return False
    if done.returncode != 0:
        log.warning("could not derive the language model: %s", done.stderr.decode(errors="replace")[-500:])
    return done.returncode == 0 and path.exists()


def load(folder: Optional[Path] = None):
    """The language model of LANGUAGES: the derived one (derived first when missing), else the full one."""
    try:
        path = derived_path(folder or CACHE)
        if path.exists() or _derive_aside(path):
            return load_derived(path)
    except Exception as exc:  # a broken cache must not stop the bot: the full model answers the same
        log.warning("the derived language model could not be used (%s); loading py3langid's full model", exc)
    return load_full()


def main(argv: Optional[list[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[args.index("--out") + 1]) if "--out" in args else derived_path()
    if not path.exists():
        derive(path)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
