"""Parsing the meeting time a participant types into the chat.

Accepted (case-insensitive, Russian or English, parts in any order, optional "в"/"at"):
``25.12 16:30``, ``25.12.2026 16:30``, ``25.12.26 16:30``, ``16:30`` (today), ``завтра 16.30``,
``завтра 10:00`` / ``tomorrow 10:00``, ``сегодня 18:00`` / ``today 18:00``,
``послезавтра 12:00``. Times are wall-clock times in the programme's time zone.

Pure domain code: ``now`` and the zone are passed in. Errors are locale keys
(``meetings.error.*``) plus ``str.format`` parameters.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

E_EMPTY = "meetings.error.empty"
E_FORMAT = "meetings.error.format"
E_TIME = "meetings.error.time"
E_DATE = "meetings.error.date"
E_TIME_MISSING = "meetings.error.time_missing"
E_PAST = "meetings.error.past"
E_PAST_NO_YEAR = "meetings.error.past_no_year"
E_TOO_FAR = "meetings.error.too_far"
E_NONEXISTENT = "meetings.error.nonexistent_time"
W_AFTER_DEADLINE = "meetings.warning.after_deadline"

ERROR_CODES: tuple[str, ...] = (
    E_EMPTY,
    E_FORMAT,
    E_TIME,
    E_DATE,
    E_TIME_MISSING,
    E_PAST,
    E_PAST_NO_YEAR,
    E_TOO_FAR,
    E_NONEXISTENT,
)

MAX_AHEAD = timedelta(days=366)
# "05.01" typed in late December means next January; typed in March it is a typo for a past date,
# and silently booking a meeting ten months ahead would be worse than asking again.
YEAR_ROLLOVER_DAYS = 92

DAY_WORDS: Mapping[str, int] = {
    "сегодня": 0,
    "today": 0,
    "завтра": 1,
    "tomorrow": 1,
    "послезавтра": 2,
}
FILLER_WORDS = frozenset({"в", "во", "at", "on", "г"})

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# "16.30" is how many people write a time in Russian, and "10.11" how they write a date.
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{2})$")
_DATE = re.compile(r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?$")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Valid:
    value: datetime


@dataclass(frozen=True)
class Invalid:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


ParseResult = Valid | Invalid


@dataclass(frozen=True)
class DeadlineWarning:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reading:
    """One interpretation of the tokens: at most a day word or a date, and at most a time."""

    day_shift: int | None = None
    date_token: str | None = None
    time_token: str | None = None

    def plausible(self) -> bool:
        # Range checks only; "31.02" passes here and is reported as a bad date later.
        if self.time_token is not None:
            hour, minute = _split(self.time_token)
            if hour > 23 or minute > 59:
                return False
        if self.date_token is not None:
            day, month = _split(self.date_token)
            if not (1 <= day <= 31 and 1 <= month <= 12):
                return False
        return True


def _split(token: str) -> tuple[int, int]:
    first, second = re.split(r"[:./]", token)[:2]
    return int(first), int(second)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def _tokens(text: str) -> list[str]:
    # Trailing dots come from "25.12." and "10:00." alike; "г." from "25.12.2026 г.".
    cleaned = text.replace("\u00a0", " ").strip().lower()
    tokens = [t.rstrip(".") for t in _SEPARATORS.split(cleaned) if t]
    return [t for t in tokens if t and t not in FILLER_WORDS]


def _readings(tokens: list[str]) -> list[_Reading] | None:
    """Every structurally possible reading, date-before-time preferred; None for garbage."""
    options: list[tuple[str, ...]] = []
    for token in tokens:
        if token in DAY_WORDS:
            options.append(("day",))
        elif _TIME.match(token):
            options.append(("time",))
        elif _DOTTED.match(token):
            options.append(("date", "time"))
        elif _DATE.match(token):
            options.append(("date",))
        else:
            return None
    if sum(len(o) > 1 for o in options) > 2:
        return None
    readings = []
    for roles in itertools.product(*options):
        if roles.count("time") > 1 or roles.count("day") + roles.count("date") > 1:
            continue
        reading = _Reading()
        for token, role in zip(tokens, roles, strict=True):
            if role == "day":
                reading = replace(reading, day_shift=DAY_WORDS[token])
            elif role == "date":
                reading = replace(reading, date_token=token)
            else:
                reading = replace(reading, time_token=token)
        readings.append(reading)
    return readings or None


def parse_meeting_time(
    text: str | None,
    now: datetime,
    tz: tzinfo,
    *,
    max_ahead: timedelta = MAX_AHEAD,
) -> ParseResult:
    """A future aware datetime in ``tz``, or why the text is not one.

    An ambiguous "10.11" alone is read as a date (and the time is asked for) rather than as 10:11
    today: asking again costs less than a meeting booked on the wrong day.
    """
    _require_aware(now)
    tokens = _tokens(text or "")
    if not tokens:
        return Invalid(E_EMPTY)
    readings = _readings(tokens)
    if readings is None:
        return Invalid(E_FORMAT)
    reading = next((r for r in readings if r.plausible()), readings[0])

    if reading.time_token is None:
        has_day = reading.day_shift is not None or reading.date_token is not None
        return Invalid(E_TIME_MISSING if has_day else E_FORMAT)
    hour, minute = _split(reading.time_token)
    if hour > 23 or minute > 59:
        return Invalid(E_TIME, {"value": reading.time_token})
    at = time(hour, minute)

    today = now.astimezone(tz).date()
    year_given = False
    if reading.date_token is not None:
        match = _DATE.match(reading.date_token)
        assert match is not None
        year_given = match.group(3) is not None
        day = _resolve_date(match, today)
        if day is None:
            return Invalid(E_DATE, {"value": reading.date_token})
    else:
        day = today + timedelta(days=reading.day_shift or 0)

    local = datetime.combine(day, at, tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        # Spring-forward gap: 02:30 does not exist that night; guessing either side misleads one person.
        return Invalid(E_NONEXISTENT, {"value": at.strftime("%H:%M")})
    if local <= now:
        if reading.date_token is not None and not year_given and day < today:
            suggestion = f"{day.day:02d}.{day.month:02d}.{day.year + 1} {at:%H:%M}"
            return Invalid(E_PAST_NO_YEAR, {"suggestion": suggestion})
        return Invalid(E_PAST)
    if local - now > max_ahead:
        return Invalid(E_TOO_FAR, {"days": max_ahead.days})
    return Valid(local)


def _resolve_date(match: re.Match[str], today: date) -> date | None:
    day, month = int(match.group(1)), int(match.group(2))
    year_text = match.group(3)
    if year_text is not None:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
        try:
            return date(year, month, day)
        except ValueError:
            return None
    try:
        candidate = date(today.year, month, day)
    except ValueError:
        candidate = None
    if candidate is not None and candidate >= today:
        return candidate
    try:
        next_year = date(today.year + 1, month, day)
    except ValueError:
        return candidate  # 29.02 in a non-leap year is invalid either way
    if candidate is None or (next_year - today).days <= YEAR_ROLLOVER_DAYS:
        return next_year
    # A past date this year: report it as past, not as malformed.
    return candidate


def quick_choices(now: datetime, tz: tzinfo) -> list[date]:
    """Days to offer as buttons: today, tomorrow and the rest of this week (through Sunday)."""
    _require_aware(now)
    today = now.astimezone(tz).date()
    last = max(today + timedelta(days=1), today + timedelta(days=6 - today.weekday()))
    return [today + timedelta(days=n) for n in range((last - today).days + 1)]


def check_against_deadline(
    starts_at: datetime, deadline: date | None, tz: tzinfo | None = None
) -> DeadlineWarning | None:
    """A warning (not a refusal: the stage may simply run late) when the meeting is after the deadline."""
    if deadline is None:
        return None
    local_day = (starts_at.astimezone(tz) if tz is not None else starts_at).date()
    if local_day <= deadline:
        return None
    return DeadlineWarning(
        W_AFTER_DEADLINE,
        {"deadline": deadline.strftime("%d.%m.%Y"), "days": (local_day - deadline).days},
    )
