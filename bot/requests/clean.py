"""What residents type that staff read as names and numbers: without the characters that hide or reorder text.

Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) can make «+380 67…» read as another
number or put a name's letters in another order; control characters and other invisible format characters
(zero-width spaces and joiners, the byte order mark, soft hyphens) can hide words. Letters, digits, spaces and
punctuation of any language stay as they are.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Optional

PHONE = re.compile(r"^(?:\+?38)?0(\d{9})$")


def clean_text(text: Optional[str]) -> str:
    """`text` without format characters (Unicode category Cf: bidi controls, zero-width characters, …), with
    control characters (Cc: line breaks, tabs, …) and runs of white space made one space."""
    if not text:
        return ""
    kept = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text
                   if unicodedata.category(ch) != "Cf")
    return " ".join(kept.split())


def ukrainian_phone(text: Optional[str]) -> Optional[str]:
    """A Ukrainian number in any usual spelling as +380XXXXXXXXX, or None when it is not one."""
    digits = re.sub(r"[\s()\-.]", "", clean_text(text))
    match = PHONE.match(digits)
    return f"+380{match.group(1)}" if match else None
