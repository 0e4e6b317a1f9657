"""Matching as an application service: questionnaire answers → profiles → the optimiser's proposals → pairs,
and the announcements that follow (through the outbox, each with a dedup key so a double press sends nothing
twice)."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import forms as f
from bot.domain import matching as m
from bot.domain.entities import (
    NewMessage,
    PairDTO,
    ParticipantDTO,
    ProgrammeDTO,
    ProgrammeScope,
    ProposalDTO,
    Role,
    Status,
)
from bot.domain.registries import format_date
from bot.i18n import Translator
from storage.uow import Repos

MENTEE_FORMS = ("mentee_needs", "young_specialist_needs")
# A mentoring form names the mentor's and the mentee's side; the optimiser only needs which mentee kinds a
# mentor accepts, so each form is read as the mentee kind it serves.
FORM_SERVES = {
    "pupil_pupil": "pupil",
    "student_pupil": "pupil",
    "student_student": "student",
    "employer_student": "student",
    "teacher_student": "student",
    "teacher_teacher": "teacher",
}


@dataclass(frozen=True)
class Pool:
    mentees: list[m.MenteeProfile]
    mentors: list[m.MentorProfile]
    people: dict[int, ParticipantDTO]
    answers: dict[int, dict]  # participant id → intake answers
    weights: m.Weights


def mentee_kind(form_id: str, answers: dict, allowed_forms: set[str] | None = None) -> str:
    """Whom a mentee is, for the forms of mentoring: an educator, a student or a pupil. In a programme whose
    forms of mentoring all serve one kind (a kindergarten's teacher–teacher), every mentee is that kind."""
    served = {FORM_SERVES[f] for f in allowed_forms or () if f in FORM_SERVES}
    if form_id == "young_specialist_needs" or served == {"teacher"}:
        return "teacher"
    return "student" if answers.get("study_level") in ("college", "university") else "pupil"


def _set(value: object) -> frozenset[str]:
    return frozenset(v for v in value if isinstance(v, str)) if isinstance(value, list) else frozenset()


async def _scope(repos: Repos, programme_id: int | None) -> ProgrammeScope | None:
    return await repos.programmes.scope(programme_id) if programme_id is not None else None


async def build_pool(repos: Repos, programme: ProgrammeDTO | None) -> Pool:
    """The programme's mentees not paired in it and its mentors (everyone's, without a programme). One person
    may be in several programmes: a mentee paired in one is still unpaired in another."""
    allowed = set((programme.settings.get("mentoring_forms") if programme else None) or FORM_SERVES)
    weights = m.Weights.from_mapping((programme.settings.get("weights") if programme else None) or None)
    scope = await _scope(repos, programme.id if programme else None)
    paired = await repos.pairs.paired_mentees(scope)
    # A mentor's capacity is their own time, whichever programmes their mentees are in.
    loads = await repos.pairs.loads()
    people: dict[int, ParticipantDTO] = {}
    answers: dict[int, dict] = {}
    mentees: list[m.MenteeProfile] = []
    mentee_people = await repos.participants.with_role(Role.MENTEE, scope)
    candidates = [p for p in mentee_people if p.id not in paired and p.full_name]
    excluded = await repos.pairs.excluded_mentors([p.id for p in candidates])
    for p in candidates:
        if p.status not in (Status.ACTIVE.value, Status.AWAITING_PARENT.value):
            continue
        people[p.id] = p
        form_id, got = None, None
        for fid in MENTEE_FORMS:
            got = await repos.forms.latest_submitted(p.id, fid)
            if got is not None:
                form_id = fid
                break
        a = got.answers if got else {}
        answers[p.id] = a
        mentees.append(
            m.MenteeProfile(
                id=p.id,
                areas=_set(a.get("areas")),
                format=a.get("format") or "any",
                slots=_set(a.get("slots")),
                mentoring_form=mentee_kind(form_id or "mentee_needs", a, allowed),
                # Ready = questionnaire submitted and every consent in place (a minor is active only with a
                # parent's consent, so the status says it).
                ready=got is not None and p.status == Status.ACTIVE.value,
                excluded_mentors=frozenset(excluded.get(p.id, set())),
            )
        )
    mentors: list[m.MentorProfile] = []
    mentor_people = await repos.participants.with_role(Role.MENTOR, scope)
    base = await repos.mentor_base.statuses([p.id for p in mentor_people])
    for p in mentor_people:
        if p.status != Status.ACTIVE.value or not p.full_name:
            continue
        got = await repos.forms.latest_submitted(p.id, "mentor")
        if got is None:
            continue
        a = got.answers
        people[p.id] = p
        answers[p.id] = a
        forms = _set(a.get("mentoring_forms")) & allowed
        mentors.append(
            m.MentorProfile(
                id=p.id,
                areas=_set(a.get("areas")),
                format=a.get("format") or "any",
                slots=_set(a.get("slots")),
                mentoring_forms=frozenset(FORM_SERVES[x] for x in forms if x in FORM_SERVES),
                capacity=int(a.get("capacity") or 1),
                load=loads.get(p.id, 0),
                # Only mentors the curator approved (and who are not resting) take part in matching.
                approved=base[p.id] in ("approved", "active"),
            )
        )
    return Pool(mentees, mentors, people, answers, weights)


async def propose(repos: Repos, programme: ProgrammeDTO | None, now: datetime) -> tuple[str, m.Assignment]:
    pool = await build_pool(repos, programme)
    assignment = m.assign(pool.mentees, pool.mentors, pool.weights)
    run_id = secrets.token_hex(4)
    await repos.pairs.withdraw_open_proposals(now, await _scope(repos, programme.id if programme else None))
    await repos.pairs.save_proposals(
        [
            dict(
                run_id=run_id,
                programme_id=programme.id if programme else None,
                mentee_id=p.mentee_id,
                mentor_id=p.mentor_id,
                score=p.score,
                status="proposed",
                created_at=now,
                reasons=[{"code": r.code, "params": dict(r.params)} for r in p.reasons],
            )
            for p in assignment.proposals
        ]
    )
    return run_id, assignment


@dataclass(frozen=True)
class Approval:
    pair: PairDTO | None
    created: bool  # False when this proposal was already decided (a double press)
    problem: str | None = None


async def create_pairing(
    repos: Repos, programme_id: int | None, mentee_id: int, mentor_id: int, curator_id: int, now: datetime
) -> PairDTO:
    """Add the mentee to the mentor's active group, or start a new pair."""
    existing = await repos.pairs.active_of_mentor(mentor_id, programme_id)
    pair_id = existing.id if existing else await repos.pairs.create(programme_id, mentor_id, curator_id, now)
    await repos.pairs.add_member(pair_id, mentee_id, now)
    await repos.pairs.end_waiting(mentee_id, programme_id, now)
    await repos.mentor_base.set_status(mentor_id, "active", now, expect=("approved",), by=curator_id)
    await repos.audit.log(
        "pair.create",
        now,
        actor_id=curator_id,
        object_type="pair",
        object_id=pair_id,
        mentee=mentee_id,
        mentor=mentor_id,
    )
    pair = await repos.pairs.get(pair_id)
    assert pair is not None
    return pair


async def approve(
    repos: Repos,
    proposal: ProposalDTO,
    curator_id: int,
    programme_id: int | None,
    now: datetime,
    forms: dict[str, f.Form],
) -> Approval:
    if proposal.status != "proposed":
        return Approval(None, created=False)
    # The world may have moved since /match ran (a hand-made pair, another approval): check again.
    if await repos.pairs.active_of_mentee(proposal.mentee_id, await _scope(repos, programme_id)) is not None:
        await repos.pairs.decide(proposal.id, "rejected", now)
        return Approval(None, created=False, problem="already_paired")
    loads = await repos.pairs.loads()
    mentor_answers = await repos.forms.latest_submitted(proposal.mentor_id, "mentor")
    capacity = int((mentor_answers.answers if mentor_answers else {}).get("capacity") or 1)
    if loads.get(proposal.mentor_id, 0) >= capacity:
        await repos.pairs.decide(proposal.id, "rejected", now)
        return Approval(None, created=False, problem="capacity")
    if not await repos.pairs.decide(proposal.id, "approved", now):
        return Approval(None, created=False)
    pair = await create_pairing(repos, programme_id, proposal.mentee_id, proposal.mentor_id, curator_id, now)
    await announce(repos, pair, proposal.mentee_id, now, forms)
    return Approval(pair, created=True)


async def manual_violations(
    repos: Repos, programme: ProgrammeDTO | None, mentee_id: int, mentor_id: int
) -> list[str] | None:
    """Hard constraints a hand-made pairing breaks; None when either person is not in the pool at all."""
    pool = await build_pool(repos, programme)
    mentee = next((x for x in pool.mentees if x.id == mentee_id), None)
    mentor = next((x for x in pool.mentors if x.id == mentor_id), None)
    if mentee is None or mentor is None:
        return None
    return m.manual_check(mentee, mentor, pool.weights)


async def finish_round(repos: Repos, run_id: str, curator: ParticipantDTO, now: datetime) -> int:
    """A matching round is over once the curator has approved or rejected every proposal of the /match run
    (one by one, or all at once). The programme's mentees who were ready for matching and still have no pair
    then wait: since when is recorded (the curators' weekly reminder counts them), and each is told once per
    programme, kindly and without the optimiser's reasons, that the search goes on and what help they have
    meanwhile (a minor's parents too). Returns how many wait."""
    props = await repos.pairs.proposals(run_id)
    if not props or any(p.status not in ("approved", "rejected") for p in props):
        return 0  # still open, or replaced by a newer /match run
    programme_id = props[0].programme_id
    programme = await repos.programmes.get(programme_id) if programme_id is not None else None
    if programme is None or programme.archived:
        return 0
    pool = await build_pool(repos, programme)
    waiting = [x.id for x in pool.mentees if x.ready]
    out: list[NewMessage] = []
    for mentee_id in waiting:
        await repos.pairs.start_waiting(mentee_id, programme.id, now)
        out += await _waiting_notices(repos, pool.people[mentee_id], programme, curator)
    await repos.audit.log(
        "matching.round_finished",
        now,
        actor_id=curator.id,
        object_type="programme",
        object_id=programme.id,
        run=run_id,
        waiting=len(waiting),
    )
    await repos.outbox.enqueue(out, now)
    return len(waiting)


async def _waiting_notices(
    repos: Repos, mentee: ParticipantDTO, programme: ProgrammeDTO, curator: ParticipantDTO
) -> list[NewMessage]:
    key = f"waiting:{programme.id}:{mentee.id}"
    title = html.escape(programme.title)
    out = []
    if mentee.telegram_id and mentee.status == Status.ACTIVE.value:
        t = Translator(mentee.language)
        out.append(
            NewMessage(
                chat_id=mentee.telegram_id,
                participant_id=mentee.id,
                kind="waiting",
                priority=3,
                text=t("waiting.mentee", programme=title, curator=mention(curator)),
                dedup_key=f"{key}:to-mentee",
                extra={"parse_mode": "HTML"},
            )
        )
    out += await _to_parents(
        repos,
        mentee,
        "waiting",
        key,
        lambda t: t(
            "waiting.parent",
            child=html.escape(mentee.full_name or "—"),
            programme=title,
            curator=mention(curator),
        ),
    )
    return out


async def _to_parents(
    repos: Repos, mentee: ParticipantDTO, kind: str, key: str, text: Callable[[Translator], str]
) -> list[NewMessage]:
    """A notice to each active parent of a minor mentee, in the parent's language (none for an adult)."""
    if not mentee.is_minor:
        return []
    return [
        NewMessage(
            chat_id=parent.telegram_id,
            participant_id=parent.id,
            kind=kind,
            priority=3,
            text=text(Translator(parent.language)),
            dedup_key=f"{key}:to-parent:{parent.id}",
            extra={"parse_mode": "HTML"},
        )
        for parent in await repos.participants.parents_of(mentee.id)
        if parent.telegram_id and parent.status == Status.ACTIVE.value
    ]


WAITING_NAMES = 15  # names listed per programme in the weekly reminder; the rest are counted


async def waiting_reminders(repos: Repos, now: datetime, tz: ZoneInfo) -> list[NewMessage]:
    """The curators' weekly reminder: per active programme, how many mentees wait for a pair and since when,
    with /match to act. Nothing when nobody waits; once per curator per ISO week (the dedup key)."""
    programmes: list[tuple[ProgrammeDTO, list[tuple[ParticipantDTO, datetime]]]] = []
    for programme in await repos.programmes.active():
        scope = await repos.programmes.scope(programme.id)
        paired = await repos.pairs.paired_mentees(scope)  # a pair made by any path ends the wait
        people = []
        for pid, since in await repos.pairs.waiting(programme.id):
            person = await repos.participants.get(pid)
            if pid not in paired and person is not None and Role.MENTEE in person.roles:
                people.append((person, since))
        if people:
            programmes.append((programme, people))
    if not programmes:
        return []
    year, week, _ = now.astimezone(tz).isocalendar()
    out = []
    # Curators are curators of every programme.
    for curator in await repos.participants.with_role(Role.CURATOR):
        if curator.telegram_id is None or curator.status != Status.ACTIVE.value:
            continue
        t = Translator(curator.language)
        lines = [t("waiting.reminder.header")]
        for programme, people in programmes:
            lines += [
                "",
                t.plural(
                    "waiting.reminder.programme",
                    len(people),
                    programme=programme.title,
                    since=format_date(t, people[0][1].astimezone(tz).date()),
                ),
            ]
            lines += [
                t(
                    "waiting.reminder.person",
                    name=person.full_name or "—",
                    since=format_date(t, since.astimezone(tz).date()),
                )
                for person, since in people[:WAITING_NAMES]
            ]
            if len(people) > WAITING_NAMES:
                lines.append(t("waiting.reminder.more", n=len(people) - WAITING_NAMES))
        lines += ["", t("waiting.reminder.hint")]
        out.append(
            NewMessage(
                chat_id=curator.telegram_id,
                participant_id=curator.id,
                kind="waiting_digest",
                priority=3,
                text="\n".join(lines),
                dedup_key=f"waiting-digest:{curator.id}:{year}-W{week:02d}",
            )
        )
    return out


def mention(p: ParticipantDTO) -> str:
    """A clickable Telegram mention (HTML), plus @username when the person has one."""
    name = html.escape(p.full_name or "—")
    link = f'<a href="tg://user?id={p.telegram_id}">{name}</a>' if p.telegram_id else name
    return f"{link} (@{html.escape(p.username)})" if p.username else link


def needs_summary(answers: dict, lang: str, forms: dict[str, f.Form], t: Translator) -> str:
    form = forms.get("mentee_needs") if "study_level" in answers else forms.get("young_specialist_needs")
    form = form or forms.get("mentee_needs")
    parts = []
    for key in ("goals", "areas", "format", "slots"):
        if form is None or key not in form.keys or answers.get(key) in (None, []):
            continue
        q = form.question(key)
        parts.append(
            f"{html.escape(q.text.get(lang).split('?')[0])}: "
            f"{html.escape(f.display_answer(q, answers[key], lang, t))}"
        )
    return "\n".join(parts) or "—"


async def announce(
    repos: Repos, pair: PairDTO, mentee_id: int, now: datetime, forms: dict[str, f.Form]
) -> int:
    """Tell the mentee, the mentor and a minor's parents; dedup keys make a repeat a no-op."""
    mentee = await repos.participants.get(mentee_id)
    mentor = await repos.participants.get(pair.mentor_id)
    assert mentee is not None and mentor is not None
    out: list[NewMessage] = []
    key = f"pair:{pair.id}:mentee:{mentee_id}"
    if mentee.telegram_id:
        t = Translator(mentee.language)
        out.append(
            NewMessage(
                chat_id=mentee.telegram_id,
                participant_id=mentee.id,
                kind="pair",
                text=t("matching.announce.mentee", mentor=mention(mentor)),
                dedup_key=f"{key}:to-mentee",
                priority=2,
                extra={"parse_mode": "HTML"},
            )
        )
    if mentor.telegram_id:
        t = Translator(mentor.language)
        intake = None
        for fid in MENTEE_FORMS:
            intake = intake or await repos.forms.latest_submitted(mentee.id, fid)
        out.append(
            NewMessage(
                chat_id=mentor.telegram_id,
                participant_id=mentor.id,
                kind="pair",
                priority=2,
                text=t(
                    "matching.announce.mentor",
                    mentee=mention(mentee),
                    group=html.escape(mentee.group_name or "—"),
                    needs=needs_summary(intake.answers if intake else {}, mentor.language, forms, t),
                ),
                dedup_key=f"{key}:to-mentor",
                extra={"parse_mode": "HTML"},
            )
        )
    out += await _to_parents(
        repos,
        mentee,
        "pair",
        key,
        lambda t: t(
            "matching.announce.parent",
            child=html.escape(mentee.full_name or "—"),
            mentor=html.escape(mentor.full_name or "—"),
        ),
    )
    return await repos.outbox.enqueue(out, now)


async def dissolve(
    repos: Repos, pair: PairDTO, mentee_id: int, reason: str, curator_id: int, now: datetime
) -> bool:
    if not await repos.pairs.remove_member(pair.id, mentee_id, now, reason):
        return False
    await repos.reminders.cancel(pair_id=pair.id, participant_id=mentee_id)
    if mentee_id in pair.mentee_ids and len(pair.mentee_ids) == 1:  # the pair itself ended
        await repos.reminders.cancel(pair_id=pair.id)
    await repos.audit.log(
        "pair.dissolve", now, actor_id=curator_id, object_type="pair", object_id=pair.id, mentee=mentee_id
    )
    mentee = await repos.participants.get(mentee_id)
    mentor = await repos.participants.get(pair.mentor_id)
    out = []
    for person, other in ((mentee, mentor), (mentor, mentee)):
        if person and person.telegram_id and person.status == Status.ACTIVE.value:
            t = Translator(person.language)
            out.append(
                NewMessage(
                    chat_id=person.telegram_id,
                    participant_id=person.id,
                    kind="pair",
                    priority=2,
                    text=t("matching.dissolved", other=other.full_name if other else "—", reason=reason),
                    dedup_key=f"dissolve:{pair.id}:{mentee_id}:{person.id}",
                )
            )
    await repos.outbox.enqueue(out, now)
    return True
