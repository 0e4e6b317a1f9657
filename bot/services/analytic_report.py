"""The analytic report on a programme for one programme year (/report_doc): a DOCX to print and sign, and the
same document as a PDF, in the curator's language.

``collect`` gathers what the methodology's monitoring asks for — the programme and its calendar, participants
and pairs by form of mentoring, the stage funnel, meetings held, satisfaction and the other indicators
against their targets, growth from the entry and exit self-assessments, coverage against the population, the
curator's SWOT, the roadmap items done and overdue, best cases (published with every member's consent), the
mentors' honour board and the mentees still without a pair with the support they got. Every figure comes
from bot/services/figures.py, the computation the dashboard shows. ``build`` lays it out as blocks
(bot/services/document.py) with the charts embedded; it is pure, so it runs in a worker thread.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain import kpi
from bot.domain.entities import ProgrammeDTO, Role, Status
from bot.domain.forms import Form
from bot.domain.growth import GrowthFigure
from bot.domain.programme_templates import calendar_label_key, load_templates
from bot.domain.roadmap import ItemStatus
from bot.domain.stages import STAGE_ORDER
from bot.i18n import Translator
from bot.services import charts, completion, figures, programmes, swot
from bot.services import document as doc
from bot.services import export as ex
from bot.services.completion import CaseView, HonourRow
from bot.services.dashboard import points
from bot.services.figures import Figures
from bot.services.questionnaires import INTAKE_FORMS, Engine
from storage.repositories.roadmap import RoadmapItemDTO
from storage.tenancy import scope_of
from storage.uow import Repos

SELFCHECK_FORMS = ("selfcheck_mentee", "selfcheck_teacher", "selfcheck_mentor")
LABELLED_FORMS = (*SELFCHECK_FORMS, "swot")  # whose question texts name the figures
ROADMAP_ROWS = 60  # items per table; the rest are counted
NAMES_SHOWN = 40


@dataclass(frozen=True)
class Waiting:
    name: str
    group: str | None
    since: datetime | None  # on the waiting list since (None: no /match round has looked for them yet)
    told: bool  # the kind notice that the search goes on (and what help there is meanwhile) was sent


@dataclass(frozen=True)
class ReportData:
    figures: Figures
    institution: str | None
    made_on: date
    timezone: str
    calendar: list[tuple[str, str]] = field(default_factory=list)  # activity, when (the template's)
    funnel: list[tuple[str, int]] = field(default_factory=list)
    roadmap_done: list[RoadmapItemDTO] = field(default_factory=list)
    roadmap_overdue: list[RoadmapItemDTO] = field(default_factory=list)
    roadmap_total: int = 0
    cases: list[CaseView] = field(default_factory=list)
    honour: list[HonourRow] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    forms: dict[str, Form] = field(default_factory=dict)


async def years(repos: Repos, curator_id: int, today: date) -> tuple[ProgrammeDTO | None, list[int]]:
    """The curator's programme and the programme years a report can be made for, latest last."""
    programme = await programmes.current(repos, curator_id)
    return programme, figures.years_of(programme, today)


