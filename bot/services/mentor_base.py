"""The mentor base (стадия 3 целевой модели): a candidate's lifecycle (interview, approval, decline, rest),
training sessions and their attendance, methodological materials, and the registries. One function per use
case; each takes plain inputs and the unit of work, tells whom it concerns through notify, and returns what
the handler shows. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.domain import forms as f
from bot.domain import materials as mat
from bot.domain import registries as reg
from bot.domain.entities import PairDTO, ParticipantDTO, Role, Status
from bot.domain.stages import STAGE_ORDER
from bot.domain.statuses import MentorStatus
from bot.filenames import file_name
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.services import programmes
from bot.services.notify import notify
from storage.repositories.mentors import MaterialDTO
from storage.uow import Repos

# Who may move where.
TRANSITIONS: dict[MentorStatus, tuple[MentorStatus, ...]] = {
    MentorStatus.INTERVIEWED: (MentorStatus.CANDIDATE, MentorStatus.INTERVIEWED),
    MentorStatus.APPROVED: (MentorStatus.CANDIDATE, MentorStatus.INTERVIEWED),
    MentorStatus.DECLINED: (MentorStatus.CANDIDATE, MentorStatus.INTERVIEWED),
    MentorStatus.ACTIVE: (MentorStatus.APPROVED,),
    MentorStatus.RESTING: (MentorStatus.APPROVED, MentorStatus.ACTIVE),
}
UNDECIDED = (MentorStatus.CANDIDATE, MentorStatus.INTERVIEWED)
AUDIENCES = ("mentors", "mentees", "parents")
AUDIENCE_OF = {Role.MENTOR: "mentors", Role.MENTEE: "mentees", Role.PARENT: "parents"}
ROSTER_SHOWN = 40  # people listed (and buttons) in /mentors and the attendance keyboard


async def _move(
    repos: Repos, mentor_id: int, status: MentorStatus, now: datetime, by: int | None, **fields: object
) -> bool:
    ok = await repos.mentor_base.set_status(
        mentor_id, status, now, expect=TRANSITIONS[status], by=by, **fields
    )
    if ok:
        await repos.audit.log(
            "mentor.status", now, actor_id=by, object_type="participant", object_id=mentor_id, status=status
        )
    return ok


# ------------------------------------------------------------------------------------------ the base
@dataclass(frozen=True)
class Roster:
    """Everyone with the mentor role and a name, with their status in the base."""

    people: list[ParticipantDTO]
    statuses: dict[int, str]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.statuses.values():
            out[s] = out.get(s, 0) + 1
        return out


async def roster(repos: Repos) -> Roster:
    people = [p for p in await repos.participants.with_role(Role.MENTOR) if p.full_name]
    return Roster(people, await repos.mentor_base.statuses([p.id for p in people]))


async def candidate(repos: Repos, mentor_id: int) -> ParticipantDTO | None:
    """The person a /mentors button names, if they still hold the mentor role."""
    person = await repos.participants.get(mentor_id)
    return person if person is not None and person.has(Role.MENTOR) else None


class Decided(StrEnum):
    DONE = "done"
    ALREADY = "already"  # decided before (a double press, another curator)
    GONE = "gone"  # no longer a mentor


async def approve(repos: Repos, mentor_id: int, curator_id: int, now: datetime) -> Decided:
    """The curator approves a candidate: they join matching and are told so."""
    if await candidate(repos, mentor_id) is None:
        return Decided.GONE
    if not await _move(repos, mentor_id, MentorStatus.APPROVED, now, curator_id):
        return Decided.ALREADY
    await notify(
        repos,
        now,
        [mentor_id],
        "mentor_base.approved_to_you",
        kind="mentor_base",
        dedup="mentor-approved",
        priority=2,
    )
    return Decided.DONE


async def record_interview(
    repos: Repos, mentor_id: int, on: date, note: str, curator_id: int, now: datetime
) -> bool:
    """The interview is held: its date and the curator's note. False when the candidate was decided."""
    return await _move(
        repos, mentor_id, MentorStatus.INTERVIEWED, now, curator_id, interview_on=on, interview_note=note
    )


