"""Programme years (cohorts): the title a new programme gets, and the one of the next year after it closes.

Schools count in academic years, written "2025/26" (or "2025–2026"); a title that already names its year is
moved on by one, so "Наставничество, 2025/26" is followed by "Наставничество, 2026/27"."""

from __future__ import annotations

import re
from datetime import date

TITLE_MAX = 200
# An academic year: "2025/26", "2025/2026", "2025-26", "2025 – 2026".
_SPAN = re.compile(r"(?<!\d)(\d{4})(\s*[/\-–—]\s*)(\d{4}|\d{2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# From July on, a programme being set up is for the academic year starting in September.
_NEW_YEAR_MONTH = 7


def academic_year(today: date) -> int:
    """The first calendar year of the academic year a programme created today is for."""
    return today.year if today.month >= _NEW_YEAR_MONTH else today.year - 1


def year_label(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def _fit(title: str, suffix: str) -> str:
    return title[: TITLE_MAX - len(suffix)].rstrip() + suffix


def first_title(base: str, today: date) -> str:
    """A new programme's title: the template's name and the academic year."""
    return _fit(base.strip(), f", {year_label(academic_year(today))}")


def next_title(title: str, closed_on: date) -> str:
    """The title of the cohort that follows a programme year closed on ``closed_on``."""
    spans = list(_SPAN.finditer(title))
    if spans:
        m = spans[-1]
        start, end = int(m.group(1)), m.group(3)
        following = f"{(int(end) + 1) % 100:02d}" if len(end) == 2 else str(int(end) + 1)
        return (title[: m.start()] + f"{start + 1}{m.group(2)}{following}" + title[m.end() :])[:TITLE_MAX]
    years = [m for m in _YEAR.finditer(title) if 1900 < int(m.group(1)) < 2200]
    if years:
        m = years[-1]
        return (title[: m.start()] + str(int(m.group(1)) + 1) + title[m.end() :])[:TITLE_MAX]
    # The next cohort starts right after the close: in the autumn after a spring close, or now.
    return _fit(title.strip(), f", {year_label(closed_on.year)}")
