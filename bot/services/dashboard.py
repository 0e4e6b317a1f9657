"""The programme at a glance: people by role and status, pairs by stage, overdue pairs, KPIs against targets,
and the monitoring campaigns (intermediate survey in December and June); the curator's actions on a person
(nudge, unreachable, the card) and a participant starting the survey. Telegram only as the survey
invitation's button (callback data and its keyboard)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks.dashboard import SurveyCb
from bot.domain import kpi
from bot.domain.entities import (
    FormResponseDTO,
    NewMessage,
    ParticipantDTO,
    ProgrammeDTO,
    ProgrammeScope,
    Role,
    Status,
)
from bot.domain.forms import Form
from bot.domain.grammar import format_period, period_key
from bot.domain.stages import STAGE_ORDER, MeetingStatus
from bot.domain.statuses import CampaignStatus
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services import figures, selfcheck, swot
from bot.services import questionnaires as qs
from bot.services.figures import Figures
from bot.services.notify import Localized, compose, notify, reachable
from storage.uow import Repos

CAMPAIGN_FORM = "intermediate"
CAMPAIGN_DAYS = 21
CAMPAIGN_REMINDERS = (3, 7)  # days after the start, to those who have not answered


@dataclass
class Dashboard:
    figures: Figures
    campaigns: list[tuple[str, str, int, int]] = field(
        default_factory=list
    )  # form, period, answered, invited

    # What the dashboard shows is the programme's figures (bot/services/figures.py), read, never recounted.
    @property
    def people(self) -> dict[str, dict[str, int]]:
        return self.figures.people

    @property
    def pairs_by_stage(self) -> dict[str, int]:
        return self.figures.pairs_by_stage

    @property
    def overdue(self) -> int:
        return self.figures.overdue

    @property
    def kpis(self) -> list[kpi.KpiValue]:
        return list(self.figures.kpis.values)

    @property
    def population(self) -> int | None:
        return self.figures.population

    @property
    def programme(self) -> str | None:
        return self.figures.programme.title if self.figures.programme else None

    @property
    def archived(self) -> bool:
        return bool(self.figures.programme and self.figures.programme.archived)

    @property
    def inputs(self) -> kpi.KpiInputs:
        return self.figures.inputs


async def build(
    repos: Repos, now: datetime, tz_name: str, today: date, programme: ProgrammeDTO | None = None
) -> Dashboard:
    """One programme's dashboard (archived ones too) for the current programme year; without a programme,
    everyone's, with the first active programme's settings."""
    scope = await repos.programmes.scope(programme.id) if programme is not None else None
    if programme is None:
        active = await repos.programmes.active()
        programme = active[0] if active else None
    d = Dashboard(await figures.compute(repos, programme, now, tz_name, scope=scope))
    for cid, form_id, period, answered in await repos.dashboard.campaign_rates(scope):
        invited_n = sum((await repos.outbox.batch_counts(f"campaign:{cid}")).values())
        d.campaigns.append((form_id, period, answered, invited_n))
    return d


def render(d: Dashboard, t: Translator) -> str:
    lines = [t("dashboard.header"), ""]
    if d.programme is not None:
        state = t("programmes.state.archived" if d.archived else "programmes.state.active")
        lines[1:1] = [t("programmes.current", title=d.programme, state=state)]
    for role in ("mentee", "mentor", "parent"):
        b = d.people.get(role, {})
        parts = [f"{t(bucket_key(role, k))}: {v}" for k, v in b.items() if v]
        lines.append(f"{t(f'dashboard.role.{role}')}: " + (", ".join(parts) if parts else "—"))
    f = d.figures
    lines += [
        "",
        t(
            "dashboard.pairs",
            count=f.pairs_active,
            overdue=f.overdue,
            finished=f.pairs_finished,
            dissolved=f.pairs_dissolved,
            year=f.year_label,
        ),
    ]
    for stage in STAGE_ORDER:
        n = d.pairs_by_stage.get(stage.value, 0)
        if n:
            lines.append(f"  {t(f'meetings.stage.{stage.value}')}: {n}")
    lines += ["", t("dashboard.kpi_header", year=f.year_label)]
    icons = {"green": "🟢", "yellow": "🟡", "red": "🔴", "grey": "⚪"}
    for v in d.kpis:
        value = "—" if v.value is None else f"{round(v.value * 100)}%"
        target = (
            t("roadmap.light.no_target")
            if v.target is None
            else f"{t('dashboard.target')} {round(v.target * 100)}%"
        )
        lines.append(f"{icons[str(v.light)]} {t(kpi.kpi_label_key(v.code))}: {value} / {target}")
    if f.population_stale:
        lines.append(t("dashboard.population_stale", engaged=f.inputs.engaged, population=f.population))
    elif d.population is None:
        lines.append(t("dashboard.population_hint"))
    lines += ["", growth_line(f, t), swot_line(f, t)]
    if d.campaigns:
        lines += ["", t("dashboard.campaigns")]
        for _form, period, answered, invited in d.campaigns:
            rate = f"{round(100 * answered / invited)}%" if invited else "—"
            lines.append(
                t(
                    "dashboard.campaign_line",
                    period=format_period(t, period),
                    answered=answered,
                    invited=invited,
                    rate=rate,
                )
            )
    return "\n".join(lines)


def points(value: float, lang: str) -> str:
    """A change in scale points, signed, with the decimal comma in Russian: "+0,8", "−0,3"."""
    text = f"{value:+.1f}".replace("-", "−")
    return text.replace(".", ",") if lang == "ru" else text


def growth_line(f: Figures, t: Translator) -> str:
    """Growth from the entry and exit self-assessments, with how many people it rests on."""
    g = f.growth
    if g is None:
        return t("dashboard.growth_none")
    return t(
        "dashboard.growth",
        change=points(g.mean_change, t.lang),
        improved=f"{round(g.improved_share * 100)}%",
        people=g.people,
    )


def swot_line(f: Figures, t: Translator) -> str:
    if f.swot is None:
        return t("dashboard.swot_none")
    return t("dashboard.swot", period=swot.period_name(f.swot.period)(t))


def bucket_key(role: str, bucket: str) -> str:
    # A mentor is "active" once approved in the registry: the dashboard says so in those words.
    return (
        "dashboard.bucket.approved"
        if (role, bucket) == ("mentor", "active")
        else f"dashboard.bucket.{bucket}"
    )


async def run_campaigns(repos: Repos, now: datetime, today: date) -> list[NewMessage]:
    """Open the monitoring survey in the monitoring months; remind those who have not answered."""
    out: list[NewMessage] = []
    await repos.campaigns.close_due(now)
    for programme in await repos.programmes.active():
        months = programme.settings.get("monitoring_months") or [12, 6]
        if today.month in months:
            cid = await repos.campaigns.open_campaign(
                programme.id, CAMPAIGN_FORM, f"{today:%Y-%m}", now, now + timedelta(days=CAMPAIGN_DAYS)
            )
            if cid is not None:
                await repos.audit.log("campaign.open", now, object_type="campaign", object_id=cid)
                await swot.invite_curators(repos, programme, today, now)
            out += await selfcheck.mid_invitations(repos, programme, today, now)
    for cid, _form, period, opened_at, _closes in await repos.campaigns.open_ones():
        answered = await repos.campaigns.responders(cid)
        age = (now - opened_at).days
        # The campaign's own programme: someone in two programmes is asked about each of them once.
        programme_id = await repos.campaigns.programme_of(cid)
        scope = await repos.programmes.scope(programme_id) if programme_id is not None else None
        for person in await _paired_people(repos, scope):
            if person.id in answered:
                continue
            out += _campaign_messages(person, cid, period, age)
    return out


def _survey_button(cid: int) -> Callable[[Translator], InlineKeyboardMarkup]:
    def buttons(t: Translator) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=t("dashboard.survey_button"), callback_data=SurveyCb(c=cid))
        return kb.as_markup()

    return buttons


def _campaign_messages(person: ParticipantDTO, cid: int, period: str, age: int) -> list[NewMessage]:
    """The invitation (one row of the campaign's batch, which the response rate counts) and the reminders
    due by the campaign's age. Their dedup keys keep the form they had before notify existed (the person's id
    before the step), so an open campaign's invitations are not sent again: compose's key is replaced."""
    named = period_key(period)
    shown = Localized(named[0], named[1]) if named else period
    common = {"kind": "campaign", "params": {"period": shown}, "buttons": _survey_button(cid)}
    out = []
    invite = compose(person, "dashboard.survey_invite", dedup="-", batch_id=f"campaign:{cid}", **common)
    if invite is not None:
        out.append(replace(invite, dedup_key=f"campaign:{cid}:{person.id}:invite"))
    for day in CAMPAIGN_REMINDERS:
        reminder = compose(person, "dashboard.survey_reminder", dedup="-", **common) if age >= day else None
        if reminder is not None:
            out.append(replace(reminder, dedup_key=f"campaign:{cid}:{person.id}:remind{day}"))
    return out


async def in_audience(repos: Repos, campaign_id: int, participant_id: int) -> bool:
    """Whether the campaign asks this person: invited by it (their pair may have ended since), or paired and
    active in the campaign's own programme. Anyone else pressing its button (forged data, another programme)
    would inflate the response rate."""
    if await repos.outbox.was_enqueued(f"campaign:{campaign_id}:{participant_id}:invite"):
        return True
    programme_id = await repos.campaigns.programme_of(campaign_id)
    if programme_id is None:
        return False
    scope = await repos.programmes.scope(programme_id)
    return any(p.id == participant_id for p in await _paired_people(repos, scope))


async def _paired_people(repos: Repos, scope: ProgrammeScope | None) -> list[ParticipantDTO]:
    """Active members of the scope's active pairs, each once, in pair order."""
    ids = list(
        dict.fromkeys(
            pid
            for pair in await repos.pairs.active(scope=scope)
            for pid in (pair.mentor_id, *pair.mentee_ids)
        )
    )
    found = await repos.participants.get_many(ids) if ids else {}
    return [p for pid in ids if (p := found.get(pid)) is not None and p.status == Status.ACTIVE]


