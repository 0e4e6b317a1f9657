"""A participation certificate as a PNG or a PDF: name, programme, dates, role and the other side of the pair.

Drawn with matplotlib's object API (no pyplot, no global state, safe in a worker thread) on the Agg canvas for
PNG and the PDF backend for PDF. The text uses DejaVu Sans, which ships with matplotlib and covers Cyrillic,
so nothing is downloaded. The files carry no timestamp or software tag: the same data gives the same bytes.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from bot.domain.grammar import format_date, gender_of
from bot.i18n import Translator

FORMATS = ("png", "pdf")
SIZE = (11.69, 8.27)  # A4 landscape, inches
DPI = 150  # PNG: 1754 × 1240 px
FONT = "DejaVu Sans"
ACCENT, INK, MUTED = "#1a4f8b", "#212121", "#616161"


@dataclass(frozen=True)
class CertificateData:
    name: str
    programme: str
    role: str  # "mentee" | "mentor"
    date_from: date
    date_to: date
    others: tuple[str, ...]  # the mentor (for a mentee) or the mentees (for a mentor)
    issued_on: date
    number: str = ""


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=width)) or text


def _figure(data: CertificateData, t: Translator) -> Figure:
    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    ax.add_patch(Rectangle((0.03, 0.04), 0.94, 0.92, fill=False, edgecolor=ACCENT, linewidth=4))
    ax.add_patch(Rectangle((0.045, 0.06), 0.91, 0.88, fill=False, edgecolor=ACCENT, linewidth=1))

    def text(y: float, s: str, size: float, color: str = INK, weight: str = "normal") -> None:
        ax.text(0.5, y, s, ha="center", va="center", fontsize=size, color=color, weight=weight, family=FONT)

    text(0.85, t("completion.certificate.title"), 34, ACCENT, "bold")
    text(0.77, t("completion.certificate.subtitle"), 15, MUTED)
    text(0.69, t("completion.certificate.certifies"), 14, MUTED)
    text(0.61, _wrap(data.name, 44), 28, INK, "bold")
    role = t(f"completion.certificate.role.{data.role}")
    text(0.50, _wrap(t.g("completion.certificate.took_part", gender_of(data.name), role=role), 80), 14)
    text(0.43, _wrap(t("completion.certificate.programme", programme=data.programme), 60), 18, ACCENT, "bold")
    period = t(
        "completion.certificate.period",
        date_from=format_date(t, data.date_from),
        date_to=format_date(t, data.date_to),
    )
    text(0.35, period, 14)
    if data.others:
        key = "completion.certificate.mentor" if data.role == "mentee" else "completion.certificate.mentees"
        text(0.27, _wrap(t(key, names=", ".join(data.others)), 90), 14)
    issued = t("completion.certificate.issued", date=format_date(t, data.issued_on))
    if data.number:
        issued = f"{issued} · {t('completion.certificate.number', number=data.number)}"
    ax.text(0.08, 0.11, issued, ha="left", va="center", fontsize=10, color=MUTED, family=FONT)
    return fig


def render(data: CertificateData, t: Translator, fmt: str = "png") -> bytes:
    """The certificate as PNG (default) or PDF bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown certificate format {fmt!r}")
    fig = _figure(data, t)
    out = io.BytesIO()
    if fmt == "png":
        FigureCanvasAgg(fig)
        fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    else:
        FigureCanvasPdf(fig)
        fig.savefig(out, format="pdf", metadata={"Creator": None, "Producer": None, "CreationDate": None})
    return out.getvalue()
