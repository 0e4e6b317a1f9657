"""One reading of the dates and times people type, for meetings, forms and the roadmap alike.

Read: "25.12", "25.12.2026", "25.12.26", "2026-12-25", "25 декабря", "25 December", "December 25",
"сегодня" / "завтра" / "послезавтра" (today / tomorrow), weekdays ("в пятницу", "пятница", "пт",
"friday", "fri"); times "17:00", "17.00", "в 15", "15 ч", "5 pm"; and a date with a time in either
order ("в пятницу 17:00", "25 декабря 16:30", "завтра в 15", "25.12 16:30").

A date without a year takes it from ``prefer``:

* ``"nearest"`` (forms, the roadmap): this year's date, or next year's when this year's has passed
  and next year's is at most ``ROLLOVER_DAYS`` away — "05.01" typed in late December is next
  January; typed in March it is the January just gone.
* ``"future"`` (meetings): the same reading, but a date that has passed this year and is too far
  from next year's is refused with next year's date as the example, rather than guessed.
* ``"past"`` (a birth date): the last such date on or before today.

Refused with an example, because either reading would mislead someone: a bare "5" (a day or an
hour?), "12/01" (the 12th of January, or December the 1st as an English speaker writes it), a
weekday that is today ("пятница" on a Friday: today or in a week?), "в 5" (five in the morning or
in the evening?) and a bare "15" beside a date ("завтра 15": the hour or a typo?).

Pure: ``today`` is passed in, no clock, no zone, no Telegram. Codes are this module's own; every
caller maps them onto its locale keys.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Literal

Prefer = Literal["future", "nearest", "past"]

E_EMPTY = "empty"
E_FORMAT = "format"
E_BAD_DATE = "bad_date"
E_BAD_TIME = "bad_time"
E_TIME_MISSING = "time_missing"
E_DATE_ONLY = "date_only"  # a time where only a date is asked for
E_RELATIVE = "relative"  # "завтра" where there is no today to count from
E_PAST_NO_YEAR = "past_no_year"
E_AMBIGUOUS_NUMBER = "ambiguous_number"
E_AMBIGUOUS_SLASH = "ambiguous_slash"
E_AMBIGUOUS_WEEKDAY = "ambiguous_weekday"
E_AMBIGUOUS_HOUR = "ambiguous_hour"
E_AMBIGUOUS_HALF_DAY = "ambiguous_half_day"
AMBIGUOUS: tuple[str, ...] = (
    E_AMBIGUOUS_NUMBER,
    E_AMBIGUOUS_SLASH,
    E_AMBIGUOUS_WEEKDAY,
    E_AMBIGUOUS_HOUR,
    E_AMBIGUOUS_HALF_DAY,
)

# How far past New Year a date without a year may roll ("05.01" typed on 20 December).
ROLLOVER_DAYS = 92
# "в 5" is five in the morning to some and five in the afternoon to others; "в 8" is not.
_HALF_DAY_HOURS = range(1, 8)

DAY_WORDS: Mapping[str, int] = {
    "сегодня": 0,
    "today": 0,
    "завтра": 1,
    "tomorrow": 1,
    "послезавтра": 2,
}
_WEEKDAYS: tuple[tuple[int, str], ...] = (
    (0, r"понедельник[а]?|пн|monday|mon"),
    (1, r"вторник[а]?|вт|tuesday|tue|tues"),
    (2, r"сред[аеуы]|ср|wednesday|wed"),
    (3, r"четверг[а]?|чт|thursday|thu|thur|thurs"),
    (4, r"пятниц[аеуы]|пт|friday|fri"),
    (5, r"суббот[аеуы]|сб|saturday|sat"),
    (6, r"воскресень[еяю]|вс|sunday|sun"),
)
_MONTHS: tuple[tuple[int, str], ...] = (
    (1, r"январ[ьяе]|янв|january|jan"),
    (2, r"феврал[ьяе]|фев|февр|february|feb"),
    (3, r"март[ае]?|мар|march|mar"),
    (4, r"апрел[ьяе]|апр|april|apr"),
    (5, r"ма[йяе]|may"),
    (6, r"июн[ьяе]?|june|jun"),
    (7, r"июл[ьяе]?|july|jul"),
    (8, r"август[ае]?|авг|august|aug"),
    (9, r"сентябр[ьяе]|сен|сент|september|sep|sept"),
    (10, r"октябр[ьяе]|окт|october|oct"),
    (11, r"ноябр[ьяе]|ноя|нояб|november|nov"),
    (12, r"декабр[ьяе]|дек|december|dec"),
)
_WEEKDAY_RES = tuple((n, re.compile(p)) for n, p in _WEEKDAYS)
_MONTH_RES = tuple((n, re.compile(p)) for n, p in _MONTHS)
_AT_WORDS = frozenset({"в", "во", "at", "к"})
_SKIPPED = frozenset({"on", "г", "года", "год", "the", "of", "this", "этот", "эту", "этой"})
_HOUR_WORDS = frozenset({"ч", "час", "часа", "часов", "h", "o'clock", "oclock"})
_HALF_DAY_WORDS = {"am": 0, "a.m": 0, "утра": 0, "pm": 12, "p.m": 12, "вечера": 12, "дня": 12}

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$", re.ASCII)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(am|pm)?$", re.ASCII)
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{2})$", re.ASCII)  # "16.30" a time, "10.11" a date
_DMY = re.compile(r"^(\d{1,2})([./])(\d{1,2})(?:\2(\d{4}|\d{2}))?$", re.ASCII)
_HOUR_SUFFIX = re.compile(r"^(\d{1,2})(ч|h|am|pm)$", re.ASCII)
_NUMBER = re.compile(r"^\d{1,2}$", re.ASCII)
_YEAR = re.compile(r"^\d{4}$", re.ASCII)
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|-?е|-?го)$", re.ASCII)
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Parsed:
    """What the text said: a date, a time, or both. ``year_given`` is False when the year was inferred."""

    date: date | None
    time: time | None
    year_given: bool = True


@dataclass(frozen=True)
class Refused:
    """Why the text is not read. ``example`` shows how to write it unambiguously; ``value`` is the
    offending part (a time "25:61", a date "31.02")."""

    code: str
    example: str = ""
    value: str = ""


Result = Parsed | Refused


# --- atoms: one meaningful piece of the text --------------------------------------------------------


@dataclass(frozen=True)
class _Atom:
    kind: str  # day, weekday, date, time, dotted, bare
    raw: str
    a: int = 0  # day shift, weekday, day, hour, the first number
    b: int = 0  # month, minute, the second number
    year: int | None = None
    at: bool = False  # a bare number written after "в"/"at"


def _month(word: str) -> int | None:
    return next((n for n, pattern in _MONTH_RES if pattern.fullmatch(word)), None)


def weekday_of(word: str) -> int | None:
    """0 (Monday) to 6 for a weekday's name or abbreviation, Russian or English; None otherwise."""
    return next((n for n, pattern in _WEEKDAY_RES if pattern.fullmatch(word)), None)


