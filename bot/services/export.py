"""The curator's export: the programme as sheets (participants, questionnaire answers, pairs, meetings,
feedback, KPIs, roadmap), written as one XLSX workbook or as a zip of CSV files, and the figures /report
draws (stage funnel, satisfaction scores, KPIs by year).

Pure code over plain rows (storage/repositories/reports.py): no Telegram, no database, safe to run in a
worker thread. Rows are produced lazily, sheet by sheet, so 10,000 participants never sit in memory twice;
``on_progress(done, total)`` counts written rows across all sheets.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bot.domain.entities import PairStatus
from bot.domain.forms import Form, QuestionType, display_answer
from bot.domain.growth import GrowthFigure
from bot.domain.kpi import KpiReport, year_label
from bot.domain.roadmap import RoadmapRow
from bot.domain.stages import STAGE_ORDER, Stage
from bot.i18n import Translator
from bot.services.completion import CaseView, case_sheet
from storage.repositories.reports import AnswerRow, FeedbackRow, MeetingRow, PairRow, PersonRow

if TYPE_CHECKING:
    from bot.services.figures import Figures
    from bot.services.swot import SwotResult

# Which question of each scored form holds its score.
SCORE_KEYS: Mapping[str, str] = {
    "meeting_feedback": "rating",
    "intermediate": "satisfaction",
    "final": "satisfaction",
}
PROGRESS_EVERY = 1000
# Column widths in characters: measured on the header and this many rows, then kept between the bounds.
WIDTH_SAMPLE = 200
WIDTH_MIN = 8
WIDTH_MAX = 60
# Excel's limits: 31 characters and none of these in a sheet title.
_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")
# A spreadsheet reads a cell starting with one of these as a formula: text typed by a participant must not
# run as one on the curator's computer (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CSV_DATETIME = "%d.%m.%Y %H:%M"
_CSV_DATE = "%d.%m.%Y"
_XLSX_DATETIME = "DD.MM.YYYY HH:MM"
_XLSX_DATE = "DD.MM.YYYY"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportData:
    people: Sequence[PersonRow]
    answers: Sequence[AnswerRow]
    pairs: Sequence[PairRow]
    meetings: Sequence[MeetingRow]
    feedback: Sequence[FeedbackRow]
    forms: Mapping[str, Form]
    """Every form by id: questions of intake forms, titles and scales of scored ones."""
    intake_forms: Sequence[str]
    """Forms that get an answers sheet, in this order."""
    kpis: Sequence[KpiReport] = ()
    roadmap: Sequence[RoadmapRow] = ()
    timezone: str = "Europe/Moscow"
    cases: Sequence[CaseView] = ()
    # (programme year, group code: "all", a role or a form of mentoring, its growth figure), per year.
    growth: Sequence[tuple[int, str, GrowthFigure]] = ()
    swot: Sequence[SwotResult] = ()
    # The current programme year's figures (what the dashboard shows), for the charts.
    current: Figures | None = None


@dataclass(frozen=True)
class Sheet:
    key: str
    """File-safe name: the CSV file in the zip is ``<key>.csv``."""
    title: str
    header: list[str]
    rows: Callable[[], Iterator[list[Any]]]
    count: int
    percent_columns: frozenset[int] = field(default_factory=frozenset)


# ------------------------------------------------------------------------------------------------ sheets
def _title(text: str, taken: set[str]) -> str:
    base = _TITLE_BAD.sub(" ", text).strip()[:31] or "Sheet"
    title, n = base, 2
    while title.casefold() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.casefold())
    return title


def build_sheets(data: ExportData, t: Translator) -> list[Sheet]:
    tz = ZoneInfo(data.timezone)
    lang = t.lang
    names = {p.id: p.full_name or "—" for p in data.people}
    pairs = {p.id: p for p in data.pairs}
    mentor_ids = {p.mentor_id for p in data.pairs}
    yes, no = t("common.yes"), t("common.no")

    def local(dt: datetime | None) -> datetime | None:
        return dt.astimezone(tz).replace(tzinfo=None) if dt else None

    def who(ids: Sequence[int]) -> str:
        return ", ".join(names.get(i, "—") for i in ids)

    def col(*keys: str) -> list[str]:
        return [t(f"reports.col.{k}") for k in keys]

    sheets: list[Sheet] = []
    taken: set[str] = set()

    def people_rows() -> Iterator[list[Any]]:
        for p in data.people:
            yield [
                p.id,
                p.full_name or "",
                ", ".join(t(f"roles.{r}") for r in p.roles),
                t(f"reports.participant_status.{p.status}"),
                "" if p.is_minor is None else yes if p.is_minor else no,
                p.group_name or "",
                p.position or "",
                p.language,
                local(p.joined_at),
            ]

    sheets.append(
        Sheet(
            "participants",
            _title(t("reports.sheet.participants"), taken),
            col("id", "name", "roles", "status", "minor", "group", "position", "language", "joined"),
            people_rows,
            len(data.people),
        )
    )

    by_form: dict[str, list[AnswerRow]] = defaultdict(list)
    for a in data.answers:
        by_form[a.form_id].append(a)
    for form_id in data.intake_forms:
        form = data.forms.get(form_id)
        if form is None:
            continue

        def answer_rows(form: Form = form) -> Iterator[list[Any]]:
            for a in by_form.get(form.id, ()):
                row: list[Any] = [a.participant_id, names.get(a.participant_id, "—"), local(a.submitted_at)]
                for q in form.questions:
                    if q.key not in a.answers:
                        row.append("")
                        continue
                    value = a.answers[q.key]
                    # Numbers stay numbers, so a spreadsheet can sort and average them.
                    if q.type in (QuestionType.INTEGER, QuestionType.SCALE) and type(value) is int:
                        row.append(value)
                    else:
                        row.append(display_answer(q, value, lang, t))
                yield row

        sheets.append(
            Sheet(
                f"answers_{form.id}",
                _title(form.title.get(lang), taken),
                col("participant_id", "name", "submitted") + [q.text.get(lang) for q in form.questions],
                answer_rows,
                len(by_form.get(form.id, ())),
            )
        )

    def pair_rows() -> Iterator[list[Any]]:
        for p in data.pairs:
            yield [
                p.id,
                p.mentor_id,
                names.get(p.mentor_id, "—"),
                ", ".join(str(i) for i in p.mentee_ids),
                who(p.mentee_ids),
                who(p.former_mentee_ids),
                t(f"meetings.stage.{p.stage}"),
                t(f"reports.pair_status.{p.status}"),
                local(p.created_at),
                local(p.closed_at),
                p.close_reason or "",
            ]

    sheets.append(
        Sheet(
            "pairs",
            _title(t("reports.sheet.pairs"), taken),
            col(
                "pair_id",
                "mentor_id",
                "mentor",
                "mentee_ids",
                "mentees",
                "former_mentees",
                "stage",
                "status",
                "created",
                "closed",
                "close_reason",
            ),
            pair_rows,
            len(data.pairs),
        )
    )

    def meeting_rows() -> Iterator[list[Any]]:
        for m in data.meetings:
            pair = pairs.get(m.pair_id)
            yield [
                m.id,
                m.pair_id,
                names.get(pair.mentor_id, "—") if pair else "",
                who(pair.mentee_ids + pair.former_mentee_ids) if pair else "",
                t(f"meetings.stage.{m.stage}"),
                t(f"meetings.status.{m.status}"),
                local(m.starts_at),
                local(m.ends_at),
                t(f"meeting.format.{m.format}"),
                local(m.held_at),
                m.cancel_reason or "",
            ]

    sheets.append(
        Sheet(
            "meetings",
            _title(t("reports.sheet.meetings"), taken),
            col(
                "meeting_id",
                "pair_id",
                "mentor",
                "mentees",
                "stage",
                "status",
                "starts",
                "ends",
                "format",
                "held_at",
                "cancel_reason",
            ),
            meeting_rows,
            len(data.meetings),
        )
    )

    meetings = {m.id: m for m in data.meetings}
    scales: dict[str, int | None] = {}
    for form_id, key in SCORE_KEYS.items():
        form = data.forms.get(form_id)
        scale = form.question(key).scale if form and key in form.keys else None
        scales[form_id] = scale.max if scale else None

    def feedback_rows() -> Iterator[list[Any]]:
        for f in data.feedback:
            meeting = meetings.get(f.meeting_id) if f.meeting_id is not None else None
            pair = pairs.get(meeting.pair_id) if meeting else None
            role = _role(f, pair, mentor_ids)
            form = data.forms.get(f.form_id)
            yield [
                f.response_id,
                form.title.get(lang) if form else f.form_id,
                f.meeting_id,
                meeting.pair_id if meeting else None,
                t(f"meetings.stage.{meeting.stage}") if meeting else "",
                f.participant_id,
                names.get(f.participant_id, "—"),
                t(f"roles.{role}"),
                f.score,
                scales.get(f.form_id),
                local(f.submitted_at),
            ]

    sheets.append(
        Sheet(
            "feedback",
            _title(t("reports.sheet.feedback"), taken),
            col(
                "response_id",
                "form",
                "meeting_id",
                "pair_id",
                "stage",
                "participant_id",
                "name",
                "role",
                "score",
                "scale",
                "submitted",
            ),
            feedback_rows,
            len(data.feedback),
        )
    )

    def kpi_rows() -> Iterator[list[Any]]:
        for report in data.kpis:
            for v in report.values:
                yield [year_label(report.year), t(v.label_key), v.value, v.target, t(v.state_key)]

    sheets.append(
        Sheet(
            "kpis",
            _title(t("reports.sheet.kpis"), taken),
            col("year", "kpi", "value", "target", "light"),
            kpi_rows,
            sum(len(r.values) for r in data.kpis),
            percent_columns=frozenset({2, 3}),
        )
    )

    def group_label(code: str) -> str:
        if code == "all":
            return t("analytic.all")
        return t(f"dashboard.role.{code}") if code in ("mentee", "mentor") else t(f"district.form.{code}")

    def growth_rows() -> Iterator[list[Any]]:
        for year, code, g in data.growth:
            yield [year_label(year), group_label(code), round(g.mean_change, 2), g.improved_share, g.people]

    sheets.append(
        Sheet(
            "growth",
            _title(t("reports.sheet.growth"), taken),
            [t(f"reports.col.{c}") for c in ("year",)]
            + [t(f"analytic.col.{c}") for c in ("group", "change", "improved", "people")],
            growth_rows,
            len(data.growth),
            percent_columns=frozenset({3}),
        )
    )

    from bot.services.swot import period_name  # the SWOT's service imports the questionnaire engine

    def swot_rows() -> Iterator[list[Any]]:
        for r in data.swot:
            yield [
                period_name(r.period)(t),
                local(r.submitted_at),
                r.strengths,
                r.weaknesses,
                r.opportunities,
                r.threats,
            ]

    sheets.append(
        Sheet(
            "swot",
            _title(t("reports.sheet.swot"), taken),
            [t("reports.col.period"), t("reports.col.submitted")]
            + [t(f"analytic.swot.{k}") for k in ("strengths", "weaknesses", "opportunities", "threats")],
            swot_rows,
            len(data.swot),
        )
    )

    def roadmap_rows() -> Iterator[list[Any]]:
        for item in data.roadmap:
            yield [
                item.section or "",
                item.activity,
                item.responsible or "",
                item.deadline.text,
                item.result or "",
            ]

    sheets.append(
        Sheet(
            "roadmap",
            _title(t("reports.sheet.roadmap"), taken),
            col("section", "activity", "responsible", "deadline", "result"),
            roadmap_rows,
            len(data.roadmap),
        )
    )
    case_header, case_rows = case_sheet(data.cases, t, data.timezone)
    sheets.append(
        Sheet("cases", _title(t("completion.export.sheet"), taken), case_header, case_rows, len(data.cases))
    )
    return sheets


def _role(f: FeedbackRow, pair: PairRow | None, mentor_ids: set[int]) -> str:
    if pair is not None:
        return "mentor" if f.participant_id == pair.mentor_id else "mentee"
    if f.role in ("mentee", "mentor"):
        return f.role
    return "mentor" if f.participant_id in mentor_ids else "mentee"


class _Counter:
    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self.done, self.total, self.on_progress = 0, total, on_progress

    def step(self) -> None:
        self.done += 1
        if self.on_progress and self.done % PROGRESS_EVERY == 0:
            self.on_progress(self.done, self.total)

    def report(self) -> None:
        if self.on_progress:
            self.on_progress(self.done, self.total)


# ------------------------------------------------------------------------------------------------ XLSX
def build_workbook(data: ExportData, t: Translator, on_progress: Progress | None = None) -> bytes:
    """One workbook, a sheet per table; write-only mode streams rows instead of building a cell grid."""
    sheets = build_sheets(data, t)
    counter = _Counter(sum(s.count for s in sheets), on_progress)
    counter.report()
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(title=sheet.title)
        # Write-only sheets take column widths before the first row: measured on the header and a sample.
        for i, width in enumerate(column_widths(sheet), 1):
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        header = []
        for name in sheet.header:
            cell = WriteOnlyCell(ws, value=_clean(name))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        percent = sheet.percent_columns
        for row in sheet.rows():
            ws.append([_xlsx(ws, i in percent, v) for i, v in enumerate(row)])
            counter.step()
        counter.report()
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def column_widths(sheet: Sheet) -> list[float]:
    """Each column as wide as its widest shown value among the header and the first rows (a date-time is
    16 characters, a full name or a KPI label its length), plus a margin; a long text is capped, not wrapped
    wider than a screen."""
    widths = [_shown_length(name, False) for name in sheet.header]
    for row in itertools.islice(sheet.rows(), WIDTH_SAMPLE):
        for i, value in enumerate(row[: len(widths)]):
            widths[i] = max(widths[i], _shown_length(value, i in sheet.percent_columns))
    return [float(min(max(w + 2, WIDTH_MIN), WIDTH_MAX)) for w in widths]


def _shown_length(value: Any, percent: bool) -> int:
    """Characters a value takes in the workbook as the formats above show it (its longest line for a text)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return len(value.strftime(_CSV_DATETIME))  # "05.12.2026 16:30", as _XLSX_DATETIME shows it
    if isinstance(value, date):
        return len(value.strftime(_CSV_DATE))
    if percent and isinstance(value, float):
        return len(f"{round(value * 100)}%")
    return max((len(line) for line in str(value).splitlines()), default=0)