async def decline(repos: Repos, mentor_id: int, reason: str, curator_id: int, now: datetime) -> Decided:
    """The curator declines a candidate, who is told kindly, with the reason."""
    if await candidate(repos, mentor_id) is None:
        return Decided.GONE
    if not await _move(repos, mentor_id, MentorStatus.DECLINED, now, curator_id, decline_reason=reason):
        return Decided.ALREADY
    await notify(
        repos,
        now,
        [mentor_id],
        "mentor_base.declined_to_you",
        kind="mentor_base",
        dedup="mentor-declined",
        params={"reason": reason},
        priority=2,
    )
    return Decided.DONE


async def toggle_rest(repos: Repos, mentor_id: int, now: datetime) -> MentorStatus | None:
    """A mentor pauses or comes back. Returns the new status, or None if they are not in the base yet."""
    status = (await repos.mentor_base.profile(mentor_id)).status
    if status in (MentorStatus.APPROVED, MentorStatus.ACTIVE):
        await repos.mentor_base.set_status(
            mentor_id, MentorStatus.RESTING, now, expect=(status,), by=mentor_id
        )
        return MentorStatus.RESTING
    if status == MentorStatus.RESTING:
        back = MentorStatus.ACTIVE if await repos.pairs.is_paired(mentor_id) else MentorStatus.APPROVED
        await repos.mentor_base.set_status(mentor_id, back, now, expect=(MentorStatus.RESTING,), by=mentor_id)
        return back
    return None


# ------------------------------------------------------------------------------------------ training
async def add_training(repos: Repos, on: date, topic: str, curator_id: int, now: datetime) -> int:
    """A training session held on `on`; returns its id (attendance is marked next)."""
    session_id = await repos.mentor_base.add_training(on, topic, curator_id, now)
    await repos.audit.log(
        "training.create", now, actor_id=curator_id, object_type="training", object_id=session_id
    )
    return session_id


@dataclass(frozen=True)
class Attendance:
    """Who may be marked present at a session (mentors not declined) and who is."""

    people: list[ParticipantDTO]
    present: set[int]


async def attendance(repos: Repos, session_id: int) -> Attendance | None:
    """None when the session does not exist."""
    if await repos.mentor_base.training(session_id) is None:
        return None
    base = await roster(repos)
    people = [p for p in base.people if base.statuses[p.id] != MentorStatus.DECLINED][:ROSTER_SHOWN]
    return Attendance(people, await repos.mentor_base.attendees(session_id))


async def toggle_attendance(repos: Repos, session_id: int, mentor_id: int) -> Attendance | None:
    """Mark a mentor present, or not any more; None when the session or the mentor is gone."""
    if await repos.mentor_base.training(session_id) is None or await candidate(repos, mentor_id) is None:
        return None
    await repos.mentor_base.toggle_attendance(session_id, mentor_id)
    return await attendance(repos, session_id)


# ------------------------------------------------------------------------------------------ materials
def audiences_of(me: ParticipantDTO) -> set[str]:
    """Whose materials a person sees: their roles' (a curator sees every audience's)."""
    out = {AUDIENCE_OF[r] for r in me.roles if r in AUDIENCE_OF}
    return out | set(AUDIENCES) if me.is_curator else out


def builtin_for(audiences: set[str]) -> list[mat.Material]:
    """The shipped memos for these audiences, then the meeting scenarios in stage order (for mentors and
    mentees)."""
    builtin = mat.load_materials().values()
    out = [m for m in builtin if m.kind == "memo" and m.audience in audiences]
    if audiences & {"mentors", "mentees"}:
        out += sorted((m for m in builtin if m.kind == "scenario"), key=lambda m: STAGE_ORDER.index(m.stage))
    return out


@dataclass(frozen=True)
class Shelf:
    """What /materials lists for a person: the curators' own materials (newest first), the shipped ones, and
    which of them (by "custom:<id>" / "builtin:<id>") the person marked read."""

    custom: list[MaterialDTO]
    builtin: list[mat.Material]
    read: set[str]


