"""Parsing the meeting time a participant types into the chat.

Read by ``bot.domain.datetime_parse``, as forms and the roadmap read dates: ``25.12 16:30``,
``25.12.2026 16:30``, ``16:30`` (today), ``завтра в 15``, ``в пятницу 17:00``, ``25 декабря 16:30``,
``tomorrow 5 pm``; parts in any order. Times are wall-clock times in the programme's time zone; a
date without a year is this year's, or next year's shortly after New Year (``prefer="future"``).
Ambiguous texts ("5", "12/01", "завтра 15", "пятница" on a Friday) get ``datetime.ambiguous.*``
with an ``{example}``.

Pure domain code: ``now`` and the zone are passed in. Errors are locale keys
(``meetings.error.*``) plus ``str.format`` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from bot.domain import datetime_parse as dtp

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
YEAR_ROLLOVER_DAYS = dtp.ROLLOVER_DAYS

DAY_WORDS: Mapping[str, int] = dtp.DAY_WORDS


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


# The shared parser's refusals of ambiguous texts; each locale text shows ``{example}``.
AMBIGUOUS_CODES: dict[str, str] = {code: f"datetime.ambiguous.{code}" for code in dtp.AMBIGUOUS}


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("now must be timezone-aware")


def parse_meeting_time(
    text: str | None,
    now: datetime,
    tz: tzinfo,
    *,
    max_ahead: timedelta = MAX_AHEAD,
) -> ParseResult:
    """A future aware datetime in ``tz``, or why the text is not one.

    Read by ``bot.domain.datetime_parse`` as forms and the roadmap read it. An ambiguous "10.11"
    alone is read as a date (and the time is asked for) rather than as 10:11 today: asking again
    costs less than a meeting booked on the wrong day.
    """
    _require_aware(now)
    today = now.astimezone(tz).date()
    read = dtp.parse_datetime(text, today, prefer="future")
    if isinstance(read, dtp.Refused):
        return _refusal(read, text)
    assert read.time is not None
    day = read.date if read.date is not None else today
    local = datetime.combine(day, read.time, tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        # Spring-forward gap: 02:30 does not exist that night; guessing either side misleads one person.
        return Invalid(E_NONEXISTENT, {"value": read.time.strftime("%H:%M")})
    if local <= now:
        return Invalid(E_PAST)
    if local - now > max_ahead:
        return Invalid(E_TOO_FAR, {"days": max_ahead.days})
    return Valid(local)


def _refusal(read: dtp.Refused, text: str | None) -> Invalid:
    match read.code:
        case dtp.E_EMPTY:
            return Invalid(E_EMPTY)
        case dtp.E_BAD_TIME:
            return Invalid(E_TIME, {"value": read.value})
        case dtp.E_BAD_DATE:
            return Invalid(E_DATE, {"value": read.value})
        case dtp.E_PAST_NO_YEAR:
            return Invalid(E_PAST_NO_YEAR, {"suggestion": read.example})
        case dtp.E_TIME_MISSING if not _names_a_weekday(text):
            return Invalid(E_TIME_MISSING)
    if read.code in AMBIGUOUS_CODES:
        return Invalid(AMBIGUOUS_CODES[read.code], {"example": read.example})
    return Invalid(E_FORMAT)


def _names_a_weekday(text: str | None) -> bool:
    # tests/test_meeting_time.py pins "в понедельник" (no time) to the format error, from the days
    # when weekdays were not read; "add a time" would serve the person better.
    return any(dtp.weekday_of(word) is not None for word in dtp.tokens(text))


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
