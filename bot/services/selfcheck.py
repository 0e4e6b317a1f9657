"""Entry, half-way and exit self-assessment: what each member of a pair thinks of themselves when the pair
starts, optionally at the programme's December monitoring, and at the end — the same form each time, so the
answers compare item by item (bot.domain.growth turns them into growth figures).

The form follows the person's side of the pair: a mentor assesses their own growth as a mentor, a young
teacher their classroom, lessons and parents, a pupil or student their confidence, motivation and the skills
of their needs questionnaire. The moment is the response's context, per person per programme
(`selfcheck:entry:<programme>`, `selfcheck:mid:<programme>:<period>`, `selfcheck:exit:<programme>`): a
mentor of three pairs or a mentee paired again answers the entry once. Invitations go through the outbox with
dedup keys, so nobody is asked twice: once when the pair is approved (before the introduction meeting), once
more before the trial meeting if they skipped it, the exit with the final survey. No Telegram here beyond the
data of buttons."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks.selfcheck import Moment, SelfcheckCb, Side
from bot.domain import district as dd
from bot.domain import forms as f
from bot.domain.entities import FormResponseDTO, NewMessage, PairDTO, ProgrammeDTO
from bot.domain.growth import Measurement
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services import matching
from bot.services.notify import compose, notify
from bot.services.submissions import Say
from storage.uow import Repos

if TYPE_CHECKING:
    from bot.services.questionnaires import Engine

MENTEE_FORM = "selfcheck_mentee"
TEACHER_FORM = "selfcheck_teacher"
MENTOR_FORM = "selfcheck_mentor"
MENTOR_INTAKE = "mentor"  # the mentor questionnaire: the forms of mentoring a mentor offers
FORMS = (MENTEE_FORM, TEACHER_FORM, MENTOR_FORM)
# The pre-filled question that decides which skill items a mentee is asked (see the forms).
FOCUS = "focus"
PRIORITY = 3  # after the news it follows (a pair announced, a stage done: priority 2 and 1)
PERIOD_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
MID_MONTH = 12  # the December monitoring; the June one is too close to the exit

_SUBJECTS = frozenset(
    {
        "math", "russian", "literature", "foreign_language", "physics", "chemistry", "biology", "history",
        "social_studies", "informatics", "arts", "music", "sports",
    }
)  # fmt: skip
# Which answers of the needs questionnaire (its `areas` and `goals`) make a skill item of the form asked.
SKILLS: dict[str, dict[str, dict[str, frozenset[str]]]] = {
    MENTEE_FORM: {
        "subject": {"areas": _SUBJECTS, "goals": frozenset({"grades", "olympiad"})},
        "study_skills": {
            "areas": frozenset({"study_skills", "projects", "research"}),
            "goals": frozenset({"grades", "project"}),
        },
        "communication": {"areas": frozenset({"communication"}), "goals": frozenset({"confidence"})},
        "exams": {"areas": frozenset({"exams"}), "goals": frozenset({"exam_prep"})},
        "career": {"areas": frozenset({"career"}), "goals": frozenset({"career"})},
    },
    TEACHER_FORM: {
        "teaching_methods": {
            "areas": frozenset({"methodology", "assessment", "digital_tools", "inclusive_education"})
        },
        "documentation": {"areas": frozenset({"documentation", "professional_growth"})},
    },
}


class Refusal(StrEnum):
    """Why a press opened nothing; the value is the locale key of the alert."""

    STALE = "common.stale"
    ALREADY = "selfcheck.already"
    NOT_YOURS = "selfcheck.not_yours"


@dataclass(frozen=True)
class Seat:
    """A person's place in a pair: who, on which side."""

    participant_id: int
    side: Side


# ------------------------------------------------------------------------------------------ who fills in what
def context(moment: Moment, programme_id: int, period: str = "") -> str:
    base = f"selfcheck:{moment.value}:{programme_id}"
    return f"{base}:{period}" if moment == Moment.MID else base


def seats(pair: PairDTO) -> list[Seat]:
    """The mentor first, then the mentees."""
    return [Seat(pair.mentor_id, Side.MENTOR), *(Seat(m, Side.MENTEE) for m in pair.mentee_ids)]


