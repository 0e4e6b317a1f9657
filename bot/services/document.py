"""A small document model (title, headings, paragraphs, bullets, tables, charts, signatures) and its two
renderers: ``build_docx`` for Word and ``build_pdf`` for PDF. The analytic report is written once as blocks
and comes out in both formats, with no Telegram and no database here.

Why these choices:

* DOCX through python-docx, in the house style of ``bot.domain.registries.pairs_order_docx``: A4, margins
  30/15/20/20 mm, Times New Roman (14 pt text, 12 pt tables) as Russian official papers are typed, black
  headings in the built-in "Heading 1/2" styles (so Word's navigation pane and table of contents see them),
  tables in "Table Grid" with the header row repeated on every page, the page number in the footer (a PAGE
  field, so Word counts). It is the editable copy: a curator can fix a word, print it and sign it.
* PDF through fpdf2 (pure Python, no network, no system libraries): it lays out flowing text, wraps table
  cells, repeats table headers and breaks pages by itself, which matplotlib's PDF backend (used by the
  certificate, a single fixed page) cannot. Times New Roman is not free to ship, so the PDF uses DejaVu Sans
  from matplotlib's own font folder: it covers Cyrillic, «», № and ё, and fpdf2 embeds only the glyphs used,
  with a ToUnicode map, so the text can be searched and copied. Sizes are smaller (11 pt) because DejaVu is
  wider than Times.
* Same input, same bytes: both builders take ``created`` (the file's creation date, from the caller's
  clock; a fixed date by default), write no software name as author, and the DOCX zip entries carry a fixed
  timestamp instead of the moment of saving.

Strings may contain ``\\n`` (a line break); in a ``Signature`` line a ``\\t`` pushes what follows to the
right margin ("Куратор программы\\t____________ / ____________ /").
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
import matplotlib
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from fpdf import FPDF
from fpdf.enums import Align, VAlign, XPos, YPos
from fpdf.fonts import FontFace

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# A fixed creation date for callers that pass none: the same document gives the same bytes.
FIXED_CREATED = datetime(2000, 1, 1, tzinfo=UTC)
LANGUAGE_TAGS = {"ru": "ru-RU", "en": "en-GB"}

# Page geometry shared by both renderers (mm): A4 portrait, the margins of the house's order.
PAGE_W, PAGE_H = 210.0, 297.0
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 30.0, 15.0, 20.0, 20.0
TEXT_W = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT  # 165 mm
TEXT_H = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM  # 257 mm

# Characters XML 1.0 cannot hold (C0 controls other than tab, newline, carriage return): python-docx
# refuses them, so they are dropped in both formats.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(text: str | None) -> str:
    return _ILLEGAL.sub("", text or "").replace("\r\n", "\n").replace("\r", "\n")


# ── the model ────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1  # 1: a section, 2: a subsection

    def __post_init__(self) -> None:
        if self.level not in (1, 2):
            raise ValueError(f"heading level must be 1 or 2, not {self.level}")


@dataclass(frozen=True)
class Paragraph:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True)
class Bullets:
    items: Sequence[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))


@dataclass(frozen=True)
class Table:
    """Cells are display strings. ``widths`` are relative (any positive numbers, scaled to the text width);
    ``None`` gives equal columns."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[float] | None = None

    def __post_init__(self) -> None:
        header = tuple(self.header)
        rows = tuple(tuple(row) for row in self.rows)
        if not header:
            raise ValueError("a table needs at least one column")
        for number, row in enumerate(rows, 1):
            if len(row) != len(header):
                raise ValueError(f"row {number} has {len(row)} cells, the header has {len(header)}")
        widths = None
        if self.widths is not None:
            widths = tuple(float(w) for w in self.widths)
            if len(widths) != len(header) or min(widths) <= 0:
                raise ValueError("widths must be one positive number per column")
        object.__setattr__(self, "header", header)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "widths", widths)

    def fractions(self) -> tuple[float, ...]:
        widths = self.widths or (1.0,) * len(self.header)
        total = sum(widths)
        return tuple(w / total for w in widths)