def _full_year(text: str) -> int:
    return int(text) + (2000 if len(text) == 2 else 0)


def tokens(text: str | None) -> list[str]:
    cleaned = (text or "").replace("\u00a0", " ").replace("ё", "е").strip().lower()
    # Trailing dots come from "25.12." and "10:00." alike; "г." from "25.12.2026 г.".
    found = [t.rstrip(".") for t in _SEPARATORS.split(cleaned) if t]
    return [t for t in found if t]


def _atoms(words: list[str]) -> list[_Atom] | Refused:
    atoms: list[_Atom] = []
    at = False
    i = 0
    while i < len(words):
        word, following = words[i], words[i + 1 : i + 3]
        i += 1
        if word in _AT_WORDS:
            at = True
            continue
        if word in _SKIPPED:
            continue
        number = _ORDINAL.match(word)
        if number:
            word = number.group(1)
        if word in DAY_WORDS:
            atoms.append(_Atom("day", word, DAY_WORDS[word]))
        elif (weekday := weekday_of(word)) is not None:
            atoms.append(_Atom("weekday", word, weekday))
        elif m := _ISO.match(word):
            atoms.append(_Atom("date", word, int(m[3]), int(m[2]), int(m[1])))
        elif m := _CLOCK.match(word):
            hour, minute = int(m[1]), int(m[2])
            half = following[0] if following and following[0] in _HALF_DAY_WORDS else m[3]
            if half is not None and not m[3]:
                i += 1
            atoms.append(_clock(word, hour, minute, half))
        elif m := _DOTTED.match(word):
            atoms.append(_Atom("dotted", word, int(m[1]), int(m[2])))
        elif m := _DMY.match(word):
            first, second = int(m[1]), int(m[3])
            if m[2] == "/" and first <= 12 and second <= 12 and first != second:
                example = f"{first:02d}.{second:02d}"
                return Refused(E_AMBIGUOUS_SLASH, example, word)
            year = _full_year(m[4]) if m[4] else None
            atoms.append(_Atom("date", word, first, second, year))
        elif m := _HOUR_SUFFIX.match(word):
            atoms.append(_clock(word, int(m[1]), 0, m[2] if m[2] in _HALF_DAY_WORDS else None))
        elif _NUMBER.match(word):
            value = int(word)
            if following and (month := _month(following[0])) is not None:
                i += 1
                year = None
                if len(following) > 1 and _YEAR.match(following[1]):
                    year = int(following[1])
                    i += 1
                atoms.append(_Atom("date", f"{word} {following[0]}", value, month, year))
            elif following and following[0] in _HOUR_WORDS:
                i += 1
                atoms.append(_Atom("time", word, value, 0))
            elif following and following[0] in _HALF_DAY_WORDS:
                i += 1
                atoms.append(_clock(word, value, 0, following[0]))
            else:
                atoms.append(_Atom("bare", word, value, at=at))
        elif (
            word.isascii()
            and (month := _month(word)) is not None
            and following
            and _NUMBER.match(_ORDINAL.sub(r"\1", following[0]))
        ):
            # "December 25", "December 25, 2026"; a Russian "сентябрь 21" is a month of 2021, not a day.
            day_text = _ORDINAL.sub(r"\1", following[0])
            i += 1
            year = None
            if len(following) > 1 and _YEAR.match(following[1]):
                year = int(following[1])
                i += 1
            atoms.append(_Atom("date", f"{word} {day_text}", int(day_text), month, year))
        else:
            return Refused(E_FORMAT)
        at = False
    return atoms