async def collect(
    repos: Repos, engine: Engine, now: datetime, curator_id: int, year: int | None, default_tz: str
) -> ReportData | None:
    """Everything the report says, for the curator's programme and the programme year (None: the current
    one). None when the year is not one of the programme's (a forged or stale button)."""
    programme = await programmes.current(repos, curator_id)
    tz = ZoneInfo(programme.timezone if programme else default_tz)
    today = now.astimezone(tz).date()
    if year is not None and year not in figures.years_of(programme, today):
        return None
    scope = await repos.programmes.scope(programme.id) if programme is not None else None
    f = await figures.compute(repos, programme, now, default_tz, year, scope=scope)
    start, end = figures.window(f.year, tz)
    first_day, after = kpi.year_bounds(f.year)

    template = load_templates().get(programme.template) if programme and programme.template else None
    calendar = [(event, deadline.text) for event, deadline in (template.calendar.items() if template else ())]
    pairs = [
        p
        for p in await repos.reports.pairs(scope)
        if p.created_at < end and (p.closed_at is None or p.closed_at >= start)
    ]
    programme_id = programme.id if programme else None
    done = [
        i
        for i in await repos.roadmap.list(programme_id, status=ItemStatus.DONE)
        if i.done_at is not None and start <= i.done_at < end
    ]
    overdue = await repos.roadmap.list(programme_id, overdue_on=min(today, after))
    overdue = [i for i in overdue if i.due_on is not None and i.due_on >= first_day]
    total = sum((await repos.roadmap.counts(programme_id)).values())

    waiting = []
    if programme is not None:
        # Every mentee ready to be paired (questionnaire sent) and still without a pair, with the support they
        # got: told that the search goes on (after a /match round), or not searched for yet.
        since = dict(await repos.pairs.waiting(programme.id))
        ready = await repos.dashboard.submitted_participants(INTAKE_FORMS)
        # in a pair now, or whose pair finished: not waiting
        finished = await repos.pairs.finished(scope)
        paired = await repos.pairs.paired_mentees(scope) | {m for p in finished for m in p.mentee_ids}
        for person in await repos.participants.with_role(Role.MENTEE, scope):
            if person.status != Status.ACTIVE or person.id not in ready or person.id in paired:
                continue
            told = await repos.outbox.was_enqueued(
                f"waiting:{programme.id}:{person.id}:to-mentee:{person.id}"
            )
            waiting.append(Waiting(person.full_name or "—", person.group_name, since.get(person.id), told))
    # The institution the curator's unit is scoped to (the curators' router guard set it).
    scoped = scope_of(repos.session)
    found = await repos.institutions.get(scoped.institution_id) if scoped is not None else None
    institution = found.title if found else None
    cases = [
        c
        for c in await completion.published_cases(repos)
        if programme is None or c.programme == programme.title
    ]
    return ReportData(
        figures=f,
        institution=institution,
        made_on=today,
        timezone=str(tz),
        calendar=calendar,
        funnel=ex.stage_funnel(pairs),
        roadmap_done=done,
        roadmap_overdue=overdue,
        roadmap_total=total,
        cases=cases,
        honour=await completion.honour_board(repos),
        waiting=waiting,
        forms={k: v for k, v in engine.forms.items() if k in LABELLED_FORMS},
    )