def side_in(pair: PairDTO, participant_id: int) -> Side | None:
    if participant_id == pair.mentor_id:
        return Side.MENTOR
    return Side.MENTEE if participant_id in pair.mentee_ids else None


def register(form_id: str) -> str:
    """Pupils and students are addressed informally, as their needs questionnaire does; adults formally."""
    return "ty" if form_id == MENTEE_FORM else "vy"


async def programme_of(repos: Repos, pair: PairDTO) -> int | None:
    """The pair's programme; a pair from before programmes were told apart belongs to the first one."""
    return pair.programme_id if pair.programme_id is not None else await repos.programmes.first_id()


def _allowed(programme: ProgrammeDTO | None) -> set[str]:
    chosen = programme.settings.get("mentoring_forms") if programme else None
    return set(chosen) if isinstance(chosen, list) and chosen else set(matching.FORM_SERVES)


async def _intake(repos: Repos, participant_id: int) -> tuple[str, dict[str, Any]]:
    """The mentee's needs questionnaire (which one, and its answers); the pupils' one when there is none."""
    for form_id in matching.MENTEE_FORMS:
        got = await repos.forms.latest_submitted(participant_id, form_id)
        if got is not None:
            return form_id, got.answers
    return matching.MENTEE_FORMS[0], {}


async def _kind(repos: Repos, participant_id: int, programme: ProgrammeDTO | None) -> str:
    intake_id, answers = await _intake(repos, participant_id)
    return matching.mentee_kind(intake_id, answers, _allowed(programme))


async def form_for(repos: Repos, participant_id: int, side: Side, programme: ProgrammeDTO | None) -> str:
    """The self-assessment this person fills in on this side of a pair of the programme: a mentor's; a young
    teacher's (a young specialist, or anyone in a programme of educators only); a pupil's or student's."""
    if side == Side.MENTOR:
        return MENTOR_FORM
    return TEACHER_FORM if await _kind(repos, participant_id, programme) == "teacher" else MENTEE_FORM


def focus_from_intake(form: f.Form, answers: dict[str, Any]) -> list[str]:
    """The skill items the needs questionnaire names, in the form's order."""
    if FOCUS not in form.keys:
        return []
    rules = SKILLS.get(form.id, {})
    picked = {
        skill
        for skill, sources in rules.items()
        for key, values in sources.items()
        if isinstance(answers.get(key), list) and values & {v for v in answers[key] if isinstance(v, str)}
    }
    return [v for v in form.question(FOCUS).option_values if v in picked]


async def _submitted(repos: Repos, participant_id: int, form_id: str, ctx: str) -> FormResponseDTO | None:
    return await repos.forms.latest_submitted(participant_id, form_id, ctx)


def _button(moment: Moment, programme_id: int, side: Side, period: str = "") -> SelfcheckCb:
    return SelfcheckCb(m=moment, p=programme_id, r=side, d=period)


def _markup(data: SelfcheckCb) -> Callable[[Translator], InlineKeyboardMarkup]:
    def build(t: Translator) -> InlineKeyboardMarkup:
        return InlineKeyboardBuilder().button(text=t("selfcheck.button"), callback_data=data).as_markup()

    return build


# ------------------------------------------------------------------------------------------ invitations
async def invite_entry(repos: Repos, pair: PairDTO, now: datetime) -> int:
    """A pair was approved or made by hand: each member without an entry self-assessment in the programme is
    invited, once whatever calls this how often (a mentor of three pairs, a mentee paired again) — before the
    introduction meeting. Returns how many invitations were new."""
    return await _invite_entry(repos, pair, now, again=False)


async def ask_again(repos: Repos, pair: PairDTO, now: datetime) -> int:
    """The pair moves on to the trial meeting: whoever has still not sent the entry self-assessment is asked
    once more, and never a third time; whoever has sent it is not asked."""
    return await _invite_entry(repos, pair, now, again=True)


