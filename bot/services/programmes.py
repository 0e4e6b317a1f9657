"""Several programmes in one bot, and their years: creating a programme from a seed template, each curator's
current programme, closing a programme year into the next cohort. No Telegram here.

A curator's commands work on their current programme (stored, so it survives restarts; unset, it is the only
active programme, else the newest). A closed year is archived: read-only, still in /dashboard and /export.
The cohort that continues it has the same template and settings and a title one year on; the mentors who
stay (finished mentees who became mentors among them) hold a mentor role in it; pairs are not carried over."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from types import MappingProxyType
from typing import Protocol

from bot.domain import cohorts
from bot.domain.entities import ParticipantDTO, ProgrammeDTO, ProgrammeScope, Role, Status
from bot.domain.programme_templates import ProgrammeTemplate, load_templates, programme_settings
from bot.domain.statuses import MentorStatus
from bot.services import completion
from storage.uow import Repos

# Mentors the curator declined are not offered a place in the next cohort.
_NOT_STAYING = (MentorStatus.DECLINED,)
# Links of a closed year would otherwise add people to an archived programme.
_YEAR_ROLES = (Role.MENTEE, Role.MENTOR)


class UnknownTemplate(LookupError):
    pass


class Disarms(Protocol):
    """The reminders scheduler (scheduler/reminders.py): drops the jobs of cancelled reminder rows."""

    def disarm(self, ids: list[int]) -> None: ...


@dataclass(frozen=True)
class ClosingPreview:
    """What closing a programme year would touch: the programme (active) and its active pairs."""

    programme: ProgrammeDTO
    active_pairs: int


async def closing_preview(repos: Repos, programme_id: int) -> ClosingPreview | None:
    """None when there is no such programme or it is archived (closed) already."""
    programme = await repos.programmes.get(programme_id)
    if programme is None or programme.archived:
        return None
    pairs = await repos.pairs.active(scope=await repos.programmes.scope(programme.id))
    return ClosingPreview(programme, len(pairs))


@dataclass(frozen=True)
class YearClosed:
    """What closing a programme year did. ``created`` is False when it was closed already (a double press)."""

    old: ProgrammeDTO
    new: ProgrammeDTO
    created: bool
    kept_mentors: tuple[int, ...] = ()
    closed_pairs: tuple[int, ...] = ()
    # Reminder rows cancelled with the closed pairs: the scheduler drops their jobs.
    cancelled_reminders: tuple[int, ...] = ()


@cache
def templates() -> Mapping[str, ProgrammeTemplate]:
    """The shipped templates, read (and checked) once."""
    return MappingProxyType(load_templates())


async def scope(repos: Repos, programme: ProgrammeDTO | None) -> ProgrammeScope | None:
    """The rows of a programme; None (every row) when there is no programme at all."""
    return await repos.programmes.scope(programme.id) if programme is not None else None


async def default(repos: Repos) -> ProgrammeDTO | None:
    """The only active programme, else the newest active one, else the newest archived one."""
    active = await repos.programmes.active()
    if active:
        return active[-1]
    every = await repos.programmes.all()
    return every[-1] if every else None


async def current(repos: Repos, curator_id: int) -> ProgrammeDTO | None:
    """The programme a curator works on."""
    chosen = await repos.programmes.current_of(curator_id)
    if chosen is not None:
        programme = await repos.programmes.get(chosen)
        if programme is not None:
            return programme
    return await default(repos)


async def switch(repos: Repos, curator_id: int, programme_id: int, now: datetime) -> ProgrammeDTO | None:
    programme = await repos.programmes.get(programme_id)
    if programme is None:
        return None
    await repos.programmes.set_current(curator_id, programme.id, now)
    await repos.audit.log(
        "programme.switch", now, actor_id=curator_id, object_type="programme", object_id=programme.id
    )
    return programme


async def listing(repos: Repos) -> list[ProgrammeDTO]:
    """Active programmes first (newest first), then archived ones (newest first)."""
    every = await repos.programmes.all()
    return [p for p in reversed(every) if not p.archived] + [p for p in reversed(every) if p.archived]


def default_title(template: ProgrammeTemplate, language: str, today: date) -> str:
    return cohorts.first_title(template.title_for(language), today)


async def create_from_template(
    repos: Repos,
    template_id: str,
    title: str,
    now: datetime,
    timezone: str,
    *,
    curator_id: int | None = None,
) -> ProgrammeDTO:
    """A new active programme with the template's settings; it becomes the creating curator's current one."""
    template = templates().get(template_id)
    if template is None:
        raise UnknownTemplate(template_id)
    title = " ".join(title.split())[: cohorts.TITLE_MAX] or template.title_for("ru")
    programme = await repos.programmes.create(
        title, timezone, now, template=template.id, settings=programme_settings(template)
    )
    await repos.audit.log(
        "programme.create",
        now,
        actor_id=curator_id,
        object_type="programme",
        object_id=programme.id,
        template=template.id,
    )
    if curator_id is not None:
        await repos.programmes.set_current(curator_id, programme.id, now)
    return programme


async def mentors_of(repos: Repos, programme: ProgrammeDTO) -> list[ParticipantDTO]:
    """The programme's mentors who could stay for its next year: a mentor role in it (a finished mentee who
    accepted to become a mentor has one), consent in force, and not declined by the curator."""
    people = [
        p
        for p in await repos.participants.with_role(Role.MENTOR, await scope(repos, programme))
        if p.full_name and p.status == Status.ACTIVE.value
    ]
    base = await repos.mentor_base.statuses([p.id for p in people])
    return [p for p in people if base[p.id] not in _NOT_STAYING]


async def close_year(
    repos: Repos,
    programme_id: int,
    now: datetime,
    keep_mentor_ids: Collection[int],
    *,
    curator_id: int | None = None,
    pair_close_reason: str = "",
    today: date | None = None,
    reminders: Disarms | None = None,
) -> YearClosed | None:
    """Archive the programme and start its next cohort (same template and settings, the title one year on),
    with a mentor role in it for each of ``keep_mentor_ids`` who is one of the programme's mentors. Its
    pairs still active are closed with ``pair_close_reason`` (their members get the final survey), its open
    match proposals are withdrawn and its mentee and mentor links revoked. The curators who worked on it now
    work on the new cohort; the jobs of the reminders cancelled with the pairs are dropped from ``reminders``.
    None when there is no such programme."""
    old = await repos.programmes.get(programme_id)
    if old is None:
        return None
    if not await repos.programmes.archive(old.id, now):
        successor = await _successor(repos, old.id)
        return YearClosed(old, successor or old, created=False)
    old_scope = await repos.programmes.scope(old.id)
    new = await repos.programmes.create(
        cohorts.next_title(old.title, today or now.date()),
        old.timezone,
        now,
        template=old.template,
        settings=dict(old.settings),
    )
    await repos.programmes.record_closure(old.id, new.id, curator_id, now)
    staying = {p.id for p in await mentors_of(repos, old)} & set(keep_mentor_ids)
    for mentor_id in sorted(staying):
        await repos.participants.add_role(mentor_id, Role.MENTOR, now, programme_id=new.id)
    closed, cancelled = [], []
    for pair in await repos.pairs.active(scope=old_scope):
        done, reminder_ids = await completion.close_pair(
            repos, pair.id, pair_close_reason or old.title, curator_id or 0, now
        )
        if done:
            closed.append(pair.id)
            cancelled += reminder_ids
    await repos.pairs.withdraw_open_proposals(now, old_scope)
    await repos.invitations.revoke_for_programme(old.id, _YEAR_ROLES, now)
    await repos.programmes.move_current(old.id, new.id, now)
    if curator_id is not None:
        await repos.programmes.set_current(curator_id, new.id, now)
    await repos.audit.log(
        "programme.close_year",
        now,
        actor_id=curator_id,
        object_type="programme",
        object_id=old.id,
        successor=new.id,
        mentors=len(staying),
        pairs=len(closed),
    )
    if cancelled and reminders is not None:
        reminders.disarm(list(cancelled))
    archived = await repos.programmes.get(old.id)
    assert archived is not None
    return YearClosed(archived, new, True, tuple(sorted(staying)), tuple(closed), tuple(cancelled))


async def _successor(repos: Repos, programme_id: int) -> ProgrammeDTO | None:
    successor_id = await repos.programmes.successor(programme_id)
    return await repos.programmes.get(successor_id) if successor_id is not None else None


async def role_programmes(repos: Repos, me: ParticipantDTO, role: Role) -> list[ProgrammeDTO]:
    """The programmes in which a person holds a role (a role from before programmes were told apart counts
    for the first programme), active ones first."""
    out: dict[int, ProgrammeDTO] = {}
    for pid in await repos.participants.role_programmes(me.id, role):
        resolved = pid if pid is not None else await repos.programmes.first_id()
        if resolved is not None and resolved not in out:
            programme = await repos.programmes.get(resolved)
            if programme is not None:
                out[resolved] = programme
    return sorted(out.values(), key=lambda p: (p.archived, p.id))
