"""The district: each institution's figures as its own curators' dashboards compute them, the totals, the
consolidated report, the coordinator's announcement and weekly digest. Aggregates only: nothing a
coordinator receives names a participant. No Telegram here."""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.domain import district as dd
from bot.domain import kpi
from bot.domain.entities import InstitutionDTO, NewMessage, ParticipantDTO, Role
from bot.i18n import Translator
from bot.services import announce as announce_svc
from bot.services import dashboard
from bot.services.notify import reachable
from storage.tenancy import within
from storage.uow import Repos

# The coordinator's /district shows aggregates at most this old (the hourly job and every /district keep
# them); the consolidated report reads the same and says as of when.
MAX_AGE = timedelta(minutes=10)


@dataclass(frozen=True)
class Row:
    institution: InstitutionDTO
    figures: dd.Figures
    targets: dict[str, float | None]
    curators: int
    programmes: int
    computed_at: datetime | None = None


@dataclass(frozen=True)
class District:
    period: dd.Period
    rows: list[Row]
    total: dd.Figures
    targets: dict[str, float | None]
    as_of: datetime | None = None  # the oldest aggregate the summary shows


async def institution_figures(
    repos: Repos,
    now: datetime,
    tz: str,
    today: date,
    period: dd.Period | None = None,
) -> tuple[dd.Figures, dict[str, float | None], int]:
    """The figures of the institution the unit is scoped to: the sum over its active programmes of what
    each programme's /dashboard shows (one computation: dashboard.build). Returns the figures, the
    targets in force (the strictest among its programmes) and how many programmes were counted."""
    total, targets = dd.Figures(), dict[str, float | None]()
    programmes = await repos.programmes.active()
    for programme in programmes:
        d = await dashboard.build(repos, now, tz, today, programme)
        f = d.figures
        scores_from = kpi.DEFAULT_SATISFIED_FROM
        inputs = f.inputs
        answered_by: dict[str, int] = {}
        invited_by: dict[str, int] = {}
        for _form, opened, a, i in d.campaigns:
            if (monitoring := dd.Period.of_campaign(opened)) is not None:
                answered_by[monitoring.key] = answered_by.get(monitoring.key, 0) + a
                invited_by[monitoring.key] = invited_by.get(monitoring.key, 0) + i
        overdue_items = await repos.roadmap.list(programme.id, overdue_on=today)
        all_items = sum((await repos.roadmap.counts(programme.id)).values())
        total = total + dd.Figures(
            mentors=f.people["mentor"]["active"],
            mentees=f.people["mentee"]["active"],
            mentees_by_kind=dict(f.mentees_by_kind),
            paired_by_form=dict(f.paired_by_form),
            pairs_by_stage=dict(f.pairs_by_stage),
            pairs=f.pairs_active,
            overdue_pairs=f.overdue,
            engaged=inputs.engaged,
            population=inputs.population,
            mentee_satisfied=sum(1 for s in inputs.mentee_scores if s >= scores_from),
            mentee_rated=len(inputs.mentee_scores),
            mentor_satisfied=sum(1 for s in inputs.mentor_scores if s >= scores_from),
            mentor_rated=len(inputs.mentor_scores),
            answered_by_period=answered_by,
            invited_by_period=invited_by,
            roadmap_overdue=len(overdue_items),
            roadmap_items=all_items,
            growth_people=f.growth.people if f.growth else 0,
            growth_improved=round(f.growth.improved_share * f.growth.people) if f.growth else 0,
            growth_change_sum=f.growth.mean_change * f.growth.people if f.growth else 0.0,
            swot_done=int(f.swot is not None),
            programmes=1,
        )
        for value in f.kpis.values:
            if value.target is not None:
                targets[value.code] = max(value.target, targets.get(value.code) or 0.0)
    return total.for_period(period), targets, len(programmes)


async def refresh_one(repos: Repos, institution: InstitutionDTO, now: datetime, tz: str, today: date) -> Row:
    """Compute one institution's aggregate (in its scope) and keep it for the district's summary."""
    with within(repos.session, await repos.institutions.scope(institution.id)):
        figures, targets, programmes = await institution_figures(repos, now, tz, today)
        curators = len(await repos.participants.with_role(Role.CURATOR))
    await repos.institutions.save_figures(
        institution.id, figures.to_json(), dict(targets), curators, programmes, now
    )
    return Row(institution, figures, dict(targets), curators, programmes, now)