async def shelf(repos: Repos, me: ParticipantDTO) -> Shelf:
    audiences = audiences_of(me)
    # A curator's own materials are their institution's: a person reads those of the institutions they are in.
    institutions = await repos.institutions.of_person_all(me.id)
    return Shelf(
        await repos.mentor_base.materials_for(audiences, institutions),
        builtin_for(audiences),
        await repos.mentor_base.reads(me.id),
    )


@dataclass(frozen=True)
class Opened:
    """A material to show: a shipped one (with the scenario part for this person) or a curator's own."""

    builtin: mat.Material | None = None
    part: str | None = None
    custom: MaterialDTO | None = None


async def open_material(repos: Repos, me: ParticipantDTO, kind: str, ident: str) -> Opened | None:
    """The material `kind` ("builtin" | "custom") `ident`, if it is for this person; else None."""
    audiences = audiences_of(me)
    if kind == "builtin":
        m = mat.load_materials().get(ident)
        if m is None or m not in builtin_for(audiences):
            return None
        part = None
        if m.kind == "scenario":
            part = "mentor" if (Role.MENTOR in me.roles or me.is_curator) else "mentee"
        return Opened(builtin=m, part=part)
    if kind == "custom" and (material_id := parse_int(ident)) is not None:
        custom = await repos.mentor_base.material(material_id, await repos.institutions.of_person_all(me.id))
        if custom is not None and custom.audience in audiences:
            return Opened(custom=custom)
    return None


async def mark_read(repos: Repos, me: ParticipantDTO, kind: str, ident: str, now: datetime) -> None:
    await repos.mentor_base.mark_read(f"{kind}:{ident}", me.id, now)


@dataclass(frozen=True)
class NewMaterial:
    audience: str
    stage: str | None
    kind: str  # text | link | document
    title: str
    body: str | None = None
    file_id: str | None = None


def text_material(audience: str, stage: str | None, text: str) -> NewMaterial | None:
    """A material the curator typed: a link when it is one URL, else text titled by its first line. None when
    it is too short or too long."""
    text = text.strip()
    if not 5 <= len(text) <= 3500:
        return None
    kind = "link" if text.startswith(("http://", "https://")) and " " not in text else "text"
    return NewMaterial(audience, stage, kind, text.splitlines()[0][:200], body=text)


async def add_material(repos: Repos, material: NewMaterial, curator_id: int, now: datetime) -> int:
    mid = await repos.mentor_base.add_material(
        audience=material.audience,
        stage=material.stage,
        kind=material.kind,
        title=material.title,
        body=material.body,
        file_id=material.file_id,
        by=curator_id,
        now=now,
    )
    await repos.audit.log("material.add", now, actor_id=curator_id, object_type="material", object_id=mid)
    return mid


# ------------------------------------------------------------------------------------------ registries
async def registry_files(
    repos: Repos, forms: dict[str, f.Form], t: Translator, curator_id: int, now: datetime, today: date
) -> list[tuple[bytes, str]]:
    """The mentor registry, the mentee base and the order on pairs (xlsx and docx), named in the curator's
    language; the export is audited."""
    programme = await programmes.current(repos, curator_id)
    institution = programme.title if programme else ""
    mentors, mentees, pairs = await registry_rows(repos, forms, t)
    files = [
        (
            reg.mentor_registry_xlsx(mentors, institution, today, t),
            file_name(t, "mentor_registry", "xlsx", day=today),
        ),
        (
            reg.mentee_base_xlsx(mentees, institution, today, t),
            file_name(t, "mentee_base", "xlsx", day=today),
        ),
        (reg.pairs_order_xlsx(pairs, institution, today, t), file_name(t, "pairs_order", "xlsx", day=today)),
        (reg.pairs_order_docx(pairs, institution, today, t), file_name(t, "pairs_order", "docx", day=today)),
    ]
    await repos.audit.log("export.registry", now, actor_id=curator_id, files=len(files))
    return files


async def registry_rows(
    repos: Repos, forms: dict[str, f.Form], t: Translator
) -> tuple[list[reg.MentorRow], list[reg.MenteeRow], list[reg.PairRow]]:
    mentors = [p for p in await repos.participants.with_role(Role.MENTOR) if p.full_name]
    pairs = await repos.pairs.active()
    mentees = {p.id: p for p in await repos.participants.with_role(Role.MENTEE)}
    return (
        await _mentor_rows(repos, mentors, pairs, forms, t),
        await _mentee_rows(repos, mentees, mentors, pairs, forms, t),
        _pair_rows(mentors, mentees, pairs, t),
    )


