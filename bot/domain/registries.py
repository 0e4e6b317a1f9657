"""The programme's office documents: registries (XLSX) and the order approving the pairs (DOCX).

* ``mentor_registry_xlsx`` — реестр (база) наставников;
* ``mentee_base_xlsx`` — база наставляемых с перечнем запросов;
* ``pairs_order_xlsx`` — список наставнических пар/групп (приложение к приказу) as a spreadsheet;
* ``pairs_order_docx`` — приказ об утверждении наставнических пар/групп, ready to print and sign,
  the list of pairs as its appendix.

Every builder takes plain row dataclasses (defined here) whose string fields are already display text
(a translated status, stage or form name), and a translate callable ``t(key, **params) -> str`` —
``bot.i18n.Translator`` fits — through which every header and fixed word comes (``registry.*`` in
``locales/<lang>/registry.yaml``); the language of the document is the language of ``t``. Each returns
the file's bytes.

Pure apart from openpyxl and python-docx: no Telegram, no database, no clock (``on_date`` is passed in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from typing import Any

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

Translate = Callable[..., str]

TITLE_ROW = 1
HEADER_ROW = 2
FIRST_DATA_ROW = 3
FONT_NAME = "Times New Roman"
# Characters XML 1.0 (so both .xlsx and .docx) cannot hold: C0 controls except tab, newline, carriage return.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_THIN = Side(style="thin", color="808080")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")


@dataclass(frozen=True)
class MentorRow:
    full_name: str
    position: str
    status: str
    areas: list[str]
    capacity: int
    load: int
    trainings_done: int
    pairs: int
    rating: float | None


@dataclass(frozen=True)
class MenteeRow:
    full_name: str
    group: str
    status: str
    form_title: str  # the needs questionnaire the summary comes from
    needs: str  # summary of the needs questionnaire's answers
    paired_with: str | None  # the mentor's name, None while unpaired


@dataclass(frozen=True)
class PairRow:
    number: int
    mentor: str
    mentor_position: str
    mentees: list[str]
    mentoring_form: str
    stage: str
    approved_on: date


def format_date(t: Translate, day: date) -> str:
    """A date as the documents write it: ``registry.date`` with day, month, year and month_name."""
    return t(
        "registry.date",
        day=day.day,
        month=day.month,
        year=day.year,
        month_name=t(f"registry.month.{day.month}"),
    )


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("", text or "")


# ---------------------------------------------------------------------------------------------- XLSX


@dataclass(frozen=True)
class _Column:
    key: str  # locale key of the header
    min_width: int
    max_width: int
    wrap: bool = False
    number_format: str | None = None


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    text = value if isinstance(value, str) else str(value)
    return max((len(line) for line in text.split("\n")), default=0)


def _sheet(
    t: Translate,
    sheet_key: str,
    title: str,
    columns: Sequence[_Column],
    rows: Sequence[Sequence[Any]],
) -> bytes:
    """One sheet: a merged title line, a bold frozen header row, then the rows; returns the workbook."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = t(sheet_key)[:31]
    last = get_column_letter(len(columns))

    title_cell = sheet.cell(row=TITLE_ROW, column=1, value=_clean(title))
    title_cell.data_type = "s"
    title_cell.font = Font(name=FONT_NAME, bold=True, size=13)
    title_cell.alignment = Alignment(horizontal="left", vertical="center")
    sheet.merge_cells(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    sheet.row_dimensions[TITLE_ROW].height = 24

    widths = []
    for index, column in enumerate(columns, start=1):
        header = t(column.key)
        cell = sheet.cell(row=HEADER_ROW, column=index, value=header)
        cell.data_type = "s"
        cell.font = Font(name=FONT_NAME, bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        # A header may wrap onto two lines; the widest word still has to fit.
        widths.append(max(column.min_width, max(len(word) for word in header.split()) + 2))

    for row_index, values in enumerate(rows, start=FIRST_DATA_ROW):
        for index, (column, value) in enumerate(zip(columns, values, strict=True), start=1):
            cell = sheet.cell(row=row_index, column=index)
            if isinstance(value, str):
                cell.value = _clean(value)
                # Text is text: a name or a request starting with "=" must not become a formula.
                cell.data_type = "s"
            else:
                cell.value = value
            if column.number_format and not isinstance(value, str):
                cell.number_format = column.number_format
            cell.font = Font(name=FONT_NAME)
            cell.border = _BORDER
            cell.alignment = Alignment(vertical="top", wrap_text=column.wrap)
            widths[index - 1] = max(widths[index - 1], _display_width(cell.value) + 2)

    for index, (column, width) in enumerate(zip(columns, widths, strict=True), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(width, column.max_width)

    sheet.freeze_panes = f"A{FIRST_DATA_ROW}"
    last_row = max(HEADER_ROW, HEADER_ROW + len(rows))
    sheet.auto_filter.ref = f"A{HEADER_ROW}:{last}{last_row}"
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True

    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


MENTOR_COLUMNS: tuple[_Column, ...] = (
    _Column("registry.number", 6, 8),
    _Column("registry.mentors.col.full_name", 24, 40, wrap=True),
    _Column("registry.mentors.col.position", 20, 40, wrap=True),
    _Column("registry.mentors.col.status", 12, 24, wrap=True),
    _Column("registry.mentors.col.areas", 24, 50, wrap=True),
    _Column("registry.mentors.col.capacity", 12, 16),
    _Column("registry.mentors.col.load", 12, 16),
    _Column("registry.mentors.col.free", 12, 16),
    _Column("registry.mentors.col.trainings", 12, 16),
    _Column("registry.mentors.col.pairs", 12, 16),
    _Column("registry.mentors.col.rating", 10, 16, number_format="0.0"),
)


def mentor_registry_xlsx(rows: Sequence[MentorRow], institution: str, on_date: date, t: Translate) -> bytes:
    """Реестр наставников: № п/п, name, position, status, areas, capacity, load, free places, trainings
    done, pairs, average rating (one decimal; ``registry.no_value`` when there is none yet)."""
    data = [
        (
            number,
            row.full_name,
            row.position,
            row.status,
            ", ".join(row.areas),
            row.capacity,
            row.load,
            max(row.capacity - row.load, 0),
            row.trainings_done,
            row.pairs,
            t("registry.no_value") if row.rating is None else round(float(row.rating), 1),
        )
        for number, row in enumerate(rows, start=1)
    ]
    title = t("registry.mentors.title", institution=institution, date=format_date(t, on_date))
    return _sheet(t, "registry.mentors.sheet", title, MENTOR_COLUMNS, data)


MENTEE_COLUMNS: tuple[_Column, ...] = (
    _Column("registry.number", 6, 8),
    _Column("registry.mentees.col.full_name", 24, 40, wrap=True),
    _Column("registry.mentees.col.group", 12, 24, wrap=True),
    _Column("registry.mentees.col.status", 12, 24, wrap=True),
    _Column("registry.mentees.col.form", 18, 32, wrap=True),
    _Column("registry.mentees.col.needs", 30, 70, wrap=True),
    _Column("registry.mentees.col.paired_with", 20, 40, wrap=True),
)


def mentee_base_xlsx(rows: Sequence[MenteeRow], institution: str, on_date: date, t: Translate) -> bytes:
    """База наставляемых с запросами: № п/п, name, class/group, status, questionnaire, needs, mentor
    (``registry.mentees.unpaired`` while there is none)."""
    data = [
        (
            number,
            row.full_name,
            row.group,
            row.status,
            row.form_title,
            row.needs,
            row.paired_with or t("registry.mentees.unpaired"),
        )
        for number, row in enumerate(rows, start=1)
    ]
    title = t("registry.mentees.title", institution=institution, date=format_date(t, on_date))
    return _sheet(t, "registry.mentees.sheet", title, MENTEE_COLUMNS, data)


PAIR_COLUMNS: tuple[_Column, ...] = (
    _Column("registry.number", 6, 8),
    _Column("registry.pairs.col.mentor", 24, 40, wrap=True),
    _Column("registry.pairs.col.mentor_position", 20, 40, wrap=True),
    _Column("registry.pairs.col.mentees", 28, 50, wrap=True),
    _Column("registry.pairs.col.mentoring_form", 18, 30, wrap=True),
    _Column("registry.pairs.col.stage", 16, 28, wrap=True),
    _Column("registry.pairs.col.approved_on", 14, 20),
)


def pairs_order_xlsx(rows: Sequence[PairRow], institution: str, on_date: date, t: Translate) -> bytes:
    """The list of pairs/groups as a spreadsheet: ``row.number`` as №, mentees one per line, the approval
    date as a real date cell (format ``registry.excel_date_format``)."""
    date_format = t("registry.excel_date_format")
    columns = (*PAIR_COLUMNS[:-1], _Column(PAIR_COLUMNS[-1].key, 14, 20, number_format=date_format))
    data = [
        (
            row.number,
            row.mentor,
            row.mentor_position,
            "\n".join(row.mentees),
            row.mentoring_form,
            row.stage,
            row.approved_on,
        )
        for row in rows
    ]
    title = t("registry.pairs.title", institution=institution, date=format_date(t, on_date))
    return _sheet(t, "registry.pairs.sheet", title, columns, data)


# ---------------------------------------------------------------------------------------------- DOCX

ORDER_ITEMS: tuple[str, ...] = ("approve", "mentors", "curator", "control")
# № · mentor · position · mentees · form; they add up to the text width of A4 with 30 + 15 mm margins.
ORDER_TABLE_COLUMNS: tuple[tuple[str, float], ...] = (
    ("registry.number", 1.2),
    ("registry.pairs.col.mentor", 4.3),
    ("registry.pairs.col.mentor_position", 3.5),
    ("registry.pairs.col.mentees", 4.3),
    ("registry.pairs.col.mentoring_form", 3.2),
)
_TEXT_WIDTH = Cm(16.5)


def _set_fonts(document: Any) -> None:
    for style_name, size in (("Normal", 14), ("Table Grid", 12)):
        style = document.styles[style_name]
        style.font.name = FONT_NAME
        style.font.size = Pt(size)
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attribute), FONT_NAME)
    normal = document.styles["Normal"].paragraph_format
    normal.space_before = Pt(0)
    normal.space_after = Pt(0)
    normal.line_spacing = 1.0


def _paragraph(
    document: Any,
    text: str = "",
    *,
    bold: bool = False,
    align: Any = None,
    indent: bool = False,
    space_before: int = 0,
    size: int | None = None,
) -> Any:
    paragraph = document.add_paragraph()
    if text:
        run = paragraph.add_run(_clean(text))
        run.bold = bold
        if size is not None:
            run.font.size = Pt(size)
    if align is not None:
        paragraph.alignment = align
    if indent:
        paragraph.paragraph_format.first_line_indent = Cm(1.25)
    if space_before:
        paragraph.paragraph_format.space_before = Pt(space_before)
    return paragraph


def _tabbed(document: Any, left: str, right: str, space_before: int = 0) -> Any:
    """``left`` at the margin, ``right`` flush with the right margin (date and number, signature)."""
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.tab_stops.add_tab_stop(_TEXT_WIDTH, WD_TAB_ALIGNMENT.RIGHT)
    if space_before:
        paragraph.paragraph_format.space_before = Pt(space_before)
    paragraph.add_run(_clean(f"{left}\t{right}"))
    return paragraph


def _repeat_as_header(row: Any) -> None:
    properties = row._tr.get_or_add_trPr()
    marker = OxmlElement("w:tblHeader")
    marker.set(qn("w:val"), "true")
    properties.append(marker)


def _fill_cell(cell: Any, lines: Sequence[str], *, bold: bool = False, center: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    for index, line in enumerate(lines):
        if index:
            paragraph = cell.add_paragraph()
        run = paragraph.add_run(_clean(line))
        run.bold = bold
        if center:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER


def pairs_order_docx(rows: Sequence[PairRow], institution: str, on_date: date, t: Translate) -> bytes:
    """Приказ об утверждении наставнических пар/групп: institution, «ПРИКАЗ», date and «№ ____», title,
    preamble (Р-145 and the institution's programme), «ПРИКАЗЫВАЮ:» with its items, the head's signature
    line, the mentors' acknowledgement lines, then the appendix: a table № · mentor · position · mentees
    (one per line) · form of mentoring, its header repeated on every page."""
    when = format_date(t, on_date)
    document = Document()
    _set_fonts(document)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(30), Mm(15)
    section.top_margin, section.bottom_margin = Mm(20), Mm(20)
    document.core_properties.title = t("registry.order.title")
    document.core_properties.author = ""

    center = WD_ALIGN_PARAGRAPH.CENTER
    _paragraph(document, institution, bold=True, align=center)
    _paragraph(document, t("registry.order.heading"), bold=True, align=center, space_before=12, size=16)
    _tabbed(document, when, t("registry.order.number"), space_before=12)
    _paragraph(document, t("registry.order.title"), bold=True, align=center, space_before=12)
    preamble = _paragraph(
        document, t("registry.order.preamble", institution=institution), indent=True, space_before=12
    )
    preamble.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    _paragraph(document, t("registry.order.decree"), bold=True, space_before=12)
    for item in ORDER_ITEMS:
        paragraph = _paragraph(document, t(f"registry.order.items.{item}"), indent=True)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    _tabbed(document, t("registry.order.head"), t("registry.order.signature_line"), space_before=36)
    caption = _paragraph(
        document, t("registry.order.signature_caption"), align=WD_ALIGN_PARAGRAPH.RIGHT, size=10
    )
    caption.runs[0].italic = True

    mentors = list(dict.fromkeys(row.mentor for row in rows))
    if mentors:
        _paragraph(document, t("registry.order.acquainted"), space_before=24)
        for mentor in mentors:
            _tabbed(document, mentor, t("registry.order.acquainted_line"), space_before=6)

    appendix = _paragraph(document, t("registry.order.appendix.label"), align=WD_ALIGN_PARAGRAPH.RIGHT)
    appendix.paragraph_format.page_break_before = True
    _paragraph(document, t("registry.order.appendix.date_number", date=when), align=WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(document, t("registry.order.appendix.title"), bold=True, align=center, space_before=12)
    _paragraph(document)

    table = document.add_table(rows=1, cols=len(ORDER_TABLE_COLUMNS))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = table.rows[0]
    _repeat_as_header(header)
    for cell, (key, _) in zip(header.cells, ORDER_TABLE_COLUMNS, strict=True):
        _fill_cell(cell, [t(key)], bold=True, center=True)
    for row in rows:
        cells = table.add_row().cells
        values = ([str(row.number)], [row.mentor], [row.mentor_position], row.mentees, [row.mentoring_form])
        for index, (cell, lines) in enumerate(zip(cells, values, strict=True)):
            _fill_cell(cell, lines, center=index == 0)
    # The grid (tblGrid) and every cell say the same widths, and the layout is fixed: LibreOffice lays a
    # table out by its grid, and a grid left at python-docx's even split broke names in the middle.
    for column, (_, width) in zip(table.columns, ORDER_TABLE_COLUMNS, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)

    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()