async def kept_row(
    repos: Repos, institution: InstitutionDTO, now: datetime, tz: str, today: date, period: dd.Period
) -> Row:
    """One institution's row as the district's summary shows it now: its kept aggregate while at most
    MAX_AGE old, else computed (and kept). A curator's /dashboard shows this as "what the centre sees"."""
    kept = (await repos.institutions.stored_figures(institution.id)).get(institution.id)
    if kept is not None and now - kept[0] <= MAX_AGE:
        at, figures, targets, curators, programmes = kept
        row = Row(institution, dd.Figures.from_json(figures), targets, curators, programmes, at)
    else:
        row = await refresh_one(repos, institution, now, tz, today)
    return replace(row, figures=row.figures.for_period(period))


async def build(
    repos: Repos,
    now: datetime,
    tz: str,
    today: date,
    period: dd.Period,
    *,
    max_age: timedelta = MAX_AGE,
) -> District:
    """Every institution's row and the district's total (the sum of the rows), for ``period``'s monitoring.
    Each row is the institution's kept aggregate when it is at most ``max_age`` old (the hourly job keeps
    them so), else computed now (and kept)."""
    stored = await repos.institutions.stored_figures()
    rows: list[Row] = []
    for institution in await repos.institutions.all():
        kept = stored.get(institution.id)
        if kept is not None and now - kept[0] <= max_age:
            at, figures, targets, curators, programmes = kept
            rows.append(Row(institution, dd.Figures.from_json(figures), targets, curators, programmes, at))
        else:
            rows.append(await refresh_one(repos, institution, now, tz, today))
    rows = [replace(r, figures=r.figures.for_period(period)) for r in rows]
    targets: dict[str, float | None] = {}
    for row in rows:
        for code, value in row.targets.items():
            if value is not None:
                targets[code] = max(value, targets.get(code) or 0.0)
    as_of = min((r.computed_at for r in rows if r.computed_at is not None), default=now)
    return District(period, rows, dd.total(r.figures for r in rows), targets, as_of)


async def weekly_digest(repos: Repos, now: datetime, tz: str, today: date, small: int) -> list[NewMessage]:
    """Mondays: each coordinator hears which institutions fall behind and why (nothing when none does)."""
    district = await build(repos, now, tz, today, dd.periods_around(today, 1)[0], max_age=timedelta(0))
    lagging = [(r, dd.behind(r.figures, r.targets, small)) for r in district.rows]
    lagging = [(r, why) for r, why in lagging if why]
    if not lagging:
        return []
    year, week, _ = today.isocalendar()
    out = []
    for coordinator in await repos.participants.with_role(Role.COORDINATOR):
        if not reachable(coordinator):
            continue
        t = Translator(coordinator.language)
        lines = [t.plural("district.digest.header", len(lagging))]
        for row, why in lagging:
            reasons = ", ".join(t(f"district.why.{code}") for code in why)
            lines.append(t("district.digest.item", title=row.institution.title, why=reasons))
        lines.append(t("district.digest.hint"))
        # Several texts in one message, as the curators' digest (scheduler/digest.py): made here, for
        # reachable coordinators only (notify's rule).
        assert coordinator.telegram_id is not None
        out.append(
            NewMessage(
                chat_id=coordinator.telegram_id,
                participant_id=coordinator.id,
                kind="district_digest",
                priority=4,
                text="\n".join(lines),
                dedup_key=f"district-digest:{coordinator.id}:{year}-W{week:02d}",
            )
        )
    return out


async def curators(repos: Repos, institution_ids: set[int] | None = None) -> list[ParticipantDTO]:
    """The curators of the chosen institutions (all when None), each once."""
    found: dict[int, ParticipantDTO] = {}
    for institution in await repos.institutions.all():
        if institution_ids is not None and institution.id not in institution_ids:
            continue
        with within(repos.session, await repos.institutions.scope(institution.id)):
            for person in await repos.participants.with_role(Role.CURATOR):
                found.setdefault(person.id, person)
    return [found[k] for k in sorted(found)]


async def announce(
    repos: Repos,
    coordinator_id: int,
    text: str,
    batch_id: str,
    now: datetime,
    institution_ids: set[int] | None = None,
) -> int | None:
    """The coordinator's announcement to the curators of the chosen institutions (every one when None)
    through the outbox, once per batch (None: this batch was sent already). Returns how many were queued."""
    if await announce_svc.already_sent(repos, batch_id):
        return None
    people = [p for p in await curators(repos, institution_ids) if p.id != coordinator_id]
    content = announce_svc.Content(text=html.escape(text))
    added = await repos.outbox.enqueue(announce_svc.messages(people, content, batch_id), now)
    await repos.audit.log(
        "district.announce",
        now,
        actor_id=coordinator_id,
        object_type="announcement",
        recipients=added,
        institutions=sorted(institution_ids) if institution_ids else "all",
    )
    return added
