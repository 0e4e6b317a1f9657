"""The analytic report's document model rendered as DOCX and PDF, each opened back and checked: Russian text,
headings, tables, charts, page breaks, page numbers, and the same bytes for the same document."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from typing import Any

import docx
import pypdf
import pytest
import time_machine
from docx.oxml.ns import qn
from docx.shared import Mm
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.document import (
    Bullets,
    Document,
    Heading,
    Image,
    PageBreak,
    Paragraph,
    Signature,
    Table,
    build_docx,
    build_pdf,
)

TITLE = "Аналитический отчёт о реализации программы наставничества"
SUBTITLE = "МБОУ «Школа № 17», 2025/26 учебный год"
SECTION = "1. Общие сведения"
SUBSECTION = "1.1. Формы наставничества"
SECTION_2 = "2. Итоги года"
TEXT = "Программа реализуется по целевой модели наставничества; всё идёт по плану."
BOLD = "Охват наставничеством: 64 % — выше целевого значения."
ITALIC = "Данные на 1 июня 2026 г."
BULLETS = ("«ученик – ученик»: 12 пар", "«учитель – учитель»: 4 пары", "«студент – ученик»: ещё нет")
HEADER = ("№", "Наставник", "Наставляемые", "Этап")
ROWS = (
    ("1", "Ёлкина Анна Петровна", "Иванов Пётр\nСёмина Алёна", "совместная работа"),
    ("2", "Щёголев Илья", "Жуков Фёдор", "итоговая встреча"),
)
CAPTION = "Рисунок 1. Воронка этапов: пары на каждом этапе"
SIGNATURE = ("Куратор программы\t____________ / Ёлкина А. П. /", "«___» ____________ 2026 г.")
FOOTER = "Сформировано ботом «Наставник» 01.06.2026"
CREATED = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
TEXT_WIDTH_PT = 165 / 25.4 * 72  # 30 mm and 15 mm margins on A4
LEFT_MARGIN_PT = 30 / 25.4 * 72 - 0.1  # (less a rounding error)


def chart_png(width: float = 6.0, height: float = 3.6) -> bytes:
    """A small chart, drawn as bot/services/charts.py draws them."""
    fig = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar(["знакомство", "пробная", "итоговая"], [40, 31, 9], color="#1565c0")
    ax.set_title("Воронка этапов")
    out = io.BytesIO()
    fig.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


PNG = chart_png()


def report(*blocks: Any) -> Document:
    return Document(TITLE, SUBTITLE, blocks, "ru", FOOTER)


def full_report() -> Document:
    return report(
        Heading(SECTION),
        Paragraph(TEXT),
        Paragraph(BOLD, bold=True),
        Paragraph(ITALIC, italic=True),
        Heading(SUBSECTION, level=2),
        Bullets(BULLETS),
        Table(HEADER, ROWS, widths=(1, 5, 5, 4)),
        Image(PNG, CAPTION),
        PageBreak(),
        Heading(SECTION_2),
        Signature(SIGNATURE),
    )


# --- DOCX -------------------------------------------------------------------------------------------------


def open_docx(data: bytes) -> Any:
    return docx.Document(io.BytesIO(data))


def test_docx_has_every_block_in_russian() -> None:
    document = open_docx(build_docx(full_report(), created=CREATED))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]

    assert paragraphs[:2] == [("Title", TITLE), ("Subtitle", SUBTITLE)]
    headings = [(style, text) for style, text in paragraphs if style.startswith("Heading")]
    assert headings == [("Heading 1", SECTION), ("Heading 2", SUBSECTION), ("Heading 1", SECTION_2)]
    by_text = {p.text: p for p in document.paragraphs}
    assert by_text[TEXT].runs[0].bold is None and by_text[TEXT].runs[0].italic is None
    assert by_text[BOLD].runs[0].bold is True
    assert by_text[ITALIC].runs[0].italic is True
    assert [text for style, text in paragraphs if style == "List Bullet"] == list(BULLETS)
    assert ("Caption", CAPTION) in paragraphs
    texts = [text for _, text in paragraphs]
    assert texts[-2:] == list(SIGNATURE)  # the tab that pushes the signature line right is kept
    assert by_text[SIGNATURE[0]].paragraph_format.keep_with_next is True

    (table,) = document.tables
    assert [[cell.text for cell in row.cells] for row in table.rows] == [list(HEADER), *map(list, ROWS)]
    assert table.style.name == "Table Grid"
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # the header repeats on every page
    assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)  # rows stay whole
    assert all(cell.paragraphs[0].runs[0].bold for cell in table.rows[0].cells)
    widths = [table.rows[1].cells[i].width / Mm(1) for i in range(4)]  # stored in twips: compare in mm
    assert widths == pytest.approx([11, 55, 55, 44], abs=0.1)  # (1, 5, 5, 4) of 165 mm

    (picture,) = document.inline_shapes
    blip = picture._inline.graphic.graphicData.pic.blipFill.blip
    assert document.part.related_parts[blip.embed].blob == PNG
    assert picture.width == pytest.approx(Mm(160), abs=Mm(0.1))
    assert picture.height / picture.width == pytest.approx(3.6 / 6.0, rel=1e-3)
    page_breaks = document.element.body.findall(f".//{qn('w:br')}[@{qn('w:type')}='page']")
    assert len(page_breaks) == 1


def test_docx_is_an_official_paper() -> None:
    document = open_docx(build_docx(full_report(), created=CREATED))
    section = document.sections[0]
    geometry = (section.page_width, section.page_height, section.left_margin, section.right_margin)
    assert [length / Mm(1) for length in geometry] == pytest.approx([210, 297, 30, 15], abs=0.1)  # A4
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Caption"):
        style = document.styles[name]
        assert style.font.name == "Times New Roman", name
        if name != "Normal":
            assert str(style.font.color.rgb) == "000000", name
            fonts = style.element.rPr.rFonts
            assert fonts.get(qn("w:asciiTheme")) is None, name  # a theme font would win over Times
    assert document.styles["Normal"].font.size.pt == 14

    footer = section.footer.paragraphs[0]
    assert footer.text.startswith(FOOTER)
    instructions = [node.text.strip() for node in footer._p.iter(qn("w:instrText"))]
    assert instructions == ["PAGE"]  # Word puts the page number in

    properties = document.core_properties
    assert properties.title == TITLE
    assert properties.author == "" and properties.comments == ""  # no "python-docx"
    assert properties.created == properties.modified == CREATED
    assert properties.language == "ru-RU"


def test_docx_image_never_wider_than_the_text_and_control_characters_are_dropped() -> None:
    document = open_docx(build_docx(report(Image(PNG, None, width_cm=40), Paragraph("Итог:\x00 всё\x0b"))))
    assert document.inline_shapes[0].width == pytest.approx(Mm(165), abs=Mm(0.1))
    assert document.paragraphs[-1].text == "Итог: всё"
    fixed = datetime(2000, 1, 1, tzinfo=UTC)  # when the caller gives no date
    assert document.core_properties.created == fixed


# --- PDF --------------------------------------------------------------------------------------------------


def open_pdf(data: bytes) -> pypdf.PdfReader:
    assert data.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(data))


def flat(text: str) -> str:
    """Words separated by single spaces: a justified or wrapped line extracts with extra spaces or breaks."""
    return " ".join(text.split())


def page_texts(reader: pypdf.PdfReader) -> list[str]:
    return [flat(page.extract_text()) for page in reader.pages]


def image_boxes(page: Any) -> list[tuple[float, float, float, float]]:
    """(width, height, x, y) in points of every image drawn on the page."""
    content = page.get_contents().get_data().decode("latin-1")
    matrices = re.findall(r"([\d.]+) 0 0 ([\d.]+) ([\d.]+) ([\d.]+) cm\s*/I\w* Do", content)
    return [tuple(map(float, m)) for m in matrices]


def test_pdf_has_every_block_in_russian() -> None:
    reader = open_pdf(build_pdf(full_report(), created=CREATED))
    assert len(reader.pages) == 2  # the page break
    first, second = page_texts(reader)
    for text in (TITLE, SUBTITLE, SECTION, SUBSECTION, TEXT, BOLD, ITALIC, *BULLETS, *HEADER, CAPTION):
        assert flat(text) in first, text
    for cell in ("Ёлкина Анна Петровна", "Иванов Пётр", "Сёмина Алёна", "Щёголев Илья", "итоговая встреча"):
        assert cell in first
    assert SECTION_2 in second and SECTION_2 not in first
    for part in ("Куратор программы", "____________ / Ёлкина А. П. /", SIGNATURE[1]):
        assert flat(part) in second
    assert first.endswith(f"{FOOTER} 1") and second.endswith(f"{FOOTER} 2")  # page numbers

    assert min(text_starts(reader.pages[0])) >= LEFT_MARGIN_PT
    assert [item.title for item in flatten(reader.outline)] == [SECTION, SUBSECTION, SECTION_2]
    assert reader.metadata.title == TITLE
    assert reader.metadata.creation_date == CREATED
    assert reader.metadata.author in (None, "") and reader.metadata.producer in (None, "")
    ((width, height, x, _),) = image_boxes(reader.pages[0])
    assert width == pytest.approx(160 / 25.4 * 72, abs=0.1) and height == pytest.approx(width * 0.6, rel=1e-3)
    assert x + width / 2 == pytest.approx((30 + 165 / 2) / 25.4 * 72, abs=0.1)  # centred between margins


def text_starts(page: Any) -> list[float]:
    """Where each piece of text on the page starts, in points from the left edge of the paper."""
    starts: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            starts.append(tm[4] * cm[0] + cm[4])

    page.extract_text(visitor_text=visit)
    return starts


def flatten(outline: list[Any]) -> list[Any]:
    items = []
    for entry in outline:
        items.extend(flatten(entry) if isinstance(entry, list) else [entry])
    return items


def test_pdf_long_table_spans_pages_with_its_header_and_page_numbers() -> None:
    rows = [(str(n), f"Наставник № {n}", f"Наставляемый № {n}", "совместная работа") for n in range(1, 201)]
    reader = open_pdf(build_pdf(report(Table(HEADER, rows))))
    texts = page_texts(reader)
    assert 5 <= len(texts) <= 8  # 200 one-line rows of about 6 mm on 257 mm pages
    assert min(text_starts(reader.pages[1])) >= LEFT_MARGIN_PT  # the table sits between the margins
    for number, text in enumerate(texts, 1):
        assert "Наставник Наставляемые Этап" in text, number  # the header again on every page
        assert text.endswith(f"{FOOTER} {number}")
    everything = " ".join(texts)
    assert all(f"Наставляемый № {n} " in everything for n in range(1, 201))  # no row lost at a break
    assert len(open_pdf(build_pdf(report(Table(HEADER, rows[:20])))).pages) == 1


def test_pdf_wraps_long_cell_text_instead_of_cutting_it() -> None:
    long = "Поддержка в подготовке к олимпиаде по математике, разбор задач прошлых лет и «мозговой штурм»"
    short_rows = [(str(n), "Ёлкина А. П.", "Иванов П.", "этап") for n in range(1, 31)]
    long_rows = [(str(n), "Ёлкина А. П.", long, "этап") for n in range(1, 31)]
    unbroken = "Сверхдлинноесловобезединогопробелакотороеникакневлезаетвстолбецтаблицы"
    short = open_pdf(build_pdf(report(Table(HEADER, short_rows))))
    wrapped = open_pdf(build_pdf(report(Table(HEADER, long_rows), Table(["Слово"], [[unbroken]]))))
    assert len(short.pages) == 1
    assert len(wrapped.pages) >= 3  # each long cell takes several lines, so rows grow
    text = " ".join(page_texts(wrapped))
    assert text.count("олимпиаде по") == 30 and text.count("«мозговой штурм»") == 30
    assert unbroken[:20] in text.replace(" ", "") and unbroken[-20:] in text.replace(" ", "")


def test_pdf_image_scales_to_the_text_width_and_the_page_height() -> None:
    tall = chart_png(3.0, 12.0)
    reader = open_pdf(build_pdf(report(Image(PNG, "Широкий", width_cm=40), Image(tall, "Высокий"))))
    assert len(reader.pages) == 2  # the tall one does not fit under the wide one
    ((width, _, x, _),) = image_boxes(reader.pages[0])
    assert width == pytest.approx(TEXT_WIDTH_PT, abs=0.1) and x == pytest.approx(30 / 25.4 * 72, abs=0.1)
    ((width, height, _, y),) = image_boxes(reader.pages[1])
    assert height <= (297 - 40) / 25.4 * 72 and y >= 20 / 25.4 * 72  # inside the margins
    assert height / width == pytest.approx(4.0, rel=1e-3)
    assert "Высокий" in page_texts(reader)[1]


@pytest.mark.parametrize("builder", [build_pdf, build_docx])
def test_same_document_same_bytes(builder: Any) -> None:
    with time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False):
        first = builder(full_report())
    with time_machine.travel(datetime(2027, 3, 8, 17, 45, 13, tzinfo=UTC), tick=False):
        second = builder(full_report())
    assert first == second
    assert builder(full_report(), created=CREATED) != first  # the date given is the one written


def test_pdf_keeps_a_signature_a_heading_and_a_caption_with_what_they_belong_to() -> None:
    small_chart = Image(PNG, CAPTION, width_cm=5)
    moved = {"signature": False, "heading": False, "chart": False}
    for lines in range(24, 33):  # around the bottom of page 1
        filler = [Paragraph(f"Строка {n}.") for n in range(lines)]
        last_line = f"Строка {lines - 1}."

        texts = page_texts(open_pdf(build_pdf(report(*filler, Signature(SIGNATURE)))))
        (page,) = [text for text in texts if "Куратор программы" in text]
        assert flat(SIGNATURE[1]) in page
        moved["signature"] |= last_line not in page

        texts = page_texts(open_pdf(build_pdf(report(*filler, Heading(SECTION_2), Paragraph(TEXT)))))
        (page,) = [text for text in texts if SECTION_2 in text]
        assert TEXT in page
        moved["heading"] |= last_line not in page

        reader = open_pdf(build_pdf(report(*filler, small_chart)))
        (number,) = [n for n, page in enumerate(reader.pages) if image_boxes(page)]
        assert CAPTION in page_texts(reader)[number]
        moved["chart"] |= number == 1
    assert all(moved.values()), moved  # some filler length did reach the bottom of page 1


def test_the_model_refuses_what_it_cannot_render() -> None:
    with pytest.raises(ValueError, match="row 2 has 3 cells"):
        Table(["№", "ФИО"], [["1", "Ёлкина"], ["2", "Щёголев", "лишняя"]])
    with pytest.raises(ValueError):
        Table(["№", "ФИО"], [], widths=[1])
    with pytest.raises(ValueError):
        Image(b"GIF89a", "не PNG")
    with pytest.raises(ValueError):
        Heading("Третий уровень", level=3)


def test_a_minimal_document_has_no_empty_subtitle_or_footer_text() -> None:
    minimal = Document("Итоги", None, [Paragraph("Всё хорошо.")], "en", None)
    document = open_docx(build_docx(minimal))
    assert [(p.style.name, p.text) for p in document.paragraphs] == [
        ("Title", "Итоги"),
        ("Normal", "Всё хорошо."),
    ]
    assert document.sections[0].footer.paragraphs[0].text.strip() == "1"
    assert document.core_properties.language == "en-GB"
    (page,) = page_texts(open_pdf(build_pdf(minimal)))
    assert page == "Итоги Всё хорошо. 1"