async def _mentor_rows(
    repos: Repos, mentors: list[ParticipantDTO], pairs: list[PairDTO], forms: dict[str, f.Form], t: Translator
) -> list[reg.MentorRow]:
    statuses = await repos.mentor_base.statuses([p.id for p in mentors])
    trainings = await repos.mentor_base.trainings_done([p.id for p in mentors])
    loads = await repos.pairs.loads()
    pairs_by_mentor: dict[int, int] = {}
    for p in pairs:
        pairs_by_mentor[p.mentor_id] = pairs_by_mentor.get(p.mentor_id, 0) + 1
    rated = await repos.meetings.mentee_ratings([p.id for p in mentors])
    mentor_form = forms.get("mentor")
    rows = []
    for p in mentors:
        answers = await repos.forms.latest_submitted(p.id, "mentor")
        a = answers.answers if answers else {}
        areas = a.get("areas") or []
        if mentor_form is not None and "areas" in mentor_form.keys:
            q = mentor_form.question("areas")
            areas = [o.text.get(t.lang) if (o := q.option(x)) else x for x in areas]
        scores = rated.get(p.id, [])
        rows.append(
            reg.MentorRow(
                full_name=p.full_name or "",
                position=p.position or "",
                status=t(f"mentor_base.status.{statuses[p.id]}"),
                areas=list(areas),
                capacity=int(a.get("capacity") or 0),
                load=loads.get(p.id, 0),
                trainings_done=trainings.get(p.id, 0),
                pairs=pairs_by_mentor.get(p.id, 0),
                rating=round(sum(scores) / len(scores), 2) if scores else None,
            )
        )
    return rows


async def _mentee_rows(
    repos: Repos,
    mentees: dict[int, ParticipantDTO],
    mentors: list[ParticipantDTO],
    pairs: list[PairDTO],
    forms: dict[str, f.Form],
    t: Translator,
) -> list[reg.MenteeRow]:
    mentor_names = {p.id: p.full_name or "" for p in mentors}
    paired_with = {mid: mentor_names.get(pair.mentor_id, "") for pair in pairs for mid in pair.mentee_ids}
    rows = []
    for p in mentees.values():
        if not p.full_name or p.status == Status.WITHDRAWN:
            continue
        intake = None
        for fid in ("mentee_needs", "young_specialist_needs"):
            intake = intake or await repos.forms.latest_submitted(p.id, fid)
        form = forms.get(intake.form_id) if intake else None
        needs = ""
        if intake and form:
            shown = {k: v for k, v in intake.answers.items() if k in ("goals", "areas", "format")}
            needs = "; ".join(f"{q}: {a}" for q, a in f.summarize(form, shown, t.lang, t, for_others=True))
        rows.append(
            reg.MenteeRow(
                full_name=p.full_name,
                group=p.group_name or "",
                status=t(f"status.{p.status}"),
                form_title=form.title.get(t.lang) if form else "",
                needs=needs,
                paired_with=paired_with.get(p.id),
            )
        )
    return rows


def _pair_rows(
    mentors: list[ParticipantDTO], mentees: dict[int, ParticipantDTO], pairs: list[PairDTO], t: Translator
) -> list[reg.PairRow]:
    by_id = {m.id: m for m in mentors}
    rows = []
    for n, pair in enumerate(pairs, 1):
        mentor = by_id.get(pair.mentor_id)
        rows.append(
            reg.PairRow(
                number=n,
                mentor=mentor.full_name if mentor else "",
                mentor_position=(mentor.position or "") if mentor else "",
                mentees=[mentees[x].full_name or "" for x in pair.mentee_ids if x in mentees],
                mentoring_form=t("mentor_base.form_of_pair"),
                stage=t(f"meetings.stage.{pair.stage}"),
                approved_on=pair.created_at.date(),
            )
        )
    return rows
