"""Matching as an application service: questionnaire answers → profiles → the optimiser's proposals → pairs,
and the announcements that follow (through the outbox, each with a dedup key so a double press sends nothing
twice)."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.domain import forms as f
from bot.domain import matching as m
from bot.domain.entities import (
    NewMessage,
    PairDTO,
    PairStatus,
    ParticipantDTO,
    ProgrammeDTO,
    ProgrammeScope,
    ProposalDTO,
    ResponseStatus,
    Role,
    Status,
)
from bot.domain.grammar import gender_of, gendered
from bot.domain.registries import format_date
from bot.domain.statuses import MentorStatus, ProposalStatus
from bot.i18n import Translator
from bot.services import selfcheck
from bot.services.notify import notify, reachable
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
        if p.status not in (Status.ACTIVE, Status.AWAITING_PARENT):
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
                ready=got is not None and p.status == Status.ACTIVE,
                excluded_mentors=frozenset(excluded.get(p.id, set())),
            )
        )
    mentors: list[m.MentorProfile] = []
    mentor_people = await repos.participants.with_role(Role.MENTOR, scope)
    base = await repos.mentor_base.statuses([p.id for p in mentor_people])
    for p in mentor_people:
        if p.status != Status.ACTIVE or not p.full_name:
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
                approved=base[p.id] in (MentorStatus.APPROVED, MentorStatus.ACTIVE),
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
                status=ProposalStatus.PROPOSED,
                created_at=now,
                reasons=[{"code": r.code, "params": dict(r.params)} for r in p.reasons],
            )
            for p in assignment.proposals
        ]
    )
    return run_id, assignment


PAGE = 5  # proposals per page of /match


@dataclass(frozen=True)
class ProposalsPage:
    """One page of a /match run's open proposals, with the names they mention."""

    total: int
    open: int
    page: int  # from 0, within range
    pages: int
    first: int  # the number of the page's first proposal, from 1
    proposals: list[ProposalDTO]
    names: dict[int, str]


