from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.domain.meeting_time import (
    E_DATE,
    E_EMPTY,
    E_FORMAT,
    E_NONEXISTENT,
    E_PAST,
    E_PAST_NO_YEAR,
    E_TIME,
    E_TIME_MISSING,
    E_TOO_FAR,
    ERROR_CODES,
    W_AFTER_DEADLINE,
    DeadlineWarning,
    Invalid,
    Valid,
    check_against_deadline,
    parse_meeting_time,
    quick_choices,
)
from bot.i18n import Translator

LOCALES = Path(__file__).resolve().parents[1] / "locales"
MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=MSK)  # a Thursday


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


def parsed(text: str | None, now: datetime = NOW, tz: ZoneInfo = MSK) -> datetime:
    result = parse_meeting_time(text, now, tz)
    assert isinstance(result, Valid), result
    return result.value


def code(text: str | None, now: datetime = NOW, tz: ZoneInfo = MSK) -> str:
    result = parse_meeting_time(text, now, tz)
    assert isinstance(result, Invalid), result
    return result.code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.12 16:30", msk(2026, 12, 25, 16, 30)),
        ("25.12.2026 16:30", msk(2026, 12, 25, 16, 30)),
        ("25.12.26 16:30", msk(2026, 12, 25, 16, 30)),
        ("16:30 25.12", msk(2026, 12, 25, 16, 30)),
        ("25.12 в 16:30", msk(2026, 12, 25, 16, 30)),
        ("25.12.2026 г. в 16:30", msk(2026, 12, 25, 16, 30)),
        ("25/12 16:30", msk(2026, 12, 25, 16, 30)),
        ("25.12, 16:30", msk(2026, 12, 25, 16, 30)),
        ("  25.12 \u00a0 16:30  ", msk(2026, 12, 25, 16, 30)),
        ("5.1 9:05", msk(2027, 1, 5, 9, 5)),  # early January typed in December means next year
        ("16:30", msk(2026, 12, 10, 16, 30)),
        ("12:01", msk(2026, 12, 10, 12, 1)),
        ("завтра 10:00", msk(2026, 12, 11, 10, 0)),
        ("Завтра в 10:00", msk(2026, 12, 11, 10, 0)),
        ("tomorrow 10:00", msk(2026, 12, 11, 10, 0)),
        ("Tomorrow at 10:00", msk(2026, 12, 11, 10, 0)),
        ("10:00 завтра", msk(2026, 12, 11, 10, 0)),
        ("сегодня 18:00", msk(2026, 12, 10, 18, 0)),
        ("today 18:00", msk(2026, 12, 10, 18, 0)),
        ("послезавтра 00:00", msk(2026, 12, 12, 0, 0)),
        ("31.12 23:59", msk(2026, 12, 31, 23, 59)),
        ("01.03 10:00", msk(2027, 3, 1, 10, 0)),  # within the rollover window
        ("16.30", msk(2026, 12, 10, 16, 30)),  # 30 is no month: a dotted time
        ("завтра 16.30", msk(2026, 12, 11, 16, 30)),
        ("25.12 16.30", msk(2026, 12, 25, 16, 30)),
        ("16.30 25.12", msk(2026, 12, 25, 16, 30)),
        ("25.12 12.10", msk(2026, 12, 25, 12, 10)),  # both could be dates: date first, then time
        ("12.10 25.12.2026", msk(2026, 12, 25, 12, 10)),
    ],
)
def test_valid(text: str, expected: datetime) -> None:
    value = parsed(text)
    assert value == expected
    assert value.tzinfo is MSK
    assert value.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize(
    ("text", "expected_code"),
    [
        ("", E_EMPTY),
        ("   ", E_EMPTY),
        (None, E_EMPTY),
        ("hello", E_FORMAT),
        ("в понедельник", E_FORMAT),
        ("10.11", E_TIME_MISSING),  # a date rather than 10:11: asking again beats a wrong day
        ("12.10 13.11 14.12", E_FORMAT),
        ("16:30 17:00", E_FORMAT),
        ("завтра сегодня 10:00", E_FORMAT),
        ("завтра 25.12 10:00", E_FORMAT),
        ("25.12 26.12 10:00", E_FORMAT),
        ("10:5", E_FORMAT),
        ("завтра", E_TIME_MISSING),
        ("25.12", E_TIME_MISSING),
        ("24:00", E_TIME),
        ("10:60", E_TIME),
        ("завтра 99:99", E_TIME),
        ("31.02 10:00", E_DATE),
        ("32.12 10:00", E_DATE),
        ("01.13.2027 10:00", E_DATE),
        ("29.02.2027 10:00", E_DATE),
        ("00.12 10:00", E_DATE),
        ("11:59", E_PAST),
        ("12:00", E_PAST),  # "now" is not a future meeting
        ("сегодня 08:00", E_PAST),
        ("10.12 10:00", E_PAST),
        ("09.12.2026 10:00", E_PAST),
        ("15.06 10:00", E_PAST_NO_YEAR),  # June is not "next year" by default: ask
        ("09.12 10:00", E_PAST_NO_YEAR),
        ("25.12.2030 10:00", E_TOO_FAR),
        ("11.12.2027 12:01", E_TOO_FAR),
    ],
)
def test_invalid(text: str | None, expected_code: str) -> None:
    assert code(text) == expected_code