def _clock(raw: str, hour: int, minute: int, half: str | None) -> _Atom:
    if half is None:
        return _Atom("time", raw, hour, minute)
    if not 1 <= hour <= 12:
        return _Atom("time", raw, 99, minute)  # "15 pm": reported as a bad time
    return _Atom("time", raw, hour % 12 + _HALF_DAY_WORDS[half], minute)


def _plausible(roles: tuple[str, ...], atoms: list[_Atom]) -> bool:
    for role, atom in zip(roles, atoms, strict=True):
        if atom.kind != "dotted":
            continue
        if role == "time" and not (atom.a <= 23 and atom.b <= 59):
            return False
        if role == "date" and not (1 <= atom.a <= 31 and 1 <= atom.b <= 12):
            return False
    return True


def _reading(atoms: list[_Atom]) -> tuple[_Atom | None, _Atom | None, _Atom | None] | Refused:
    """At most one date-like and one time-like atom; "10.11" is a date before it is a time."""
    options = [("date", "time") if a.kind == "dotted" else (a.kind,) for a in atoms]
    if sum(len(o) > 1 for o in options) > 2:
        return Refused(E_FORMAT)
    readings = []
    for roles in itertools.product(*options):
        kinds = [
            "time" if r in ("time",) else "date" if r in ("date", "day", "weekday") else r for r in roles
        ]
        if kinds.count("time") > 1 or kinds.count("date") > 1 or kinds.count("bare") > 1:
            continue
        readings.append(roles)
    if not readings:
        return Refused(E_FORMAT)
    roles = next((r for r in readings if _plausible(r, atoms)), readings[0])
    day = next((a for a, r in zip(atoms, roles, strict=True) if r in ("date", "day", "weekday")), None)
    at = next((a for a, r in zip(atoms, roles, strict=True) if r == "time"), None)
    bare = next((a for a, r in zip(atoms, roles, strict=True) if r == "bare"), None)
    if bare is not None and at is not None:
        return Refused(E_FORMAT)
    return day, at, bare