async def _invite_entry(repos: Repos, pair: PairDTO, now: datetime, *, again: bool) -> int:
    programme_id = await programme_of(repos, pair)
    if programme_id is None:
        return 0
    programme = await repos.programmes.get(programme_id)
    ctx = context(Moment.ENTRY, programme_id)
    added = 0
    for seat in seats(pair):
        form_id = await form_for(repos, seat.participant_id, seat.side, programme)
        if await _submitted(repos, seat.participant_id, form_id, ctx) is not None:
            continue
        dedup = f"selfcheck:entry:{programme_id}:{form_id}" + (":again" if again else "")
        added += await notify(
            repos,
            now,
            [seat.participant_id],
            f"selfcheck.{'again' if again else 'entry'}.{register(form_id)}",
            kind="selfcheck",
            priority=PRIORITY,
            dedup=dedup,
            buttons=_markup(_button(Moment.ENTRY, programme_id, seat.side)),
        )
    return added


async def exit_offer(repos: Repos, participant_id: int, pair_id: int | None) -> tuple[Say, ...]:
    """Said with the thanks for the final survey of a finished pair: the exit self-assessment, unless it is
    already sent for the programme. Offered with or without an entry one (growth is computed only where both
    exist, but the exit alone is still recorded)."""
    pair = await repos.pairs.get(pair_id) if pair_id is not None else None
    side = side_in(pair, participant_id) if pair is not None else None
    programme_id = await programme_of(repos, pair) if pair is not None else None
    if pair is None or side is None or programme_id is None:
        return ()
    form_id = await form_for(repos, participant_id, side, await repos.programmes.get(programme_id))
    if await _submitted(repos, participant_id, form_id, context(Moment.EXIT, programme_id)) is not None:
        return ()
    button = _button(Moment.EXIT, programme_id, side)
    return (Say(f"selfcheck.exit.{register(form_id)}", buttons=((("selfcheck.button", button),),)),)


async def mid_invitations(
    repos: Repos, programme: ProgrammeDTO, today: date, now: datetime
) -> list[NewMessage]:
    """The December monitoring of a programme that asks for a half-way measurement (`"growth_mid": true` in
    its settings): every member of its active pairs who has not answered it this period is invited, once."""
    if today.month != MID_MONTH or not programme.settings.get("growth_mid"):
        return []
    period = f"{today:%Y-%m}"
    ctx = context(Moment.MID, programme.id, period)
    pairs = await repos.pairs.active(scope=await repos.programmes.scope(programme.id))
    members = dict.fromkeys((s.participant_id, s.side) for pair in pairs for s in seats(pair))
    people = await repos.participants.get_many({pid for pid, _ in members})
    out = []
    for pid, side in members:
        form_id = await form_for(repos, pid, side, programme)
        if await _submitted(repos, pid, form_id, ctx) is not None:
            continue
        message = compose(
            people.get(pid),
            f"selfcheck.mid.{register(form_id)}",
            kind="selfcheck",
            priority=PRIORITY,
            dedup=f"selfcheck:mid:{programme.id}:{period}:{form_id}",
            buttons=_markup(_button(Moment.MID, programme.id, side, period)),
        )
        if message is not None:
            out.append(message)
    return out


# ------------------------------------------------------------------------------------------ the button
async def _pair_of(
    repos: Repos, participant_id: int, side: Side, programme_id: int, finished: bool
) -> PairDTO | None:
    """The person's latest pair in the programme on this side: an active one (entry, half-way) or a finished
    one (exit)."""
    scope = await repos.programmes.scope(programme_id)
    pairs = await repos.pairs.finished(scope) if finished else await repos.pairs.active(scope=scope)
    return next((p for p in reversed(pairs) if side_in(p, participant_id) == side), None)


