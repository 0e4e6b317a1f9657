"""Roadmap import from CSV / XLSX, built from seed 002 (tests/fixtures/roadmaps/build_fixtures.py)."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from bot.domain import roadmap
from bot.domain.roadmap import (
    E_ACTIVITY_MISSING,
    E_ALTERNATIVES,
    E_NO_HEADER,
    E_NO_ROWS,
    E_TOO_LONG,
    E_TOO_MANY_ROWS,
    E_UNREADABLE,
    E_UNREADABLE_FILE,
    E_UNSUPPORTED_FORMAT,
    ERROR_CODES,
    DeadlineKind,
    ImportResult,
    Invalid,
    RowError,
    parse_deadline,
    read_roadmap_file,
    roadmap_template_csv,
    roadmap_template_xlsx,
)
from bot.i18n import Translator

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "roadmaps"
SEED_002_ITEMS = 23


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _csv_bytes(rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def _seed_rows() -> list[list[str]]:
    text = _fixture("seed_002.csv").decode("utf-8-sig")
    return [list(row) for row in csv.reader(io.StringIO(text, newline=""), delimiter=";")]


def _xlsx_bytes(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _check_seed_002(result: ImportResult, first_row: int) -> None:
    assert result.ok, result.errors
    assert len(result.items) == SEED_002_ITEMS
    by_activity = {item.activity: item for item in result.items}

    first = result.items[0]
    assert first.row_number == first_row
    assert (
        first.activity
        == "Утверждение состава рабочей группы по внедрению целевой модели наставничества в 2022 – 2024 гг."
    )
    assert first.responsible == "Алимова Н.Е."
    assert first.result == "Приказ"
    assert first.deadline.kind is DeadlineKind.EXACT and first.deadline.due == date(2022, 5, 30)
    assert first.section is not None and first.section.startswith("Нормативное правовое регулирование")

    mentee_base = by_activity["Формирование базы наставляемых в 2022 - 2023 учебном году"]
    assert (mentee_base.deadline.start, mentee_base.deadline.due) == (date(2022, 9, 1), date(2022, 9, 15))
    assert mentee_base.section is not None and mentee_base.section.startswith("Внедрение целевой модели")

    pairs = by_activity["Формирование наставнических пар или групп"]
    assert pairs.deadline.kind is DeadlineKind.RECURRING
    assert (pairs.deadline.recurrence_months, pairs.deadline.recurrence_day) == ((10,), 30)
    assert (pairs.deadline.since_year, pairs.deadline.until_year) == (2022, 2024)

    training = by_activity["Обучение наставников"]
    assert training.deadline.kind is DeadlineKind.OPEN and training.result is None

    monitoring = by_activity["Сбор результатов мониторинга реализации программ наставничества в Учреждении"]
    assert monitoring.deadline.recurrence_months == (12, 6)

    approval = by_activity["Утверждение дорожной карты по внедрению целевой модели наставничества"]
    assert approval.deadline.due == date(2022, 9, 5)

    # Sub-headings ("6.1. Контроль реализации …") name the section of the rows below them.
    assert (
        result.items[-2].section
        == "Контроль реализации мероприятий по внедрению целевой модели наставничества:"
    )
    assert result.items[-1].activity == "На уровне Учреждения"


def test_csv_fixture_from_seed_002() -> None:
    # Header on row 1, the "1 2 3 4 5" column numbering on row 2, the first section on row 3.
    _check_seed_002(read_roadmap_file("seed_002.csv", _fixture("seed_002.csv")), first_row=4)


def test_xlsx_fixture_from_seed_002() -> None:
    # A title line above the header shifts every row by one; 1.8's deadline is a real date cell.
    _check_seed_002(read_roadmap_file("seed_002.xlsx", _fixture("seed_002.xlsx")), first_row=5)


def test_one_unreadable_row_is_reported_by_its_number() -> None:
    result = read_roadmap_file("seed_002_bad_row.csv", _fixture("seed_002_bad_row.csv"))
    assert not result.ok
    assert len(result.errors) == 1
    error = result.errors[0]
    # Header 1, numbering 2, section 3, rows 1.2–1.9 on 4–11, section 12, rows 2.1–2.6 on 13–18.
    assert (error.row_number, error.code) == (19, E_ALTERNATIVES)
    assert "или май 2021" in error.params["text"]
    # The readable rows are still returned so the caller can show everything at once.
    assert len(result.items) == SEED_002_ITEMS


@pytest.mark.parametrize(
    ("delimiter", "encoding"),
    [(";", "utf-8-sig"), (";", "utf-8"), (",", "utf-8"), (",", "cp1251"), (";", "cp1251"), ("\t", "utf-16")],
)
def test_csv_encodings_and_delimiters(delimiter: str, encoding: str) -> None:
    data = _csv_bytes(_seed_rows(), delimiter=delimiter, encoding=encoding)
    result = read_roadmap_file("roadmap.csv", data)
    assert result.ok, result.errors
    assert len(result.items) == SEED_002_ITEMS
    assert result.items[0].responsible == "Алимова Н.Е."


def test_english_and_russian_headers_case_insensitively() -> None:
    english = [
        ["Activity", "RESPONSIBLE", "Deadline", "Result"],
        ["Встреча", "Куратор", "сентябрь 2025", "Протокол"],
    ]
    russian = [
        ["МЕРОПРИЯТИЕ", "ответственный", "Срок", "Документ"],
        ["Встреча", "Куратор", "сентябрь 2025", ""],
    ]
    for rows in (english, russian):
        result = read_roadmap_file("r.csv", _csv_bytes(rows))
        assert result.ok, result.errors
        assert result.items[0].deadline.due == date(2025, 9, 30)
    assert read_roadmap_file("r.csv", _csv_bytes(russian)).items[0].result is None


def test_only_activity_and_deadline_are_required() -> None:
    result = read_roadmap_file(
        "r.csv", _csv_bytes([["Мероприятие", "Срок"], ["Итоговая встреча", "май 2025"]])
    )
    assert result.ok
    assert (result.items[0].responsible, result.items[0].result) == (None, None)


def test_xlsx_reads_the_first_sheet_with_date_and_number_cells() -> None:
    data = _xlsx_bytes(
        [
            ["Мероприятие", "Ответственный", "Срок", "Результат"],
            ["Назначение куратора", "Директор", date(2025, 9, 1), 12.0],
            [None, None, None, None],
            ["Формирование пар", "Куратор", "до 30 октября ежегодно", None],
        ]
    )
    result = read_roadmap_file("ROADMAP.XLSX", data)
    assert result.ok, result.errors
    assert [item.row_number for item in result.items] == [2, 4]
    assert result.items[0].deadline.due == date(2025, 9, 1)
    assert result.items[0].result == "12"


def test_xlsx_is_recognised_without_its_extension() -> None:
    data = _xlsx_bytes([["Мероприятие", "Срок"], ["Встреча", "май 2025"]])
    assert read_roadmap_file("roadmap", data).ok


def test_reference_year_reaches_every_row() -> None:
    data = _csv_bytes([["Мероприятие", "Срок"], ["Встреча", "сентябрь"]])
    assert read_roadmap_file("r.csv", data).errors[0].code == roadmap.E_YEAR_MISSING
    result = read_roadmap_file("r.csv", data, reference_year=2026)
    assert result.ok and result.items[0].deadline.due == date(2026, 9, 30)


def test_row_errors_are_all_reported() -> None:
    rows = [
        ["Мероприятие", "Ответственный", "Срок", "Результат"],
        ["Встреча", "Куратор", "когда-нибудь", ""],
        ["", "Куратор", "май 2025", ""],
        ["Отчёт", "Куратор", "", ""],
        ["Анкета", "Куратор", "май 2025", "x" * (roadmap.MAX_CELL_CHARS + 1)],
        ["Итоги", "Куратор", "май 2025", ""],
    ]
    result = read_roadmap_file("r.csv", _csv_bytes(rows))
    assert not result.ok
    assert [(e.row_number, e.code) for e in result.errors] == [
        (2, E_UNREADABLE),
        (3, E_ACTIVITY_MISSING),
        (4, roadmap.E_EMPTY),
        (5, E_TOO_LONG),
    ]
    assert result.errors[3].params == {"column": "Результат", "limit": str(roadmap.MAX_CELL_CHARS)}
    assert [item.activity for item in result.items] == ["Итоги"]


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("roadmap.pdf", b"%PDF-1.4", E_UNSUPPORTED_FORMAT),
        ("roadmap.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", E_UNSUPPORTED_FORMAT),
        ("roadmap.xlsx", b"PK\x03\x04 not really a workbook", E_UNREADABLE_FILE),
        ("roadmap.xlsx", b"", E_UNREADABLE_FILE),
        ("roadmap.csv", b"\xef\xbb\xbf\xff\xfe broken", E_UNREADABLE_FILE),
        ("roadmap.csv", "Название;Дата\nВстреча;май 2025\n".encode(), E_NO_HEADER),
        ("roadmap.csv", "Мероприятие;Срок\n;\n".encode(), E_NO_ROWS),
        ("roadmap.csv", b"", E_NO_HEADER),
    ],
)
def test_whole_file_problems(filename: str, data: bytes, code: str) -> None:
    result = read_roadmap_file(filename, data)
    assert not result.ok
    assert result.items == []
    assert result.errors == [RowError(None, code, result.errors[0].params)]
    if code in (E_UNSUPPORTED_FORMAT, E_UNREADABLE_FILE):
        assert result.errors[0].params["filename"] == filename


def test_too_many_rows() -> None:
    rows = [["Мероприятие", "Срок"]] + [[f"Встреча {n}", "май 2025"] for n in range(roadmap.MAX_ROWS + 1)]
    result = read_roadmap_file("r.csv", _csv_bytes(rows))
    assert [(e.row_number, e.code) for e in result.errors] == [(None, E_TOO_MANY_ROWS)]
    rows.pop()
    assert read_roadmap_file("r.csv", _csv_bytes(rows)).ok


@pytest.mark.parametrize(
    ("filename", "build"), [("template.csv", roadmap_template_csv), ("template.xlsx", roadmap_template_xlsx)]
)
def test_templates_import_cleanly(filename: str, build) -> None:
    result = read_roadmap_file(filename, build())
    assert result.ok, result.errors
    assert len(result.items) == 2
    assert [item.deadline.kind for item in result.items] == [DeadlineKind.RECURRING, DeadlineKind.RECURRING]


def test_csv_template_opens_in_russian_excel() -> None:
    data = roadmap_template_csv()
    assert data.startswith(codecs.BOM_UTF8)
    assert data.decode("utf-8-sig").splitlines()[0] == "Мероприятие;Ответственный;Срок;Результат"


def _flatten(tree: dict, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


@pytest.fixture(scope="module")
def locales() -> dict[str, dict[str, str]]:
    return {
        language: _flatten(yaml.safe_load((ROOT / "locales" / language / "roadmap.yaml").read_text("utf-8")))
        for language in ("ru", "en")
    }


def test_locale_files_have_the_same_keys(locales: dict[str, dict[str, str]]) -> None:
    assert set(locales["ru"]) == set(locales["en"])
    assert all(key.startswith("roadmap.") for key in locales["ru"])


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("code", ERROR_CODES)
def test_every_error_code_has_a_message(locales: dict[str, dict[str, str]], language: str, code: str) -> None:
    assert code in locales[language]


PRODUCED_ERRORS = [
    parse_deadline(""),
    parse_deadline("asdf"),
    parse_deadline("сентябрь 2202"),
    parse_deadline("сентябрь"),
    parse_deadline("до сентября 2021"),
    parse_deadline("сентябрь 21"),
    parse_deadline("май или июнь 2021"),
    parse_deadline("30.11.2020 30.11.2022"),
    parse_deadline("30.09.2024 - 30.08.2020"),
    parse_deadline("31.02.2024"),
    *(
        Invalid(error.code, error.params)
        for error in (
            read_roadmap_file("r.pdf", b"").errors
            + read_roadmap_file("r.xlsx", b"PK\x03\x04").errors
            + read_roadmap_file("r.csv", b"x").errors
            + read_roadmap_file("r.csv", "Мероприятие;Срок\n".encode()).errors
            + read_roadmap_file("r.csv", _csv_bytes([["Мероприятие", "Срок"], ["", "май 2025"]])).errors
            + read_roadmap_file(
                "r.csv", _csv_bytes([["Мероприятие", "Срок"], ["x" * 3000, "май 2025"]])
            ).errors
            + read_roadmap_file(
                "r.csv", _csv_bytes([["Мероприятие", "Срок"]] + [["x", "май 2025"]] * 501)
            ).errors
        )
    ),
]


def test_every_code_is_produced_somewhere() -> None:
    assert {error.code for error in PRODUCED_ERRORS} == set(ERROR_CODES)


@pytest.mark.parametrize("language", ["ru", "en"])
@pytest.mark.parametrize("error", PRODUCED_ERRORS, ids=lambda error: error.code)
def test_messages_format_with_the_params_produced(
    locales: dict[str, dict[str, str]], language: str, error: Invalid
) -> None:
    assert error.code in locales[language]
    t = Translator(language)  # the bot's own formatting: "{limit:@chars_of}" words the count with its noun
    message = t(error.code, **error.params)
    assert "{" not in message
    row_line = t("roadmap.import.row_error", row=7, error=message)
    assert "7" in row_line and message in row_line
