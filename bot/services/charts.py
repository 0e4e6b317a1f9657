"""PNG charts for /report: stage funnel, satisfaction scores, KPIs against targets, growth before and after.

Each chart is made in two steps. A pure *spec* function turns the figures into plain data: the series (values,
colour, marker, line style), the targets, every text written on the chart, the title — or a "no data yet"
message instead of an empty plot. Tests read the spec, not pixels. ``draw`` renders a spec with matplotlib's
object API on the Agg canvas — no pyplot, so no global state, no display and safe in a worker thread. Every
chart has the same pixel size (``SIZE`` at ``DPI``) whatever the data; the PNG carries no timestamp or
software tag, so the same data gives the same bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from bot.domain.kpi import DEFAULT_SATISFIED_FROM, KpiReport, KpiValue, Light, kpi_label_key
from bot.i18n import Translator

LineStyle: TypeAlias = str | tuple[float, tuple[float, ...]]  # "-" or matplotlib's (offset, (on, off, ...))
Kind = Literal["line", "bar", "barh"]

SIZE = (10.0, 6.0)  # inches
DPI = 100  # → 1000 × 600 px
LIGHT_COLOURS = {Light.GREEN: "#2e7d32", Light.YELLOW: "#f9a825", Light.RED: "#c62828", Light.GREY: "#9e9e9e"}
SERIES = ("#1565c0", "#ef6c00", "#6a1b9a", "#00838f")
MARKERS = ("o", "s", "^", "D")
LINESTYLES: tuple[LineStyle, ...] = ("-", (0, (8, 2)), (0, (5, 1.5, 1.5, 1.5)), (0, (1.5, 1)))
# Lines that coincide (four KPIs at 100 %) must not hide each other: each later series is drawn thinner on top
# of the earlier ones, so every colour stays visible as a stripe, and the points of a year move apart.
LINEWIDTHS = (5.0, 3.6, 2.4, 1.4)
MARKERSIZES = (12.0, 10.0, 8.5, 7.0)
DODGE = 0.09  # between neighbouring series' points of one year, in years
# A target's dash; the gap leaves room for every other series' dash, so equal targets interleave.
TARGET_DASH = 3.0
MENTEE_COLOUR, MENTOR_COLOUR, FUNNEL_COLOUR, DONE_COLOUR = "#1565c0", "#ef6c00", "#42a5f5", "#2e7d32"
BEFORE_COLOUR, AFTER_COLOUR = "#90a4ae", "#1565c0"
SATISFIED_COLOUR = "#2e7d32"
TEXT, MUTED = "#212121", "#757575"
LABEL_GAP = 5.0  # percentage points between stacked value labels (9-pt text on a 0–120 axis)
PERCENT_TICKS = (0, 20, 40, 60, 80, 100)
BOX = {"facecolor": "white", "edgecolor": "none", "alpha": 0.95, "pad": 1.5}  # a target's label over a bar


# -- the spec: what a chart shows, as plain data -------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """One series. ``x`` are the positions drawn (already dodged); a ``None`` in ``y`` is a gap (no data)."""

    label: str
    x: tuple[float, ...]
    y: tuple[float | None, ...]
    colour: str
    marker: str = ""
    linestyle: LineStyle = "-"
    kind: Kind = "line"
    width: float = 2.0  # line width, or the bars' width in categories
    markersize: float = 0.0
    colours: tuple[str, ...] = ()  # one per bar where bars differ (traffic lights); else ``colour``
    hatch: str = ""
    zorder: float = 2.0


@dataclass(frozen=True)
class Target:
    """A target as a horizontal segment at ``value`` from ``start`` to ``end`` (category positions)."""

    label: str  # "цель 70%"
    value: float
    colour: str
    start: float
    end: float
    linestyle: LineStyle = "-"
    width: float = 2.5


@dataclass(frozen=True)
class Band:
    """A shaded range of the x axis, its edge marked at ``start`` (e.g. the scores counted as satisfied)."""

    label: str
    start: float
    end: float
    colour: str


@dataclass(frozen=True)
class Label:
    """A text drawn on the chart at data coordinates; ``role`` says what it is ("value", "target", "note")."""

    text: str
    x: float
    y: float
    role: str = "value"
    colour: str = TEXT
    ha: str = "center"
    va: str = "bottom"
    size: float = 9.0
    bold: bool = False
    boxed: bool = False
    outside: bool = False  # may stand beside the axes (target labels in the right margin)


@dataclass(frozen=True)
class LegendEntry:
    label: str
    colour: str
    kind: Literal["patch", "line"] = "patch"
    marker: str = ""
    linestyle: LineStyle = "-"
    width: float = 2.0
    hatch: str = ""


@dataclass(frozen=True)
class ChartSpec:
    title: str
    subtitle: str = ""
    series: tuple[Series, ...] = ()
    targets: tuple[Target, ...] = ()
    bands: tuple[Band, ...] = ()
    labels: tuple[Label, ...] = ()
    legend: tuple[LegendEntry, ...] = ()
    ticks: tuple[float, ...] = ()
    tick_labels: tuple[str, ...] = ()
    category_label: str = ""  # the axis along the categories
    value_label: str = ""
    lim: tuple[float, float] | None = None  # categories
    value_lim: tuple[float, float] | None = None
    horizontal: bool = False  # categories down the y axis, first on top
    percent: bool = False  # the value axis reads 0–100 %
    integer: bool = False  # the value axis counts (answers, pairs)
    no_data: bool = False
    message: str = ""  # shown instead of the plot when ``no_data``

    def texts(self, role: str | None = None) -> list[str]:
        return [label.text for label in self.labels if role is None or label.role == role]


def _no_data(title: str, t: Translator, notes: Sequence[str] = ()) -> ChartSpec:
    """The "no data yet" message instead of an empty plot; ``notes`` (e.g. the targets) stand under it."""
    labels = tuple(
        Label(note, 0.5, 0.36 - 0.07 * i, role="note", colour=MUTED, va="center", size=11)
        for i, note in enumerate(notes)
    )
    return ChartSpec(
        title=title,
        labels=labels,
        lim=(0.0, 1.0),
        value_lim=(0.0, 1.0),
        no_data=True,
        message=t("reports.chart.no_data_yet"),
    )


def percent_text(share: float) -> str:
    """0.7 → "70%": how a share is written on every chart."""
    return f"{share * 100:.0f}%"


def score_text(value: float, t: Translator) -> str:
    """A mean score with one decimal, in the reader's decimal separator ("3,4" in Russian)."""
    text = f"{value:.1f}"
    return text.replace(".", ",") if t.lang == "ru" else text