# ------------------------------------------------------------------------------------------------ layout
def _pct(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def _mean(value: float, t: Translator) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if t.lang == "ru" else text


def _day(d: date | datetime | None, tz: ZoneInfo) -> str:
    if d is None:
        return "—"
    if isinstance(d, datetime):
        d = d.astimezone(tz).date()
    return f"{d:%d.%m.%Y}"


def _item_label(key: str, forms: Mapping[str, Form], t: Translator) -> str:
    """An item of the self-assessments or the SWOT, named by its question (shortened)."""
    for form_id in LABELLED_FORMS:
        form = forms.get(form_id)
        if form is not None and key in form.keys:
            # the short third-person label a curator reads ("Уверенность в себе"), else the question shortened
            return textwrap.shorten(form.question(key).label_for(t.lang), 60, placeholder="…")
    return key


def growth_items(
    g: GrowthFigure, forms: Mapping[str, Form], t: Translator
) -> list[tuple[str, float, float, int]]:
    """(item, mean before, mean after, people) for the before/after chart and table."""
    return [
        (_item_label(key, forms, t), item.mean_before, item.mean_after, item.people)
        for key, item in sorted(g.items.items())
    ]


def build(data: ReportData, t: Translator) -> doc.Document:
    """The report as blocks (CPU work with the charts: run it in a worker thread)."""
    f = data.figures
    tz = ZoneInfo(data.timezone)
    a = "analytic."
    year = f.year_label
    title = f.programme.title if f.programme else t(f"{a}no_programme")
    blocks: list[doc.Block] = []
    n = 0

    def section(key: str) -> None:
        nonlocal n
        n += 1
        blocks.append(doc.Heading(f"{n}. {t(a + 'h.' + key)}"))

    # 1. The programme and its calendar
    section("programme")
    first, after = kpi.year_bounds(f.year)
    blocks.append(
        doc.Paragraph(
            t(
                f"{a}programme_line",
                title=title,
                year=year,
                start=f"{first:%d.%m.%Y}",
                end=f"{date.fromordinal(after.toordinal() - 1):%d.%m.%Y}",
            )
        )
    )
    forms_allowed = (f.programme.settings.get("mentoring_forms") if f.programme else None) or []
    if forms_allowed:
        blocks.append(
            doc.Paragraph(
                t(f"{a}forms_line", forms=", ".join(t(f"district.form.{x}") for x in forms_allowed))
            )
        )
    if data.calendar:
        blocks.append(
            doc.Table(
                [t(f"{a}col.activity"), t(f"{a}col.when")],
                [[t(calendar_label_key(event)), when] for event, when in data.calendar],
                widths=[0.55, 0.45],
            )
        )
    else:
        blocks.append(doc.Paragraph(t(f"{a}no_calendar"), italic=True))

    # 2. Participants and pairs by form of mentoring
    section("participants")
    rows = []
    for role in ("mentee", "mentor"):
        b = f.people.get(role, {})
        rows.append(
            [
                t(f"dashboard.role.{role}"),
                str(b.get("active", 0)),
                str(b.get("applicant", 0)) if role == "mentor" else "—",
                str(b.get("paired", 0)),
                str(b.get("finished", 0)) if role == "mentee" else "—",
            ]
        )
    blocks.append(
        doc.Table(
            [t(f"{a}col.{c}") for c in ("role", "active", "applicant", "paired", "finished")],
            rows,
            widths=[0.28, 0.18, 0.18, 0.18, 0.18],
        )
    )
    blocks.append(doc.Paragraph(t(f"{a}mentor_active_note"), italic=True))
    if f.pairs_by_form:
        blocks.append(
            doc.Table(
                [t(f"{a}col.form"), t(f"{a}col.pairs"), t(f"{a}col.mentees")],
                [
                    [t(f"district.form.{form}"), str(pairs), str(f.paired_by_form.get(form, 0))]
                    for form, pairs in sorted(f.pairs_by_form.items())
                ],
                widths=[0.6, 0.2, 0.2],
            )
        )
    else:
        blocks.append(doc.Paragraph(t(f"{a}no_pairs"), italic=True))

    # 3. The stage funnel
    section("funnel")
    blocks.append(
        doc.Paragraph(
            t(
                f"{a}pairs_line",
                active=f.pairs_active,
                overdue=f.overdue,
                finished=f.pairs_finished,
                dissolved=f.pairs_dissolved,
            )
        )
    )
    blocks.append(
        doc.Table(
            [t(f"{a}col.stage"), t(f"{a}col.reached")],
            [
                [t("reports.chart.finished") if code == "finished" else t(f"meetings.stage.{code}"), str(k)]
                for code, k in data.funnel
            ],
            widths=[0.7, 0.3],
        )
    )
    blocks.append(doc.Image(charts.funnel_chart(data.funnel, t), t(f"{a}fig.funnel")))
    active_stages = [(s.value, f.pairs_by_stage.get(s.value, 0)) for s in STAGE_ORDER]
    if any(k for _, k in active_stages):
        blocks.append(
            doc.Paragraph(
                t(f"{a}stages_now")
                + "; ".join(f"{t(f'meetings.stage.{code}')} — {k}" for code, k in active_stages if k)
            )
        )

    # 4. Meetings held
    section("meetings")
    blocks.append(doc.Paragraph(t(f"{a}meetings_line", held=f.meetings_held, year=year)))

    # 5. Satisfaction and the indicators against their targets
    section("kpi")
    kpi_rows = [
        [t(v.label_key), _pct(v.value), _pct(v.target) if v.target is not None else "—", t(v.state_key)]
        for v in f.kpis.values
    ]
    blocks.append(
        doc.Table(
            [t(f"{a}col.{c}") for c in ("kpi", "value", "target", "state")],
            kpi_rows,
            widths=[0.4, 0.15, 0.15, 0.3],
        )
    )
    mentee_scores, mentor_scores = f.inputs.mentee_scores, f.inputs.mentor_scores
    if mentee_scores or mentor_scores:
        blocks.append(
            doc.Paragraph(t(f"{a}satisfaction_line", mentees=len(mentee_scores), mentors=len(mentor_scores)))
        )
        target = f.kpis.get(kpi.KPI_MENTEE_SATISFACTION).target
        blocks.append(
            doc.Image(
                charts.satisfaction_chart(
                    [int(s) for s in mentee_scores],
                    [int(s) for s in mentor_scores],
                    t,
                    survey="year",
                    target_share=target,
                ),
                t(f"{a}fig.satisfaction"),
            )
        )
    else:
        blocks.append(doc.Paragraph(t(f"{a}no_surveys"), italic=True))
    blocks.append(doc.Image(charts.kpi_chart([f.kpis], t), t(f"{a}fig.kpi")))

    # 6. Growth: the self-assessments at the start and at the end
    section("growth")
    if f.growth is None:
        blocks.append(doc.Paragraph(t(f"{a}no_growth"), italic=True))
    else:
        g = f.growth
        blocks.append(
            doc.Paragraph(
                t(
                    f"{a}growth_line",
                    change=points(g.mean_change, t.lang),
                    improved=_pct(g.improved_share),
                    people=g.people,
                )
            )
        )
        growth_rows = [[t(f"{a}all"), *_growth_cells(g, t)]]
        growth_rows += [[t(f"dashboard.role.{r}"), *_growth_cells(x, t)] for r, x in f.growth_by_role.items()]
        growth_rows += [[t(f"district.form.{k}"), *_growth_cells(x, t)] for k, x in f.growth_by_form.items()]
        blocks.append(
            doc.Table(
                [t(f"{a}col.{c}") for c in ("group", "change", "improved", "people")],
                growth_rows,
                widths=[0.4, 0.2, 0.2, 0.2],
            )
        )
        blocks.append(
            doc.Table(
                [t(f"{a}col.{c}") for c in ("item", "before", "after", "people")],
                [
                    [label, _mean(before, t), _mean(after, t), str(k)]
                    for label, before, after, k in growth_items(g, data.forms, t)
                ],
                widths=[0.55, 0.15, 0.15, 0.15],
            )
        )
        blocks.append(doc.Image(charts.growth_chart(growth_items(g, data.forms, t), t), t(f"{a}fig.growth")))

    # 7. Coverage
    section("coverage")
    coverage = f.kpis.get(kpi.KPI_COVERAGE)
    if f.population_stale:
        blocks.append(
            doc.Paragraph(t("dashboard.population_stale", engaged=f.inputs.engaged, population=f.population))
        )
    elif f.population is None:
        blocks.append(doc.Paragraph(t(f"{a}no_population", engaged=f.inputs.engaged), italic=True))
    else:
        line = t(
            f"{a}coverage_line",
            engaged=f.inputs.engaged,
            population=f.population,
            value=_pct(coverage.value),
        )
        if coverage.target is not None:
            line += " " + t(f"{a}coverage_target", target=_pct(coverage.target), state=t(coverage.state_key))
        blocks.append(doc.Paragraph(line))

    # 8. SWOT
    section("swot")
    if f.swot is None:
        blocks.append(doc.Paragraph(t(f"{a}no_swot"), italic=True))
    else:
        s = f.swot
        blocks.append(doc.Paragraph(t(f"{a}swot_period", period=swot.period_name(s.period)(t))))
        blocks.append(
            doc.Table(
                [t(f"{a}swot.part"), t(f"{a}swot.text")],
                [
                    [t(f"{a}swot.{key}"), getattr(s, key) or t(f"{a}swot.erased")]
                    for key in ("strengths", "weaknesses", "opportunities", "threats")
                ],
                widths=[0.3, 0.7],
            )
        )
        if s.scores:
            blocks.append(doc.Bullets([f"{_item_label(k, data.forms, t)}: {v}" for k, v in s.scores.items()]))

    # 9. The roadmap
    section("roadmap")
    blocks.append(
        doc.Paragraph(
            t(
                f"{a}roadmap_line",
                done=len(data.roadmap_done),
                overdue=len(data.roadmap_overdue),
                total=data.roadmap_total,
            )
        )
    )
    for key, items in (("done", data.roadmap_done), ("overdue", data.roadmap_overdue)):
        if items:
            blocks.append(doc.Heading(t(f"{a}roadmap.{key}"), level=2))
            blocks.append(
                doc.Table(
                    [t(f"{a}col.{c}") for c in ("activity", "responsible", "deadline", "done_on")],
                    [
                        [
                            i.activity,
                            i.responsible or "—",
                            _day(i.due_on, tz) if i.due_on else i.deadline_text,
                            _day(i.done_at, tz),
                        ]
                        for i in items[:ROADMAP_ROWS]
                    ],
                    widths=[0.45, 0.2, 0.175, 0.175],
                )
            )
            if len(items) > ROADMAP_ROWS:
                blocks.append(doc.Paragraph(t(f"{a}more", n=len(items) - ROADMAP_ROWS), italic=True))

    # 10. Best cases
    section("cases")
    if data.cases:
        for c in data.cases:
            blocks.append(
                doc.Paragraph(
                    t(
                        f"{a}case_line",
                        mentor=c.mentor,
                        mentees=", ".join(c.mentees),
                        start=_day(c.date_from, tz),
                    ),
                    bold=True,
                )
            )
            blocks.append(doc.Paragraph(c.case.story))
    else:
        blocks.append(doc.Paragraph(t(f"{a}no_cases"), italic=True))

    # 11. The honour board
    section("honour")
    if data.honour:
        blocks.append(
            doc.Table(
                [t(f"{a}col.{c}") for c in ("mentor", "finished_pairs", "rating")],
                [
                    [h.name, str(h.finished), "—" if h.rating is None else _mean(h.rating, t)]
                    for h in data.honour[:NAMES_SHOWN]
                ],
                widths=[0.6, 0.2, 0.2],
            )
        )
    else:
        blocks.append(doc.Paragraph(t(f"{a}no_honour"), italic=True))

    # 12. Mentees still without a pair
    section("waiting")
    if data.waiting:
        blocks.append(
            doc.Table(
                [t(f"{a}col.{c}") for c in ("name", "class", "since", "support")],
                [
                    [
                        w.name,
                        w.group or "—",
                        _day(w.since, tz),
                        t(
                            f"{a}support.told"
                            if w.told
                            else (f"{a}support.not_told" if w.since else f"{a}support.not_searched")
                        ),
                    ]
                    for w in data.waiting[:NAMES_SHOWN]
                ],
                widths=[0.35, 0.15, 0.15, 0.35],
            )
        )
        blocks.append(doc.Paragraph(t(f"{a}support_note"), italic=True))
    else:
        blocks.append(doc.Paragraph(t(f"{a}no_waiting"), italic=True))

    blocks.append(
        doc.Signature(
            [
                t(f"{a}sign.curator"),
                t(f"{a}sign.head"),
                t(f"{a}sign.date", date=f"{data.made_on:%d.%m.%Y}"),
            ]
        )
    )
    subtitle = t(f"{a}subtitle", title=title, year=year)
    if data.institution:
        subtitle = f"{data.institution}\n{subtitle}"
    return doc.Document(
        title=t(f"{a}title"),
        subtitle=subtitle,
        blocks=blocks,
        lang=t.lang,
        footer=t(f"{a}footer", title=title, year=year),
    )


def _growth_cells(g: GrowthFigure, t: Translator) -> list[str]:
    return [points(g.mean_change, t.lang), _pct(g.improved_share), str(g.people)]


async def record(repos: Repos, now: datetime, curator_id: int, year: int, size: int) -> None:
    """The audit line of a report that left the bot (no personal data)."""
    await repos.audit.log("report_doc", now, actor_id=curator_id, year=year, bytes=size)


def files(data: ReportData, t: Translator, created: datetime) -> tuple[bytes, bytes]:
    """The report as DOCX and PDF bytes (CPU work: run it in a worker thread)."""
    document = build(data, t)
    return doc.build_docx(document, created=created), doc.build_pdf(document, created=created)
