"""Completion of the mentoring cycle (the fifth stage of the target model): the final survey for every member
of a finished pair, closing a pair early, inviting a finished mentee into the long-term mentor base with a
pre-filled mentor questionnaire, the case base of best practices (published only with every member's consent),
the mentors' honour board and participation certificates. No Telegram here: messages to other people go
through the outbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, NewMessage, PairDTO, ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.services.certificate import CertificateData
from bot.services.questionnaires import Engine
from storage.repositories.completion import (
    CASE_DECLINED,
    CASE_PUBLISHED,
    CaseDTO,
    CompletionRepo,
    ConsentOutcome,
)
from storage.uow import Repos

FINAL_FORM = "final"
MENTOR_FORM = "mentor"
MENTEE_FORMS = ("mentee_needs", "young_specialist_needs")
STORY_MIN, STORY_MAX = 30, 3000
REASON_MIN, REASON_MAX = 3, 500
# Callback data of the participant buttons sent through the outbox (handlers/completion.py parses them with
# FinalSurveyCb "fs" and CaseConsentCb "sp"; the service layer does not import handlers).
FINAL_SURVEY_DATA = "fs:{pair}"
CASE_CONSENT_DATA = "sp:{case}:{answer}"

# Which mentoring forms and mentor role a former mentee of each kind takes up (see matching.mentee_kind).
MENTOR_FORMS_BY_KIND = {
    "pupil": ("pupil_pupil",),
    "student": ("student_student", "student_pupil"),
    "teacher": ("teacher_teacher",),
}
MENTOR_ROLE_BY_KIND = {"pupil": "pupil", "student": "student", "teacher": "teacher"}
# A young specialist's years in the job, as the mentor questionnaire's "years of experience".
EXPERIENCE_YEARS = {"first_year": 0, "second_year": 1, "third_year": 2, "over_three": 3}


def repo(repos: Repos) -> CompletionRepo:
    """The completion repository of this unit of work (``repos.completion`` once it is wired in Repos)."""
    found = getattr(repos, "completion", None)
    return found if isinstance(found, CompletionRepo) else CompletionRepo(repos.session)


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
        return "mentor"
    return "mentee" if participant_id in pair.mentee_ids else None


async def names(repos: Repos, ids: Sequence[int]) -> list[str]:
    out = []
    for pid in ids:
        p = await repos.participants.get(pid)
        out.append((p.full_name if p else None) or "—")
    return out


def _reachable(p: ParticipantDTO | None) -> bool:
    return p is not None and p.telegram_id is not None and p.status == Status.ACTIVE.value


def _button(text: str, data: str) -> dict[str, str]:
    return {"text": text, "callback_data": data}


# ----------------------------------------------------------------------------------- a pair finishes
async def pair_finished(repos: Repos, pair_id: int, now: datetime) -> int:
    """The pair has just finished (its final meeting's feedback is all in, or the curator closed it): offer
    every member the final survey — once, whatever calls this how often — and free the mentor for new pairs.
    Returns how many offers were enqueued now."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != "finished":
        return 0
    early = pair.close_reason is not None
    out = []
    for pid in members(pair):
        p = await repos.participants.get(pid)
        if not _reachable(p):
            continue
        assert p is not None and p.telegram_id is not None
        t = Translator(p.language)
        text = (
            t("completion.closed_early_to_you", reason=pair.close_reason)
            if early
            else t("completion.finished_to_you")
        )
        out.append(
            NewMessage(
                chat_id=p.telegram_id,
                participant_id=p.id,
                kind="final_survey",
                priority=2,
                text=text,
                dedup_key=f"final-survey:{pair.id}:{p.id}",
                reply_markup={
                    "inline_keyboard": [
                        [_button(t("completion.btn.final_survey"), FINAL_SURVEY_DATA.format(pair=pair.id))]
                    ]
                },
            )
        )
    added = await repos.outbox.enqueue(out, now)
    # "active" means leading a pair: with none left the mentor is back among the approved, ready to match.
    if not await repos.pairs.is_paired(pair.mentor_id):
        await repos.mentor_base.set_status(pair.mentor_id, "approved", now, expect=("active",))
    return added


async def close_pair(
    repos: Repos, pair_id: int, reason: str, curator_id: int, now: datetime
) -> tuple[bool, list[int]]:
    """The curator ends an active pair early. Open meetings are cancelled with the reason, pending reminders
    too (their ids are returned so the scheduler can drop its jobs); both sides are told and offered the final
    survey. False when the pair was not active (a double press, or someone else was faster)."""
    if not await repo(repos).close_pair(pair_id, reason, now):
        return False, []
    for m in await repos.meetings.for_pair(pair_id):
        if m.status in ("proposed", "confirmed"):
            await repos.meetings.update(
                m.id, now, expect_status=("proposed", "confirmed"), status="cancelled", cancel_reason=reason
            )
    cancelled = await repos.reminders.cancel(pair_id=pair_id)
    await repos.audit.log("pair.close_early", now, actor_id=curator_id, object_type="pair", object_id=pair_id)
    await pair_finished(repos, pair_id, now)
    return True, cancelled


# ----------------------------------------------------------------------------------- the final survey
async def start_final_survey(
    repos: Repos, engine: Engine, me: ParticipantDTO, pair: PairDTO, now: datetime
) -> FormResponseDTO | None:
    """Open (or resume) the person's final survey for this pair, with their role already answered.
    None when they have already submitted it."""
    ctx = final_context(pair.id)
    if await repos.forms.latest_submitted(me.id, FINAL_FORM, ctx) is not None:
        return None
    existing = await repos.forms.open_for(me.id, FINAL_FORM, ctx)
    if existing is not None:
        return existing
    form = engine.forms[FINAL_FORM]
    answers: dict[str, Any] = {}
    role = role_in(pair, me.id)
    if "role" in form.keys and role is not None and f.is_valid_value(form.question("role"), role):
        answers["role"] = role
    first = next((q.key for q in form.visible(answers) if q.key not in answers), None)
    return await repos.forms.create(
        me.id, FINAL_FORM, form.version, now, context=ctx, answers=answers, current_key=first
    )


async def survey_pair(repos: Repos, me: ParticipantDTO, pair_id: int) -> PairDTO | None:
    """The finished pair whose final survey this person may fill in (None: not theirs, or not finished)."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != "finished" or role_in(pair, me.id) is None:
        return None
    return pair


async def mentor_invitation_pair(
    repos: Repos, me: ParticipantDTO, response: FormResponseDTO
) -> PairDTO | None:
    """After a submitted final survey: the finished pair to invite this mentee from into the mentor base, or
    None (not a mentee of a finished pair, already a mentor, or said they would not like to mentor)."""
    pair_id = pair_of_context(response.context)
    if pair_id is None or me.has(Role.MENTOR):
        return None
    pair = await survey_pair(repos, me, pair_id)
    if pair is None or role_in(pair, me.id) != "mentee":
        return None
    if response.answers.get("would_mentor") is False:  # a yes/no answer is stored as a bool
        return None
    return pair


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
        await _tell_curators(repos, me, now)
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


async def _tell_curators(repos: Repos, me: ParticipantDTO, now: datetime) -> None:
    out = []
    for c in await repos.participants.with_role(Role.CURATOR):
        if not _reachable(c):
            continue
        assert c.telegram_id is not None
        t = Translator(c.language)
        out.append(
            NewMessage(
                chat_id=c.telegram_id,
                participant_id=c.id,
                kind="mentor_base",
                priority=4,
                text=t("completion.curator_new_candidate", name=me.full_name or "—"),
                dedup_key=f"mentor-from-mentee:{me.id}:{c.id}",
            )
        )
    await repos.outbox.enqueue(out, now)


# ----------------------------------------------------------------------------------- the case base
async def case_candidates(repos: Repos) -> list[PairDTO]:
    """Finished pairs without a case waiting for consent or published."""
    taken = await repo(repos).pairs_with_live_case()
    return [p for p in await repos.pairs.finished() if p.id not in taken]


async def propose_case(
    repos: Repos, pair_id: int, story: str, curator: ParticipantDTO, now: datetime
) -> CaseDTO | str:
    """The curator marks a finished pair as a best practice: the story is saved and every member is asked
    whether it may be published. Returns the case, or the locale key of why not."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != "finished":
        return "completion.case.not_finished"
    if pair.id in await repo(repos).pairs_with_live_case():
        return "completion.case.exists"
    people = [await repos.participants.get(pid) for pid in members(pair)]
    if not all(_reachable(p) for p in people):
        return "completion.case.member_unreachable"
    case = await repo(repos).create_case(pair.id, story, list(members(pair)), curator.id, now)
    out = []
    for p in people:
        assert p is not None and p.telegram_id is not None
        t = Translator(p.language)
        out.append(
            NewMessage(
                chat_id=p.telegram_id,
                participant_id=p.id,
                kind="case_consent",
                priority=3,
                text=t("completion.case.ask_consent", story=story),
                dedup_key=f"case-consent:{case.id}:{p.id}",
                reply_markup={
                    "inline_keyboard": [
                        [
                            _button(
                                t("completion.btn.case_yes"),
                                CASE_CONSENT_DATA.format(case=case.id, answer="y"),
                            ),
                            _button(
                                t("completion.btn.case_no"),
                                CASE_CONSENT_DATA.format(case=case.id, answer="n"),
                            ),
                        ]
                    ]
                },
            )
        )
    await repos.outbox.enqueue(out, now)
    await repos.audit.log("case.propose", now, actor_id=curator.id, object_type="case", object_id=case.id)
    return case


async def answer_case(
    repos: Repos, case_id: int, me: ParticipantDTO, agreed: bool, now: datetime
) -> ConsentOutcome:
    """A member answers "may we publish your pair's story?". Any "no" declines it; when the last member says
    yes it is published. The curator who proposed it learns the outcome."""
    case = await repo(repos).case(case_id)
    if case is None or me.id not in case.consents:
        return ConsentOutcome("stale")
    outcome = await repo(repos).answer_consent(case_id, me.id, agreed, now)
    await repos.audit.log(
        "case.consent", now, actor_id=me.id, object_type="case", object_id=case_id, agreed=agreed
    )
    if outcome.result in (CASE_PUBLISHED, CASE_DECLINED) and case.created_by is not None:
        curator = await repos.participants.get(case.created_by)
        if _reachable(curator):
            assert curator is not None and curator.telegram_id is not None
            t = Translator(curator.language)
            await repos.outbox.enqueue(
                [
                    NewMessage(
                        chat_id=curator.telegram_id,
                        participant_id=curator.id,
                        kind="case",
                        priority=3,
                        text=t(f"completion.case.{outcome.result}_to_curator", id=case_id),
                        dedup_key=f"case-decided:{case_id}",
                    )
                ],
                now,
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
    out = []
    for c in cases:
        pair = await repos.pairs.get(c.pair_id)
        if pair is None:
            continue
        people = [await repos.participants.get(pid) for pid in members(pair)]
        if any(p is None or not p.full_name or p.status == Status.WITHDRAWN.value for p in people):
            continue
        programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
        out.append(
            CaseView(
                case=c,
                mentor=people[0].full_name or "—",  # type: ignore[union-attr]
                mentees=tuple(p.full_name or "—" for p in people[1:]),  # type: ignore[union-attr]
                programme=programme.title if programme else "",
                date_from=pair.created_at,
                date_to=pair.closed_at,
            )
        )
    return out


async def published_cases(repos: Repos) -> list[CaseView]:
    return await case_views(repos, await repo(repos).cases(CASE_PUBLISHED))


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
    counts = await repo(repos).finished_counts()
    hidden = await repo(repos).opted_out()
    ids = [pid for pid in counts if pid not in hidden]
    ratings = await repos.meetings.mentee_ratings(ids) if ids else {}
    rows = []
    for pid in ids:
        p = await repos.participants.get(pid)
        if p is None or not p.full_name or p.status == Status.WITHDRAWN.value:
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
    hidden = me.id in await repo(repos).opted_out()
    await repo(repos).set_opt_out(me.id, not hidden, now)
    await repos.audit.log("honour.optout", now, actor_id=me.id, shown=hidden)
    return hidden


# ----------------------------------------------------------------------------------- certificates
async def certificate_pairs(repos: Repos, me: ParticipantDTO) -> list[PairDTO]:
    out = []
    for pid in await repo(repos).finished_pair_ids_of(me.id):
        pair = await repos.pairs.get(pid)
        if pair is not None and role_in(pair, me.id) is not None:
            out.append(pair)
    return out


async def certificate_data(
    repos: Repos, me: ParticipantDTO, pair: PairDTO, now: datetime, default_tz: str
) -> CertificateData | None:
    """The certificate of a member of a finished pair (None for anyone else)."""
    role = role_in(pair, me.id)
    if role is None or pair.status != "finished" or not me.full_name:
        return None
    programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
    tz = ZoneInfo(programme.timezone if programme else default_tz)
    t = Translator(me.language)
    others = pair.mentee_ids if role == "mentor" else (pair.mentor_id,)
    end = pair.closed_at or now
    return CertificateData(
        name=me.full_name,
        programme=programme.title if programme else t("programme.default_title"),
        role=role,
        date_from=pair.created_at.astimezone(tz).date(),
        date_to=end.astimezone(tz).date(),
        others=tuple(await names(repos, others)),
        issued_on=now.astimezone(tz).date(),
        number=f"{pair.id}-{me.id}",
    )