def season(year: int) -> str:
    """A programme year by its first calendar year: 2026 → "2026/27"."""
    return f"{year}/{(year + 1) % 100:02d}"


def _stack(wanted: Sequence[float], gap: float) -> list[float]:
    """Positions as close to ``wanted`` as possible, at least ``gap`` apart (in the order given, which is
    ascending): labels of equal values are stacked instead of written over each other."""
    out: list[float] = []
    for y in wanted:
        out.append(y if not out else max(y, out[-1] + gap))
    return out


# -- the stage funnel ----------------------------------------------------------------------------------------
def funnel_spec(counts: Sequence[tuple[str, int]], t: Translator) -> ChartSpec:
    """Horizontal bars, first stage on top; ``counts`` are (stage code or "finished", pairs)."""
    title = t("reports.chart.funnel_title")
    values = [n for _, n in counts]
    if not any(values):
        return _no_data(title, t)
    top = max(values)
    positions = tuple(float(i) for i in range(len(values)))
    return ChartSpec(
        title=title,
        series=(
            Series(
                label=t("reports.chart.pairs"),
                x=positions,
                y=tuple(float(n) for n in values),
                colour=FUNNEL_COLOUR,
                kind="barh",
                width=0.7,
                colours=tuple(DONE_COLOUR if code == "finished" else FUNNEL_COLOUR for code, _ in counts),
            ),
        ),
        labels=tuple(
            Label(str(n), n + top * 0.01, i, ha="left", va="center", size=10)
            for i, n in zip(positions, values, strict=True)
        ),
        ticks=positions,
        tick_labels=tuple(
            t("reports.chart.finished") if code == "finished" else t(f"meetings.stage.{code}")
            for code, _ in counts
        ),
        value_label=t("reports.chart.pairs"),
        lim=(-0.6, len(values) - 0.4),
        value_lim=(0.0, top * 1.12),
        horizontal=True,
        integer=True,
    )


