"""PNG charts for /report: stage funnel, satisfaction scores, KPIs against targets.

Figures are drawn with matplotlib's object API on the Agg canvas — no pyplot, so no global state, no display
and safe in a worker thread. Every chart has the same pixel size (``SIZE`` at ``DPI``) whatever the data;
the PNG carries no timestamp or software tag, so the same data gives the same bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.domain.kpi import KpiReport, Light
from bot.i18n import Translator

SIZE = (10.0, 6.0)  # inches
DPI = 100  # → 1000 × 600 px
LIGHT_COLOURS = {Light.GREEN: "#2e7d32", Light.YELLOW: "#f9a825", Light.RED: "#c62828", Light.GREY: "#9e9e9e"}
SERIES = ("#1565c0", "#ef6c00", "#6a1b9a", "#00838f")
MENTEE_COLOUR, MENTOR_COLOUR, FUNNEL_COLOUR, DONE_COLOUR = "#1565c0", "#ef6c00", "#42a5f5", "#2e7d32"


def _figure() -> Figure:
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _no_data(ax: Axes, t: Translator) -> None:
    ax.text(
        0.5,
        0.5,
        t("reports.chart.no_data"),
        ha="center",
        va="center",
        fontsize=16,
        color="#757575",
        transform=ax.transAxes,
    )


def funnel_chart(counts: Sequence[tuple[str, int]], t: Translator) -> bytes:
    """Horizontal bars, first stage on top; ``counts`` are (stage code or "finished", pairs)."""
    fig = _figure()
    ax = fig.add_subplot()
    labels = [
        t("reports.chart.finished") if code == "finished" else t(f"meetings.stage.{code}")
        for code, _ in counts
    ]
    values = [n for _, n in counts]
    colours = [DONE_COLOUR if code == "finished" else FUNNEL_COLOUR for code, _ in counts]
    bars = ax.barh(range(len(values)), values, color=colours)
    ax.set_yticks(range(len(values)), labels)
    ax.invert_yaxis()
    ax.bar_label(bars, padding=3)
    ax.set_xlim(0, max([*values, 1]) * 1.12)
    ax.set_xlabel(t("reports.chart.pairs"))
    ax.set_title(t("reports.chart.funnel_title"))
    ax.xaxis.get_major_locator().set_params(integer=True)
    if not any(values):
        _no_data(ax, t)
    return _png(fig)


def satisfaction_chart(
    mentee_scores: Sequence[int],
    mentor_scores: Sequence[int],
    t: Translator,
    *,
    survey: str = "final",
    low: int = 1,
    high: int = 10,
) -> bytes:
    """How many answers gave each score, mentees' and mentors' bars side by side."""
    fig = _figure()
    ax = fig.add_subplot()
    points = list(range(low, high + 1))
    width = 0.4
    for offset, scores, colour, key in (
        (-width / 2, mentee_scores, MENTEE_COLOUR, "mentees"),
        (width / 2, mentor_scores, MENTOR_COLOUR, "mentors"),
    ):
        heights = [sum(1 for s in scores if s == p) for p in points]
        ax.bar(
            [p + offset for p in points],
            heights,
            width,
            color=colour,
            label=f"{t(f'reports.chart.{key}')} ({len(scores)})",
        )
    ax.set_xticks(points)
    ax.set_xlim(low - 0.6, high + 0.6)
    ax.set_xlabel(t("reports.chart.score"))
    ax.set_ylabel(t("reports.chart.answers"))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_title(t(f"reports.chart.satisfaction_title_{survey}"))
    ax.legend(loc="upper left")
    if not mentee_scores and not mentor_scores:
        ax.set_ylim(0, 1)
        _no_data(ax, t)
    return _png(fig)


def kpi_chart(reports: Sequence[KpiReport], t: Translator) -> bytes:
    """One year: a bar per KPI coloured by its traffic light, the target as a black mark. Several years: a
    line per KPI over the years, its target dashed in the same colour."""
    fig = _figure()
    ax = fig.add_subplot()
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    if len(reports) >= 2:
        years = [r.year for r in reports]
        for i, v in enumerate(reports[-1].values):
            colour = SERIES[i % len(SERIES)]
            values = [_pct(r.get(v.code).value) for r in reports]
            targets = [_pct(r.get(v.code).target) for r in reports]
            if all(math.isnan(x) for x in values + targets):
                continue  # a KPI nobody measures or targets would only crowd the legend
            ax.plot(years, values, marker="o", color=colour, label=t(v.label_key))
            if any(not math.isnan(x) for x in targets):
                ax.plot(
                    years,
                    targets,
                    linestyle="--",
                    color=colour,
                    alpha=0.7,
                    label=f"{t(v.label_key)}: {t('reports.chart.target')}",
                )
        ax.set_xticks(years)
        ax.set_xlabel(t("reports.chart.year"))
        ax.set_title(t("reports.chart.kpi_title"))
        if ax.get_legend_handles_labels()[0]:
            fig.legend(loc="outside lower center", fontsize=9, ncols=2)
        else:
            _no_data(ax, t)
        return _png(fig)
    values = reports[0].values if reports else ()
    labels = [textwrap.fill(t(v.label_key), 22) for v in values]
    heights = [0.0 if v.value is None else v.value * 100 for v in values]
    bars = ax.bar(range(len(values)), heights, color=[LIGHT_COLOURS[v.light] for v in values])
    ax.bar_label(
        bars,
        [t("reports.chart.no_data") if v.value is None else f"{v.value * 100:.0f}%" for v in values],
        padding=3,
    )
    marked = False
    for i, v in enumerate(values):
        if v.target is not None:
            ax.hlines(
                v.target * 100,
                i - 0.4,
                i + 0.4,
                colors="black",
                linewidth=3,
                label=None if marked else t("reports.chart.target"),
            )
            marked = True
    ax.set_xticks(range(len(values)), labels)
    ax.set_title(
        t("reports.chart.kpi_title_year", year=reports[0].year) if reports else t("reports.chart.kpi_title")
    )
    if marked:
        ax.legend(loc="upper right")
    return _png(fig)


def _pct(value: float | None) -> float:
    return math.nan if value is None else value * 100