# --- resolving -------------------------------------------------------------------------------------


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def resolve_day_month(day: int, month: int, today: date, prefer: Prefer) -> date | Refused:
    """The date a day and month without a year mean on ``today`` (see the module's docstring)."""
    raw = f"{day:02d}.{month:02d}"
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return Refused(E_BAD_DATE, value=raw)
    this = _safe_date(today.year, month, day)
    if prefer == "past":
        if this is not None and this <= today:
            return this
        previous = _safe_date(today.year - 1, month, day)
        return previous if previous is not None else Refused(E_BAD_DATE, value=raw)
    if this is not None and this >= today:
        return this
    following = _safe_date(today.year + 1, month, day)
    if following is not None and (this is None or (following - today).days <= ROLLOVER_DAYS):
        return following
    if this is None:
        return Refused(E_BAD_DATE, value=raw)  # 29.02 with no leap year this year or next
    if prefer == "nearest" or following is None:
        return this
    return Refused(E_PAST_NO_YEAR, example=f"{following:%d.%m.%Y}", value=raw)


def _resolve_date(atom: _Atom, today: date | None, prefer: Prefer) -> tuple[date, bool] | Refused:
    if atom.kind in ("day", "weekday"):
        if today is None:
            return Refused(E_RELATIVE, value=atom.raw)
        if atom.kind == "day":
            return today + timedelta(days=atom.a), True  # "завтра" is tomorrow whatever the policy
        shift = (atom.a - today.weekday()) % 7
        if shift == 0:
            # Today, or the same day next week? Both are common; a wrong guess books the wrong week.
            other = today + timedelta(days=-7 if prefer == "past" else 7)
            return Refused(E_AMBIGUOUS_WEEKDAY, f"{today:%d.%m} / {other:%d.%m}", atom.raw)
        return today + timedelta(days=shift - 7 if prefer == "past" else shift), True
    day, month = atom.a, atom.b
    if atom.year is not None:
        found = _safe_date(atom.year, month, day) if atom.year >= 1 else None
        return (found, True) if found is not None else Refused(E_BAD_DATE, value=atom.raw)
    if today is None:
        return Refused(E_FORMAT, value=atom.raw)
    resolved = resolve_day_month(day, month, today, prefer)
    if isinstance(resolved, Refused):
        return Refused(resolved.code, resolved.example, atom.raw)
    return resolved, False


def _example_day(atom: _Atom | None, today: date | None) -> str:
    if atom is None:
        return ""
    return atom.raw if atom.kind != "bare" else f"{atom.a:02d}.{(today or date(2000, 1, 1)).month:02d}"