@dataclass(frozen=True)
class Image:
    """A PNG (a chart from ``bot.services.charts``), centred, never wider than the text nor taller than a
    page, with an optional caption under it."""

    png: bytes = field(repr=False)
    caption: str | None = None
    width_cm: float = 16.0

    def __post_init__(self) -> None:
        if not self.png.startswith(PNG_MAGIC) or self.png[12:16] != b"IHDR":
            raise ValueError("Image takes PNG bytes")
        if self.width_cm <= 0:
            raise ValueError("width_cm must be positive")

    def size_mm(self) -> tuple[float, float]:
        """Printed size: ``width_cm`` at most, shrunk to fit the text width and a page's height."""
        pixels_w, pixels_h = struct.unpack(">II", self.png[16:24])
        width = min(self.width_cm * 10, TEXT_W)
        height = width * pixels_h / pixels_w
        room = TEXT_H - 25  # leave a caption's room under an image that fills a page
        if height > room:
            width, height = width * room / height, room
        return width, height


@dataclass(frozen=True)
class PageBreak:
    pass


@dataclass(frozen=True)
class Signature:
    """Lines kept together on one page, e.g. "Куратор программы\\t____________ / ____________ /" and
    "«___» ____________ 20__ г."."""

    lines: Sequence[str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "lines", tuple(self.lines))


Block = Heading | Paragraph | Bullets | Table | Image | PageBreak | Signature


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str | None
    blocks: Sequence[Block]
    lang: str = "ru"
    footer: str | None = None  # shown at the foot of every page, left of the page number

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))


# ── DOCX ─────────────────────────────────────────────────────────────────────────────────────────────────

DOCX_FONT = "Times New Roman"
DOCX_TEXT_PT, DOCX_TABLE_PT, DOCX_SMALL_PT = 14, 12, 10
_BLACK = RGBColor(0, 0, 0)
_HEADER_SHADE = "E7E6E6"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def build_docx(doc: Document, *, created: datetime = FIXED_CREATED) -> bytes:
    """The document as a .docx, ready to print and sign."""
    document = docx.Document()
    _docx_page(document)
    _docx_styles(document, LANGUAGE_TAGS.get(doc.lang, doc.lang))
    _docx_properties(document, doc, created)
    _docx_footer(document, doc.footer)

    document.add_paragraph(_clean(doc.title), style="Title")
    if doc.subtitle:
        document.add_paragraph(_clean(doc.subtitle), style="Subtitle")
    for block in doc.blocks:
        _DOCX_RENDERERS[type(block)](document, block)

    buffer = io.BytesIO()
    document.save(buffer)
    return _fixed_zip_dates(buffer.getvalue())


def _docx_page(document: Any) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(PAGE_W), Mm(PAGE_H)
    section.left_margin, section.right_margin = Mm(MARGIN_LEFT), Mm(MARGIN_RIGHT)
    section.top_margin, section.bottom_margin = Mm(MARGIN_TOP), Mm(MARGIN_BOTTOM)
    section.footer_distance = Mm(10)


def _set_font(style: Any, size: float, *, bold: bool = False, italic: bool = False) -> None:
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = italic
    style.font.color.rgb = _BLACK
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    # The template's styles name theme fonts (Calibri, Cambria), which win over a named font: drop them.
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attribute), DOCX_FONT)


def _drop_paragraph_property(style: Any, tag: str) -> None:
    properties = style.element.pPr
    if properties is not None:
        for element in properties.findall(qn(tag)):
            properties.remove(element)


def _docx_styles(document: Any, language: str) -> None:
    defaults = document.styles.element.find(qn("w:docDefaults"))
    for lang in defaults.iter(qn("w:lang")):
        lang.set(qn("w:val"), language)  # spelling is checked in the document's language
    styles = document.styles

    normal = styles["Normal"]
    _set_font(normal, DOCX_TEXT_PT)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    _set_font(styles["Table Grid"], DOCX_TABLE_PT)

    title = styles["Title"]
    _set_font(title, 16, bold=True)
    _drop_paragraph_property(title, "w:pBdr")  # the template underlines the title in blue
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.space_after = Pt(6)
    subtitle = styles["Subtitle"]
    _set_font(subtitle, DOCX_TEXT_PT)
    _drop_paragraph_property(subtitle, "w:numPr")
    subtitle.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle.paragraph_format.space_after = Pt(12)
    for name, size, before in (("Heading 1", 14, 18), ("Heading 2", 14, 12)):
        heading = styles[name]
        _set_font(heading, size, bold=True, italic=name == "Heading 2")
        heading.paragraph_format.space_before = Pt(before)
        heading.paragraph_format.space_after = Pt(6)
    caption = styles["Caption"]
    _set_font(caption, DOCX_TABLE_PT, italic=True)
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.space_after = Pt(12)
    _set_font(styles["Footer"], DOCX_SMALL_PT)


