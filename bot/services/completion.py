"""Completion of the mentoring cycle (the fifth stage of the target model): the final survey for every member
of a finished pair, closing a pair early, inviting a finished mentee into the long-term mentor base with a
pre-filled mentor questionnaire, the case base of best practices (published only with every member's consent),
the mentors' honour board and participation certificates. No Telegram here: messages to other people go
through notify (the outbox)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks.completion import Answer, BecomeMentorCb, CaseConsentCb, FinalSurveyCb
from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, PairDTO, PairStatus, ParticipantDTO, Role, Status
from bot.domain.forms import Register
from bot.domain.grammar import gender_of, gendered
from bot.domain.stages import OPEN_STATUSES, MeetingStatus
from bot.domain.statuses import CaseStatus, MentorStatus
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services import institutions, meeting_calendar, selfcheck
from bot.services.certificate import CertificateData
from bot.services.notify import notify, reachable
from bot.services.register import person_register, ty_key
from bot.services.submissions import DEFAULT_THANKS, Say, Submitted
from storage.repositories.completion import CaseDTO, ConsentOutcome
from storage.uow import Repos

if TYPE_CHECKING:
    from bot.services.questionnaires import Engine

FINAL_FORM = "final"
# What the final survey knows without asking: the person's role in the pair.
ROLE_KEY = "role"
PRE_ANSWERED: tuple[str, ...] = (ROLE_KEY,)
MENTOR_FORM = "mentor"
DEFAULT_TZ = "Europe/Moscow"  # a pair from before programmes had a time zone
MENTEE_FORMS = ("mentee_needs", "young_specialist_needs")
STORY_MIN, STORY_MAX = 30, 3000
REASON_MIN, REASON_MAX = 3, 500

# Which mentoring forms and mentor role a former mentee of each kind takes up (see matching.mentee_kind).
MENTOR_FORMS_BY_KIND = {
    "pupil": ("pupil_pupil",),
    "student": ("student_student", "student_pupil"),
    "teacher": ("teacher_teacher",),
}
MENTOR_ROLE_BY_KIND = {"pupil": "pupil", "student": "student", "teacher": "teacher"}
# A young specialist's years in the job, as the mentor questionnaire's "years of experience".
EXPERIENCE_YEARS = {"first_year": 0, "second_year": 1, "third_year": 2, "over_three": 3}


class Refusal(StrEnum):
    """Why a press did nothing; the value is the locale key of what the person is told."""

    STALE = "common.stale"
    FINAL_ALREADY = "completion.final_already"
    NOT_YOURS = "completion.certificate.not_yours"


def final_context(pair_id: int) -> str:
    return f"final:{pair_id}"


def pair_of_context(context: str | None) -> int | None:
    if not context or not context.startswith("final:"):
        return None
    tail = context.split(":", 1)[1]
    return int(tail) if tail.isdigit() else None


def members(pair: PairDTO) -> tuple[int, ...]:
    """Mentor first, then the mentees."""
    return (pair.mentor_id, *pair.mentee_ids)


def role_in(pair: PairDTO, participant_id: int) -> str | None:
    if participant_id == pair.mentor_id:
        return Role.MENTOR.value
    return Role.MENTEE.value if participant_id in pair.mentee_ids else None


async def labelled(repos: Repos, pairs: Iterable[PairDTO]) -> list[tuple[PairDTO, str]]:
    """Each pair with its label "Mentor → Mentee, Mentee" (everyone looked up at once)."""
    pairs = list(pairs)
    people = await repos.participants.get_many({pid for p in pairs for pid in members(p)})

    def name(pid: int) -> str:
        p = people.get(pid)
        return (p.full_name if p else None) or "—"

    return [(p, f"{name(p.mentor_id)} → {', '.join(name(m) for m in p.mentee_ids) or '—'}") for p in pairs]


async def _label(repos: Repos, pair: PairDTO) -> str:
    return (await labelled(repos, [pair]))[0][1]


# ----------------------------------------------------------------------------------- a pair finishes
async def pair_finished(repos: Repos, pair_id: int, now: datetime) -> int:
    """The pair has just finished (its final meeting's feedback is all in, or the curator closed it): offer
    every member the final survey — once, whatever calls this how often — and free the mentor for new pairs.
    Returns how many offers were enqueued now."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != PairStatus.FINISHED:
        return 0

    def survey_button(t: Translator) -> InlineKeyboardMarkup:
        return (
            InlineKeyboardBuilder()
            .button(text=t("completion.btn.final_survey"), callback_data=FinalSurveyCb(pair=pair.id))
            .as_markup()
        )

    early = pair.close_reason is not None
    key = "completion.closed_early_to_you" if early else "completion.finished_to_you"
    people = await repos.participants.get_many(list(members(pair)))
    added = 0
    for pid in members(pair):
        person = people.get(pid)
        # each in their own register: a pupil is told «ты», the mentor and adults «вы»
        mentee = person is not None and pid != pair.mentor_id
        register = await person_register(repos, person) if mentee and person is not None else Register.VY
        added += await notify(
            repos,
            now,
            [person],
            ty_key(key, register),
            kind="final_survey",
            priority=2,
            dedup=f"final-survey:{pair.id}",
            params={"reason": pair.close_reason} if early else None,
            buttons=survey_button,
        )
    # "active" means leading a pair: with none left the mentor is back among the approved, ready to match.
    if not await repos.pairs.is_paired(pair.mentor_id):
        await repos.mentor_base.set_status(
            pair.mentor_id, MentorStatus.APPROVED, now, expect=(MentorStatus.ACTIVE,)
        )
    return added


async def close_pair(
    repos: Repos, pair_id: int, reason: str, curator_id: int, now: datetime
) -> tuple[bool, list[int]]:
    """The curator ends an active pair early. Open meetings are cancelled with the reason, pending reminders
    too (their ids are returned so the scheduler can drop its jobs); both sides are told and offered the final
    survey. False when the pair was not active (a double press, or someone else was faster)."""
    pair = await repos.pairs.get(pair_id)  # its members, before closing
    if pair is None or not await repos.completion.close_pair(pair_id, reason, now):
        return False, []
    programme = await repos.programmes.get(pair.programme_id) if pair.programme_id is not None else None
    tz = ZoneInfo(programme.timezone if programme else DEFAULT_TZ)
    open_statuses = tuple(s.value for s in OPEN_STATUSES)
    for m in await repos.meetings.for_pair(pair_id):
        if m.status in open_statuses:
            await repos.meetings.update(
                m.id,
                now,
                expect_status=open_statuses,
                status=MeetingStatus.CANCELLED.value,
                cancel_reason=reason,
            )
            # out of the members' calendars too (a confirmed meeting's .ics was sent)
            await meeting_calendar.cancelled(repos, m, members(pair), now, tz)
    cancelled = await repos.reminders.cancel(pair_id=pair_id)
    await repos.audit.log("pair.close_early", now, actor_id=curator_id, object_type="pair", object_id=pair_id)
    await pair_finished(repos, pair_id, now)
    return True, cancelled


async def closable_pairs(repos: Repos, programme_id: int) -> list[tuple[PairDTO, str]]:
    """The programme's active pairs, each with its label, for /close_pair."""
    return await labelled(repos, await repos.pairs.active(scope=await repos.programmes.scope(programme_id)))


async def active_pair(repos: Repos, pair_id: int) -> tuple[PairDTO, str] | None:
    """The active pair the curator picked to close, with its label (None: it is no longer active)."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE:
        return None
    return pair, await _label(repos, pair)


# ----------------------------------------------------------------------------------- the final survey
async def survey_pair(repos: Repos, me: ParticipantDTO, pair_id: int) -> PairDTO | None:
    """The finished pair whose final survey this person may fill in (None: not theirs, or not finished)."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != PairStatus.FINISHED or role_in(pair, me.id) is None:
        return None
    return pair


async def open_final_survey(
    repos: Repos, engine: Engine, me: ParticipantDTO, pair_id: int, now: datetime
) -> FormResponseDTO | Refusal:
    """Open (or resume) the person's final survey for this finished pair of theirs, with their role already
    answered; a Refusal when the pair is not theirs or not finished, or they have already submitted it."""
    pair = await survey_pair(repos, me, pair_id)
    if pair is None or FINAL_FORM not in engine.forms:
        return Refusal.STALE
    ctx = final_context(pair.id)
    if await repos.forms.latest_submitted(me.id, FINAL_FORM, ctx) is not None:
        return Refusal.FINAL_ALREADY
    existing = await repos.forms.open_for(me.id, FINAL_FORM, ctx)
    if existing is not None:
        return existing
    form = engine.forms[FINAL_FORM]
    answers: dict[str, Any] = {}
    role = role_in(pair, me.id)
    if ROLE_KEY in form.keys and role is not None and f.is_valid_value(form.question(ROLE_KEY), role):
        answers[ROLE_KEY] = role
    first = next((q.key for q in form.visible(answers) if q.key not in answers), None)
    return await repos.forms.create(
        me.id, FINAL_FORM, form.version, now, context=ctx, answers=answers, current_key=first
    )


async def final_submitted(
    repos: Repos, response: FormResponseDTO, me: ParticipantDTO, now: datetime
) -> Submitted:
    """A final survey was submitted (the row of FINAL_FORM in bot.services.submissions). A monitoring
    campaign's survey just thanks and carries on with the intake; a pair's thanks for the whole programme and,
    for a mentee who may mentor in turn, offers the mentor base."""
    if pair_of_context(response.context) is None:
        return Submitted(say=(Say(DEFAULT_THANKS),), then="intake")
    thanks = Say("completion.final_thanks")
    growth = await selfcheck.exit_offer(repos, me.id, pair_of_context(response.context))
    pair = await mentor_invitation_pair(repos, me, response)
    if pair is None:
        return Submitted(say=(thanks, *growth))
    offer = Say(
        "completion.mentor_offer",
        buttons=(
            (("completion.btn.become_mentor", BecomeMentorCb(pair=pair.id, a=Answer.YES)),),
            (("completion.btn.not_now", BecomeMentorCb(pair=pair.id, a=Answer.NO)),),
        ),
    )
    return Submitted(say=(thanks, *growth, offer))


async def mentor_invitation_pair(
    repos: Repos, me: ParticipantDTO, response: FormResponseDTO
) -> PairDTO | None:
    """After a submitted final survey: the finished pair to invite this mentee from into the mentor base, or
    None (not a mentee of a finished pair, already a mentor, or said they would not like to mentor)."""
    pair_id = pair_of_context(response.context)
    if pair_id is None or me.has(Role.MENTOR):
        return None
    pair = await survey_pair(repos, me, pair_id)
    if pair is None or role_in(pair, me.id) != Role.MENTEE:
        return None
    if response.answers.get("would_mentor") is False:  # a yes/no answer is stored as a bool
        return None
    return pair


# ----------------------------------------------------------------------------------- into the mentor base
def mentor_prefill(
    mentor_form: f.Form,
    intake_form_id: str | None,
    intake: dict[str, Any],
    allowed_forms: Sequence[str] | None,
) -> dict[str, Any]:
    """What the mentor questionnaire can take from a former mentee's intake answers: areas, format, time
    slots, the forms of mentoring and the role by the kind of mentee they were, and (for a young specialist)
    years of experience. Only values the mentor form accepts are kept."""
    if intake_form_id == "young_specialist_needs":
        kind = "teacher"
    else:
        kind = "student" if intake.get("study_level") in ("college", "university") else "pupil"
    candidate: dict[str, Any] = {
        "mentor_role": MENTOR_ROLE_BY_KIND[kind],
        "mentoring_forms": [
            x for x in MENTOR_FORMS_BY_KIND[kind] if allowed_forms is None or x in allowed_forms
        ],
        "areas": list(intake.get("areas") or []),
        "format": intake.get("format"),
        "slots": list(intake.get("slots") or []),
    }
    if kind == "teacher" and intake.get("experience") in EXPERIENCE_YEARS:
        candidate["experience_years"] = EXPERIENCE_YEARS[intake["experience"]]
    out: dict[str, Any] = {}
    for key, value in candidate.items():
        if key not in mentor_form.keys or value in (None, []):
            continue
        q = mentor_form.question(key)
        if q.type == f.QuestionType.MULTI:
            known = [v for v in value if q.option(v) is not None]
            value = known[: q.bounds()[1]]
            if not value:
                continue
        if f.is_valid_value(q, value):
            out[key] = value
    return out


@dataclass(frozen=True)
class MentorOffer:
    """The answer to "would you like to become a mentor?": `joined` when they said yes, and then the mentor
    questionnaire to review (None when the mentor form is not installed)."""

    joined: bool
    form: FormResponseDTO | None = None


async def answer_mentor_offer(
    repos: Repos, engine: Engine, me: ParticipantDTO, pair_id: int, accept: bool, now: datetime
) -> MentorOffer | Refusal:
    """A finished mentee of this pair answers the mentor offer; a Refusal when it is not theirs to answer."""
    pair = await survey_pair(repos, me, pair_id)
    if pair is None or role_in(pair, me.id) != Role.MENTEE:
        return Refusal.STALE
    if not accept:
        return MentorOffer(joined=False)
    return MentorOffer(joined=True, form=await become_mentor(repos, engine, me, pair, now))


async def become_mentor(
    repos: Repos, engine: Engine, me: ParticipantDTO, pair: PairDTO, now: datetime
) -> FormResponseDTO | None:
    """A finished mentee joins the mentor base as a candidate: the mentor role, and the mentor questionnaire
    filled in from what they told us as a mentee. It opens at the first question we could not answer for them
    (then the next one, then the summary), or at the summary when nothing is missing, so they review and send
    it. None when the mentor form is not installed."""
    form = engine.forms.get(MENTOR_FORM)
    if form is None:
        return None
    # The mentor role belongs to the programme that goes on: after its year closed, the next cohort.
    programme_id = await repos.programmes.continuing(pair.programme_id)
    added = await repos.participants.add_role(me.id, Role.MENTOR, now, programme_id=programme_id)
    if added:
        await repos.audit.log(
            "mentor.from_mentee", now, actor_id=me.id, object_type="pair", object_id=pair.id
        )
        await notify(
            repos,
            now,
            await institutions.curators_of_programme(repos, programme_id),
            gendered("completion.curator_new_candidate", gender_of(me.full_name)),
            kind="mentor_base",
            priority=4,
            dedup=f"mentor-from-mentee:{me.id}",
            params={"name": me.full_name or "—"},
        )
    existing = await repos.forms.open_for(me.id, MENTOR_FORM)
    if existing is not None:
        return existing
    if await repos.forms.latest_submitted(me.id, MENTOR_FORM) is not None:
        return await engine.edit_submitted(repos, me.id, MENTOR_FORM, now)
    intake, intake_id = None, None
    for fid in MENTEE_FORMS:
        intake = await repos.forms.latest_submitted(me.id, fid)
        if intake is not None:
            intake_id = fid
            break
    programme = await repos.programmes.get(programme_id) if programme_id else None
    allowed = programme.settings.get("mentoring_forms") if programme else None
    answers = mentor_prefill(form, intake_id, intake.answers if intake else {}, allowed or None)
    missing = form.missing_required(answers)
    return await repos.forms.create(
        me.id,
        MENTOR_FORM,
        form.version,
        now,
        answers=answers,
        current_key=missing[0] if missing else None,
        editing=True,
    )


# ----------------------------------------------------------------------------------- the case base
async def case_candidates(repos: Repos) -> list[tuple[PairDTO, str]]:
    """Finished pairs without a case waiting for consent or published, each with its label."""
    taken = await repos.completion.pairs_with_live_case()
    return await labelled(repos, [p for p in await repos.pairs.finished() if p.id not in taken])


async def case_candidate(repos: Repos, pair_id: int) -> tuple[PairDTO, str] | None:
    """The finished pair the curator picked for a case, with its label (None: no longer a candidate)."""
    return next((c for c in await case_candidates(repos) if c[0].id == pair_id), None)


async def propose_case(
    repos: Repos, pair_id: int, story: str, curator: ParticipantDTO, now: datetime
) -> CaseDTO | str:
    """The curator marks a finished pair as a best practice: the story is saved and every member is asked
    whether it may be published. Returns the case, or the locale key of why not."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != PairStatus.FINISHED:
        return "completion.case.not_finished"
    if pair.id in await repos.completion.pairs_with_live_case():
        return "completion.case.exists"
    people = await repos.participants.get_many(list(members(pair)))
    if not all(reachable(people.get(pid)) for pid in members(pair)):
        return "completion.case.member_unreachable"
    case = await repos.completion.create_case(pair.id, story, list(members(pair)), curator.id, now)

    def consent_buttons(t: Translator) -> InlineKeyboardMarkup:
        return (
            InlineKeyboardBuilder()
            .button(
                text=t("completion.btn.case_yes"), callback_data=CaseConsentCb(case=case.id, a=Answer.YES)
            )
            .button(text=t("completion.btn.case_no"), callback_data=CaseConsentCb(case=case.id, a=Answer.NO))
            .as_markup()
        )

    await notify(
        repos,
        now,
        [people[pid] for pid in members(pair)],
        "completion.case.ask_consent",
        kind="case_consent",
        priority=3,
        dedup=f"case-consent:{case.id}",
        params={"story": story},
        buttons=consent_buttons,
    )
    await repos.audit.log("case.propose", now, actor_id=curator.id, object_type="case", object_id=case.id)
    return case


async def answer_case(
    repos: Repos, case_id: int, me: ParticipantDTO, agreed: bool, now: datetime
) -> ConsentOutcome:
    """A member answers "may we publish your pair's story?". Any "no" declines it; when the last member says
    yes it is published. The curator who proposed it learns the outcome."""
    case = await repos.completion.case(case_id)
    if case is None or me.id not in case.consents:
        return ConsentOutcome("stale")
    outcome = await repos.completion.answer_consent(case_id, me.id, agreed, now)
    await repos.audit.log(
        "case.consent", now, actor_id=me.id, object_type="case", object_id=case_id, agreed=agreed
    )
    if outcome.result in (CaseStatus.PUBLISHED, CaseStatus.DECLINED) and case.created_by is not None:
        await notify(
            repos,
            now,
            [case.created_by],
            f"completion.case.{outcome.result}_to_curator",
            kind="case",
            priority=3,
            dedup=f"case-decided:{case_id}",
            params={"id": case_id},
        )
    return outcome


@dataclass(frozen=True)
class CaseView:
    case: CaseDTO
    mentor: str
    mentees: tuple[str, ...]
    programme: str
    date_from: datetime
    date_to: datetime | None


async def case_views(repos: Repos, cases: Sequence[CaseDTO]) -> list[CaseView]:
    """Cases with their pair's names and dates. A case of someone who has since been forgotten (consent
    withdrawn) is left out: their story is theirs too."""
    pairs = {c.pair_id: p for c in cases if (p := await repos.pairs.get(c.pair_id)) is not None}
    people = await repos.participants.get_many({pid for p in pairs.values() for pid in members(p)})
    out = []
    for c in cases:
        pair = pairs.get(c.pair_id)
        if pair is None:
            continue
        them = [people.get(pid) for pid in members(pair)]
        if any(p is None or not p.full_name or p.status == Status.WITHDRAWN for p in them):
            continue
        programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
        out.append(
            CaseView(
                case=c,
                mentor=them[0].full_name or "—",  # type: ignore[union-attr]
                mentees=tuple(p.full_name or "—" for p in them[1:]),  # type: ignore[union-attr]
                programme=programme.title if programme else "",
                date_from=pair.created_at,
                date_to=pair.closed_at,
            )
        )
    return out


async def published_cases(repos: Repos) -> list[CaseView]:
    return await case_views(repos, await repos.completion.cases(CaseStatus.PUBLISHED))


@dataclass(frozen=True)
class CaseBase:
    """/cases: the published stories; for a curator also those waiting for the members' consent."""

    published: list[CaseView]
    waiting: list[CaseView] | None