def _clean(text: str) -> str:
    # Control characters other than tab and newline make the file unreadable to Excel.
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _xlsx(ws: Any, percent: bool, value: Any) -> Any:
    kind = type(value)
    if kind is str:
        if ILLEGAL_CHARACTERS_RE.search(value):
            value = _clean(value)
        if value[:1] == "=":
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"  # text typed by a person is never a formula
            return cell
        return value
    if kind is int or value is None:
        return value
    if kind is datetime or kind is date:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = _XLSX_DATETIME if kind is datetime else _XLSX_DATE
        return cell
    if percent and kind is float:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "0%"
        return cell
    return value


# ------------------------------------------------------------------------------------------------ CSV
def _csv_text(value: Any, percent: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(_CSV_DATETIME)
    if isinstance(value, date):
        return value.strftime(_CSV_DATE)
    if percent and isinstance(value, float):
        return f"{round(value * 100)}%"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def sheet_csv(sheet: Sheet, counter: _Counter | None = None) -> bytes:
    """One sheet as CSV the way Russian Excel opens it by double-click: UTF-8 with BOM, ';' between cells."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow([_csv_text(h, False) for h in sheet.header])
    for row in sheet.rows():
        writer.writerow([_csv_text(v, i in sheet.percent_columns) for i, v in enumerate(row)])
        if counter:
            counter.step()
    return buf.getvalue().encode("utf-8-sig")


def build_csv(data: ExportData, t: Translator, on_progress: Progress | None = None) -> bytes:
    """A zip with one ``<sheet key>.csv`` per sheet (CSV has no sheets, and one file is easier to send)."""
    sheets = build_sheets(data, t)
    counter = _Counter(sum(s.count for s in sheets), on_progress)
    counter.report()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for sheet in sheets:
            zf.writestr(f"{sheet.key}.csv", sheet_csv(sheet, counter))
            counter.report()
    return out.getvalue()


# ------------------------------------------------------------------------------------------------ figures
def stage_funnel(pairs: Sequence[PairRow]) -> list[tuple[str, int]]:
    """How many pairs reached each stage, then how many finished all of them (dissolved pairs included: they
    reached the stage they were in)."""
    reached = dict.fromkeys(STAGE_ORDER, 0)
    finished = 0
    for p in pairs:
        try:
            index = Stage(p.stage).index
        except ValueError:
            continue
        for stage in STAGE_ORDER[: index + 1]:
            reached[stage] += 1
        finished += p.status == PairStatus.FINISHED
    return [(s.value, n) for s, n in reached.items()] + [("finished", finished)]


def survey_scores(
    feedback: Sequence[FeedbackRow],
    pairs: Sequence[PairRow],
    form_id: str,
    year: int | None = None,
    tz: ZoneInfo | None = None,
) -> tuple[list[int], list[int]]:
    """Scores of one survey as (mentees', mentors'), optionally only those submitted in ``year``."""
    mentor_ids = {p.mentor_id for p in pairs}
    mentees: list[int] = []
    mentors: list[int] = []
    for f in feedback:
        if f.form_id != form_id or f.score is None:
            continue
        if year is not None and (f.submitted_at is None or f.submitted_at.astimezone(tz).year != year):
            continue
        (mentors if _role(f, None, mentor_ids) == "mentor" else mentees).append(f.score)
    return mentees, mentors