def _docx_properties(document: Any, doc: Document, created: datetime) -> None:
    properties = document.core_properties
    properties.title = _clean(doc.title)
    properties.subject = _clean(doc.subtitle)
    properties.language = LANGUAGE_TAGS.get(doc.lang, doc.lang)
    properties.author = ""
    properties.last_modified_by = ""
    properties.comments = ""
    properties.created = created
    properties.modified = created
    properties.revision = 1


def _field(paragraph: Any, instruction: str, placeholder: str) -> None:
    """A Word field (PAGE, NUMPAGES): Word and LibreOffice put in the value when they lay out the page."""
    for kind, text in (("begin", None), ("instr", instruction), ("separate", None), ("text", placeholder)):
        run = paragraph.add_run()
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = f" {text} "
            run._r.append(element)
        elif kind == "text":
            run.text = text
        else:
            run._r.append(_fld_char(kind))
    paragraph.add_run()._r.append(_fld_char("end"))


def _fld_char(kind: str) -> Any:
    element = OxmlElement("w:fldChar")
    element.set(qn("w:fldCharType"), kind)
    return element


def _docx_footer(document: Any, footer: str | None) -> None:
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.style = document.styles["Footer"]
    stops = paragraph.paragraph_format.tab_stops
    stops.add_tab_stop(Mm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
    paragraph.add_run(f"{_clean(footer)}\t")
    _field(paragraph, "PAGE", "1")


def _docx_heading(document: Any, block: Heading) -> None:
    document.add_paragraph(_clean(block.text), style=f"Heading {block.level}")


def _docx_paragraph(document: Any, block: Paragraph) -> None:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(_clean(block.text))
    run.bold = block.bold or None
    run.italic = block.italic or None
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph.paragraph_format.first_line_indent = Cm(1.25)
    paragraph.paragraph_format.space_after = Pt(6)


def _docx_bullets(document: Any, block: Bullets) -> None:
    for number, item in enumerate(block.items, 1):
        paragraph = document.add_paragraph(_clean(item), style="List Bullet")
        if number == len(block.items):
            paragraph.paragraph_format.space_after = Pt(6)


def _row_flags(row: Any, *, header: bool = False) -> None:
    """A row never splits over two pages; the header row is repeated at the top of every page."""
    properties = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader") if header else ("w:cantSplit",):  # the schema's order
        flag = OxmlElement(tag)
        flag.set(qn("w:val"), "true")
        properties.append(flag)


def _shade(cell: Any, colour: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def _fill_cell(cell: Any, text: str, *, header: bool = False) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(_clean(text))
    run.font.size = Pt(DOCX_TABLE_PT)  # LibreOffice ignores a table style's font size
    if header:
        run.bold = True
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _shade(cell, _HEADER_SHADE)


def _docx_table(document: Any, block: Table) -> None:
    table = document.add_table(rows=1, cols=len(block.header))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    header = table.rows[0]
    _row_flags(header, header=True)
    for cell, text in zip(header.cells, block.header, strict=True):
        _fill_cell(cell, text, header=True)
    for cells in block.rows:
        row = table.add_row()
        _row_flags(row)
        for cell, text in zip(row.cells, cells, strict=True):
            _fill_cell(cell, text)
    # Word reads each cell's width, LibreOffice the grid's: set both.
    widths = [Mm(TEXT_W * fraction) for fraction in block.fractions()]
    for grid_column, width in zip(table._tbl.tblGrid.gridCol_lst, widths, strict=True):
        grid_column.w = width
    for column, width in zip(table.columns, widths, strict=True):
        for cell in column.cells:
            cell.width = width
    spacer = document.add_paragraph()  # keeps the next paragraph off the table's bottom border
    spacer.paragraph_format.space_after = Pt(6)


def _docx_image(document: Any, block: Image) -> None:
    width, height = block.size_mm()
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_before = Pt(6)
    paragraph.paragraph_format.space_after = Pt(0 if block.caption else 12)
    paragraph.paragraph_format.keep_with_next = bool(block.caption)
    paragraph.add_run().add_picture(io.BytesIO(block.png), width=Mm(width), height=Mm(height))
    if block.caption:
        document.add_paragraph(_clean(block.caption), style="Caption")


def _docx_page_break(document: Any, block: PageBreak) -> None:
    document.add_page_break()


def _docx_signature(document: Any, block: Signature) -> None:
    for number, line in enumerate(block.lines, 1):
        paragraph = document.add_paragraph(_clean(line))
        fmt = paragraph.paragraph_format
        fmt.tab_stops.add_tab_stop(Mm(TEXT_W), WD_TAB_ALIGNMENT.RIGHT)
        fmt.space_before = Pt(30 if number == 1 else 12)
        fmt.keep_with_next = number < len(block.lines)  # the signature block is never split over pages


_DOCX_RENDERERS: dict[type, Any] = {
    Heading: _docx_heading,
    Paragraph: _docx_paragraph,
    Bullets: _docx_bullets,
    Table: _docx_table,
    Image: _docx_image,
    PageBreak: _docx_page_break,
    Signature: _docx_signature,
}


def _fixed_zip_dates(data: bytes) -> bytes:
    """python-docx stamps every zip entry with the moment of saving; restamp them with a fixed date."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for entry in source.infolist():
            stamped = zipfile.ZipInfo(entry.filename, date_time=_ZIP_DATE)
            stamped.compress_type = zipfile.ZIP_DEFLATED
            stamped.external_attr = entry.external_attr
            target.writestr(stamped, source.read(entry.filename))
    return out.getvalue()


# ── PDF ──────────────────────────────────────────────────────────────────────────────────────────────────

PDF_FAMILY = "DejaVu"
_FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
_FONT_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
PDF_TEXT_PT, PDF_TABLE_PT, PDF_SMALL_PT = 11, 9, 8
LINE_MM = 5.5  # line height of 11 pt text
TABLE_LINE_MM = 4.4
_GREY = (90, 90, 90)
_HEADER_FILL = (231, 230, 230)


class _Pdf(FPDF):
    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self._footer_text = footer_text
        self._loaded: set[str] = set()
        self.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.c_margin = 0  # text flush with the margins; table cells get their own padding

    def use(self, style: str = "", size: float = PDF_TEXT_PT) -> None:
        """Select DejaVu Sans in ``style`` ("", "B", "I", "BI"), reading the font file on first use only."""
        if style not in self._loaded:
            self.add_font(PDF_FAMILY, style, str(_FONT_DIR / _FONT_FILES[style]))
            self._loaded.add(style)
        self.set_font(PDF_FAMILY, style, size)

    def room(self) -> float:
        """Space left on this page above the bottom margin, mm."""
        return self.page_break_trigger - self.y

    def footer(self) -> None:
        self.use("", PDF_SMALL_PT)
        self.set_text_color(*_GREY)
        self.set_xy(MARGIN_LEFT, PAGE_H - 14)
        number = str(self.page_no())
        if self._footer_text:
            self.multi_cell(TEXT_W - 15, 3.6, self._footer_text, align="L", new_x=XPos.LMARGIN)
        self.set_xy(MARGIN_LEFT, PAGE_H - 14)
        self.cell(TEXT_W, 3.6, number, align="R")
        self.set_text_color(0, 0, 0)


def build_pdf(doc: Document, *, created: datetime = FIXED_CREATED) -> bytes:
    """The document as a PDF (A4, DejaVu Sans, page numbers in the footer)."""
    pdf = _Pdf(_clean(doc.footer).replace("\n", " "))
    pdf.set_title(_clean(doc.title))
    if doc.subtitle:
        pdf.set_subject(_clean(doc.subtitle))
    pdf.set_lang(LANGUAGE_TAGS.get(doc.lang, doc.lang))
    pdf.set_author("")
    pdf.set_creator("")
    pdf.set_producer("")
    pdf.set_creation_date(created)
    pdf.add_page()

    pdf.use("B", 16)
    pdf.multi_cell(0, 8, _clean(doc.title), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.subtitle:
        pdf.use("", 12)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(0, 6, _clean(doc.subtitle), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
    pdf.ln(6)
    for block in doc.blocks:
        _PDF_RENDERERS[type(block)](pdf, block)
    return bytes(pdf.output())


def _pdf_heading(pdf: _Pdf, block: Heading) -> None:
    size, before = (14, 5.0) if block.level == 1 else (12, 3.0)
    if pdf.room() < 35:  # a heading never ends a page alone
        pdf.add_page()
    elif pdf.y > MARGIN_TOP + 1:
        pdf.ln(before)
    text = _clean(block.text)
    pdf.start_section(text.replace("\n", " "), level=block.level - 1, strict=False)  # the PDF's bookmarks
    pdf.use("B", size)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _pdf_paragraph(pdf: _Pdf, block: Paragraph) -> None:
    pdf.use(("B" if block.bold else "") + ("I" if block.italic else ""))
    text = _clean(block.text).replace("\t", " ")
    pdf.multi_cell(0, LINE_MM, text, align="J", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _pdf_bullets(pdf: _Pdf, block: Bullets) -> None:
    pdf.use()
    indent = 6.0
    for item in block.items:
        if pdf.room() < LINE_MM:  # the bullet and its first line stay together
            pdf.add_page()
        pdf.set_x(MARGIN_LEFT + 1)
        pdf.cell(indent - 1, LINE_MM, "•")
        text = _clean(item).replace("\t", " ")
        pdf.multi_cell(TEXT_W - indent, LINE_MM, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _pdf_table(pdf: _Pdf, block: Table) -> None:
    pdf.use("", PDF_TABLE_PT)
    pdf.set_draw_color(110, 110, 110)
    pdf.set_line_width(0.2)
    if pdf.room() < 3 * TABLE_LINE_MM + 4:  # the header with at least a row under it
        pdf.add_page()
    with pdf.table(
        width=TEXT_W,
        align=Align.L,  # flush with the text (CENTER would centre it on the paper, not between the margins)
        col_widths=block.fractions(),
        line_height=TABLE_LINE_MM,
        text_align=Align.L,
        v_align=VAlign.T,
        headings_style=FontFace(emphasis="BOLD", fill_color=_HEADER_FILL),
        padding=(1.0, 1.2),
    ) as table:
        heading = table.row()
        for text in block.header:
            heading.cell(_clean(text).replace("\t", " "), align=Align.C)
        for cells in block.rows:
            row = table.row()
            for text in cells:
                row.cell(_clean(text).replace("\t", " "))
    pdf.ln(4)


def _pdf_image(pdf: _Pdf, block: Image) -> None:
    width, height = block.size_mm()
    caption = _clean(block.caption).replace("\t", " ")
    if pdf.room() < height + (10 if caption else 2):  # the picture and its caption on one page
        pdf.add_page()
    pdf.ln(1)
    pdf.image(
        io.BytesIO(block.png),
        x=MARGIN_LEFT + (TEXT_W - width) / 2,
        w=width,
        h=height,
        alt_text=caption or None,
    )
    if caption:
        pdf.ln(1.5)
        pdf.use("I", PDF_TABLE_PT + 0.5)
        pdf.multi_cell(0, TABLE_LINE_MM + 0.4, caption, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(4)


def _pdf_page_break(pdf: _Pdf, block: PageBreak) -> None:
    pdf.add_page()


def _pdf_signature(pdf: _Pdf, block: Signature) -> None:
    pdf.use()
    gap_first, gap = 10.0, 4.0
    needed = gap_first + len(block.lines) * (LINE_MM + gap)
    if pdf.room() < needed:  # the signature block is never split over pages
        pdf.add_page()
    else:
        pdf.ln(gap_first)
    for line in block.lines:
        left, _, right = _clean(line).partition("\t")
        top = pdf.y
        pdf.multi_cell(TEXT_W, LINE_MM, left, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if right:
            bottom = pdf.y
            pdf.set_xy(MARGIN_LEFT, top)
            pdf.cell(TEXT_W, LINE_MM, right, align="R")
            pdf.set_xy(MARGIN_LEFT, bottom)
        pdf.ln(gap)


_PDF_RENDERERS: dict[type, Any] = {
    Heading: _pdf_heading,
    Paragraph: _pdf_paragraph,
    Bullets: _pdf_bullets,
    Table: _pdf_table,
    Image: _pdf_image,
    PageBreak: _pdf_page_break,
    Signature: _pdf_signature,
}