async def case_base(repos: Repos, me: ParticipantDTO) -> CaseBase:
    waiting = (
        await case_views(repos, await repos.completion.cases(CaseStatus.PROPOSED)) if me.is_curator else None
    )
    return CaseBase(await published_cases(repos), waiting)


# The case base in the curator's export (bot/services/export.py adds this sheet).
CASE_COLUMNS = ("case_id", "pair_id", "mentor", "mentees", "programme", "from", "to", "story", "published")


def case_sheet(
    views: Sequence[CaseView], t: Translator, timezone: str
) -> tuple[list[str], Callable[[], Iterator[list[Any]]]]:
    """Header and rows of the export's case-base sheet (published cases only)."""
    tz = ZoneInfo(timezone)

    def local(dt: datetime | None) -> datetime | None:
        return dt.astimezone(tz).replace(tzinfo=None) if dt else None

    def rows() -> Iterator[list[Any]]:
        for v in views:
            yield [
                v.case.id,
                v.case.pair_id,
                v.mentor,
                ", ".join(v.mentees),
                v.programme,
                local(v.date_from),
                local(v.date_to),
                v.case.story,
                local(v.case.decided_at),
            ]

    return [t(f"completion.export.col.{c}") for c in CASE_COLUMNS], rows


# ----------------------------------------------------------------------------------- the honour board
@dataclass(frozen=True)
class HonourRow:
    mentor_id: int
    name: str
    finished: int
    rating: float | None
    ratings: int