async def proposals_page(repos: Repos, run_id: str, page: int) -> ProposalsPage:
    props = await repos.pairs.proposals(run_id)
    open_props = [p for p in props if p.status == ProposalStatus.PROPOSED]
    pages = max(1, (len(open_props) + PAGE - 1) // PAGE)
    page = min(max(page, 0), pages - 1)
    chunk = open_props[page * PAGE : (page + 1) * PAGE]
    names = await names_of(repos, {p.mentee_id for p in chunk} | {p.mentor_id for p in chunk})
    return ProposalsPage(len(props), len(open_props), page, pages, page * PAGE + 1, chunk, names)


# ------------------------------------------------------------------------------------------ pairs made
async def create_pairing(
    repos: Repos,
    programme_id: int | None,
    mentee_id: int,
    mentor_id: int,
    curator_id: int | None,
    now: datetime,
) -> PairDTO:
    """Add the mentee to the mentor's active group, or start a new pair (nobody is told: see announce)."""
    existing = await repos.pairs.active_of_mentor(mentor_id, programme_id)
    pair_id = existing.id if existing else await repos.pairs.create(programme_id, mentor_id, curator_id, now)
    await repos.pairs.add_member(pair_id, mentee_id, now)
    await repos.pairs.end_waiting(mentee_id, programme_id, now)
    await repos.mentor_base.set_status(
        mentor_id, MentorStatus.ACTIVE, now, expect=(MentorStatus.APPROVED,), by=curator_id
    )
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


class Decision(StrEnum):
    """What became of a curator's press on a proposal of /match."""

    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY = "already_decided"  # a double press, or another curator was quicker
    ALREADY_PAIRED = "already_paired"  # the mentee got a pair since /match ran: the proposal is rejected
    CAPACITY = "capacity"  # the mentor is full since /match ran: the proposal is rejected
    STALE = "stale"  # no such proposal in this run
    ARCHIVED = "archived"  # its programme is archived: read-only


@dataclass(frozen=True)
class Decided:
    decision: Decision
    programme: ProgrammeDTO | None = None  # the archived programme, for the refusal


async def decide(
    repos: Repos,
    run_id: str,
    proposal_id: int,
    approve: bool,
    curator: ParticipantDTO,
    now: datetime,
    forms: dict[str, f.Form],
) -> Decided:
    """The curator approves (the pair is made and announced) or rejects one proposal of a /match run. The
    pair belongs to the programme the proposal was made in, whichever one the curator is on now. The last
    decision of the run ends the round (see finish_round)."""
    p = await repos.pairs.proposal(proposal_id)
    if p is None or p.run_id != run_id:
        return Decided(Decision.STALE)
    programme = await repos.programmes.get(p.programme_id) if p.programme_id is not None else None
    if programme is not None and programme.archived:
        return Decided(Decision.ARCHIVED, programme)
    if approve:
        decision = await _approve(repos, p, curator.id, now, forms)
    elif await repos.pairs.decide(p.id, ProposalStatus.REJECTED, now):
        decision = Decision.REJECTED
    else:
        decision = Decision.ALREADY
    await finish_round(repos, run_id, curator, now)
    return Decided(decision)


async def approve_all(
    repos: Repos, run_id: str, curator: ParticipantDTO, now: datetime, forms: dict[str, f.Form]
) -> int:
    """Approve every open proposal of the run (those of an archived programme stay open); returns how many
    pairs were made. Ends the round when nothing is left open."""
    created = 0
    for p in await repos.pairs.proposals(run_id, status=ProposalStatus.PROPOSED):
        programme = await repos.programmes.get(p.programme_id) if p.programme_id is not None else None
        if programme is None or not programme.archived:
            created += await _approve(repos, p, curator.id, now, forms) == Decision.APPROVED
    await finish_round(repos, run_id, curator, now)
    return created


async def _approve(
    repos: Repos, proposal: ProposalDTO, curator_id: int, now: datetime, forms: dict[str, f.Form]
) -> Decision:
    if proposal.status != ProposalStatus.PROPOSED:
        return Decision.ALREADY
    # The world may have moved since /match ran (a hand-made pair, another approval): check again.
    programme_id = proposal.programme_id
    if await repos.pairs.active_of_mentee(proposal.mentee_id, await _scope(repos, programme_id)) is not None:
        await repos.pairs.decide(proposal.id, ProposalStatus.REJECTED, now)
        return Decision.ALREADY_PAIRED
    loads = await repos.pairs.loads()
    mentor_answers = await repos.forms.latest_submitted(proposal.mentor_id, "mentor")
    capacity = int((mentor_answers.answers if mentor_answers else {}).get("capacity") or 1)
    if loads.get(proposal.mentor_id, 0) >= capacity:
        await repos.pairs.decide(proposal.id, ProposalStatus.REJECTED, now)
        return Decision.CAPACITY
    if not await repos.pairs.decide(proposal.id, ProposalStatus.APPROVED, now):
        return Decision.ALREADY
    pair = await create_pairing(repos, programme_id, proposal.mentee_id, proposal.mentor_id, curator_id, now)
    await announce(repos, pair, proposal.mentee_id, now, forms)
    return Decision.APPROVED


@dataclass(frozen=True)
class Manual:
    """A pairing by hand: made, or refused with the hard constraints it breaks (the curator may insist), or
    stale (either person left the pool, or the mentee has a pair now)."""

    pair: PairDTO | None = None
    violations: tuple[str, ...] = ()

    @property
    def stale(self) -> bool:
        return self.pair is None and not self.violations


async def pair_by_hand(
    repos: Repos,
    programme: ProgrammeDTO,
    mentee_id: int,
    mentor_id: int,
    force: bool,
    curator_id: int,
    now: datetime,
    forms: dict[str, f.Form],
) -> Manual:
    """The curator pairs a mentee with a mentor by hand; broken constraints are shown first and, when the
    curator insists, recorded in the audit log. The pair is announced like an approved proposal."""
    pool = await build_pool(repos, programme)
    mentee = next((x for x in pool.mentees if x.id == mentee_id), None)
    mentor = next((x for x in pool.mentors if x.id == mentor_id), None)
    in_programme = await repos.programmes.scope(programme.id)
    if mentee is None or mentor is None or await repos.pairs.active_of_mentee(mentee_id, in_programme):
        return Manual()
    violations = tuple(m.manual_check(mentee, mentor, pool.weights))
    if violations and not force:
        return Manual(violations=violations)
    pair = await create_pairing(repos, programme.id, mentee_id, mentor_id, curator_id, now)
    if violations:
        await repos.audit.log(
            "pair.force",
            now,
            actor_id=curator_id,
            object_type="pair",
            object_id=pair.id,
            violations=",".join(violations),
        )
    await announce(repos, pair, mentee_id, now, forms)
    return Manual(pair=pair, violations=violations)


# ------------------------------------------------------------------------------------------ the waiting
async def finish_round(repos: Repos, run_id: str, curator: ParticipantDTO, now: datetime) -> int:
    """A matching round is over once the curator has approved or rejected every proposal of the /match run
    (one by one, or all at once). The programme's mentees who were ready for matching and still have no pair
    then wait: since when is recorded (the curators' weekly reminder counts them), and each is told once per
    programme, kindly and without the optimiser's reasons, that the search goes on and what help they have
    meanwhile (a minor's parents too). Returns how many wait."""
    props = await repos.pairs.proposals(run_id)
    decided = (ProposalStatus.APPROVED, ProposalStatus.REJECTED)
    if not props or any(p.status not in decided for p in props):
        return 0  # still open, or replaced by a newer /match run
    programme_id = props[0].programme_id
    programme = await repos.programmes.get(programme_id) if programme_id is not None else None
    if programme is None or programme.archived:
        return 0
    pool = await build_pool(repos, programme)
    waiting = [x.id for x in pool.mentees if x.ready]
    for mentee_id in waiting:
        await repos.pairs.start_waiting(mentee_id, programme.id, now)
    await repos.audit.log(
        "matching.round_finished",
        now,
        actor_id=curator.id,
        object_type="programme",
        object_id=programme.id,
        run=run_id,
        waiting=len(waiting),
    )
    for mentee_id in waiting:
        await _tell_waiting(repos, pool.people[mentee_id], programme, curator, now)
    return len(waiting)


async def _tell_waiting(
    repos: Repos, mentee: ParticipantDTO, programme: ProgrammeDTO, curator: ParticipantDTO, now: datetime
) -> None:
    key = f"waiting:{programme.id}:{mentee.id}"
    title, who = html.escape(programme.title), mention(curator)
    await notify(
        repos,
        now,
        [mentee],
        "waiting.mentee",
        kind="waiting",
        dedup=f"{key}:to-mentee",
        params={"programme": title, "curator": who},
        priority=3,
        html=True,
    )
    child = html.escape(mentee.full_name or "—")
    await _to_parents(
        repos, mentee, now, "waiting.parent", "waiting", key, child=child, programme=title, curator=who
    )


async def _to_parents(
    repos: Repos, mentee: ParticipantDTO, now: datetime, text: str, kind: str, key: str, **params: str
) -> int:
    """A notice to each reachable parent of a minor mentee, in the parent's language (none for an adult)."""
    if not mentee.is_minor:
        return 0
    parents = await repos.participants.parents_of(mentee.id)
    return await notify(
        repos, now, parents, text, kind=kind, dedup=f"{key}:to-parent", params=params, priority=3, html=True
    )


WAITING_NAMES = 15  # names listed per programme in the weekly reminder; the rest are counted


async def waiting_reminders(repos: Repos, now: datetime, tz: ZoneInfo) -> list[NewMessage]:
    """The curators' weekly reminder: per active programme, how many mentees wait for a pair and since when,
    with /match to act. Nothing when nobody waits; once per curator per ISO week (the dedup key)."""
    programmes: list[tuple[ProgrammeDTO, list[tuple[ParticipantDTO, datetime]]]] = []
    for programme in await repos.programmes.active():
        scope = await repos.programmes.scope(programme.id)
        paired = await repos.pairs.paired_mentees(scope)  # a pair made by any path ends the wait
        waiting = await repos.pairs.waiting(programme.id)
        found = await repos.participants.get_many([pid for pid, _ in waiting])
        people = [
            (person, since)
            for pid, since in waiting
            if pid not in paired and (person := found.get(pid)) is not None and Role.MENTEE in person.roles
        ]
        if people:
            programmes.append((programme, people))
    if not programmes:
        return []
    year, week, _ = now.astimezone(tz).isocalendar()
    out = []
    # Curators are curators of every programme. A digest is several texts in one message, which compose()
    # (one locale key per message) does not build; the message is made here, for reachable curators only.
    for curator in await repos.participants.with_role(Role.CURATOR):
        if not reachable(curator):
            continue
        assert curator.telegram_id is not None
        t = Translator(curator.language)
        out.append(
            NewMessage(
                chat_id=curator.telegram_id,
                participant_id=curator.id,
                kind="waiting_digest",
                priority=3,
                text=_waiting_digest(t, programmes, tz),
                dedup_key=f"waiting-digest:{curator.id}:{year}-W{week:02d}",
            )
        )
    return out


def _waiting_digest(
    t: Translator, programmes: list[tuple[ProgrammeDTO, list[tuple[ParticipantDTO, datetime]]]], tz: ZoneInfo
) -> str:
    lines = [t("waiting.reminder.header")]
    for programme, people in programmes:
        first = format_date(t, people[0][1].astimezone(tz).date())
        lines += [
            "",
            t.plural("waiting.reminder.programme", len(people), programme=programme.title, since=first),
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
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ announcements
def mention(p: ParticipantDTO) -> str:
    """A clickable Telegram mention (HTML), plus @username when the person has one."""
    name = html.escape(p.full_name or "—")
    link = f'<a href="tg://user?id={p.telegram_id}">{name}</a>' if p.telegram_id else name
    return f"{link} (@{html.escape(p.username)})" if p.username else link


def needs_summary(answers: dict, lang: str, forms: dict[str, f.Form], t: Translator) -> str:
    """What a mentor reads about a new mentee's needs: each question by its third-person label ("Цели"), not
    by the «ты» the mentee was asked with."""
    form = forms.get("mentee_needs") if "study_level" in answers else forms.get("young_specialist_needs")
    form = form or forms.get("mentee_needs")
    parts = []
    for key in ("goals", "areas", "format", "slots"):
        if form is None or key not in form.keys or answers.get(key) in (None, []):
            continue
        q = form.question(key)
        parts.append(
            f"{html.escape(q.label_for(lang))}: {html.escape(f.display_answer(q, answers[key], lang, t))}"
        )
    return "\n".join(parts) or "—"


async def announce(
    repos: Repos, pair: PairDTO, mentee_id: int, now: datetime, forms: dict[str, f.Form]
) -> int:
    """Tell the mentee, the mentor (with the mentee's needs) and a minor's parents; dedup keys make a repeat
    a no-op. Returns how many messages were new."""
    people = await repos.participants.get_many([mentee_id, pair.mentor_id])
    mentee, mentor = people[mentee_id], people[pair.mentor_id]
    key = f"pair:{pair.id}:mentee:{mentee_id}"
    intake = None
    for fid in MENTEE_FORMS:
        intake = intake or await repos.forms.latest_submitted(mentee.id, fid)
    answers = intake.answers if intake else {}

    def to_mentor(t: Translator, person: ParticipantDTO) -> dict[str, str]:
        return {
            "mentee": mention(mentee),
            "group": html.escape(mentee.group_name or "—"),
            "needs": needs_summary(answers, person.language, forms, t),
        }

    sent = await notify(
        repos,
        now,
        [mentee],
        "matching.announce.mentee",
        kind="pair",
        dedup=f"{key}:to-mentee",
        params={"mentor": mention(mentor)},
        priority=2,
        html=True,
    )
    sent += await notify(
        repos,
        now,
        [mentor],
        gendered("matching.announce.mentor", gender_of(mentee.full_name)),
        kind="pair",
        dedup=f"{key}:to-mentor",
        params=to_mentor,
        priority=2,
        html=True,
    )
    sent += await selfcheck.invite_entry(repos, pair, now)
    child, name = html.escape(mentee.full_name or "—"), html.escape(mentor.full_name or "—")
    return sent + await _to_parents(
        repos, mentee, now, "matching.announce.parent", "pair", key, child=child, mentor=name
    )


# ------------------------------------------------------------------------------------------ /pairs
async def active_pairs(
    repos: Repos, curator_id: int, query: str, stage_name: Callable[[str], str]
) -> tuple[list[PairDTO], dict[int, str]]:
    """The active pairs of the curator's current programme whose mentor's or mentee's name contains `query`
    (or whose stage, as `stage_name` words it, is `query`), and everyone's names."""
    from bot.services import programmes  # it imports completion, which imports this module

    programme = await programmes.current(repos, curator_id)
    active = await repos.pairs.active(scope=await programmes.scope(repos, programme))
    names = await names_of(repos, {p.mentor_id for p in active} | {x for p in active for x in p.mentee_ids})
    if query:
        q = query.casefold()
        active = [
            p
            for p in active
            if any(q in names[x].casefold() for x in (p.mentor_id, *p.mentee_ids))
            or q == stage_name(p.stage).casefold()
        ]
    return active, names


async def names_of(repos: Repos, ids: set[int]) -> dict[int, str]:
    """Each person's full name ("—" when unknown or erased), in one query."""
    found = await repos.participants.get_many(ids)
    return {pid: (p.full_name if (p := found.get(pid)) else None) or "—" for pid in ids}


async def active_pair(repos: Repos, pair_id: int) -> PairDTO | None:
    pair = await repos.pairs.get(pair_id)
    return pair if pair is not None and pair.status == PairStatus.ACTIVE else None


class Conversations(Protocol):
    """The people's conversation state (the dispatcher's FSM storage, SQL or Redis), by private chat."""

    async def data(self, chat_id: int) -> dict[str, Any]: ...

    async def end(self, chat_id: int) -> None: ...


async def dissolve(
    repos: Repos,
    pair_id: int,
    mentee_id: int,
    reason: str,
    curator_id: int,
    now: datetime,
    conversations: Conversations,
) -> bool:
    """The curator takes a mentee out of an active pair (the pair ends with its last mentee): their
    reminders are cancelled, both sides are told with the reason, and a conversation about this pair that
    either is midway through is ended. False when the pair or the membership is gone."""
    pair = await active_pair(repos, pair_id)
    if pair is None or not await repos.pairs.remove_member(pair.id, mentee_id, now, reason):
        return False
    ended = pair.mentee_ids == (mentee_id,)
    await repos.reminders.cancel(pair_id=pair.id, participant_id=mentee_id)
    if ended:
        await repos.reminders.cancel(pair_id=pair.id)
    await repos.audit.log(
        "pair.dissolve", now, actor_id=curator_id, object_type="pair", object_id=pair.id, mentee=mentee_id
    )
    names = await names_of(repos, {mentee_id, pair.mentor_id})
    other = {mentee_id: names[pair.mentor_id], pair.mentor_id: names[mentee_id]}
    await notify(
        repos,
        now,
        [mentee_id, pair.mentor_id],
        "matching.dissolved",
        kind="pair",
        dedup=f"dissolve:{pair.id}:{mentee_id}",
        params=lambda t, person: {"other": other[person.id], "reason": reason},
        priority=2,
    )
    # The removed mentee (and the mentor, when the pair itself ended) may be midway through /meeting,
    # /goals or a meeting's feedback: that conversation is over.
    gone = [mentee_id] + ([pair.mentor_id] if ended else [])
    await _end_conversations(repos, pair.id, gone, now, conversations)
    return True


async def _end_conversations(
    repos: Repos, pair_id: int, participant_ids: list[int], now: datetime, conversations: Conversations
) -> None:
    """Clear these people's conversation state when it is about this pair (a /meeting or /goals step, a
    meeting's cancellation or feedback form); any other conversation of theirs is left alone, so the next
    step finds no state, whichever storage is configured. Each step re-checks membership anyway; this spares
    them a question that can no longer be answered, and tells them so."""
    meetings = {mt.id for mt in await repos.meetings.for_pair(pair_id)}
    contexts = {f"meeting:{mid}" for mid in meetings}
    told = []
    found = await repos.participants.get_many(participant_ids)
    for person in (found[pid] for pid in participant_ids if pid in found):
        if person.telegram_id is None:
            continue
        data = await conversations.data(person.telegram_id)
        about = data.get("pair") == pair_id or data.get("meeting") in meetings
        if not about and data.get("rid"):
            response = await repos.forms.get(int(data["rid"]))
            about = (
                response is not None
                and response.status != ResponseStatus.SUBMITTED
                and response.context in contexts
            )
        if about:
            await conversations.end(person.telegram_id)
            told.append(person)
    await notify(
        repos,
        now,
        told,
        "timebound.conversation_ended",
        kind="pair",
        dedup=f"pair-conversation-ended:{pair_id}:{now.isoformat()}",
        priority=2,  # right after the notice that the pair changed
    )
