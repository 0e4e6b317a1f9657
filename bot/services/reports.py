"""The curator's /export and /report as use cases: gather the programme's rows (a handful of queries, KPIs
computed), build the file or the charts (pure, in a worker thread: bot/services/export.py and charts.py), and
record that an export left the bot."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.callbacks.reports import ExportFormat
from bot.domain.entities import ProgrammeDTO
from bot.domain.kpi import KPI_MENTEE_SATISFACTION, KpiReport
from bot.domain.programme_templates import calendar_label_key, load_templates
from bot.domain.roadmap import RoadmapRow
from bot.i18n import Translator
from bot.services import charts, completion, figures, programmes, swot
from bot.services import export as ex
from bot.services.analytic_report import growth_items
from bot.services.questionnaires import INTAKE_FORMS, Engine
from storage.uow import Repos

DEFAULT_TZ = "Europe/Moscow"
EXTENSIONS = {ExportFormat.XLSX: "xlsx", ExportFormat.CSV: "zip"}


def _programme_context(programme: ProgrammeDTO | None, t: Translator) -> tuple[str, list[RoadmapRow]]:
    """Time zone and the roadmap items of the programme's template calendar (if any)."""
    tz = programme.timezone if programme else DEFAULT_TZ
    template = load_templates().get(programme.template) if programme and programme.template else None
    # The export's roadmap sheet shows the template's calendar (the items kept in chat are on /roadmap).
    roadmap = [
        RoadmapRow(activity=t(calendar_label_key(event)), responsible=None, deadline=deadline, result=None)
        for event, deadline in (template.calendar.items() if template else ())
    ]
    return tz, roadmap


async def collect(
    repos: Repos,
    engine: Engine,
    t: Translator,
    now: datetime,
    *,
    answers: bool = True,
    programme: ProgrammeDTO | None = None,
) -> ex.ExportData:
    """Everything the export and the charts need, in a handful of queries, with the KPIs computed: of one
    programme (an archived one too), or without one, of everyone (the first active programme's settings)."""
    reports = repos.reports
    scope = await repos.programmes.scope(programme.id) if programme is not None else None
    if programme is None:
        active = await repos.programmes.active()
        programme = active[0] if active else None
    tz, roadmap = _programme_context(programme, t)
    # The answers sheets are the intake questionnaires' (self-assessments reach the export as growth figures).
    intake = [f.id for f in engine.forms.values() if f.id in INTAKE_FORMS]
    people = await reports.people(scope)
    pairs = await reports.pairs(scope)
    meetings = await reports.meetings()
    feedback = await reports.feedback(ex.SCORE_KEYS)
    answer_rows = await reports.answers(intake) if answers else []
    if scope is not None:
        # Meetings of the programme's pairs; feedback on them, and surveys by its people.
        pair_ids = {p.id for p in pairs}
        meetings = [m for m in meetings if m.pair_id in pair_ids]
        meeting_ids = {m.id for m in meetings}
        person_ids = {p.id for p in people}
        feedback = [
            f
            for f in feedback
            if f.meeting_id in meeting_ids or (f.meeting_id is None and f.participant_id in person_ids)
        ]
        answer_rows = [a for a in answer_rows if a.participant_id in person_ids]
    # The indicators are the programme's figures, computed once per programme year (services/figures.py).
    today = now.astimezone(ZoneInfo(tz)).date()
    per_year = [
        await figures.compute(repos, programme, now, tz, year, scope=scope)
        for year in figures.years_of(programme, today)
    ]
    kpis: list[KpiReport] = [f.kpis for f in per_year]
    growth_rows = [
        (f.year, code, g)
        for f in per_year
        for code, g in (
            *((("all", f.growth),) if f.growth is not None else ()),
            *f.growth_by_role.items(),
            *f.growth_by_form.items(),
        )
    ]
    return ex.ExportData(
        people=people,
        answers=answer_rows,
        pairs=pairs,
        meetings=meetings,
        feedback=feedback,
        forms=engine.forms,
        intake_forms=intake,
        kpis=kpis,
        roadmap=roadmap,
        timezone=tz,
        cases=await completion.published_cases(repos),
        growth=growth_rows,
        current=per_year[-1],
        swot=await swot.history(repos, programme.id) if programme is not None else [],
    )


async def curator_data(
    repos: Repos, engine: Engine, t: Translator, now: datetime, curator_id: int, *, answers: bool = True
) -> ex.ExportData:
    """The rows of the programme the curator works on; an archived one exports as it ended."""
    programme = await programmes.current(repos, curator_id)
    return await collect(repos, engine, t, now, answers=answers, programme=programme)


def build_file(data: ex.ExportData, fmt: ExportFormat, t: Translator, progress: ex.Progress) -> bytes:
    """The export file (CPU work: run it in a worker thread)."""
    build = ex.build_workbook if fmt is ExportFormat.XLSX else ex.build_csv
    return build(data, t, progress)


async def record_export(
    repos: Repos, now: datetime, curator_id: int, fmt: ExportFormat, data: ex.ExportData, size: int
) -> None:
    """The audit line of an export that left the bot (counts only, no personal data)."""
    await repos.audit.log(
        "export",
        now,
        actor_id=curator_id,
        format=fmt.value,
        participants=len(data.people),
        pairs=len(data.pairs),
        bytes=size,
    )


def chart_images(data: ex.ExportData, t: Translator) -> list[tuple[str, bytes]]:
    """The /report charts as PNGs: stage funnel, satisfaction against its target, KPIs against targets over
    the programme years, growth before/after (CPU work: run it in a worker thread). Satisfaction and growth
    are the current programme year's figures, the ones the dashboard shows."""
    f = data.current
    mentees = [int(s) for s in f.inputs.mentee_scores] if f else []
    mentors = [int(s) for s in f.inputs.mentor_scores] if f else []
    target = f.kpis.get(KPI_MENTEE_SATISFACTION).target if f else None
    items = growth_items(f.growth, data.forms, t) if f and f.growth else []
    return [
        ("funnel", charts.funnel_chart(ex.stage_funnel(data.pairs), t)),
        ("satisfaction", charts.satisfaction_chart(mentees, mentors, t, survey="year", target_share=target)),
        ("kpi", charts.kpi_chart(data.kpis[-6:], t)),
        ("growth", charts.growth_chart(items, t)),
    ]