async def honour_board(repos: Repos) -> list[HonourRow]:
    """Mentors with at least one finished pair, most finished pairs first, then by their mentees' average
    meeting rating; those who opted out or withdrew consent are not shown."""
    counts = await repos.completion.finished_counts()
    hidden = await repos.completion.opted_out()
    ids = [pid for pid in counts if pid not in hidden]
    ratings = await repos.meetings.mentee_ratings(ids) if ids else {}
    people = await repos.participants.get_many(ids)
    rows = []
    for pid in ids:
        p = people.get(pid)
        if p is None or not p.full_name or p.status == Status.WITHDRAWN:
            continue
        scores = ratings.get(pid, [])
        rows.append(
            HonourRow(
                mentor_id=pid,
                name=p.full_name,
                finished=counts[pid],
                rating=round(sum(scores) / len(scores), 2) if scores else None,
                ratings=len(scores),
            )
        )
    rows.sort(key=lambda r: (-r.finished, -(r.rating or 0.0), r.name))
    return rows


async def toggle_honour(repos: Repos, me: ParticipantDTO, now: datetime) -> bool:
    """Opt out of the honour board, or back in. Returns True when the mentor is now shown."""
    hidden = me.id in await repos.completion.opted_out()
    await repos.completion.set_opt_out(me.id, not hidden, now)
    await repos.audit.log("honour.optout", now, actor_id=me.id, shown=hidden)
    return hidden