def funnel_chart(counts: Sequence[tuple[str, int]], t: Translator) -> bytes:
    return render(funnel_spec(counts, t))


# -- satisfaction --------------------------------------------------------------------------------------------
def satisfaction_spec(
    mentee_scores: Sequence[int],
    mentor_scores: Sequence[int],
    t: Translator,
    *,
    survey: str = "final",
    low: int = 1,
    high: int = 10,
    target_share: float | None = None,
    satisfied_from: int = int(DEFAULT_SATISFIED_FROM),
) -> ChartSpec:
    """How many answers gave each score, mentees' and mentors' bars side by side; the scores that count as
    satisfied shaded, and per group the share of satisfied answers against ``target_share``."""
    title = t(f"reports.chart.satisfaction_title_{survey}")
    if not mentee_scores and not mentor_scores:
        return _no_data(title, t)
    points = range(low, high + 1)
    width = 0.4
    groups = (
        (-width / 2, mentee_scores, MENTEE_COLOUR, "", "mentees"),
        (width / 2, mentor_scores, MENTOR_COLOUR, "//", "mentors"),
    )
    series, labels, legend = [], [], []
    counts = {key: [sum(1 for s in scores if s == p) for p in points] for _, scores, _, _, key in groups}
    top = max(max(c) for c in counts.values())
    for offset, scores, colour, hatch, key in groups:
        name = f"{t(f'reports.chart.{key}')} ({len(scores)})"
        xs = tuple(p + offset for p in points)
        heights = tuple(float(n) for n in counts[key])
        series.append(Series(name, xs, heights, colour, kind="bar", width=width, hatch=hatch))
        legend.append(LegendEntry(name, colour, hatch=hatch))
        labels += [
            Label(f"{n:.0f}", x, n + top * 0.01, size=8) for x, n in zip(xs, heights, strict=True) if n
        ]
    bands, notes = [], []
    if low < satisfied_from <= high:
        band = t("reports.chart.satisfied_band", threshold=satisfied_from)
        bands.append(Band(band, satisfied_from - 0.5, high + 0.5, SATISFIED_COLOUR))
        legend.append(LegendEntry(band, SATISFIED_COLOUR))
        for _, scores, _, _, key in groups:
            if not scores:
                continue  # a share of nobody's answers is not 0 %
            share = sum(1 for s in scores if s >= satisfied_from) / len(scores)
            who, share_text = t(f"reports.chart.{key}"), percent_text(share)
            if target_share is None:
                notes.append(
                    t("reports.chart.satisfied_share", who=who, threshold=satisfied_from, share=share_text)
                )
            else:
                target = percent_text(target_share)
                notes.append(
                    t(
                        "reports.chart.satisfied_share_target",
                        who=who,
                        threshold=satisfied_from,
                        share=share_text,
                        target=target,
                    )
                )
    return ChartSpec(
        title=title,
        subtitle="\n".join(notes),
        series=tuple(series),
        bands=tuple(bands),
        labels=tuple(labels),
        legend=tuple(legend),
        ticks=tuple(float(p) for p in points),
        tick_labels=tuple(str(p) for p in points),
        category_label=t("reports.chart.score"),
        value_label=t("reports.chart.answers"),
        lim=(low - 0.6, high + 0.6),
        value_lim=(0.0, top * 1.18 + 0.5),
        integer=True,
    )


def satisfaction_chart(
    mentee_scores: Sequence[int],
    mentor_scores: Sequence[int],
    t: Translator,
    *,
    survey: str = "final",
    low: int = 1,
    high: int = 10,
    target_share: float | None = None,
    satisfied_from: int = int(DEFAULT_SATISFIED_FROM),
) -> bytes:
    return render(
        satisfaction_spec(
            mentee_scores,
            mentor_scores,
            t,
            survey=survey,
            low=low,
            high=high,
            target_share=target_share,
            satisfied_from=satisfied_from,
        )
    )


