"""One programme's figures for one programme year, computed once.

The curator's /dashboard, /export (its indicators sheet), the /report charts, the analytic report
(/report_doc) and the district's aggregates all read ``compute``; none of them counts anything itself, so a
figure cannot read 2 % in one place and 100 % in another.

Definitions (one each):
* a programme year runs September–August (``kpi.programme_year``); surveys, finished pairs, held meetings
  and stage deadlines are counted in it;
* mentees engaged: members of the programme's pairs during the year (active now, or finished or dissolved
  in the year); coverage is engaged ÷ the population the curator declared with /population, nothing else;
* mentors active: approved in the mentor registry (or leading a pair); a mentor who only applied is an
  applicant, not active;
* satisfaction: each person's latest 1–10 answer to the monitoring or final survey in the year;
* stages on time: stages due in the year, against the day the meeting that completed them was held;
* targets: the programme's own, rolled forward from its template's years to the programme's first year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain import district as dd
from bot.domain import growth, kpi
from bot.domain.entities import PairStatus, ProgrammeDTO, ProgrammeScope, Role, Status
from bot.domain.growth import GrowthFigure
from bot.domain.programme_templates import load_templates
from bot.domain.stages import MeetingStatus
from bot.domain.statuses import MentorStatus
from bot.services import selfcheck, swot
from bot.services.matching import FORM_SERVES, mentee_kind
from bot.services.meetings import pair_states
from bot.services.questionnaires import INTAKE_FORMS
from bot.services.swot import SwotResult
from storage.uow import Repos

SURVEYS = ("intermediate", "final")
SCORE_KEY = "satisfaction"
APPROVED = frozenset({MentorStatus.APPROVED, MentorStatus.ACTIVE, MentorStatus.RESTING})
APPLIED = frozenset({MentorStatus.CANDIDATE, MentorStatus.INTERVIEWED})


@dataclass(frozen=True)
class Figures:
    programme: ProgrammeDTO | None
    year: int  # the programme year, named by the calendar year it starts in
    people: dict[str, dict[str, int]] = field(default_factory=dict)  # role → bucket → count
    mentees_by_kind: dict[str, int] = field(
        default_factory=dict
    )  # active mentees: pupils, students, teachers
    paired_by_form: dict[str, int] = field(
        default_factory=dict
    )  # mentees in active pairs by form of mentoring
    pairs_by_form: dict[str, int] = field(default_factory=dict)  # active pairs and groups by form
    pairs_by_stage: dict[str, int] = field(default_factory=dict)  # active pairs and groups by stage
    overdue: int = 0
    pairs_finished: int = 0  # in the year
    pairs_dissolved: int = 0  # in the year
    meetings_held: int = 0  # in the year
    population: int | None = None
    population_stale: bool = False  # more mentees engaged than the declared population
    inputs: kpi.KpiInputs = field(default_factory=kpi.KpiInputs)
    kpis: kpi.KpiReport = field(default_factory=lambda: kpi.KpiReport("", 0))
    # Growth from the entry and exit self-assessments of the year's pair members (None: nobody has both yet).
    growth: GrowthFigure | None = None
    growth_by_role: dict[str, GrowthFigure] = field(default_factory=dict)
    growth_by_form: dict[str, GrowthFigure] = field(default_factory=dict)
    # The curator's SWOT of the year's latest monitoring period that has one (None: not filled in yet).
    swot: SwotResult | None = None

    @property
    def pairs_active(self) -> int:
        return sum(self.pairs_by_stage.values())

    @property
    def year_label(self) -> str:
        return kpi.year_label(self.year)


def window(year: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The programme year as [start, end) instants in the programme's time zone."""
    first, after = kpi.year_bounds(year)
    return datetime.combine(first, time(), tz), datetime.combine(after, time(), tz)


def targets_of(programme: ProgrammeDTO | None) -> dict[str, dict[int, float]]:
    """The programme's targets by KPI and year (its own, filled from its template when it was created, else
    the template's), rolled forward to its first programme year."""
    raw = (programme.settings if programme else {}).get("kpi_targets")
    template = load_templates().get(programme.template) if programme and programme.template else None
    targets: dict[str, dict[int, float]] = (
        {code: {int(y): float(v) for y, v in by_year.items()} for code, by_year in raw.items()}
        if isinstance(raw, dict)
        else {code: dict(by_year) for code, by_year in (template.kpi_targets if template else {}).items()}
    )
    first = (
        kpi.programme_year(programme.created_at.astimezone(ZoneInfo(programme.timezone)).date())
        if programme is not None and programme.created_at is not None
        else None
    )
    rolled = kpi.roll_forward(targets, first) if first is not None else targets
    # Satisfaction the programme sets no target for is judged against the methodology's (as the district is).
    for code, share in kpi.METHODOLOGY_TARGETS.items():
        if not rolled.get(code):
            rolled[code] = {first if first is not None else 0: share}
    return rolled


