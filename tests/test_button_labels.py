"""No button label in dialogs/ is cut with a slice (``text=name[:60]``), which splits a word in the middle
(«Центр надання соціальних посл»): every label that may be too long goes through bot/labels.py `shorten`."""
from __future__ import annotations

import ast
from pathlib import Path

from bot.labels import shorten

ROOT = Path(__file__).resolve().parents[1]
BUTTONS = {"InlineKeyboardButton", "KeyboardButton"}


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def sliced_labels(source: str, filename: str) -> list[str]:
    """Where a button's `text=` holds a slice of a string (`x[:n]`), as "file:line"."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not (isinstance(node, ast.Call) and _name(node.func) in BUTTONS):
            continue
        for keyword in node.keywords:
            if keyword.arg != "text":
                continue
            for part in ast.walk(keyword.value):
                if isinstance(part, ast.Subscript) and isinstance(part.slice, ast.Slice):
                    found.append(f"{filename}:{part.lineno}")
    return found


def test_the_check_finds_a_sliced_label() -> None:
    source = ("InlineKeyboardButton(text='🏛 ' + name[:50], callback_data='x')\n"
              "KeyboardButton(text=f'№ {n} · {topic}'[:60])\n"
              "InlineKeyboardButton(text=shorten(name, 50), callback_data=data[:64])\n")
    assert sliced_labels(source, "example.py") == ["example.py:1", "example.py:2"]


def test_no_button_label_in_dialogs_is_cut_with_a_slice() -> None:
    found = []
    for path in sorted((ROOT / "dialogs").rglob("*.py")):
        found += sliced_labels(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "use bot.labels.shorten for these button labels: " + ", ".join(found)


def test_an_institution_name_on_a_button_ends_at_a_word() -> None:
    name = "Центр надання соціальних послуг Луцької міської територіальної громади"
    label = shorten(name, 50)
    assert label.endswith("…") and len(label) <= 50
    assert name.startswith(label[:-1]) and name[len(label) - 1] == " "  # the next character is a space