def test_error_params() -> None:
    assert parse_meeting_time("25:61", NOW, MSK) == Invalid(E_TIME, {"value": "25:61"})
    assert parse_meeting_time("31.02 10:00", NOW, MSK) == Invalid(E_DATE, {"value": "31.02"})
    assert parse_meeting_time("25.12.2030 10:00", NOW, MSK) == Invalid(E_TOO_FAR, {"days": 366})
    assert parse_meeting_time("15.06 в 9:30", NOW, MSK) == Invalid(
        E_PAST_NO_YEAR, {"suggestion": "15.06.2027 09:30"}
    )
    assert parsed("15.06.2027 9:30") == msk(2027, 6, 15, 9, 30)


def test_horizon_boundary() -> None:
    limit = NOW + timedelta(days=366)
    assert parsed(limit.strftime("%d.%m.%Y %H:%M")) == limit
    assert parse_meeting_time("10.12.2027 12:00", NOW, MSK, max_ahead=timedelta(days=30)) == Invalid(
        E_TOO_FAR, {"days": 30}
    )


def test_one_minute_ahead_is_valid() -> None:
    now = msk(2026, 12, 10, 23, 59)
    assert code("23:59", now) == E_PAST
    assert parsed("завтра 00:00", now) == msk(2026, 12, 11, 0, 0)


def test_today_is_the_programme_zone_today() -> None:
    # 22:30 UTC on the 10th is already 01:30 on the 11th in Moscow.
    now = datetime(2026, 12, 10, 22, 30, tzinfo=UTC)
    assert parsed("сегодня 10:00", now) == msk(2026, 12, 11, 10, 0)
    assert parsed("завтра 10:00", now) == msk(2026, 12, 12, 10, 0)
    assert code("01:00", now) == E_PAST


def test_leap_day_without_year() -> None:
    assert parsed("29.02 10:00", msk(2027, 12, 20, 12, 0)) == msk(2028, 2, 29, 10, 0)
    assert code("29.02 10:00", msk(2026, 3, 1, 12, 0)) == E_DATE


def test_nonexistent_local_time_in_dst_gap() -> None:
    now = datetime(2026, 12, 10, 12, 0, tzinfo=BERLIN)
    assert parse_meeting_time("28.03.2027 02:30", now, BERLIN) == Invalid(E_NONEXISTENT, {"value": "02:30"})
    assert parsed("28.03.2027 03:30", now, BERLIN) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)