def parse(
    text: str | None,
    today: date | None,
    *,
    prefer: Prefer = "nearest",
    want: Literal["date", "time", "datetime"] = "datetime",
    relative: bool = True,
) -> Result:
    """Read ``text``. ``want="date"`` refuses a time, ``"time"`` a date, ``"datetime"`` needs a time
    and takes the date if there is one (None: the caller's today). ``relative=False`` refuses
    "завтра" and weekdays, for texts read without a today to count from."""
    words = tokens(text)
    if not words:
        return Refused(E_EMPTY)
    atoms = _atoms(words)
    if isinstance(atoms, Refused):
        return atoms
    if not atoms:
        return Refused(E_FORMAT)
    if not relative:
        found = next((a for a in atoms if a.kind in ("day", "weekday")), None)
        if found is not None:
            return Refused(E_RELATIVE, value=found.raw)
    reading = _reading(atoms)
    if isinstance(reading, Refused):
        return reading
    day_atom, time_atom, bare = reading
    if bare is not None:
        return _bare(bare, atoms, today, prefer, want)
    if want == "date" and time_atom is not None:
        return Refused(E_DATE_ONLY, _example_day(day_atom, today), time_atom.raw)
    if want == "time" and day_atom is not None:
        return Refused(E_FORMAT, value=day_atom.raw)
    if want == "datetime" and time_atom is None:
        return Refused(E_TIME_MISSING if day_atom is not None else E_FORMAT)
    if want == "date" and day_atom is None:
        return Refused(E_FORMAT)
    at = None
    if time_atom is not None:
        if not (0 <= time_atom.a <= 23 and 0 <= time_atom.b <= 59):
            return Refused(E_BAD_TIME, value=time_atom.raw)
        at = time(time_atom.a, time_atom.b)
    if day_atom is None:
        return Parsed(None, at)
    resolved = _resolve_date(day_atom, today, prefer)
    if isinstance(resolved, Refused):
        if resolved.code == E_PAST_NO_YEAR and at is not None:
            return Refused(E_PAST_NO_YEAR, f"{resolved.example} {at:%H:%M}", resolved.value)
        return resolved
    return Parsed(resolved[0], at, year_given=resolved[1])


def _bare(bare: _Atom, atoms: list[_Atom], today: date | None, prefer: Prefer, want: str) -> Result:
    """A number on its own: an hour after "в" or where only a time is asked, otherwise refused."""
    others = [a for a in atoms if a is not bare]
    if bare.at or want == "time":
        if not 0 <= bare.a <= 23:
            return Refused(E_BAD_TIME, value=bare.raw)
        if bare.a in _HALF_DAY_HOURS:
            return Refused(E_AMBIGUOUS_HALF_DAY, f"{bare.a:02d}:00 / {bare.a + 12:02d}:00", bare.raw)
        if want == "date":
            return Refused(E_DATE_ONLY, value=bare.raw)
        return parse(
            " ".join([*(a.raw for a in others), f"{bare.a:02d}:00"]),
            today,
            prefer=prefer,
            want="time" if not others else "datetime",
        )
    if others:
        # "завтра 15": the hour, most likely, but "15" beside a date may as well be a day.
        return Refused(E_AMBIGUOUS_HOUR, f"{others[0].raw} в {bare.a:02d}:00", bare.raw)
    month = today.month if today is not None else 1
    return Refused(E_AMBIGUOUS_NUMBER, f"{bare.a:02d}.{month:02d} / {bare.a:02d}:00", bare.raw)


def parse_date(
    text: str | None, today: date | None, *, prefer: Prefer = "nearest", relative: bool = True
) -> Result:
    """A date alone ("25 декабря", "05.01", "завтра", "пт")."""
    return parse(text, today, prefer=prefer, want="date", relative=relative)


def parse_time(text: str | None) -> Result:
    """A time of day alone ("17:00", "в 15", "15 ч", "5 pm")."""
    return parse(text, None, want="time")


def parse_datetime(text: str | None, today: date, *, prefer: Prefer = "future") -> Result:
    """A time, with a date or without (then ``date`` is None: today, to the caller)."""
    return parse(text, today, prefer=prefer, want="datetime")
