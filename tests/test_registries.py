"""Registries (XLSX) and the order approving the pairs (DOCX), opened back and checked cell by cell."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pytest
import yaml

from bot.domain.registries import (
    MenteeRow,
    MentorRow,
    PairRow,
    format_date,
    mentee_base_xlsx,
    mentor_registry_xlsx,
    pairs_order_docx,
    pairs_order_xlsx,
)
from bot.i18n import Translator

ROOT = Path(__file__).resolve().parents[1]
INSTITUTION = "МБОУ «Сосновская СОШ № 2»"
ON_DATE = date(2026, 9, 5)
T_RU = Translator("ru")
T_EN = Translator("en")

MENTORS = [
    MentorRow(
        full_name="Алимова Наталья Евгеньевна",
        position="учитель математики",
        status="одобрен",
        areas=["математика", "олимпиады", "проектная деятельность"],
        capacity=3,
        load=2,
        trainings_done=2,
        pairs=2,
        rating=4.666,
    ),
    MentorRow("Петров Илья", "ученик 10 «А» класса", "на проверке", [], 1, 0, 0, 0, None),
    # More mentees than places (a curator's override) must not show negative free places.
    MentorRow("Смирнова Ольга", "педагог-психолог", "одобрен", ["адаптация"], 1, 2, 1, 2, 5.0),
]
MENTEES = [
    MenteeRow(
        "Иванов Иван",
        "7 «Б»",
        "анкета заполнена",
        "Анкета потребностей",
        "Алгебра; уверенность",
        "Алимова Н. Е.",
    ),
    MenteeRow(
        "Кузнецова Анна", "молодой специалист", "ждёт пары", "Анкета молодого специалиста", "Дисциплина", None
    ),
]
PAIRS = [
    PairRow(
        number=1,
        mentor="Алимова Наталья Евгеньевна",
        mentor_position="учитель математики",
        mentees=["Иванов Иван", "Сидорова Мария"],
        mentoring_form="ученик – ученик",
        stage="Совместная работа",
        approved_on=date(2026, 10, 1),
    ),
    PairRow(
        7,
        "Смирнова Ольга",
        "педагог-психолог",
        ["Кузнецова Анна"],
        "учитель – учитель",
        "Встреча-знакомство",
        date(2026, 10, 15),
    ),
]


def _sheet(data: bytes) -> Any:
    workbook = openpyxl.load_workbook(BytesIO(data))
    assert len(workbook.worksheets) == 1
    return workbook.active


def _row(sheet: Any, row: int) -> list[Any]:
    return [cell.value for cell in sheet[row]]


def _check_layout(sheet: Any, columns: int, rows: int) -> None:
    """Title merged over the table, header bold and frozen, widths set, no data beyond the rows."""
    last = openpyxl.utils.get_column_letter(columns)
    assert [str(r) for r in sheet.merged_cells.ranges] == [f"A1:{last}1"]
    assert sheet["A1"].font.b
    assert sheet.max_column == columns and sheet.max_row == 2 + rows
    assert all(cell.font.b for cell in sheet[2])
    assert not any(cell.font.b for row in sheet.iter_rows(min_row=3) for cell in row)
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:{last}{max(2, 2 + rows)}"
    for index in range(1, columns + 1):
        dimension = sheet.column_dimensions[openpyxl.utils.get_column_letter(index)]
        assert dimension.customWidth and 6 <= dimension.width <= 70, (index, dimension.width)


# --- mentor registry ---------------------------------------------------------------------------------


def test_mentor_registry_ru_cell_by_cell() -> None:
    sheet = _sheet(mentor_registry_xlsx(MENTORS, INSTITUTION, ON_DATE, T_RU))
    assert sheet.title == "Наставники"
    assert sheet["A1"].value == f"Реестр наставников: {INSTITUTION}, по состоянию на 05.09.2026"
    assert _row(sheet, 2) == [
        "№ п/п",
        "ФИО наставника",
        "Должность / место работы или учёбы",
        "Статус",
        "Направления (компетенции)",
        "Макс. число наставляемых",
        "Наставляемых сейчас",
        "Свободных мест",
        "Пройдено обучений",
        "Наставнических пар",
        "Средняя оценка",
    ]
    assert _row(sheet, 3) == [
        1,
        "Алимова Наталья Евгеньевна",
        "учитель математики",
        "одобрен",
        "математика, олимпиады, проектная деятельность",
        3,
        2,
        1,
        2,
        2,
        4.7,
    ]
    assert _row(sheet, 4) == [
        2,
        "Петров Илья",
        "ученик 10 «А» класса",
        "на проверке",
        None,
        1,
        0,
        1,
        0,
        0,
        "—",
    ]
    assert _row(sheet, 5) == [
        3,
        "Смирнова Ольга",
        "педагог-психолог",
        "одобрен",
        "адаптация",
        1,
        2,
        0,
        1,
        2,
        5.0,
    ]
    assert sheet["K3"].number_format == "0.0"
    _check_layout(sheet, columns=11, rows=3)
    # The long areas column is wider than the number column and wraps.
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["A"].width
    assert sheet["E3"].alignment.wrap_text


def test_mentor_registry_en() -> None:
    sheet = _sheet(mentor_registry_xlsx(MENTORS[:1], "School No. 2", ON_DATE, T_EN))
    assert sheet.title == "Mentors"
    assert sheet["A1"].value == "Mentor registry: School No. 2, as of 5 September 2026"
    assert _row(sheet, 2)[:3] == ["No.", "Mentor's full name", "Position / place of work or study"]
    assert _row(sheet, 2)[-1] == "Average rating"
    assert _row(sheet, 3)[:2] == [1, "Алимова Наталья Евгеньевна"]


def test_mentor_registry_empty() -> None:
    sheet = _sheet(mentor_registry_xlsx([], INSTITUTION, ON_DATE, T_RU))
    assert sheet["A1"].value.startswith("Реестр наставников")
    assert _row(sheet, 2)[0] == "№ п/п"
    _check_layout(sheet, columns=11, rows=0)


# --- mentee base -------------------------------------------------------------------------------------


def test_mentee_base_ru_cell_by_cell() -> None:
    sheet = _sheet(mentee_base_xlsx(MENTEES, INSTITUTION, ON_DATE, T_RU))
    assert sheet.title == "Наставляемые"
    assert (
        sheet["A1"].value
        == f"База наставляемых с перечнем запросов: {INSTITUTION}, по состоянию на 05.09.2026"
    )
    assert _row(sheet, 2) == [
        "№ п/п",
        "ФИО наставляемого",
        "Класс / группа / должность",
        "Статус",
        "Анкета",
        "Запрос (потребности)",
        "Наставник",
    ]
    assert _row(sheet, 3) == [
        1,
        "Иванов Иван",
        "7 «Б»",
        "анкета заполнена",
        "Анкета потребностей",
        "Алгебра; уверенность",
        "Алимова Н. Е.",
    ]
    assert _row(sheet, 4) == [
        2,
        "Кузнецова Анна",
        "молодой специалист",
        "ждёт пары",
        "Анкета молодого специалиста",
        "Дисциплина",
        "не подобран",
    ]
    _check_layout(sheet, columns=7, rows=2)


def test_mentee_base_en_unpaired() -> None:
    sheet = _sheet(mentee_base_xlsx(MENTEES[1:], "School", date(2027, 1, 31), T_EN))
    assert sheet["A1"].value == "Mentee base with requests: School, as of 31 January 2027"
    assert _row(sheet, 2)[5:] == ["Request (needs)", "Mentor"]
    assert sheet["G3"].value == "not matched yet"


def test_user_text_never_becomes_a_formula_and_control_characters_go() -> None:
    rows = [MenteeRow('=HYPERLINK("http://evil","x")', "7", "s", "f", "+cmd\x07|calc", None)]
    data = mentee_base_xlsx(rows, "=1+1", ON_DATE, T_RU)
    with zipfile.ZipFile(BytesIO(data)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    sheet = _sheet(data)
    assert sheet["B3"].value == '=HYPERLINK("http://evil","x")' and sheet["B3"].data_type == "s"
    assert sheet["F3"].value == "+cmd|calc"
    assert sheet["A1"].value.startswith("База наставляемых с перечнем запросов: =1+1")


# --- pairs: spreadsheet ------------------------------------------------------------------------------


def test_pairs_xlsx_ru_cell_by_cell() -> None:
    sheet = _sheet(pairs_order_xlsx(PAIRS, INSTITUTION, date(2026, 10, 20), T_RU))
    assert sheet.title == "Пары и группы"
    assert sheet["A1"].value == f"Список наставнических пар/групп: {INSTITUTION}, по состоянию на 20.10.2026"
    assert _row(sheet, 2) == [
        "№ п/п",
        "ФИО наставника",
        "Должность наставника",
        "ФИО наставляемого (наставляемых)",
        "Форма наставничества",
        "Этап",
        "Дата утверждения",
    ]
    assert _row(sheet, 3) == [
        1,
        "Алимова Наталья Евгеньевна",
        "учитель математики",
        "Иванов Иван\nСидорова Мария",
        "ученик – ученик",
        "Совместная работа",
        datetime(2026, 10, 1),
    ]
    # The pair's own number, not the row's position.
    assert _row(sheet, 4) == [
        7,
        "Смирнова Ольга",
        "педагог-психолог",
        "Кузнецова Анна",
        "учитель – учитель",
        "Встреча-знакомство",
        datetime(2026, 10, 15),
    ]
    assert sheet["G3"].is_date and sheet["G3"].number_format == "DD.MM.YYYY"
    assert sheet["D3"].alignment.wrap_text
    _check_layout(sheet, columns=7, rows=2)


def test_pairs_xlsx_en() -> None:
    sheet = _sheet(pairs_order_xlsx(PAIRS[:1], "School", date(2026, 10, 20), T_EN))
    assert sheet["A1"].value == "Mentoring pairs and groups: School, as of 20 October 2026"
    assert _row(sheet, 2)[-3:] == ["Form of mentoring", "Stage", "Approved on"]
    assert sheet["G3"].number_format == "DD MMM YYYY"


# --- pairs: the order --------------------------------------------------------------------------------


def _document(data: bytes) -> Any:
    return docx.Document(BytesIO(data))


def _texts(document: Any) -> list[str]:
    return [p.text for p in document.paragraphs]


def test_order_docx_ru() -> None:
    document = _document(pairs_order_docx(PAIRS, INSTITUTION, date(2026, 10, 1), T_RU))
    texts = _texts(document)
    assert texts[:4] == [
        INSTITUTION,
        "ПРИКАЗ",
        "01.10.2026\t№ ____",
        "Об утверждении наставнических пар/групп",
    ]
    preamble = texts[4]
    assert "распоряжением Министерства просвещения Российской Федерации от 25.12.2019 № Р-145" in preamble
    assert f"программой наставничества {INSTITUTION}" in preamble
    decree = texts.index("ПРИКАЗЫВАЮ:")
    assert decree == 5
    assert (
        texts[decree + 1]
        == "1. Утвердить наставнические пары/группы согласно приложению к настоящему приказу."
    )
    assert [t[:2] for t in texts[decree + 1 : decree + 5]] == ["1.", "2.", "3.", "4."]
    assert "Руководитель\t______________ / ______________________" in texts
    assert "(подпись)          (ФИО)" in texts
    # Every mentor signs that they have read the order, once each.
    acquainted = texts.index("С приказом ознакомлены:")
    assert [t.split("\t")[0] for t in texts[acquainted + 1 : acquainted + 3]] == [
        "Алимова Наталья Евгеньевна",
        "Смирнова Ольга",
    ]
    appendix = texts.index("Приложение к приказу")
    assert document.paragraphs[appendix].paragraph_format.page_break_before
    assert texts[appendix + 1] == "от 01.10.2026 № ____"
    assert texts[appendix + 2] == "Наставнические пары/группы"

    assert len(document.tables) == 1
    table = document.tables[0]
    assert len(table.rows) == len(PAIRS) + 1
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == [
        "№ п/п",
        "ФИО наставника",
        "Должность наставника",
        "ФИО наставляемого (наставляемых)",
        "Форма наставничества",
    ]
    assert cells[1] == [
        "1",
        "Алимова Наталья Евгеньевна",
        "учитель математики",
        "Иванов Иван\nСидорова Мария",
        "ученик – ученик",
    ]
    assert cells[2] == ["7", "Смирнова Ольга", "педагог-психолог", "Кузнецова Анна", "учитель – учитель"]
    for pair, row in zip(PAIRS, table.rows[1:], strict=True):
        assert [p.text for p in row.cells[3].paragraphs] == pair.mentees
    assert all(run.bold for cell in table.rows[0].cells for p in cell.paragraphs for run in p.runs)
    assert table.rows[0]._tr.trPr.find(docx.oxml.ns.qn("w:tblHeader")) is not None

    section = document.sections[0]
    # A4 and a 30 mm binding margin (Word stores twips, so compare whole millimetres).
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert round(section.left_margin.mm) == 30


def test_order_docx_en() -> None:
    document = _document(pairs_order_docx(PAIRS[1:], "School No. 2", date(2026, 10, 1), T_EN))
    texts = _texts(document)
    assert texts[:4] == [
        "School No. 2",
        "ORDER",
        "1 October 2026\tNo. ____",
        "On the approval of mentoring pairs and groups",
    ]
    assert (
        "Order No. R-145 of the Ministry of Education of the Russian Federation of 25 December 2019"
        in texts[4]
    )
    assert "the mentoring programme of School No. 2" in texts[4]
    assert texts[5] == "I HEREBY ORDER:"
    assert texts[6].startswith("1. To approve the mentoring pairs and groups listed in the appendix")
    assert "of 1 October 2026 No. ____" in texts
    assert not any("\u0400" <= ch <= "\u04ff" for text in texts if "Смирнова" not in text for ch in text)
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells][:2] == ["No.", "Mentor's full name"]
    assert [c.text for c in table.rows[1].cells] == [
        "7",
        "Смирнова Ольга",
        "педагог-психолог",
        "Кузнецова Анна",
        "учитель – учитель",
    ]


def test_order_docx_without_pairs_has_header_only() -> None:
    document = _document(pairs_order_docx([], INSTITUTION, ON_DATE, T_RU))
    assert len(document.tables[0].rows) == 1
    assert "С приказом ознакомлены:" not in _texts(document)
    assert "ПРИКАЗ" in _texts(document)


def test_order_docx_drops_control_characters() -> None:
    pair = PairRow(
        1, "Анна\x0bБелова", "учитель", ["Ира\x01"], "учитель – учитель", "Итоговая встреча", ON_DATE
    )
    table = _document(pairs_order_docx([pair], INSTITUTION, ON_DATE, T_RU)).tables[0]
    assert [c.text for c in table.rows[1].cells][1:4] == ["АннаБелова", "учитель", "Ира"]


# --- locales -----------------------------------------------------------------------------------------


class _Recorder:
    def __init__(self, t: Translator) -> None:
        self.t, self.keys = t, set()

    def __call__(self, key: str, **params: Any) -> str:
        self.keys.add(key)
        return self.t(key, **params)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_key_the_builders_use_exists(lang: str) -> None:
    recorder = _Recorder(Translator(lang))
    mentor_registry_xlsx(MENTORS, INSTITUTION, ON_DATE, recorder)
    mentee_base_xlsx(MENTEES, INSTITUTION, ON_DATE, recorder)
    pairs_order_xlsx(PAIRS, INSTITUTION, ON_DATE, recorder)
    pairs_order_docx(PAIRS, INSTITUTION, ON_DATE, recorder)
    for month in range(1, 13):
        format_date(recorder, date(2026, month, 1))
    assert len(recorder.keys) > 50
    missing = sorted(key for key in recorder.keys if not recorder.t.has(key))
    assert not missing


def _flat(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, dict):
        return set().union(*(_flat(v, f"{prefix}.{k}" if prefix else str(k)) for k, v in node.items()))
    return {prefix}


def test_ru_and_en_registry_locales_have_the_same_keys() -> None:
    ru, en = ({}, {})
    for lang, out in (("ru", ru), ("en", en)):
        data = yaml.safe_load((ROOT / "locales" / lang / "registry.yaml").read_text(encoding="utf-8"))
        assert list(data) == ["registry"]
        out.update(dict.fromkeys(_flat(data)))
    assert set(ru) == set(en)


def test_dates_in_both_languages() -> None:
    assert format_date(T_RU, date(2019, 12, 25)) == "25.12.2019"
    assert format_date(T_EN, date(2019, 12, 25)) == "25 December 2019"
    assert format_date(T_EN, date(2026, 3, 1)) == "1 March 2026"


def test_builders_are_pure() -> None:
    code = (
        "import sys, bot.domain.registries;"
        "bad = [n for n in sys.modules if n.split('.')[0] in ('aiogram', 'sqlalchemy')];"
        "assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