# -- KPIs against targets ------------------------------------------------------------------------------------
def kpi_spec(reports: Sequence[KpiReport], t: Translator) -> ChartSpec:
    """``reports`` are per programme year (``year`` is the year's first calendar year), oldest first.

    One year: a bar per KPI coloured by its traffic light, the value written on it, its target a black line
    labelled "цель 70%". Several years: a line per KPI with its values written, its target dashed in the same
    colour. Nothing measured at all: "no data yet" (and the targets in words)."""
    reports = list(reports)
    if not reports:
        return _no_data(t("reports.chart.kpi_title"), t)
    first, last = season(reports[0].year), season(reports[-1].year)
    title = t("reports.chart.kpi_title_year", year=first if first == last else f"{first}–{last}")
    if all(v.value is None for r in reports for v in r.values):
        notes = [
            t("reports.chart.target_of", name=t(v.label_key), value=percent_text(v.target))
            for v in reports[-1].values
            if v.target is not None
        ]
        return _no_data(title, t, notes)
    if len(reports) == 1:
        return _kpi_year(reports[0], title, t)
    return _kpi_years(reports, title, t)


def _kpi_year(report: KpiReport, title: str, t: Translator) -> ChartSpec:
    values = report.values
    positions = tuple(float(i) for i in range(len(values)))
    labels: list[Label] = []
    targets: list[Target] = []
    for i, v in zip(positions, values, strict=True):
        height = None if v.value is None else v.value * 100
        target = None if v.target is None else v.target * 100
        value_top = None  # where the value's text ends, if above the bar
        if height is None:
            labels.append(Label(t("reports.chart.no_data"), i, 1.5, colour=MUTED, size=10))
        else:
            text, y = percent_text(v.value or 0.0), height - 1.5
            if target is not None and y - 7 < target < height + 1:
                y = target - 1.5  # the value's text would sit on the target line: under it instead
            if y >= 8:
                ink = TEXT if v.light is Light.YELLOW else "white"
                labels.append(Label(text, i, y, colour=ink, va="top", size=11, bold=True))
            else:  # too low a bar to write in: above it, and above the target line if that is close
                y = height + 1.0
                if target is not None and height - 1 < target < height + 8:
                    y = target + 1.0
                labels.append(Label(text, i, y, size=11, bold=True))
                value_top = y + 6.0
        if target is not None:
            label = t("reports.chart.target_value", value=percent_text(v.target or 0.0))
            targets.append(Target(label, target, TEXT, i - 0.38, i + 0.38, width=3.0))
            y = target + 1.0 if value_top is None or target + 1.0 >= value_top else value_top
            labels.append(Label(label, i, y, role="target", size=9, boxed=True))
    lights = [light for light in Light if any(v.light is light and v.value is not None for v in values)]
    legend = [LegendEntry(t(_light_key(light)), LIGHT_COLOURS[light]) for light in lights]
    if targets:
        legend.append(LegendEntry(t("reports.chart.target"), TEXT, kind="line", width=3.0))
    return ChartSpec(
        title=title,
        series=(
            Series(
                label="",
                x=positions,
                y=tuple(None if v.value is None else v.value * 100 for v in values),
                colour=LIGHT_COLOURS[Light.GREY],
                kind="bar",
                width=0.55,
                colours=tuple(LIGHT_COLOURS[v.light] for v in values),
            ),
        ),
        targets=tuple(targets),
        labels=tuple(labels),
        legend=tuple(legend),
        ticks=positions,
        tick_labels=tuple(textwrap.fill(t(v.label_key), 22) for v in values),
        lim=(-0.6, len(values) - 0.4),
        value_lim=(0.0, 112.0),
        percent=True,
    )


def _light_key(light: Light) -> str:
    # A grey bar has a value (bars without one are not drawn): it is grey for want of a target.
    return "roadmap.light.no_target" if light is Light.GREY else light.label_key


