"""The district's consolidated report for a monitoring campaign: an XLSX workbook (one row per institution
and the totals) and a PNG chart (each institution's coverage and satisfaction against the targets). Small
numbers are shown as "< 5" in both; nothing in them names a participant."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.styles import Font

from bot.domain import district as dd
from bot.domain import kpi
from bot.domain.stages import STAGE_ORDER
from bot.i18n import Translator
from bot.services.dashboard import points
from bot.services.district import District, Row
from bot.services.matching import FORM_SERVES

FORMS = (*FORM_SERVES, "unknown")
CHART_MOST = 25  # institutions on one chart (the workbook has every one)
LIGHT_MARK = {kpi.Light.GREEN: "🟢", kpi.Light.YELLOW: "🟡", kpi.Light.RED: "🔴", kpi.Light.GREY: "⚪"}


def period_name(t: Translator, period: dd.Period) -> str:
    return t(f"district.period.m{period.month}", year=period.year)


def _share(t: Translator, value: float | None, base: int, small: int) -> str:
    if base and base < small:
        return f"< {small}"
    shown = dd.shown_share(value, base, small)
    return shown if shown is not None else t("district.no_data")


def cells(row_figures: dd.Figures, targets: dict[str, float | None], t: Translator, small: int) -> list[str]:
    """One row's values as the coordinator reads them (the columns of ``headers``)."""
    f = row_figures
    c = lambda n: dd.shown_count(n, small)  # noqa: E731
    out = [c(f.mentors), c(f.mentees)]
    out += [c(f.mentees_by_kind.get(kind, 0)) for kind in dd.MENTEE_KINDS]
    out += [c(f.paired_by_form.get(form, 0)) for form in FORMS]
    out += [c(f.pairs)] + [c(f.pairs_by_stage.get(stage.value, 0)) for stage in STAGE_ORDER]
    out += [c(f.overdue_pairs)]
    out += [c(f.population) if f.population else t("district.no_data")]
    lights = {x.code: x for x in dd.lights(f, targets, small)}
    for code, base in (
        (kpi.KPI_COVERAGE, f.population),
        (kpi.KPI_MENTEE_SATISFACTION, f.mentee_rated),
        (kpi.KPI_MENTOR_SATISFACTION, f.mentor_rated),
    ):
        x = lights[code]
        value = x.value if code != kpi.KPI_COVERAGE else f.coverage
        text = (
            (dd.percent(value) if value is not None else t("district.no_data"))
            if code == kpi.KPI_COVERAGE
            else _share(t, value, base, small)
        )
        out.append(f"{LIGHT_MARK[x.light]} {text}")
    out.append(_share(t, f.response_rate, f.survey_invited, small))
    out.append(f"{c(f.roadmap_overdue)} / {c(f.roadmap_items)}")
    out.append(_share(t, f.growth_improved_share, f.growth_people, small))
    change = f.growth_mean_change
    shown = change is not None and f.growth_people >= small
    out.append(
        points(change, t.lang) if shown and change is not None else _share(t, None, f.growth_people, small)
    )
    out.append(f"{f.swot_done} / {f.programmes}")
    return out


def headers(t: Translator) -> list[str]:
    return [
        t("district.col.mentors"),
        t("district.col.mentees"),
        *(t(f"district.kind.{kind}") for kind in dd.MENTEE_KINDS),
        *(t(f"district.form.{form}") for form in FORMS),
        t("district.col.pairs"),
        *(t(f"meetings.stage.{stage.value}") for stage in STAGE_ORDER),
        t("district.col.overdue"),
        t("district.col.population"),
        t("district.col.coverage"),
        t("district.col.mentee_satisfaction"),
        t("district.col.mentor_satisfaction"),
        t("district.col.response"),
        t("district.col.roadmap_overdue"),
        t("district.col.growth_improved"),
        t("district.col.growth_change"),
        t("district.col.swot"),
    ]


def render_xlsx(
    district: District, t: Translator, small: int = dd.SMALL_DEFAULT, tz: ZoneInfo | None = None
) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t("district.sheet")[:31]
    ws.append([t("district.report_title", period=period_name(t, district.period))])
    ws["A1"].font = Font(bold=True, size=13)
    if district.as_of is not None:
        as_of = district.as_of.astimezone(tz) if tz is not None else district.as_of
        ws.append([t("district.report_as_of", as_of=f"{as_of:%d.%m.%Y %H:%M}")])
    ws.append([t("district.small_note", small=small)])
    ws.append([])
    ws.append([t("district.col.institution"), *headers(t)])
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in district.rows:
        ws.append([row.institution.title, *cells(row.figures, row.targets, t, small)])
    ws.append([t("district.total"), *cells(district.total, district.targets, t, small)])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 40
    ws.freeze_panes = f"B{header_row + 1}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render_png(district: District, t: Translator, small: int = dd.SMALL_DEFAULT) -> bytes:
    """Coverage and satisfaction per institution (bars), the targets as dashed lines; a share over fewer
    than ``small`` people is left out (and the chart says so)."""
    rows: list[Row] = district.rows
    title = t("district.chart_title", period=period_name(t, district.period))
    if len(rows) > CHART_MOST:
        # A district of hundreds: the institutions that need attention most, by coverage (unknown first).
        rows = sorted(rows, key=lambda r: (r.figures.coverage is not None, r.figures.coverage or 0.0))
        rows = rows[:CHART_MOST]
        title = t(
            "district.chart_title_lowest",
            period=period_name(t, district.period),
            n=CHART_MOST,
            total=len(district.rows),
        )
    fig = Figure(figsize=(max(6.0, 1.2 + 0.9 * len(rows)), 4.8), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    series = (
        (kpi.KPI_COVERAGE, "#4C72B0"),
        (kpi.KPI_MENTEE_SATISFACTION, "#55A868"),
        (kpi.KPI_MENTOR_SATISFACTION, "#C44E52"),
    )
    width = 0.8 / len(series)
    for i, (code, colour) in enumerate(series):
        values = []
        for row in rows:
            light = {x.code: x for x in dd.lights(row.figures, row.targets, small)}[code]
            values.append(100 * light.value if light.value is not None else 0.0)
        xs = [j + (i - 1) * width for j in range(len(rows))]
        bars = ax.bar(xs, values, width, color=colour, label=t(kpi.kpi_label_key(code)))
        ax.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in values], padding=2, fontsize=7)
        target = district.targets.get(code)
        if target is not None:
            ax.axhline(100 * target, color=colour, linestyle="--", linewidth=1)
    ax.set_xticks(range(len(rows)), [r.institution.title[:18] for r in rows], rotation=20, ha="right")
    ax.set_ylim(0, 110)
    ax.set_ylabel("%")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    if not rows:
        ax.text(0.5, 0.5, t("reports.chart.no_data"), ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