async def open_selfcheck(
    repos: Repos,
    engine: Engine,
    participant_id: int,
    moment: Moment,
    programme_id: int,
    side: Side,
    period: str,
    now: datetime,
) -> FormResponseDTO | Refusal:
    """Open (or resume) the person's self-assessment at this moment of the programme, its skill items chosen
    from their needs questionnaire (later moments: from their entry, so the items compare). A Refusal when it
    is already sent, or the person is not on that side of a pair of the programme."""
    programme = await repos.programmes.get(programme_id)
    if programme is None:
        return Refusal.NOT_YOURS
    if moment == Moment.MID and not (programme.settings.get("growth_mid") and PERIOD_RE.fullmatch(period)):
        return Refusal.STALE
    period = period if moment == Moment.MID else ""
    form_id = await form_for(repos, participant_id, side, programme)
    form = engine.forms.get(form_id)
    if form is None:
        return Refusal.STALE
    ctx = context(moment, programme.id, period)
    if await _submitted(repos, participant_id, form_id, ctx) is not None:
        return Refusal.ALREADY
    if await _pair_of(repos, participant_id, side, programme.id, finished=moment == Moment.EXIT) is None:
        return Refusal.NOT_YOURS
    existing = await repos.forms.open_for(participant_id, form_id, ctx)
    if existing is not None:
        return existing
    answers: dict[str, Any] = {}
    if FOCUS in form.keys:
        entry = await _submitted(repos, participant_id, form_id, context(Moment.ENTRY, programme.id))
        if moment != Moment.ENTRY and entry is not None and FOCUS in entry.answers:
            focus = entry.answers[FOCUS]
        else:
            focus = focus_from_intake(form, (await _intake(repos, participant_id))[1])
        if f.is_valid_value(form.question(FOCUS), focus):
            answers[FOCUS] = focus
    first = next((q.key for q in form.visible(answers) if q.key not in answers), None)
    return await repos.forms.create(
        participant_id, form_id, form.version, now, context=ctx, answers=answers, current_key=first
    )


# ------------------------------------------------------------------------------------------ the figures
def scores(response: FormResponseDTO | None) -> dict[str, float] | None:
    """The scale answers of a self-assessment as {item: score}; None when it was not sent."""
    if response is None:
        return None
    return {k: float(v) for k, v in response.answers.items() if type(v) is int}


async def measurements(repos: Repos, programme_id: int) -> list[Measurement]:
    """Each participant of the programme's pairs (active or finished), once per side: their latest sent entry,
    half-way and exit answers ({item: score}, None when not sent), their side, and the form of mentoring and
    id of their pair (their latest in the programme, when they had several). A fixed number of statements
    whatever the size: every dashboard reads this."""
    programme = await repos.programmes.get(programme_id)
    if programme is None:
        return []
    scope = await repos.programmes.scope(programme_id)
    pairs = sorted(
        [*await repos.pairs.active(scope=scope), *await repos.pairs.finished(scope)], key=lambda p: p.id
    )
    latest: dict[tuple[int, Side], PairDTO] = {}
    for pair in pairs:
        for seat in seats(pair):
            latest[(seat.participant_id, seat.side)] = pair
    if not latest:
        return []
    needs = await repos.dashboard.intake_answers(matching.MENTEE_FORMS)
    offers = await repos.dashboard.intake_answers((MENTOR_INTAKE,))
    allowed = _allowed(programme)
    # (person, form, moment) → the latest sent answers; a half-way one of any December.
    sent: dict[tuple[int, str, str], dict[str, Any]] = {}
    for pid, form_id, ctx, answers in await repos.dashboard.selfchecks(FORMS, programme_id):
        sent[(pid, form_id, ctx.split(":")[1])] = answers

    def kind(pid: int) -> str:
        form_id, answers = needs.get(pid, (matching.MENTEE_FORMS[0], {}))
        return matching.mentee_kind(form_id, answers, allowed)

    def answers_of(pid: int, form_id: str, moment: Moment) -> dict[str, float] | None:
        got = sent.get((pid, form_id, moment.value))
        return None if got is None else {k: float(v) for k, v in got.items() if type(v) is int}

    out = []
    for (pid, side), pair in latest.items():
        form_id = (
            MENTOR_FORM if side == Side.MENTOR else (TEACHER_FORM if kind(pid) == "teacher" else MENTEE_FORM)
        )
        mentee = pid if side == Side.MENTEE else next(iter(pair.mentee_ids), None)
        offered = offers.get(pair.mentor_id, (MENTOR_INTAKE, {}))[1].get("mentoring_forms") or []
        form = (
            dd.pair_form(
                offered if isinstance(offered, list) else [], kind(mentee), matching.FORM_SERVES, allowed
            )
            if mentee is not None
            else "unknown"
        )
        out.append(
            Measurement(
                participant_id=pid,
                role=side.value,
                form=form,
                pair_id=pair.id,
                entry=answers_of(pid, form_id, Moment.ENTRY),
                exit=answers_of(pid, form_id, Moment.EXIT),
                mid=answers_of(pid, form_id, Moment.MID),
            )
        )
    return out