def _kpi_years(reports: list[KpiReport], title: str, t: Translator) -> ChartSpec:
    codes = [v.code for v in reports[-1].values]
    rows = [[_value_of(r, code) for r in reports] for code in codes]
    # A KPI nobody measures and nobody targets would only crowd the legend.
    shown = [
        (code, row)
        for code, row in zip(codes, rows, strict=True)
        if any(v.value is not None or v.target is not None for v in row)
    ]
    n = len(shown)
    period = TARGET_DASH * max(n, 4)
    series, targets, legend = [], [], []
    points: dict[int, list[tuple[float, int, float]]] = {}  # year index → (value, series, x)
    ends: list[tuple[float, int, str]] = []  # the latest target of each series, labelled in the right margin
    labels: list[Label] = []
    for s, (code, row) in enumerate(shown):
        colour = SERIES[s % len(SERIES)]
        offset = (s - (n - 1) / 2) * DODGE
        xs = tuple(j + offset for j in range(len(row)))
        ys = tuple(None if v.value is None else v.value * 100 for v in row)
        name = t(kpi_label_key(code))
        if all(y is None for y in ys):
            name = t("reports.chart.series_no_data", name=name)
        style = LINESTYLES[s % len(LINESTYLES)]
        width = LINEWIDTHS[s % len(LINEWIDTHS)]
        marker, size = MARKERS[s % len(MARKERS)], MARKERSIZES[s % len(MARKERSIZES)]
        series.append(Series(name, xs, ys, colour, marker, style, "line", width, size, zorder=3 + s))
        legend.append(LegendEntry(name, colour, "line", marker, style, min(width, 3.0)))
        for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
            if y is not None:
                points.setdefault(j, []).append((y, s, x))
        dash: LineStyle = ((period - TARGET_DASH * s) % period, (TARGET_DASH, period - TARGET_DASH))
        for start, stop, value in _runs([None if v.target is None else v.target * 100 for v in row]):
            label = t("reports.chart.target_value", value=percent_text(value / 100))
            targets.append(Target(label, value, colour, start - 0.42, stop + 0.42, dash, 2.4))
            if stop == len(row) - 1:
                ends.append((value, s, label))
            else:
                labels.append(Label(label, stop + 0.42, value + 1.0, "target", colour, ha="right", size=8))
    for _, column in sorted(points.items()):
        column.sort()
        stacked = _stack([y + 2.0 for y, _, _ in column], LABEL_GAP)
        for (y, s, x), at in zip(column, stacked, strict=True):
            colour = SERIES[s % len(SERIES)]
            labels.append(Label(percent_text(y / 100), x, at, colour=colour, size=8.5, bold=True))
    # Equal targets get one label in a neutral colour; different ones are stacked apart.
    merged: dict[float, list[tuple[int, str]]] = {}
    for value, s, label in sorted(ends):
        merged.setdefault(round(value, 3), []).append((s, label))
    margin = len(reports) - 0.5 + 0.04
    for at, group in zip(_stack(list(merged), LABEL_GAP), merged.values(), strict=True):
        colour = SERIES[group[0][0] % len(SERIES)] if len(group) == 1 else TEXT
        labels.append(Label(group[0][1], margin, at, "target", colour, ha="left", va="center", outside=True))
    if targets:
        legend.append(LegendEntry(t("reports.chart.target_dashed"), MUTED, "line", "", (0, (3, 3)), 1.8))
    top = max([110.0, *(label.y + 6 for label in labels)])
    return ChartSpec(
        title=title,
        series=tuple(series),
        targets=tuple(targets),
        labels=tuple(labels),
        legend=tuple(legend),
        ticks=tuple(float(j) for j in range(len(reports))),
        tick_labels=tuple(season(r.year) for r in reports),
        category_label=t("reports.chart.programme_year"),
        lim=(-0.5, len(reports) - 0.5),
        value_lim=(0.0, top),
        percent=True,
    )


def _value_of(report: KpiReport, code: str) -> KpiValue:
    """A KPI of an older report that did not have it yet reads as unmeasured and untargeted."""
    try:
        return report.get(code)
    except KeyError:
        return KpiValue(code, None, None, Light.GREY)