# ------------------------------------------------------------------------------- the curator's actions
PAGE = 10


async def set_population(
    repos: Repos, curator_id: int, programme: ProgrammeDTO, population: int, now: datetime
) -> None:
    """How many people the programme could reach (the KPI's denominator)."""
    await repos.programmes.update_settings(programme.id, {**programme.settings, "population": population})
    await repos.audit.log(
        "programme.population",
        now,
        actor_id=curator_id,
        object_type="programme",
        object_id=programme.id,
        value=population,
    )


@dataclass(frozen=True)
class PeoplePage:
    people: list[ParticipantDTO]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + PAGE - 1) // PAGE)


async def people_page(repos: Repos, query: str, page: int) -> PeoplePage:
    ids, total = await repos.dashboard.search_participants(query or None, page * PAGE, PAGE)
    found = await repos.participants.get_many(ids) if ids else {}
    return PeoplePage([found[i] for i in ids if i in found], total, page)


async def awaiting_parent(repos: Repos) -> list[ParticipantDTO]:
    """Mentees and mentors waiting for a parent's consent."""
    people = {x.id: x for r in (Role.MENTEE, Role.MENTOR) for x in await repos.participants.with_role(r)}
    return [p for p in people.values() if p.status == Status.AWAITING_PARENT]