def years_of(programme: ProgrammeDTO | None, today: date, most: int = 6) -> list[int]:
    """The programme years from the programme's first to today's, at most ``most`` of the latest."""
    current = kpi.programme_year(today)
    if programme is None or programme.created_at is None:
        return [current]
    first = kpi.programme_year(programme.created_at.astimezone(ZoneInfo(programme.timezone)).date())
    return list(range(min(current, max(first, current - most + 1)), current + 1))


async def compute(
    repos: Repos,
    programme: ProgrammeDTO | None,
    now: datetime,
    default_tz: str,
    year: int | None = None,
    *,
    scope: ProgrammeScope | None = None,
) -> Figures:
    """The figures of one programme (``scope`` its rows; None: everyone's) in one programme year (None: the
    current one)."""
    tz = ZoneInfo(programme.timezone if programme else default_tz)
    today = now.astimezone(tz).date()
    year = kpi.programme_year(today) if year is None else year
    start, end = window(year, tz)
    settings = programme.settings if programme else {}
    allowed_forms = settings.get("mentoring_forms")
    allowed = set(allowed_forms) if isinstance(allowed_forms, list) else set(FORM_SERVES)

    counts = await repos.dashboard.role_status_counts(scope)
    unreachable = await repos.dashboard.unreachable_counts(scope)
    invited = await repos.dashboard.unused_invitations(now, scope)
    submitted = await repos.dashboard.submitted_participants(INTAKE_FORMS)
    intake = await repos.dashboard.intake_answers(INTAKE_FORMS)
    active = [p for p in await repos.pairs.active(scope=scope) if p.created_at < end]
    closed = await repos.pairs.closed_between(start, end, scope)
    finished = [p for p in closed if p.status == PairStatus.FINISHED]
    mentees = await repos.participants.with_role(Role.MENTEE, scope)
    mentors = await repos.participants.with_role(Role.MENTOR, scope)
    registry = await repos.mentor_base.statuses([p.id for p in mentors]) if mentors else {}

    people: dict[str, dict[str, int]] = {}
    for role in (Role.MENTEE, Role.MENTOR, Role.PARENT, Role.CURATOR):
        bucket = people.setdefault(role.value, {})
        bucket["invited"] = invited.get(role.value, 0)
        for status in (Status.ONBOARDING, Status.AWAITING_PARENT, Status.ACTIVE, Status.WITHDRAWN):
            bucket[status.value] = counts.get((role.value, status.value), 0)
        bucket["unreachable"] = unreachable.get(role.value, 0)
    paired_now = {m for p in active for m in p.mentee_ids}
    mentors_in_pairs = {p.mentor_id for p in active}
    people["mentee"]["questionnaire_done"] = sum(1 for p in mentees if p.id in submitted)
    people["mentee"]["paired"] = sum(1 for p in mentees if p.id in paired_now)
    people["mentee"]["finished"] = len({m for p in finished for m in p.mentee_ids})
    # A mentor counts as active once approved in the registry; one who only applied is an applicant.
    onboarded = [p for p in mentors if p.status == Status.ACTIVE.value]
    mentor = people["mentor"]
    mentor["applicant"] = sum(1 for p in onboarded if _registry(registry, p.id) in APPLIED)
    mentor["declined"] = sum(1 for p in onboarded if _registry(registry, p.id) == MentorStatus.DECLINED)
    mentor["active"] = sum(
        1 for p in onboarded if _registry(registry, p.id) in APPROVED or p.id in mentors_in_pairs
    )
    mentor["questionnaire_done"] = sum(1 for p in mentors if p.id in submitted)
    mentor["paired"] = sum(1 for p in mentors if p.id in mentors_in_pairs)

    kind_of: dict[int, str] = {}
    by_kind = dict.fromkeys(dd.MENTEE_KINDS, 0)
    for person in mentees:
        form_id, answers = intake.get(person.id, ("mentee_needs", {}))
        kind_of[person.id] = mentee_kind(form_id, answers, allowed)
        if person.status == Status.ACTIVE.value:
            by_kind[kind_of[person.id]] += 1
    paired_by_form: dict[str, int] = {}
    pairs_by_form: dict[str, int] = {}
    for pair in active:
        offered = intake.get(pair.mentor_id, ("mentor", {}))[1].get("mentoring_forms") or []
        offered = offered if isinstance(offered, list) else []
        forms = [
            dd.pair_form(offered, kind_of.get(m, "pupil"), FORM_SERVES, allowed) for m in pair.mentee_ids
        ]
        for form in forms:
            paired_by_form[form] = paired_by_form.get(form, 0) + 1
        first = forms[0] if forms else "unknown"
        pairs_by_form[first] = pairs_by_form.get(first, 0) + 1

    pairs_by_stage: dict[str, int] = {}
    overdue = held = 0
    completions: list[kpi.StageCompletion] = []
    first_day, after = kpi.year_bounds(year)
    for st in await pair_states(repos, [*active, *finished], now, default_tz):
        pair = st.pair
        if pair.status == PairStatus.ACTIVE:
            pairs_by_stage[pair.stage] = pairs_by_stage.get(pair.stage, 0) + 1
            overdue += bool(st.progress.overdue)
        paired_on = pair.created_at.astimezone(tz).date()
        done_on: dict[str, date] = {}
        for m in st.meetings:
            if m.status == MeetingStatus.HELD and m.held_at is not None:
                day = m.held_at.astimezone(tz).date()
                done_on[m.stage] = max(done_on.get(m.stage, day), day)
                held += first_day <= day < after
        due = [(stage, None) for stage in ([st.progress.current_stage] if st.progress.current_stage else [])]
        for stage, completed in [*((s, done_on.get(s.value)) for s in st.progress.completed), *due]:
            deadline = st.plan.deadline_for(stage, paired_on)
            if first_day <= deadline < after:
                completions.append(kpi.StageCompletion(deadline, completed))

    engaged = {m for p in active for m in p.mentee_ids} | {m for p in closed for m in p.mentee_ids}
    raw_population = settings.get("population")
    population = int(raw_population) if isinstance(raw_population, int | float) else None
    stale = population is not None and len(engaged) > population
    scores = await repos.dashboard.scores_between(SURVEYS, SCORE_KEY, start, end)
    mentee_ids = {p.id for p in mentees}
    mentor_ids = {p.id for p in mentors}
    inputs = kpi.KpiInputs(
        engaged=len(engaged),
        # A stale population (fewer than are engaged) gives no coverage rather than one above 100 %.
        population=0 if population is None or stale else population,
        mentee_scores=[v for pid, v in scores.items() if pid in mentee_ids and pid not in mentor_ids],
        mentor_scores=[v for pid, v in scores.items() if pid in mentor_ids],
        stage_completions=completions,
    )
    members = {m for p in [*active, *closed] for m in (p.mentor_id, *p.mentee_ids)}
    measured = (
        [m for m in await selfcheck.measurements(repos, programme.id) if m.participant_id in members]
        if programme is not None
        else []
    )
    swot_result = None
    if programme is not None:
        for period in (f"{year + 1}-06", f"{year}-12"):
            if (swot_result := await swot.latest(repos, programme.id, period)) is not None:
                break
    report = kpi.build_report(
        str(programme.id if programme else 0), targets_of(programme), year, inputs, today=today
    )
    return Figures(
        programme=programme,
        year=year,
        people=people,
        mentees_by_kind=by_kind,
        paired_by_form=paired_by_form,
        pairs_by_form=pairs_by_form,
        pairs_by_stage=pairs_by_stage,
        overdue=overdue,
        pairs_finished=len(finished),
        pairs_dissolved=len(closed) - len(finished),
        meetings_held=held,
        population=population,
        population_stale=stale,
        inputs=inputs,
        kpis=report,
        growth=growth.programme(measured),
        growth_by_role=growth.per_role(measured),
        growth_by_form=growth.per_form(measured),
        swot=swot_result,
    )


def _registry(registry: dict[int, str], participant_id: int) -> str:
    return registry.get(participant_id, MentorStatus.CANDIDATE.value)