# ----------------------------------------------------------------------------------- certificates
async def certificate_pairs(repos: Repos, me: ParticipantDTO) -> list[tuple[PairDTO, str]]:
    """The finished pairs this person may have a certificate of, newest first, each with its label."""
    pairs = []
    for pid in await repos.completion.finished_pair_ids_of(me.id):
        pair = await repos.pairs.get(pid)
        if pair is not None and role_in(pair, me.id) is not None:
            pairs.append(pair)
    return await labelled(repos, pairs)


async def issue_certificate(
    repos: Repos, me: ParticipantDTO, pair_id: int, now: datetime, default_tz: str
) -> CertificateData | Refusal:
    """The certificate of a member of a finished pair, recorded as issued; NOT_YOURS for anyone else."""
    pair = await repos.pairs.get(pair_id)
    role = role_in(pair, me.id) if pair is not None else None
    if pair is None or role is None or pair.status != PairStatus.FINISHED or not me.full_name:
        return Refusal.NOT_YOURS
    programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
    tz = ZoneInfo(programme.timezone if programme else default_tz)
    t = Translator(me.language)
    others = pair.mentee_ids if role == Role.MENTOR else (pair.mentor_id,)
    people = await repos.participants.get_many(list(others))
    end = pair.closed_at or now
    await repos.audit.log("certificate.issue", now, actor_id=me.id, object_type="pair", object_id=pair.id)
    return CertificateData(
        name=me.full_name,
        programme=programme.title if programme else t("programme.default_title"),
        role=role,
        date_from=pair.created_at.astimezone(tz).date(),
        date_to=end.astimezone(tz).date(),
        others=tuple(((p.full_name if (p := people.get(pid)) else None) or "—") for pid in others),
        issued_on=now.astimezone(tz).date(),
        number=f"{pair.id}-{me.id}",
    )
