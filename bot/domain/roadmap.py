"""Roadmap deadlines as curators write them, and the roadmap import from CSV / XLSX.

Russian roadmaps of the target model of mentoring write a deadline as free text: an exact date
("до 30.09.2020"), a date range ("30.08.2020 - 30.09.2024"), a month or a span of months
("сентябрь 2021", "май - сентябрь 2021"), a decade ("первая декада сентября 2021 года"), a yearly
rhythm ("ежегодно сентябрь", "Декабрь, июнь в период с 2022 по 2024 г.г.") or no date at all
("на постоянной основе", "в течение года", "по необходимости"). ``parse_deadline`` turns such text
into a ``Deadline`` or an ``Invalid`` with a locale key (``roadmap.*`` in
``locales/<lang>/roadmap.yaml``) and ``str.format`` parameters. Anything it cannot read with
certainty is ``Invalid``: a wrong reminder date is worse than asking the curator to rephrase.

Pure domain code: no Telegram, no database, no clock.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import PurePath

from bot.domain import datetime_parse as dtp

E_EMPTY = "roadmap.deadline.empty"
E_UNREADABLE = "roadmap.deadline.unreadable"
E_BAD_DATE = "roadmap.deadline.bad_date"
E_BAD_YEAR = "roadmap.deadline.bad_year"
E_YEAR_MISSING = "roadmap.deadline.year_missing"
E_AMBIGUOUS = "roadmap.deadline.ambiguous"
E_AMBIGUOUS_YEAR = "roadmap.deadline.ambiguous_year"
E_ALTERNATIVES = "roadmap.deadline.alternatives"
E_SEVERAL = "roadmap.deadline.several"
E_REVERSED = "roadmap.deadline.reversed"
DEADLINE_ERRORS: tuple[str, ...] = (
    E_EMPTY,
    E_UNREADABLE,
    E_BAD_DATE,
    E_BAD_YEAR,
    E_YEAR_MISSING,
    E_AMBIGUOUS,
    E_AMBIGUOUS_YEAR,
    E_ALTERNATIVES,
    E_SEVERAL,
    E_REVERSED,
)

E_UNSUPPORTED_FORMAT = "roadmap.import.unsupported_format"
E_UNREADABLE_FILE = "roadmap.import.unreadable_file"
E_NO_HEADER = "roadmap.import.no_header"
E_NO_ROWS = "roadmap.import.no_rows"
E_TOO_MANY_ROWS = "roadmap.import.too_many_rows"
E_ACTIVITY_MISSING = "roadmap.import.activity_missing"
E_TOO_LONG = "roadmap.import.too_long"
IMPORT_ERRORS: tuple[str, ...] = (
    E_UNSUPPORTED_FORMAT,
    E_UNREADABLE_FILE,
    E_NO_HEADER,
    E_NO_ROWS,
    E_TOO_MANY_ROWS,
    E_ACTIVITY_MISSING,
    E_TOO_LONG,
)
ERROR_CODES: tuple[str, ...] = DEADLINE_ERRORS + IMPORT_ERRORS

# Years outside this window are typos ("20222", "2202"); the target model dates from 2019.
MIN_YEAR = 2000
MAX_YEAR = 2099
# A real roadmap has a few dozen rows; the caps keep a pasted spreadsheet dump from flooding a chat.
MAX_ROWS = 500
MAX_CELL_CHARS = 2000
# Title lines above the header are common in official documents; the header is looked for this deep.
HEADER_SCAN_ROWS = 10
MAX_COLUMNS = 50


class DeadlineKind(StrEnum):
    EXACT = "exact"
    MONTH = "month"
    RANGE = "range"
    DECADE = "decade"
    RECURRING = "recurring"
    OPEN = "open"


class ItemStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class Deadline:
    """A parsed roadmap deadline.

    ``due`` is the day the item is due (the end of the month, decade or range); ``start`` is the
    first day of the period, None for an exact date. Both are None for ``open`` and ``recurring``
    deadlines: a recurring one is due on every ``recurrence_months`` month, on ``recurrence_day``
    (None: the last day of the month), between ``since_year`` and ``until_year`` when the text
    bounds it; ask ``next_due`` for the next occurrence. ``text`` is the original text.
    """

    kind: DeadlineKind
    text: str
    due: date | None = None
    start: date | None = None
    recurrence_months: tuple[int, ...] = ()
    recurrence_day: int | None = None
    recurrence_start_day: int | None = None
    since_year: int | None = None
    until_year: int | None = None


@dataclass(frozen=True)
class Invalid:
    code: str
    params: Mapping[str, str] = field(default_factory=dict)


def next_due(deadline: Deadline, today: date) -> date | None:
    """The date the item is next due on or after ``today``.

    A fixed deadline returns its ``due`` even when it has passed, so the caller can tell overdue
    items apart; an open one returns None, and so does a recurring one whose last year is over.
    """
    if deadline.kind is DeadlineKind.OPEN:
        return None
    if deadline.kind is not DeadlineKind.RECURRING:
        return deadline.due
    first_year = max(today.year, deadline.since_year or today.year)
    # Every month recurs within a year, so one year past the first always holds the next occurrence.
    last_year = deadline.until_year if deadline.until_year is not None else first_year + 1
    for year in range(first_year, last_year + 1):
        occurrences = sorted(
            _occurrence(year, month, deadline.recurrence_day) for month in deadline.recurrence_months
        )
        for occurrence in occurrences:
            if occurrence >= today:
                return occurrence
    return None


def _occurrence(year: int, month: int, day: int | None) -> date:
    last = _last_day(year, month)
    # 29 February recurs as the 28th in common years rather than vanishing.
    return date(year, month, last if day is None else min(day, last))


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


# --- deadline text -----------------------------------------------------------------------------

_MONTH_WORDS: tuple[tuple[int, str], ...] = (
    (1, r"январ[ьяе]|янв"),
    (2, r"феврал[ьяе]|февр?"),
    (3, r"март[ае]?|мар"),
    (4, r"апрел[ьяе]|апр"),
    (5, r"ма[йяе]"),
    (6, r"июн[ьяе]?"),
    (7, r"июл[ьяе]?"),
    (8, r"август[ае]?|авг"),
    (9, r"сентябр[ьяе]|сент?"),
    (10, r"октябр[ьяе]|окт"),
    (11, r"ноябр[ьяе]|нояб?"),
    (12, r"декабр[ьяе]|дек"),
)
_MONTH_RES = tuple((number, re.compile(pattern)) for number, pattern in _MONTH_WORDS)

_TRANSLATE = str.maketrans({"ё": "е", "–": "-", "—": "-", "‑": "-", "−": "-", "\u00a0": " "})
_PAREN = re.compile(r"\(([^()]*)\)")
# "2022г.", "2024 г.г.", "2021 года", "21 г." — a year marker also makes a two-digit year unambiguous.
_YEAR_MARK = re.compile(
    r"(?<![\d.])\b(\d{4}|\d{2})\s*(?:г\.?\s*г\.?|гг\.?|годов|годы|года|году|год|г\.?)(?![а-я])"
)
_ALTERNATIVES = re.compile(r"\bили\b")
_YEARLY = re.compile(r"\b(?:ежегодно|каждый год)\b")
_OPEN = re.compile(
    r"(?:в течение|на протяжении)\b[^\d]*"
    r"|(?:на )?постоянн(?:о|ой основе)"
    r"|по (?:мере )?необходимости"
    r"|по (?:отдельному |утвержденному )?(?:графику|плану)[^\d]*"
    r"|в соответствии со?\b[^\d]*"
    r"|(?:дополнительно )?по запросу"
    r"|регулярно|систематически|в рабочем порядке"
)
# Wording that carries no date; "до конца отчетного периода 30.11" still means "до 30.11".
_FILLERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bдо конца отчетного периода\b"), " до "),
    (re.compile(r"\bдо конца\b"), " "),
    (re.compile(r"\b(?:на )?постоянн(?:о|ой основе)\b"), " "),
    (re.compile(r"\bв течение (?:всего )?(?:учебного )?года\b"), " "),
    (re.compile(r"\b(?:дополнительно )?по запросу\b"), " "),
    (re.compile(r"\bв период\b"), " "),
    (re.compile(r"\bне (?:позднее|позже)\b"), " до "),
    (re.compile(r"\bк\b"), " до "),
    (re.compile(r"\bв[о]?\b"), " "),
)
_TOKEN = re.compile(
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})(?!\d)"
    r"|(?P<date>\d{1,2}\.\d{1,2}(?:\.(?:\d{4}|\d{2}))?)(?![\d])"
    r"|(?P<decade>(?:перв|втор|трет)[а-я]*\s+декад[а-я]*|[123]\s*-?\s*(?:я|й|ая|ой)?\s+декад[а-я]*)"
    r"|(?P<num>\d+)"
    r"|(?P<word>[а-яa-z]+)"
    r"|(?P<dash>-)"
    r"|(?P<sep>[,;:./])"
    r"|(?P<space>\s+)"
    r"|(?P<junk>.)"
)
_IGNORED_WORDS = frozenset({"и", "г", "гг", "год", "года", "году", "годы"})
_DECADE_ORDINALS = {"п": 1, "в": 2, "т": 3, "1": 1, "2": 2, "3": 3}

_DayMonthYear = tuple[int, int, int | None]


@dataclass(frozen=True)
class _Token:
    # One letter per token turns a whole text into a signature string that regular expressions match:
    # D date, N day number, M month, Y year, X decade, < "до", s "с", - "по" or a dash.
    kind: str
    number: int = 0
    date_parts: _DayMonthYear = (0, 0, None)
    digits: int = 0


def parse_deadline(
    text: object, reference_year: int | None = None, *, today: date | None = None
) -> Deadline | Invalid:
    """Read a roadmap deadline; ``reference_year`` supplies the year a date or month leaves out.

    With ``today`` (a deadline typed in chat), one concrete day is read as meetings and forms read it
    (``bot.domain.datetime_parse``, ``prefer="nearest"``): "до 05.01" typed in December is next
    January, and "до пятницы", "завтра", "25 December" are understood.
    """
    original = "" if text is None else str(text).strip()
    normal = _normalise(original)
    if not normal:
        return Invalid(E_EMPTY)
    if _ALTERNATIVES.search(normal):
        return Invalid(E_ALTERNATIVES, {"text": original})
    if _OPEN.fullmatch(normal):
        return Deadline(DeadlineKind.OPEN, original)
    yearly = bool(_YEARLY.search(normal))
    body = _YEARLY.sub(" ", normal)
    for pattern, replacement in _FILLERS:
        body = pattern.sub(replacement, body)
    concrete = None if yearly else _concrete_day(body, original, reference_year, today)
    tokens = _tokenise(body)
    if concrete is not None:
        result: Deadline | Invalid = concrete
    elif isinstance(tokens, Invalid):
        result = tokens
    elif not tokens:
        # Only "ежегодно" and date-free wording: a yearly duty without a date to remind about.
        result = Deadline(DeadlineKind.OPEN, original)
    elif yearly:
        result = _read_yearly(tokens, original)
    else:
        result = _read_once(tokens, original, reference_year)
    if isinstance(result, Invalid):
        return Invalid(result.code, {"text": original, **result.params})
    return result


def _concrete_day(
    body: str, text: str, reference_year: int | None, today: date | None
) -> Deadline | Invalid | None:
    """One day ("до 30.09.2025", "25 декабря", "до пятницы") through the bot's one date parser; None
    when the text is something else (a month, a range, a decade), which the roadmap reads itself."""
    rest = re.sub(r"^до\s+", "", body.strip())
    anchor = today if today is not None else date(reference_year, 1, 1) if reference_year else None
    read = dtp.parse_date(rest, anchor, prefer="nearest", relative=today is not None)
    if isinstance(read, dtp.Parsed) and read.date is not None:
        invalid = _check_year(read.date.year)
        return invalid or Deadline(DeadlineKind.EXACT, text, due=read.date)
    if isinstance(read, dtp.Refused) and read.code == dtp.E_BAD_DATE:
        return Invalid(E_BAD_DATE)
    if isinstance(read, dtp.Refused) and read.code in dtp.AMBIGUOUS:
        return Invalid(E_AMBIGUOUS, {"example": read.example})
    return None


def _normalise(text: str) -> str:
    lowered = text.lower().translate(_TRANSLATE)
    # A bracket with years bounds the deadline ("(в период с 2022 по 2024 г.г.)"); any other bracket
    # is a remark ("(дополнительно по запросу)").
    unwrapped = _PAREN.sub(lambda m: f" {m.group(1)} " if re.search(r"\d{4}", m.group(1)) else " ", lowered)
    marked = _YEAR_MARK.sub(lambda m: " " + _full_year(m.group(1)) + " ", unwrapped)
    return " ".join(marked.split()).strip(" .,;:")


def _full_year(digits: str) -> str:
    return digits if len(digits) == 4 else f"20{digits}"


def _month_number(word: str) -> int | None:
    for number, pattern in _MONTH_RES:
        if pattern.fullmatch(word):
            return number
    return None


_WORD_TOKENS = {"до": "<", "с": "s", "со": "s", "от": "s", "по": "-"}


def _tokenise(body: str) -> list[_Token] | Invalid:
    tokens: list[_Token] = []
    for match in _TOKEN.finditer(body):
        kind = match.lastgroup
        value = match.group()
        if kind in ("space", "sep"):
            continue
        if kind == "junk":
            return Invalid(E_UNREADABLE)
        if kind == "iso":
            year, month, day = (int(part) for part in value.split("-"))
            tokens.append(_Token("D", date_parts=(day, month, year)))
        elif kind == "date":
            parts = [int(part) for part in value.split(".")]
            year = None
            if len(parts) == 3:
                # dd.mm.yy cannot be read any other way, so the century is safe to assume.
                year = parts[2] + 2000 if parts[2] < 100 else parts[2]
            tokens.append(_Token("D", date_parts=(parts[0], parts[1], year)))
        elif kind == "decade":
            tokens.append(_Token("X", _DECADE_ORDINALS[value[0]]))
        elif kind == "num":
            if len(value) == 4:
                tokens.append(_Token("Y", int(value)))
            elif len(value) <= 2:
                tokens.append(_Token("N", int(value), digits=len(value)))
            else:
                return Invalid(E_UNREADABLE)
        elif kind == "dash":
            tokens.append(_Token("-"))
        else:
            month = _month_number(value)
            if month is not None:
                tokens.append(_Token("M", month))
            elif value in _WORD_TOKENS:
                tokens.append(_Token(_WORD_TOKENS[value]))
            elif value not in _IGNORED_WORDS:
                return Invalid(E_UNREADABLE)
    return tokens


def _signature(tokens: Sequence[_Token]) -> str:
    return "".join(token.kind for token in tokens)


def _numbers(tokens: Sequence[_Token], kind: str) -> list[int]:
    return [token.number for token in tokens if token.kind == kind]


def _dates(tokens: Sequence[_Token]) -> list[_DayMonthYear]:
    return [token.date_parts for token in tokens if token.kind == "D"]


def _check_year(year: int) -> Invalid | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return Invalid(E_BAD_YEAR, {"year": str(year)})
    return None


def _make_date(year: int, month: int, day: int) -> date | Invalid:
    invalid = _check_year(year)
    if invalid:
        return invalid
    try:
        return date(year, month, day)
    except ValueError:
        return Invalid(E_BAD_DATE)


def _month_end(year: int, month: int) -> date | Invalid:
    invalid = _check_year(year)
    return invalid or date(year, month, _last_day(year, month))


def _the_year(tokens: Sequence[_Token], reference_year: int | None) -> int | Invalid:
    years = _numbers(tokens, "Y")
    if years:
        return years[-1]
    if reference_year is None:
        return Invalid(E_YEAR_MISSING)
    return reference_year


def _period(kind: DeadlineKind, text: str, start: date | Invalid, due: date | Invalid) -> Deadline | Invalid:
    if isinstance(start, Invalid):
        return start
    if isinstance(due, Invalid):
        return due
    if start > due:
        return Invalid(E_REVERSED)
    return Deadline(kind, text, due=due, start=start)


def _read_once(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    sig = _signature(tokens)
    if sig.startswith(("<M", "<X")):
        # "до сентября" is read both as "by 1 September" and "by the end of September".
        return Invalid(E_AMBIGUOUS)
    if re.fullmatch(r"<?MN", sig) and tokens[-1].digits == 2:
        return Invalid(E_AMBIGUOUS_YEAR)
    if len(tokens) > 1 and sig == "D" * len(tokens):
        return _read_series(_dates(tokens), text)
    if re.fullmatch(r"(?:MY){2,}", sig):
        pairs = zip(_numbers(tokens, "M"), _numbers(tokens, "Y"), strict=True)
        return _read_series([(0, month, year) for month, year in pairs], text, day_given=False)
    if re.fullmatch(r"M+s?Y-Y", sig):
        # "Декабрь, июнь в период с 2022 по 2024 г.г.": the same months in every year of the span.
        since, until = _numbers(tokens, "Y")
        return _recurring(text, tuple(_numbers(tokens, "M")), None, None, since, until)
    # "с" only opens a range; "с 30.09.2020" alone is a start without an end.
    key = sig[1:] if sig.startswith("s") and "-" in sig else sig
    handler = _ONCE_HANDLERS.get(key)
    if handler is None:
        return Invalid(E_UNREADABLE)
    return handler(tokens, text, reference_year)


def _exact_date(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    day, month, year = _dates(tokens)[0]
    year = year or reference_year
    if year is None:
        return Invalid(E_YEAR_MISSING)
    due = _make_date(year, month, day)
    return due if isinstance(due, Invalid) else Deadline(DeadlineKind.EXACT, text, due=due)


def _exact_words(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    year = _the_year(tokens, reference_year)
    if isinstance(year, Invalid):
        return year
    due = _make_date(year, _numbers(tokens, "M")[0], _numbers(tokens, "N")[0])
    return due if isinstance(due, Invalid) else Deadline(DeadlineKind.EXACT, text, due=due)


def _date_range(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    (d1, m1, y1), (d2, m2, y2) = _dates(tokens)
    end_year = y2 or reference_year
    if end_year is None:
        return Invalid(E_YEAR_MISSING)
    # "01.06 - 30.08.2020": the start borrows the end's year.
    return _period(DeadlineKind.RANGE, text, _make_date(y1 or end_year, m1, d1), _make_date(end_year, m2, d2))


def _day_range(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    # "с 1 по 15 сентября 2022г.", "с 16 сентября по 15 октября 2022"; a December-to-January span
    # starts in the year before.
    first_day, last_day = _numbers(tokens, "N")
    months = _numbers(tokens, "M")
    first_month, last_month = months[0], months[-1]
    end_year = _the_year(tokens, reference_year)
    if isinstance(end_year, Invalid):
        return end_year
    start_year = end_year - 1 if first_month > last_month else end_year
    start = _make_date(start_year, first_month, first_day)
    return _period(DeadlineKind.RANGE, text, start, _make_date(end_year, last_month, last_day))


def _month(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    # "сентябрь 2021", "май - сентябрь 2021", "декабрь 2020 - январь 2021".
    months, years = _numbers(tokens, "M"), _numbers(tokens, "Y")
    first_month, last_month = months[0], months[-1]
    end_year = _the_year(tokens, reference_year)
    if isinstance(end_year, Invalid):
        return end_year
    if len(years) == 2:
        start_year = years[0]
    else:
        start_year = end_year - 1 if first_month > last_month else end_year
    return _period(
        DeadlineKind.MONTH, text, _make_date(start_year, first_month, 1), _month_end(end_year, last_month)
    )


def _decade_days(decade: int, year: int, month: int) -> tuple[int, int]:
    return 1 + 10 * (decade - 1), 10 * decade if decade < 3 else _last_day(year, month)


def _decade(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    (decade,), (month,) = _numbers(tokens, "X"), _numbers(tokens, "M")
    year = _the_year(tokens, reference_year)
    if isinstance(year, Invalid):
        return year
    first, last = _decade_days(decade, year, month)
    return _period(DeadlineKind.DECADE, text, _make_date(year, month, first), _make_date(year, month, last))


def _years(tokens: list[_Token], text: str, reference_year: int | None) -> Deadline | Invalid:
    years = _numbers(tokens, "Y")
    return _period(DeadlineKind.RANGE, text, _make_date(years[0], 1, 1), _make_date(years[-1], 12, 31))


_ONCE_HANDLERS = {
    "D": _exact_date,
    "<D": _exact_date,
    "D-D": _date_range,
    "NM": _exact_words,
    "NMY": _exact_words,
    "<NM": _exact_words,
    "<NMY": _exact_words,
    "N-NM": _day_range,
    "N-NMY": _day_range,
    "NM-NM": _day_range,
    "NM-NMY": _day_range,
    "M": _month,
    "MY": _month,
    "M-M": _month,
    "M-MY": _month,
    "MY-MY": _month,
    "XM": _decade,
    "XMY": _decade,
    "Y": _years,
    "Y-Y": _years,
}


def _read_series(parts: list[_DayMonthYear], text: str, *, day_given: bool = True) -> Deadline | Invalid:
    """Several dates in one cell: a yearly rhythm when they repeat one day in consecutive years.

    "30.11.2020 30.11.2021 30.11.2022" is a final meeting every 30 November; "Декабрь 2020 года
    Декабрь 2020 года Январь 2021 года" lists the dates of different documents and needs its own rows.
    """
    years = [year for _, _, year in parts]
    if len({(day, month) for day, month, _ in parts}) != 1 or None in years:
        return Invalid(E_SEVERAL)
    first, last = years[0] or 0, years[-1] or 0
    if years != list(range(first, first + len(years))):
        return Invalid(E_SEVERAL)
    day, month, _ = parts[0]
    return _recurring(text, (month,), day if day_given else None, None, first, last)


def _recurring(
    text: str,
    months: tuple[int, ...],
    day: int | None,
    start_day: int | None,
    since: int | None,
    until: int | None,
) -> Deadline | Invalid:
    for year in (since, until):
        invalid = _check_year(year) if year is not None else None
        if invalid:
            return invalid
    if since is not None and until is not None and since > until:
        return Invalid(E_REVERSED)
    # Checked against a leap year so "29.02" is accepted; next_due clamps it in common years.
    for month in months:
        if not 1 <= month <= 12:
            return Invalid(E_BAD_DATE)
        last = _last_day(2000, month)
        if any(value is not None and not 1 <= value <= last for value in (day, start_day)):
            return Invalid(E_BAD_DATE)
    if day is not None and start_day is not None and start_day > day:
        return Invalid(E_REVERSED)
    return Deadline(
        DeadlineKind.RECURRING,
        text,
        recurrence_months=tuple(dict.fromkeys(months)),
        recurrence_day=day,
        recurrence_start_day=start_day,
        since_year=since,
        until_year=until,
    )


_YEAR_BOUNDS = re.compile(r"(?:s?Y-Y|sY|-Y)$")


def _read_yearly(tokens: list[_Token], text: str) -> Deadline | Invalid:
    since = until = None
    bounds = _YEAR_BOUNDS.search(_signature(tokens))
    if bounds:
        bound_tokens, tokens = tokens[bounds.start() :], tokens[: bounds.start()]
        years = _numbers(bound_tokens, "Y")
        if bound_tokens[0].kind == "-":
            until = years[0]
        elif len(years) == 1:
            since = years[0]
        else:
            since, until = years
    sig = _signature(tokens)
    months = tuple(_numbers(tokens, "M"))
    if not tokens:
        return Deadline(DeadlineKind.OPEN, text)
    if re.fullmatch(r"M+", sig):
        return _recurring(text, months, None, None, since, until)
    if sig in ("D", "<D"):
        day, month, year = _dates(tokens)[0]
        if year is not None:
            # "ежегодно до 30.11.2020": is 2020 the first year or the only one?
            return Invalid(E_AMBIGUOUS)
        return _recurring(text, (month,), day, None, since, until)
    if sig in ("NM", "<NM"):
        return _recurring(text, months, _numbers(tokens, "N")[0], None, since, until)
    if sig in ("N-NM", "sN-NM"):
        first, last = _numbers(tokens, "N")
        return _recurring(text, months, last, first, since, until)
    if sig == "XM":
        decade = _numbers(tokens, "X")[0]
        first, last = _decade_days(decade, 2001, months[0])
        # The third decade ends with the month, whatever its length in a given year.
        return _recurring(text, months, None if decade == 3 else last, first, since, until)
    if "Y" in sig or "D" in sig:
        return Invalid(E_AMBIGUOUS)
    return Invalid(E_UNREADABLE)


# --- roadmap files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoadmapRow:
    activity: str
    responsible: str | None
    deadline: Deadline
    result: str | None
    section: str | None = None
    row_number: int = 0


@dataclass(frozen=True)
class RowError:
    """``row_number`` is the row as a spreadsheet shows it (header included); None for the whole file."""

    row_number: int | None
    code: str
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportResult:
    items: list[RoadmapRow]
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


_FIELDS = ("activity", "responsible", "deadline", "result")
_REQUIRED = ("activity", "deadline")
# Headers seen in real roadmaps; a header also matches when it starts with an alias and goes on
# ("Документы (мероприятия, ресурсы), закрепляющие результат", "Результат. Вид документа").
_HEADER_ALIASES: Mapping[str, tuple[str, ...]] = {
    "activity": (
        "activity",
        "мероприятие",
        "мероприятия",
        "наименование мероприятия",
        "наименование мероприятий",
    ),
    "responsible": (
        "responsible",
        "ответственный",
        "ответственные",
        "ответственный исполнитель",
        "ответственные исполнители",
        "исполнитель",
        "исполнители",
    ),
    "deadline": (
        "deadline",
        "срок",
        "сроки",
        "срок исполнения",
        "сроки исполнения",
        "срок реализации",
        "сроки реализации",
        "дата",
    ),
    "result": (
        "result",
        "результат",
        "ожидаемый результат",
        "ключевой результат",
        "документ",
        "документы",
        "документация",
    ),
}

TEMPLATE_HEADERS: tuple[str, ...] = ("Мероприятие", "Ответственный", "Срок", "Результат")
# The examples teach by showing, with seed 002's wording; yearly deadlines keep the template from going stale.
TEMPLATE_EXAMPLES: tuple[tuple[str, ...], ...] = (
    (
        "Формирование базы наставляемых",
        "Координатор внедрения ЦМН",
        "с 1 по 15 сентября ежегодно",
        "База наставляемых с перечнем запросов",
    ),
    (
        "Формирование наставнических пар или групп",
        "Куратор программы наставничества",
        "до 30 октября ежегодно",
        "Приказ о закреплении наставнических пар",
    ),
)

_XLSX_SUFFIXES = (".xlsx", ".xlsm")
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_ZIP_MAGIC = b"PK\x03\x04"


def read_roadmap_file(filename: str, data: bytes, reference_year: int | None = None) -> ImportResult:
    """Read a roadmap from CSV or XLSX bytes, reporting every bad row rather than stopping at the first.

    Rows with an activity but neither a deadline nor a responsible person are section headings
    ("2-й этап. Формирование базы наставляемых") and name the section of the rows below them.
    """
    suffix = PurePath(filename or "").suffix.lower()
    if suffix in _XLSX_SUFFIXES or (suffix not in _CSV_SUFFIXES and data.startswith(_ZIP_MAGIC)):
        rows = _xlsx_rows(data)
    elif suffix in _CSV_SUFFIXES:
        rows = _csv_rows(data)
    else:
        rows = Invalid(E_UNSUPPORTED_FORMAT, {"filename": filename or ""})
    if isinstance(rows, Invalid):
        params = {"filename": filename or "", **rows.params}
        return ImportResult(items=[], errors=[RowError(None, rows.code, params)])
    return _read_rows(rows, reference_year)


def _clean(value: str) -> str:
    return " ".join(value.split())


def _header_key(value: str) -> str:
    return " ".join(value.lower().replace("ё", "е").replace(":", " ").split()).strip(" .")


def _match_header(cells: Sequence[str]) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        if not key:
            continue
        for name in _FIELDS:
            if name in columns:
                continue  # the first matching column wins, e.g. "Ключевой результат" before "Документы"
            aliases = _HEADER_ALIASES[name]
            if key in aliases or any(
                key.startswith(alias + " ") or key.startswith(alias + ".") for alias in aliases
            ):
                columns[name] = index
                break
    return columns if all(name in columns for name in _REQUIRED) else None


def _is_column_numbering(cells: Iterable[str]) -> bool:
    # Official tables repeat "1 2 3 4 5" under the header to number the columns.
    filled = [cell for cell in cells if cell]
    return len(filled) >= 2 and all(cell.isdigit() and len(cell) <= 2 for cell in filled)


def _read_rows(rows: Sequence[list[str]], reference_year: int | None) -> ImportResult:
    header_index = None
    columns: dict[str, int] = {}
    for index, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        found = _match_header(cells)
        if found is not None:
            header_index, columns = index, found
            break
    if header_index is None:
        return ImportResult(items=[], errors=[RowError(None, E_NO_HEADER)])
    labels = {name: _clean(rows[header_index][index]) for name, index in columns.items()}
    body = [(number, cells) for number, cells in enumerate(rows, start=1) if number > header_index + 1]
    filled = [(number, cells) for number, cells in body if any(cell.strip() for cell in cells)]
    if len(filled) > MAX_ROWS:
        return ImportResult(items=[], errors=[RowError(None, E_TOO_MANY_ROWS, {"limit": str(MAX_ROWS)})])

    items: list[RoadmapRow] = []
    errors: list[RowError] = []
    section: str | None = None
    for number, cells in filled:
        values = {name: _clean(cells[index]) if index < len(cells) else "" for name, index in columns.items()}
        values.update({name: "" for name in _FIELDS if name not in values})
        if _is_column_numbering(values.values()):
            continue
        too_long = [name for name in _FIELDS if len(values[name]) > MAX_CELL_CHARS]
        if too_long:
            params = {"column": labels[too_long[0]], "limit": str(MAX_CELL_CHARS)}
            errors.append(RowError(number, E_TOO_LONG, params))
            continue
        if not values["activity"]:
            if values["deadline"] or values["responsible"] or values["result"]:
                errors.append(RowError(number, E_ACTIVITY_MISSING))
            continue
        if not values["deadline"] and not values["responsible"]:
            section = values["activity"]
            continue
        deadline = parse_deadline(values["deadline"], reference_year)
        if isinstance(deadline, Invalid):
            errors.append(RowError(number, deadline.code, deadline.params))
            continue
        items.append(
            RoadmapRow(
                activity=values["activity"],
                responsible=values["responsible"] or None,
                deadline=deadline,
                result=values["result"] or None,
                section=section,
                row_number=number,
            )
        )
    if not items and not errors:
        errors.append(RowError(None, E_NO_ROWS))
    return ImportResult(items=items, errors=errors)


def _decode(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        # Excel on Russian Windows still saves "CSV" in cp1251.
        encodings = ("utf-8", "cp1251")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _csv_rows(data: bytes) -> list[list[str]] | Invalid:
    text = _decode(data)
    if text is None:
        return Invalid(E_UNREADABLE_FILE)
    sample = text[:4096]
    # Russian Excel writes ";", most other tools ","; the delimiter that yields a header row wins.
    delimiters = sorted(";,\t", key=lambda d: -sample.count(d))
    fallback: list[list[str]] | None = None
    for delimiter in delimiters:
        try:
            rows = [
                row[:MAX_COLUMNS] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            ]
        except csv.Error:
            continue
        fallback = fallback if fallback is not None else rows
        if any(_match_header(cells) for cells in rows[:HEADER_SCAN_ROWS]):
            return rows
    return fallback if fallback is not None else Invalid(E_UNREADABLE_FILE)


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        # A date typed into Excel arrives as a midnight datetime; written back the Russian way it parses.
        return (
            value.strftime("%d.%m.%Y")
            if value.time() == datetime.min.time()
            else value.strftime("%d.%m.%Y %H:%M")
        )
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes) -> list[list[str]] | Invalid:
    from openpyxl import load_workbook  # imported here: only spreadsheet imports pay for openpyxl

    # openpyxl raises anything from BadZipFile to KeyError on a broken or foreign file; to the curator
    # they all mean the same thing.
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        return Invalid(E_UNREADABLE_FILE)
    try:
        sheet = workbook.worksheets[0]
        rows: list[list[str]] = []
        for values in _limited(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)):
            rows.append([_cell_text(value) for value in values])
        return rows
    except Exception:  # a corrupt sheet can fail anywhere while streaming
        return Invalid(E_UNREADABLE_FILE)
    finally:
        workbook.close()


def _limited(rows: Iterable[Sequence[object]]) -> Iterator[Sequence[object]]:
    # Enough to see MAX_ROWS + 1 filled rows past the header (so the cap is reported), and no more:
    # a sheet can claim a million empty rows.
    budget = HEADER_SCAN_ROWS + 4 * (MAX_ROWS + 1)
    for index, row in enumerate(rows):
        if index >= budget:
            return
        yield row


def roadmap_template_csv() -> bytes:
    """An importable example in the form Russian Excel opens directly: UTF-8 with BOM, ";"."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(TEMPLATE_HEADERS)
    writer.writerows(TEMPLATE_EXAMPLES)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def roadmap_template_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Дорожная карта"
    sheet.append(TEMPLATE_HEADERS)
    for row in TEMPLATE_EXAMPLES:
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCD", (60, 35, 30, 45), strict=True):
        sheet.column_dimensions[letter].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