def test_ambiguous_local_time_takes_the_first_occurrence() -> None:
    now = datetime(2026, 12, 10, 12, 0, tzinfo=BERLIN)
    value = parsed("31.10.2027 02:30", now, BERLIN)
    # Ambiguous wall times never compare equal across zones (PEP 495), hence the explicit conversion.
    assert value.astimezone(UTC) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        parse_meeting_time("16:30", datetime(2026, 12, 10, 12, 0), MSK)


# --- quick choices -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (msk(2026, 12, 10, 12, 0), [date(2026, 12, d) for d in (10, 11, 12, 13)]),  # Thu → Sun
        (msk(2026, 12, 7, 9, 0), [date(2026, 12, d) for d in range(7, 14)]),  # Mon → Sun
        (msk(2026, 12, 12, 9, 0), [date(2026, 12, 12), date(2026, 12, 13)]),  # Sat
        (msk(2026, 12, 13, 9, 0), [date(2026, 12, 13), date(2026, 12, 14)]),  # Sun: tomorrow is Monday
        (datetime(2026, 12, 12, 22, 0, tzinfo=UTC), [date(2026, 12, 13), date(2026, 12, 14)]),
    ],
)
def test_quick_choices(now: datetime, expected: list[date]) -> None:
    assert quick_choices(now, MSK) == expected


# --- deadline check ----------------------------------------------------------------------------


def test_check_against_deadline() -> None:
    deadline = date(2026, 12, 20)
    assert check_against_deadline(msk(2026, 12, 20, 23, 0), deadline) is None
    assert check_against_deadline(msk(2026, 12, 19, 10, 0), deadline) is None
    assert check_against_deadline(msk(2026, 12, 25, 10, 0), None) is None
    assert check_against_deadline(msk(2026, 12, 23, 10, 0), deadline) == DeadlineWarning(
        W_AFTER_DEADLINE, {"deadline": "20.12.2026", "days": 3}
    )
    # 22:30 UTC on the 20th is already the 21st in Moscow.
    late_utc = datetime(2026, 12, 20, 22, 30, tzinfo=UTC)
    assert check_against_deadline(late_utc, deadline) is None
    warning = check_against_deadline(late_utc, deadline, MSK)
    assert warning is not None and warning.params["days"] == 1


# --- locales -----------------------------------------------------------------------------------


def _flatten(node: object, prefix: str = "") -> dict[str, str]:
    if isinstance(node, dict):
        out: dict[str, str] = {}
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: str(node)}


def _catalog(lang: str) -> dict[str, str]:
    return _flatten(yaml.safe_load((LOCALES / lang / "meetings.yaml").read_text(encoding="utf-8")))


# One input per error code, so a new code without a sample (and without a locale entry) fails here.
SAMPLES = {
    E_EMPTY: "",
    E_FORMAT: "hello",
    E_TIME: "25:00",
    E_DATE: "31.02 10:00",
    E_TIME_MISSING: "завтра",
    E_PAST: "11:00",
    E_PAST_NO_YEAR: "15.06 10:00",
    E_TOO_FAR: "01.01.2030 10:00",
}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_code_exists_in_both_locales_and_formats(lang: str) -> None:
    assert _catalog(lang)
    results = [parse_meeting_time(text, NOW, MSK) for text in SAMPLES.values()]
    results.append(parse_meeting_time("28.03.2027 02:30", datetime(2026, 12, 10, tzinfo=BERLIN), BERLIN))
    seen = set()
    for result in results:
        assert isinstance(result, Invalid)
        seen.add(result.code)
        Translator(lang)(result.code, **result.params)
    assert seen == set(ERROR_CODES)
    warning = check_against_deadline(msk(2026, 12, 23, 10, 0), date(2026, 12, 20))
    assert warning is not None
    Translator(lang)(warning.code, **warning.params)


def test_locales_have_the_same_keys() -> None:
    assert _catalog("ru").keys() == _catalog("en").keys()