def _runs(values: Sequence[float | None]) -> list[tuple[int, int, float]]:
    """Runs of years with the same target: (first index, last index, value); a year without one is a gap."""
    runs: list[tuple[int, int, float]] = []
    for j, value in enumerate(values):
        if value is None:
            continue
        if runs and runs[-1][1] == j - 1 and math.isclose(runs[-1][2], value):
            runs[-1] = (runs[-1][0], j, runs[-1][2])
        else:
            runs.append((j, j, value))
    return runs


def kpi_chart(reports: Sequence[KpiReport], t: Translator) -> bytes:
    return render(kpi_spec(reports, t))


# -- growth: before and after --------------------------------------------------------------------------------
def growth_spec(
    items: Sequence[tuple[str, float, float, int]],
    t: Translator,
    *,
    low: int = 1,
    high: int = 5,
    title_key: str = "reports.chart.growth_title",
) -> ChartSpec:
    """Per item (label, mean before, mean after, people): the two means side by side, each written on its bar,
    the change above the pair and "n = people" under the item's name."""
    title = t(title_key)
    # A mean over nobody (NaN, or no people) is no data, not a bar of 0.
    before = tuple(b if people and math.isfinite(b) else None for _, b, _, people in items)
    after = tuple(a if people and math.isfinite(a) else None for _, _, a, people in items)
    if all(b is None or a is None for b, a in zip(before, after, strict=True)):
        return _no_data(title, t)
    width = 0.38
    positions = tuple(float(i) for i in range(len(items)))
    labels: list[Label] = []
    for i, b, a in zip(positions, before, after, strict=True):
        if b is None or a is None:
            labels.append(Label(t("reports.chart.no_data"), i, 0.1, colour=MUTED, size=10))
            continue
        labels.append(Label(score_text(b, t), i - width / 2, b + 0.05, size=9))
        labels.append(Label(score_text(a, t), i + width / 2, a + 0.05, size=9, bold=True))
        change = a - b
        sign = "+" if change > 0.05 else ""
        colour = DONE_COLOUR if change > 0.05 else (LIGHT_COLOURS[Light.RED] if change < -0.05 else MUTED)
        change_text = sign + score_text(change, t)
        labels.append(Label(change_text, i, max(a, b) + 0.42, "note", colour, size=10, bold=True))
    names = (t("reports.chart.growth_before"), t("reports.chart.growth_after"))
    left, right = tuple(i - width / 2 for i in positions), tuple(i + width / 2 for i in positions)
    return ChartSpec(
        title=title,
        series=(
            Series(names[0], left, before, BEFORE_COLOUR, kind="bar", width=width),
            Series(names[1], right, after, AFTER_COLOUR, kind="bar", width=width),
        ),
        labels=tuple(labels),
        legend=(LegendEntry(names[0], BEFORE_COLOUR), LegendEntry(names[1], AFTER_COLOUR)),
        ticks=positions,
        tick_labels=tuple(
            f"{textwrap.fill(label, 24)}\n{t('reports.chart.people_n', n=people)}"
            for label, _, _, people in items
        ),
        value_label=t("reports.chart.mean_score", low=low, high=high),
        lim=(-0.6, len(items) - 0.4),
        value_lim=(0.0, high + 0.9),
    )


def growth_chart(
    items: Sequence[tuple[str, float, float, int]],
    t: Translator,
    *,
    low: int = 1,
    high: int = 5,
    title_key: str = "reports.chart.growth_title",
) -> bytes:
    return render(growth_spec(items, t, low=low, high=high, title_key=title_key))


