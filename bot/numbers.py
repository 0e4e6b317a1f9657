"""One number parser for everything people (or forged buttons) send: ASCII digits only, within a range.

"²".isdigit() is true and int("²") raises; int("٣") is 3 and int("1_0") is 10; a 30-digit id overflows the
database. Nothing typed or clicked reaches int() except through here."""

from __future__ import annotations

import re

# Ids and counts fit in a double's exact range, far inside SQLite's and PostgreSQL's BIGINT.
ID_MAX = 2**53 - 1
_INT = re.compile(r"-?[0-9]{1,16}", re.ASCII)


def parse_int(text: str | None, low: int = 0, high: int = ID_MAX) -> int | None:
    """`text` as an int when it is ASCII digits (optionally a leading minus) within [low, high]; else None.

    Surrounding whitespace is allowed (a command's argument), nothing else: no "+", "_", spaces inside,
    superscripts or other scripts' digits."""
    if text is None:
        return None
    stripped = text.strip()
    if not _INT.fullmatch(stripped):
        return None
    value = int(stripped)
    return value if low <= value <= high else None