class Nudge(StrEnum):
    SENT = "sent"
    ALREADY = "already"  # one a day: today's was sent before
    UNREACHABLE = "unreachable"


async def nudge(repos: Repos, curator_id: int, person: ParticipantDTO, now: datetime) -> Nudge:
    """The curator's reminder from a person's card: one a day, shared with questionnaires.nudge (same key)."""
    if not reachable(person):
        return Nudge.UNREACHABLE
    added = await notify(
        repos,
        now,
        [person],
        "dashboard.nudge_text",
        kind="form_nudge",
        dedup=f"form-nudge:{now.date().isoformat()}",
        priority=3,
    )
    await repos.audit.log(
        "participant.nudge", now, actor_id=curator_id, object_type="participant", object_id=person.id
    )
    return Nudge.SENT if added else Nudge.ALREADY


async def toggle_unreachable(repos: Repos, curator_id: int, person: ParticipantDTO, now: datetime) -> bool:
    """The chat's button: mark the person unreachable (or reachable again); returns the new mark."""
    return await set_unreachable(repos, curator_id, person, not person.unreachable, now)


async def set_unreachable(
    repos: Repos, curator_id: int, person: ParticipantDTO, mark: bool, now: datetime
) -> bool:
    """Mark the person unreachable or not (the desk says which: a repeated request changes nothing)."""
    if mark == person.unreachable:
        return mark
    await repos.participants.update(person.id, now, unreachable=mark)
    await repos.audit.log(
        "participant.unreachable",
        now,
        actor_id=curator_id,
        object_type="participant",
        object_id=person.id,
        value=mark,
    )
    return mark