# -- drawing -------------------------------------------------------------------------------------------------
def figure() -> Figure:
    fig = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def render(spec: ChartSpec) -> bytes:
    fig = figure()
    draw(spec, fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def draw(spec: ChartSpec, fig: Figure) -> Axes:
    """Render ``spec`` into ``fig``. Every artist carries a gid ("series", "target", "band", "message", or
    "text:" and a label's role), so a test can find what was drawn."""
    ax = fig.add_subplot()
    if spec.subtitle:
        fig.suptitle(spec.title, fontsize=14, fontweight="bold")
        ax.set_title(spec.subtitle, fontsize=10.5, color=TEXT)
    else:
        ax.set_title(spec.title, fontsize=14, fontweight="bold")
    if spec.no_data:
        ax.set_axis_off()
        ax.set_xlim(*(spec.lim or (0.0, 1.0)))
        ax.set_ylim(*(spec.value_lim or (0.0, 1.0)))
        ax.text(0.5, 0.55, spec.message, ha="center", va="center", fontsize=20, color=MUTED, gid="message")
        _labels(ax, spec)
        return ax
    for band in spec.bands:
        ax.axvspan(band.start, band.end, color=band.colour, alpha=0.1, zorder=0, gid="band")
        ax.axvline(band.start, color=band.colour, linewidth=1.5, zorder=1, gid="band")
    for s in spec.series:
        _series(ax, s)
    for target in spec.targets:
        if target.linestyle not in ("-", "solid"):
            # Interleaved dashes of equal targets leave gaps: a faint solid trace keeps each one a line.
            ax.plot(
                [target.start, target.end],
                [target.value, target.value],
                color=target.colour,
                linewidth=1.0,
                alpha=0.45,
                zorder=9,
                gid="target_trace",
            )
        ax.plot(
            [target.start, target.end],
            [target.value, target.value],
            color=target.colour,
            linestyle=target.linestyle,
            linewidth=target.width,
            zorder=10,
            label=target.label,
            gid="target",
        )
    _labels(ax, spec)
    _axes(ax, spec)
    if spec.legend:
        fig.legend(
            handles=[_handle(entry) for entry in spec.legend],
            loc="outside lower center",
            ncols=min(len(spec.legend), 3),
            fontsize=9,
            frameon=False,
        )
    return ax


def _series(ax: Axes, s: Series) -> None:
    if s.kind == "line":
        ax.plot(
            s.x,
            [math.nan if y is None else y for y in s.y],
            color=s.colour,
            marker=s.marker,
            linestyle=s.linestyle,
            linewidth=s.width,
            markersize=s.markersize,
            markeredgecolor="white",
            zorder=s.zorder,
            label=s.label,
            gid="series",
        )
        return
    heights = [0.0 if y is None else y for y in s.y]
    colours = list(s.colours) or s.colour
    style = {"color": colours, "hatch": s.hatch or None, "edgecolor": "white", "label": s.label}
    style["gid"] = "series"
    if s.kind == "barh":
        ax.barh(s.x, heights, height=s.width, zorder=s.zorder, **style)
    else:
        ax.bar(s.x, heights, width=s.width, zorder=s.zorder, **style)


def _labels(ax: Axes, spec: ChartSpec) -> None:
    for label in spec.labels:
        ax.text(
            label.x,
            label.y,
            label.text,
            color=label.colour,
            ha=label.ha,
            va=label.va,
            fontsize=label.size,
            fontweight="bold" if label.bold else "normal",
            bbox=BOX if label.boxed else None,
            clip_on=not label.outside,
            zorder=12,
            gid=f"text:{label.role}",
        )


def _axes(ax: Axes, spec: ChartSpec) -> None:
    category, value = (ax.yaxis, ax.xaxis) if spec.horizontal else (ax.xaxis, ax.yaxis)
    set_lim, set_value_lim = (ax.set_ylim, ax.set_xlim) if spec.horizontal else (ax.set_xlim, ax.set_ylim)
    category.set_ticks(spec.ticks, spec.tick_labels)
    if spec.lim:
        set_lim(*spec.lim)
    if spec.value_lim:
        set_value_lim(*spec.value_lim)
    if spec.horizontal:
        ax.invert_yaxis()
    if spec.percent:
        value.set_ticks(PERCENT_TICKS, [f"{p}%" for p in PERCENT_TICKS])
    elif spec.integer:
        value.set_major_locator(MaxNLocator(integer=True))
    category.set_label_text(spec.category_label)
    value.set_label_text(spec.value_label)
    ax.grid(axis="x" if spec.horizontal else "y", color="#e0e0e0", zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _handle(entry: LegendEntry) -> Line2D | Patch:
    if entry.kind == "line":
        return Line2D(
            [],
            [],
            color=entry.colour,
            marker=entry.marker,
            linestyle=entry.linestyle,
            linewidth=entry.width,
            label=entry.label,
        )
    return Patch(facecolor=entry.colour, edgecolor="white", hatch=entry.hatch or None, label=entry.label)
