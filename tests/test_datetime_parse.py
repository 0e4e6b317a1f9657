"""One reading of dates and times (issue #18): the shared parser's table, the same words read alike by
meetings, the roadmap and forms, the ambiguous ones refused with an example, format → parse round trips."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import datetime_parse as dtp
from bot.domain import forms
from bot.domain import meeting_time as mt
from bot.domain import roadmap as rm
from bot.domain.grammar import format_date
from bot.i18n import Translator

MSK = ZoneInfo("Europe/Moscow")
TODAY = date(2026, 12, 10)  # a Thursday
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=MSK)
NEXT_MEETING = forms.load_forms()["meeting_feedback"].question("next_meeting")
D = date

DATES = [
    ("25 декабря", D(2026, 12, 25)),
    ("25.12", D(2026, 12, 25)),
    ("25.12.2026", D(2026, 12, 25)),
    ("25.12.26", D(2026, 12, 25)),
    ("25/12", D(2026, 12, 25)),  # 25 is no month: one reading only
    ("2026-12-25", D(2026, 12, 25)),
    ("25 December", D(2026, 12, 25)),
    ("December 25", D(2026, 12, 25)),
    ("December 24th, 2026", D(2026, 12, 24)),
    ("05.01", D(2027, 1, 5)),  # typed in December: next January
    ("5 января", D(2027, 1, 5)),
    ("сегодня", D(2026, 12, 10)),
    ("завтра", D(2026, 12, 11)),
    ("tomorrow", D(2026, 12, 11)),
    ("послезавтра", D(2026, 12, 12)),
    ("в пятницу", D(2026, 12, 11)),
    ("пятница", D(2026, 12, 11)),
    ("пт", D(2026, 12, 11)),
    ("friday", D(2026, 12, 11)),
    ("в понедельник", D(2026, 12, 14)),
    ("во вторник", D(2026, 12, 15)),
    ("в среду", D(2026, 12, 16)),
]
ABSOLUTE = [(text, day) for text, day in DATES if text[0].isdigit() or text[0] in "DЯ"]
RELATIVE = [(text, day) for text, day in DATES if (text, day) not in ABSOLUTE]

TIMES = [
    ("17:00", time(17, 0)),
    ("17.00", time(17, 0)),
    ("в 15", time(15, 0)),
    ("15 ч", time(15, 0)),
    ("15ч", time(15, 0)),
    ("5 pm", time(17, 0)),
    ("5:30 pm", time(17, 30)),
    ("at 9", time(9, 0)),
]

DATETIMES = [
    ("в пятницу 17:00", datetime(2026, 12, 11, 17, 0)),
    ("25 декабря 16:30", datetime(2026, 12, 25, 16, 30)),
    ("завтра в 15", datetime(2026, 12, 11, 15, 0)),
    ("25.12 16:30", datetime(2026, 12, 25, 16, 30)),
    ("16:30 25.12", datetime(2026, 12, 25, 16, 30)),
    ("tomorrow 5 pm", datetime(2026, 12, 11, 17, 0)),
    ("friday at 9", datetime(2026, 12, 11, 9, 0)),
    ("December 25 10:00", datetime(2026, 12, 25, 10, 0)),
    ("05.01 в 10", datetime(2027, 1, 5, 10, 0)),
]

# (text, code, example): what a person is shown instead of a guess.
AMBIGUOUS = [
    ("5", dtp.E_AMBIGUOUS_NUMBER, "05.12 / 05:00"),  # the 5th or five o'clock?
    ("12/01", dtp.E_AMBIGUOUS_SLASH, "12.01"),  # 12 January, or December 1 as English writes it
    ("четверг 17:00", dtp.E_AMBIGUOUS_WEEKDAY, "10.12 / 17.12"),  # Thursday on a Thursday
    ("завтра 15", dtp.E_AMBIGUOUS_HOUR, "завтра в 15:00"),
    ("25.12 15", dtp.E_AMBIGUOUS_HOUR, "25.12 в 15:00"),
    ("завтра в 5", dtp.E_AMBIGUOUS_HALF_DAY, "05:00 / 17:00"),
]


@pytest.mark.parametrize(("text", "expected"), DATES)
def test_a_date_alone(text: str, expected: date) -> None:
    assert dtp.parse_date(text, TODAY) == dtp.Parsed(expected, None, year_given=_has_year(text))


def _has_year(text: str) -> bool:
    # Relative words carry their year; "25.12.26", "2026-12-25" and "December 24th, 2026" write it.
    return not re.search(r"\d", text) or bool(re.search(r"\d{4}|\.\d+\.\d+", text))


@pytest.mark.parametrize(("text", "expected"), TIMES)
def test_a_time_alone(text: str, expected: time) -> None:
    assert dtp.parse_time(text) == dtp.Parsed(None, expected)
    assert dtp.parse_datetime(text, TODAY) == dtp.Parsed(None, expected)


@pytest.mark.parametrize(("text", "expected"), DATETIMES)
def test_a_date_with_a_time(text: str, expected: datetime) -> None:
    read = dtp.parse_datetime(text, TODAY)
    assert isinstance(read, dtp.Parsed), read
    assert (read.date, read.time) == (expected.date(), expected.time())


@pytest.mark.parametrize(("text", "code", "example"), AMBIGUOUS)
def test_ambiguous_texts_are_refused_with_an_example(text: str, code: str, example: str) -> None:
    read = dtp.parse_datetime(text, TODAY)
    assert isinstance(read, dtp.Refused) and (read.code, read.example) == (code, example)


def test_ambiguous_texts_reach_the_meeting_participant_with_the_example() -> None:
    for text, code, example in AMBIGUOUS:
        result = mt.parse_meeting_time(text, NOW, MSK)
        assert result == mt.Invalid(f"datetime.ambiguous.{code}", {"example": example}), text
        for lang in ("ru", "en"):
            assert example in Translator(lang)(result.code, **result.params)


def test_weekday_that_is_today_is_refused_for_every_caller() -> None:
    assert dtp.parse_date("четверг", TODAY).code == dtp.E_AMBIGUOUS_WEEKDAY  # type: ignore[union-attr]
    deadline = rm.parse_deadline("до четверга", TODAY.year, today=TODAY)
    assert isinstance(deadline, rm.Invalid) and deadline.code == rm.E_AMBIGUOUS
    assert deadline.params["example"] == "10.12 / 17.12"


def test_the_year_policies() -> None:
    march = D(2026, 3, 15)
    assert dtp.parse_date("05.01", march, prefer="nearest").date == D(2026, 1, 5)  # type: ignore[union-attr]
    assert dtp.parse_date("05.01", march, prefer="future") == dtp.Refused(
        dtp.E_PAST_NO_YEAR, "05.01.2027", "05.01"
    )
    assert dtp.parse_date("25.12", march, prefer="past").date == D(2025, 12, 25)  # type: ignore[union-attr]
    assert dtp.parse_date("пятница", march, prefer="past").date == D(2026, 3, 13)  # type: ignore[union-attr]
    assert dtp.parse_date("29.02", march) == dtp.Refused(dtp.E_BAD_DATE, value="29.02")
    assert dtp.parse_date("29.02", D(2027, 12, 20)).date == D(2028, 2, 29)  # type: ignore[union-attr]


def test_a_date_question_refuses_a_time_and_no_today_refuses_relative_words() -> None:
    assert dtp.parse_date("25.12 16:30", TODAY).code == dtp.E_DATE_ONLY  # type: ignore[union-attr]
    assert dtp.parse_date("завтра", None).code == dtp.E_RELATIVE  # type: ignore[union-attr]
    assert dtp.parse_date("завтра", TODAY, relative=False).code == dtp.E_RELATIVE  # type: ignore[union-attr]


# --- the same words, the same day, wherever they are typed -------------------------------------------


def _meeting_day(text: str) -> date:
    result = mt.parse_meeting_time(f"{text} 17:00", NOW, MSK)
    assert isinstance(result, mt.Valid), (text, result)
    return result.value.date()


def _roadmap_day(text: str) -> date:
    deadline = rm.parse_deadline(f"до {text}", TODAY.year, today=TODAY)
    assert isinstance(deadline, rm.Deadline) and deadline.kind is rm.DeadlineKind.EXACT, (text, deadline)
    assert deadline.due is not None
    return deadline.due


def _form_day(text: str) -> date:
    answer = forms.parse_text_answer(NEXT_MEETING, text, TODAY)
    assert isinstance(answer, forms.Valid), (text, answer)
    assert isinstance(answer.value, str)
    return date.fromisoformat(answer.value)


@pytest.mark.parametrize(("text", "expected"), ABSOLUTE)
def test_a_date_means_one_day_in_meetings_the_roadmap_and_forms(text: str, expected: date) -> None:
    assert _meeting_day(text) == _roadmap_day(text) == expected
    if "/" in text:  # forms refuse slashes (pinned by tests/test_forms_domain.py): refused, never misread
        assert isinstance(forms.parse_text_answer(NEXT_MEETING, text, TODAY), forms.Invalid)
    else:
        assert _form_day(text) == expected


@pytest.mark.parametrize(("text", "expected"), RELATIVE)
def test_a_relative_day_means_one_day_in_meetings_and_the_roadmap(text: str, expected: date) -> None:
    # Forms still refuse "завтра" and weekdays: tests/test_forms_domain.py::test_date_invalid pins it.
    assert _meeting_day(text) == _roadmap_day(text) == expected
    assert isinstance(forms.parse_text_answer(NEXT_MEETING, text, TODAY), forms.Invalid)


def test_a_date_in_late_december_rolls_into_january_for_every_caller() -> None:
    assert _meeting_day("05.01") == _roadmap_day("05.01") == _form_day("05.01") == D(2027, 1, 5)


def test_the_roadmap_still_reads_its_periods_itself() -> None:
    yearly = rm.parse_deadline("ежегодно, до 30.09", TODAY.year, today=TODAY)
    month = rm.parse_deadline("сентябрь 2026", TODAY.year, today=TODAY)
    assert isinstance(yearly, rm.Deadline) and yearly.kind is rm.DeadlineKind.RECURRING
    assert isinstance(month, rm.Deadline) and (month.start, month.due) == (D(2026, 9, 1), D(2026, 9, 30))
    # "сентябрь 21" is a month of 2021 to a Russian reader, never "September 21".
    short = rm.parse_deadline("сентябрь 21", TODAY.year, today=TODAY)
    assert isinstance(short, rm.Invalid) and short.code == rm.E_AMBIGUOUS_YEAR


# --- round trips ---------------------------------------------------------------------------------------

DAYS = st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31))


@pytest.mark.parametrize("lang", ["ru", "en"])
@given(day=DAYS)
def test_format_date_parses_back_to_the_same_day(lang: str, day: date) -> None:
    written = format_date(Translator(lang), day)
    assert dtp.parse_date(written, TODAY) == dtp.Parsed(day, None), written


@given(day=DAYS, today=st.dates(min_value=D(1950, 1, 1), max_value=D(2090, 12, 31)))
def test_numeric_date_parses_back_to_the_same_day_in_every_caller(day: date, today: date) -> None:
    written = day.strftime("%d.%m.%Y")
    assert dtp.parse_date(written, today) == dtp.Parsed(day, None)
    assert forms.parse_text_answer(NEXT_MEETING, written, today) == forms.Valid(day.isoformat())
    if 2000 <= day.year <= 2099:
        deadline = rm.parse_deadline(written, today=today)
        assert isinstance(deadline, rm.Deadline) and deadline.due == day