@dataclass(frozen=True)
class PairLine:
    id: int
    stage: str
    meetings: int
    held: int
    feedback: int  # meetings this person gave feedback on
    group: bool = False  # one mentor with several mentees


@dataclass(frozen=True)
class Card:
    person: ParticipantDTO
    intake: list[tuple[Form, FormResponseDTO]]
    pairs: list[PairLine]


async def card(
    repos: Repos, curator_id: int, person: ParticipantDTO, forms: dict[str, Form], now: datetime
) -> Card:
    """What the curator's card of a person shows (the view is audited)."""
    intake = []
    for form_id in qs.INTAKE_FORMS:
        last = await repos.forms.latest_submitted(person.id, form_id)
        if last and form_id in forms:
            intake.append((forms[form_id], last))
    pair = await repos.pairs.active_of_mentee(person.id)
    lines = []
    for x in [pair] if pair else await repos.pairs.led_by(person.id):
        meetings = await repos.meetings.for_pair(x.id)
        fb = await repos.meetings.feedback_from([m.id for m in meetings])
        held = sum(m.status == MeetingStatus.HELD for m in meetings)
        given = sum(person.id in fb.get(m.id, set()) for m in meetings)
        lines.append(PairLine(x.id, x.stage, len(meetings), held, given, len(x.mentee_ids) > 1))
    await repos.audit.log(
        "participant.view", now, actor_id=curator_id, object_type="participant", object_id=person.id
    )
    return Card(person, intake, lines)


class Survey(StrEnum):
    CLOSED = "closed"
    NOT_ASKED = "not_asked"
    DONE = "done"


async def start_survey(
    repos: Repos, engine: qs.Engine, campaign_id: int, participant_id: int, now: datetime
) -> FormResponseDTO | Survey:
    """A participant pressed the monitoring survey's button: their response to it, begun or resumed."""
    campaign = await repos.campaigns.get(campaign_id)
    if campaign is None or campaign[3] != CampaignStatus.OPEN or campaign[1] not in engine.forms:
        return Survey.CLOSED
    if not await in_audience(repos, campaign[0], participant_id):
        return Survey.NOT_ASKED
    context = f"campaign:{campaign[0]}"
    if await repos.forms.latest_submitted(participant_id, campaign[1], context) is not None:
        return Survey.DONE
    return await engine.begin(repos, participant_id, campaign[1], now, context=context)
