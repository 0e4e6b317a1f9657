"""Deadlines exactly as the five seed roadmaps (/work/shared/seeds) write them."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.roadmap import (
    E_ALTERNATIVES,
    E_AMBIGUOUS,
    E_AMBIGUOUS_YEAR,
    E_BAD_DATE,
    E_BAD_YEAR,
    E_EMPTY,
    E_REVERSED,
    E_SEVERAL,
    E_UNREADABLE,
    E_YEAR_MISSING,
    Deadline,
    DeadlineKind,
    Invalid,
    next_due,
    parse_deadline,
)

D = date

# (seed, text, kind, start, due)
FIXED = [
    ("000", "Декабрь 2020 года", DeadlineKind.MONTH, D(2020, 12, 1), D(2020, 12, 31)),
    ("000", "Январь – март 2021 года", DeadlineKind.MONTH, D(2021, 1, 1), D(2021, 3, 31)),
    ("000", "июль-сентябрь 2021 года", DeadlineKind.MONTH, D(2021, 7, 1), D(2021, 9, 30)),
    ("000", "май - сентябрь 2021 года", DeadlineKind.MONTH, D(2021, 5, 1), D(2021, 9, 30)),
    ("000", "сентябрь 2021 года", DeadlineKind.MONTH, D(2021, 9, 1), D(2021, 9, 30)),
    ("000", "первая декада сентября 2021 года", DeadlineKind.DECADE, D(2021, 9, 1), D(2021, 9, 10)),
    ("000", "май 2021 года", DeadlineKind.MONTH, D(2021, 5, 1), D(2021, 5, 31)),
    ("000", "июнь 2021 года", DeadlineKind.MONTH, D(2021, 6, 1), D(2021, 6, 30)),
    ("001", "01.06.2020 - 30.08.2020", DeadlineKind.RANGE, D(2020, 6, 1), D(2020, 8, 30)),
    ("001", "до 01.09.2020", DeadlineKind.EXACT, None, D(2020, 9, 1)),
    ("001", "до 30.06.2020", DeadlineKind.EXACT, None, D(2020, 6, 30)),
    ("001", "до 30.08.2020", DeadlineKind.EXACT, None, D(2020, 8, 30)),
    ("001", "30.08.2020 - 30.09.2024", DeadlineKind.RANGE, D(2020, 8, 30), D(2024, 9, 30)),
    ("001", "30.11.2020 - 30.11.2024", DeadlineKind.RANGE, D(2020, 11, 30), D(2024, 11, 30)),
    ("001", "до 30.09.2020", DeadlineKind.EXACT, None, D(2020, 9, 30)),
    ("001", "30.09.2020 - 31.05.2024", DeadlineKind.RANGE, D(2020, 9, 30), D(2024, 5, 31)),
    ("002", "до 30.05.2022", DeadlineKind.EXACT, None, D(2022, 5, 30)),
    ("002", "до 08.07.2022", DeadlineKind.EXACT, None, D(2022, 7, 8)),
    ("002", "до 02.09.2022г.", DeadlineKind.EXACT, None, D(2022, 9, 2)),
    ("002", "до 10.09.2022", DeadlineKind.EXACT, None, D(2022, 9, 10)),
    ("002", "август 2022 г ", DeadlineKind.MONTH, D(2022, 8, 1), D(2022, 8, 31)),
    ("002", "с 1 по 15 сентября 2022г.\n", DeadlineKind.RANGE, D(2022, 9, 1), D(2022, 9, 15)),
    ("002", " в период с 2022 по 2024 г.г.", DeadlineKind.RANGE, D(2022, 1, 1), D(2024, 12, 31)),
    ("003", "август 2021", DeadlineKind.MONTH, D(2021, 8, 1), D(2021, 8, 31)),
    ("003", "сентябрь 2021", DeadlineKind.MONTH, D(2021, 9, 1), D(2021, 9, 30)),
    ("003", "Сентябрь 2021", DeadlineKind.MONTH, D(2021, 9, 1), D(2021, 9, 30)),
    ("003", "октябрь 2021", DeadlineKind.MONTH, D(2021, 10, 1), D(2021, 10, 31)),
    ("004", "сентябрь 2023", DeadlineKind.MONTH, D(2023, 9, 1), D(2023, 9, 30)),
]

# (seed, text, months, day, start day, since, until)
RECURRING = [
    ("001", "Ежегодно до конца отчетного периода 30.11.", (11,), 30, None, None, None),
    ("001", "30.11.2020 30.11.2021 30.11.2022 30.11.2023 30.11.2024", (11,), 30, None, 2020, 2024),
    (
        "002",
        "с 16 по 30 сентября\nежегодно (в период с 2022 по 2024 г.г.)",
        (9,),
        30,
        16,
        2022,
        2024,
    ),
    ("002", "до 30 октября\nежегодно (в период с 2022 по 2024 г.г.)", (10,), 30, None, 2022, 2024),
    ("002", "Декабрь, июнь в период с 2022 по 2024 г.г.", (12, 6), None, None, 2022, 2024),
    ("003", "Ежегодно, на постоянной основе май", (5,), None, None, None, None),
    ("004", "Ежегодно сентябрь (дополнительно по запросу)", (9,), None, None, None, None),
    ("004", "Ежегодно сентябрь (дополни т п запросу)", (9,), None, None, None, None),
    ("004", "Ежегодно сентябрь, в течение учебного года", (9,), None, None, None, None),
    ("004", "Ежегодно октябрь, в течение учебного года", (10,), None, None, None, None),
    ("004", "Ежегодно май", (5,), None, None, None, None),
    ("brief", "ежегодно сентябрь", (9,), None, None, None, None),
    ("brief", "ежегодно, до 30.11", (11,), 30, None, None, None),
    ("template", "ежегодно, первая декада сентября", (9,), 10, 1, None, None),
    ("template", "ежегодно, третья декада февраля", (2,), None, 21, None, None),
]

OPEN = [
    ("000", "в течение года"),
    ("000", "В течение года"),
    ("002", "по отдельному\nграфику"),
    ("002", "в соответствии со\nсроками реализации\nпрограмм\nнаставничества"),
    ("002", "в течение всего\nпериода внедрения\nЦМН"),
    ("002", "В течение всего периода внедрения ЦМН"),
    ("003", "на постоянной основе"),
    ("003", "На постоянной основе"),
    ("003", "ежегодно"),
    ("003", "Ежегодно, на постоянной основе"),
    ("004", "по необходимости"),
    ("004", "Ежегодно в течение учебного года"),
    ("004", "Постоянно"),
]

INVALID = [
    # Seed 000 gives three documents three dates in one cell; seed 002 offers two deadlines at once.
    ("Декабрь 2020 года Декабрь 2020 года Январь 2021 года", E_SEVERAL),
    ("в соответствии со\nсроками реализации\nпрограмм\nнаставничества или\nмай 2021 г.", E_ALTERNATIVES),
    ("30.11.2020 30.11.2022", E_SEVERAL),
    ("", E_EMPTY),
    ("   ", E_EMPTY),
    ("asdf", E_UNREADABLE),
    ("когда-нибудь потом", E_UNREADABLE),
    ("до пятницы", E_UNREADABLE),
    ("2021 сентябрь", E_UNREADABLE),
    ("30.09.2020 ???", E_UNREADABLE),
    ("сентябрь 123", E_UNREADABLE),
    ("32.01.2020", E_BAD_DATE),
    ("30.02.2021", E_BAD_DATE),
    ("31 сентября 2021", E_BAD_DATE),
    ("ежегодно, до 31.09", E_BAD_DATE),
    ("сентябрь 2202", E_BAD_YEAR),
    ("до 30.09.1920", E_BAD_YEAR),
    ("30.09.2024 - 30.08.2020", E_REVERSED),
    ("с 2024 по 2022", E_REVERSED),
    ("сентябрь", E_YEAR_MISSING),
    ("до 30.11", E_YEAR_MISSING),
    ("до сентября 2021", E_AMBIGUOUS),
    ("ежегодно до 30.11.2020", E_AMBIGUOUS),
    ("сентябрь 21", E_AMBIGUOUS_YEAR),
]


@pytest.mark.parametrize(("seed", "text", "kind", "start", "due"), FIXED)
def test_fixed_seed_deadlines(
    seed: str, text: str, kind: DeadlineKind, start: date | None, due: date
) -> None:
    parsed = parse_deadline(text)
    assert isinstance(parsed, Deadline), (seed, text, parsed)
    assert (parsed.kind, parsed.start, parsed.due) == (kind, start, due)
    assert parsed.text == text.strip()
    assert next_due(parsed, D(2030, 1, 1)) == due


@pytest.mark.parametrize(("seed", "text", "months", "day", "start_day", "since", "until"), RECURRING)
def test_recurring_seed_deadlines(
    seed: str,
    text: str,
    months: tuple[int, ...],
    day: int | None,
    start_day: int | None,
    since: int | None,
    until: int | None,
) -> None:
    parsed = parse_deadline(text)
    assert isinstance(parsed, Deadline), (seed, text, parsed)
    assert parsed.kind is DeadlineKind.RECURRING
    assert (parsed.due, parsed.start) == (None, None)
    got = (
        parsed.recurrence_months,
        parsed.recurrence_day,
        parsed.recurrence_start_day,
        parsed.since_year,
        parsed.until_year,
    )
    assert got == (months, day, start_day, since, until)


@pytest.mark.parametrize(("seed", "text"), OPEN)
def test_open_seed_deadlines(seed: str, text: str) -> None:
    parsed = parse_deadline(text)
    assert isinstance(parsed, Deadline), (seed, text, parsed)
    assert parsed.kind is DeadlineKind.OPEN
    assert (parsed.due, parsed.start, parsed.recurrence_months) == (None, None, ())
    assert next_due(parsed, D(2024, 1, 1)) is None


@pytest.mark.parametrize(("text", "code"), INVALID)
def test_unreadable_deadlines_are_invalid(text: str, code: str) -> None:
    parsed = parse_deadline(text)
    assert isinstance(parsed, Invalid), parsed
    assert parsed.code == code
    if code != E_EMPTY:
        assert parsed.params["text"] == text.strip()


def test_bad_year_names_the_year() -> None:
    assert parse_deadline("сентябрь 2202") == Invalid(E_BAD_YEAR, {"text": "сентябрь 2202", "year": "2202"})


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("до 30.09.20", D(2020, 9, 30)),  # dd.mm.yy reads only one way
        ("сентябрь 21 г.", D(2021, 9, 30)),  # the year marker settles a two-digit year
        ("30.08.22 - 30.09.24", D(2024, 9, 30)),
        ("до 30.09.2020 г.", D(2020, 9, 30)),
        ("2021-09-30", D(2021, 9, 30)),
        ("к 15.10.2023", D(2023, 10, 15)),
        ("не позднее 15.10.2023", D(2023, 10, 15)),
        ("до конца сентября 2021", D(2021, 9, 30)),
        ("в сентябре 2021 года", D(2021, 9, 30)),
        ("вторая декада октября 2021", D(2021, 10, 20)),
        ("3-я декада февраля 2024 г.", D(2024, 2, 29)),
        ("декабрь 2020 - январь 2021", D(2021, 1, 31)),
        ("с 16 сентября по 15 октября 2022", D(2022, 10, 15)),
        ("01.06 - 30.08.2020", D(2020, 8, 30)),
    ],
)
def test_other_common_writings(text: str, due: date) -> None:
    parsed = parse_deadline(text)
    assert isinstance(parsed, Deadline), parsed
    assert parsed.due == due


def test_cross_year_spans_start_in_the_previous_year() -> None:
    months = parse_deadline("декабрь - январь 2021")
    days = parse_deadline("с 20 декабря по 10 января 2021")
    assert isinstance(months, Deadline) and isinstance(days, Deadline)
    assert (months.start, months.due) == (D(2020, 12, 1), D(2021, 1, 31))
    assert (days.start, days.due) == (D(2020, 12, 20), D(2021, 1, 10))


def test_reference_year_fills_a_missing_year() -> None:
    assert parse_deadline("сентябрь", reference_year=2025) == Deadline(
        DeadlineKind.MONTH, "сентябрь", due=D(2025, 9, 30), start=D(2025, 9, 1)
    )
    exact = parse_deadline("до 30.11", reference_year=2025)
    assert isinstance(exact, Deadline) and exact.due == D(2025, 11, 30)
    # A yearly deadline stays yearly: the reference year must not pin it to one year.
    yearly = parse_deadline("ежегодно, до 30.11", reference_year=2025)
    assert isinstance(yearly, Deadline) and yearly.kind is DeadlineKind.RECURRING


def test_start_alone_is_not_a_deadline() -> None:
    # "с 30.09.2020" says when work starts, not when it is due.
    assert isinstance(parse_deadline("с 30.09.2020"), Invalid)


class TestNextDue:
    monitoring = parse_deadline("Декабрь, июнь в период с 2022 по 2024 г.г.")
    yearly_window = parse_deadline("с 16 по 30 сентября ежегодно")

    @pytest.mark.parametrize(
        ("today", "expected"),
        [
            (D(2021, 3, 1), D(2022, 6, 30)),  # before the span: its first occurrence
            (D(2022, 6, 30), D(2022, 6, 30)),  # due today is still due
            (D(2022, 7, 1), D(2022, 12, 31)),
            (D(2023, 1, 1), D(2023, 6, 30)),
            (D(2024, 12, 31), D(2024, 12, 31)),
            (D(2025, 1, 1), None),  # the span is over
        ],
    )
    def test_bounded_recurrence(self, today: date, expected: date | None) -> None:
        assert isinstance(self.monitoring, Deadline)
        assert next_due(self.monitoring, today) == expected

    def test_unbounded_recurrence_rolls_into_next_year(self) -> None:
        assert isinstance(self.yearly_window, Deadline)
        assert next_due(self.yearly_window, D(2026, 9, 30)) == D(2026, 9, 30)
        assert next_due(self.yearly_window, D(2026, 10, 1)) == D(2027, 9, 30)

    def test_end_of_month_and_leap_day(self) -> None:
        may = parse_deadline("ежегодно май")
        leap = parse_deadline("ежегодно, до 29.02")
        assert isinstance(may, Deadline) and isinstance(leap, Deadline)
        assert next_due(may, D(2025, 6, 1)) == D(2026, 5, 31)
        assert next_due(leap, D(2025, 1, 1)) == D(2025, 2, 28)
        assert next_due(leap, D(2027, 3, 1)) == D(2028, 2, 29)

    def test_fixed_deadline_stays_due_after_it_passes(self) -> None:
        # An overdue item must still show its date, not vanish.
        passed = parse_deadline("до 30.09.2020")
        assert isinstance(passed, Deadline)
        assert next_due(passed, D(2024, 1, 1)) == D(2020, 9, 30)
