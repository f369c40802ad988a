"""`N_`: marks an English message id for `make extract` where the text is translated later, where it is shown (in
the resident's, the group's or a sheet's language). It has no imports, so any module may use it."""
from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message id for extraction; it is translated where it is shown."""
    return message
