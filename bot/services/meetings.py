"""The meeting sequence of a pair, one use case per function: choosing the pair, proposing a time, confirming,
another time, cancelling, "did it happen?", feedback and the stage it completes, the development plan, and
the curator's look at a late pair. Each takes the unit of work (`repos`), plain inputs and `now`, does the
whole job (the domain decision, storage, telling the others through the outbox, arming reminders) and returns
an outcome the handler renders. Reminders are rows planned here; scheduler/ fires them. No Telegram here
beyond the data of outgoing buttons."""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup

from bot.callbacks.meetings import MeetingAction, MeetingCb
from bot.config import Settings
from bot.domain import ics
from bot.domain import materials as mat
from bot.domain import meeting_time as mt
from bot.domain import reminders as rem
from bot.domain.entities import (
    FormResponseDTO,
    GoalDTO,
    MeetingDTO,
    NewMessage,
    PairDTO,
    PairStatus,
    ParticipantDTO,
)
from bot.domain.grammar import format_when, gender_of, gendered
from bot.domain.stages import (
    OPEN_STATUSES,
    MeetingRecord,
    MeetingStatus,
    PairProgress,
    Stage,
    StagePlan,
    can_propose,
    progress,
)
from bot.domain.statuses import ReminderStatus
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services import completion, meeting_calendar, selfcheck
from bot.services.notify import Localized, notify, reachable
from bot.services.questionnaires import Engine
from bot.services.submissions import Say, Submitted
from storage.uow import Repos

MEETING_LENGTH = timedelta(hours=1)
FEEDBACK_FORM = "meeting_feedback"
# The FSM state the mentor is put in to write down the development plan (handlers/states.py Goals.adding).
GOALS_STATE = "Goals:adding"
# For a pair without a programme (the programme's own time zone decides otherwise).
DEFAULT_TZ: str = Settings.model_fields["timezone"].default
GOAL_RE = re.compile(r"^(?P<text>.{3,300}?)\s*[—–-]\s*(?P<date>\d{1,2}\.\d{1,2}\.\d{2,4})\s*$", re.S)


@dataclass(frozen=True)
class PairState:
    pair: PairDTO
    plan: StagePlan
    progress: PairProgress
    members: tuple[int, ...]  # mentor first, then mentees
    meetings: list[MeetingDTO]
    tz: ZoneInfo


class Armer(Protocol):
    """What a use case needs of the reminder scheduler (scheduler.reminders.ReminderScheduler)."""

    async def arm_ids(self, ids: list[int]) -> None: ...

    def disarm(self, ids: list[int]) -> None: ...


@dataclass(frozen=True)
class Scheduling:
    """The reminder scheduler as a use case sees it. New reminders are armed once the unit of work has
    committed (the scheduler reads them in its own transaction): `after_commit` runs then. Cancelled ones are
    disarmed at once. Without a scheduler nothing is armed; the minute sweep still fires what is due."""

    scheduler: Armer | None = None
    after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    def arm(self, ids: list[int]) -> None:
        scheduler = self.scheduler
        if scheduler is not None:
            self.after_commit.append(lambda: scheduler.arm_ids(ids))

    def disarm(self, ids: list[int]) -> None:
        if self.scheduler is not None and ids:
            self.scheduler.disarm(ids)


class Refused(StrEnum):
    """A press that does nothing; the value is the locale key of the alert."""

    STALE = "common.stale"
    ALREADY = "meeting.already_handled"


@dataclass(frozen=True)
class AskWhen:
    """Ask for a meeting time: the next days to pick from, the stage and its deadline. `resched`: the meeting
    that gets the new time (None: a new meeting)."""

    pair_id: int
    resched: int | None
    days: tuple[date, ...]
    stage: Stage | None
    deadline: date | None


@dataclass(frozen=True)
class Card:
    """The soonest open meeting, shown with what this person can do about it."""

    meeting: MeetingDTO
    tz: ZoneInfo


@dataclass(frozen=True)
class Choice:
    pair: PairDTO
    label: str  # the other members and the programme (only when there is a choice)


@dataclass(frozen=True)
class When:
    """A typed meeting time: `starts_at` (None: not a time), and what to tell first (an error, a warning)."""

    starts_at: datetime | None
    say: tuple[Say, ...] = ()


@dataclass(frozen=True)
class FeedbackForm:
    """The person's feedback form on a held meeting (None: already given) and, at a joint-work meeting, the
    development plan to remind them of above it."""

    response: FormResponseDTO | None
    goals: tuple[GoalDTO, ...] = ()


@dataclass(frozen=True)
class Overview:
    """One pair in /meetings."""

    state: PairState
    names: str  # the other members
    upcoming: tuple[MeetingDTO, ...]
    owed: tuple[int, ...]  # meetings this person still owes feedback on


@dataclass(frozen=True)
class PairCard:
    """A pair as the curator opens it from the digest."""

    state: PairState
    names: str
    waiting_for: str  # who owes feedback ("" if nobody)


@dataclass(frozen=True)
class Goals:
    items: tuple[GoalDTO, ...]
    can_add: bool  # the mentor writes the plan


class GoalAdded(StrEnum):
    """The outcome of a typed goal; the value is the locale key of the reply."""

    NOT_IN_PAIR = "timebound.not_in_pair"
    NOT_MENTOR = "common.stale"
    BAD = "meeting.goal_bad"
    ADDED = "meeting.goal_added"


# ------------------------------------------------------------------------------------------- reading a pair
def members(pair: PairDTO) -> tuple[int, ...]:
    return (pair.mentor_id, *pair.mentee_ids)


def feedback_context(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


@dataclass(frozen=True)
class MeetingTime(Localized):
    """A meeting's time as people write it, in the reader's language and the programme's zone: "5 декабря,
    пятница, 16:30" (the year only when it is not this year's)."""

    moment: datetime | None = None
    today: date | None = None

    def __call__(self, t: Translator) -> str:
        assert self.moment is not None
        return format_when(t, self.moment, today=self.today)


def when(
    meeting: MeetingDTO, tz: ZoneInfo, now: datetime | None = None, *, today: date | None = None
) -> MeetingTime:
    """`meeting`'s start for a text; `now` (or `today`, in the zone) leaves this year's year out."""
    today = now.astimezone(tz).date() if now is not None else today
    return MeetingTime("grammar.when", moment=meeting.starts_at.astimezone(tz), today=today)


async def names(repos: Repos, ids: Iterable[int], skip: int | None = None) -> str:
    """The people's names, comma-separated, in the order given (one query)."""
    wanted = [pid for pid in ids if pid != skip]
    people = await repos.participants.get_many(wanted)
    return ", ".join(((p.full_name if (p := people.get(pid)) else None) or "—") for pid in wanted)


async def programme_plan(repos: Repos, pair: PairDTO, default_tz: str) -> tuple[StagePlan, ZoneInfo, dict]:
    programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
    settings = programme.settings if programme else {}
    plan = StagePlan.from_mapping(settings.get("stage_plan"))
    return plan, ZoneInfo(programme.timezone if programme else default_tz), settings


async def pair_state(repos: Repos, pair: PairDTO, now: datetime, default_tz: str) -> PairState:
    plan, tz, _ = await programme_plan(repos, pair, default_tz)
    meetings = await repos.meetings.for_pair(pair.id)
    fb = await repos.meetings.feedback_from([m.id for m in meetings])
    return _state(pair, plan, tz, meetings, fb, now)


async def pair_states(repos: Repos, pairs: list[PairDTO], now: datetime, default_tz: str) -> list[PairState]:
    """pair_state for many pairs in a fixed number of statements (a dashboard of hundreds of pairs)."""
    plans: dict[int | None, tuple[StagePlan, ZoneInfo, dict]] = {}
    for pair in pairs:
        if pair.programme_id not in plans:
            plans[pair.programme_id] = await programme_plan(repos, pair, default_tz)
    meetings = await repos.meetings.for_pairs([p.id for p in pairs])
    fb = await repos.meetings.feedback_from([m.id for ms in meetings.values() for m in ms])
    out = []
    for pair in pairs:
        plan, tz, _ = plans[pair.programme_id]
        out.append(_state(pair, plan, tz, meetings.get(pair.id, []), fb, now))
    return out


def _state(
    pair: PairDTO,
    plan: StagePlan,
    tz: ZoneInfo,
    meetings: list[MeetingDTO],
    fb: dict[int, set[int]],
    now: datetime,
) -> PairState:
    records = [
        MeetingRecord(
            id=m.id,
            stage=Stage(m.stage),
            status=MeetingStatus(m.status),
            starts_at=m.starts_at,
            feedback_from=frozenset(fb.get(m.id, set())),
        )
        for m in meetings
    ]
    people = members(pair)
    prog = progress(plan, people, records, pair.created_at.astimezone(tz).date(), now.astimezone(tz).date())
    return PairState(pair, plan, prog, people, meetings, tz)


async def pair_of_member(
    repos: Repos, me: ParticipantDTO | None, pair_id: int | str | None
) -> PairDTO | None:
    """The pair, if it is active and this person is in it now (its mentor or a mentee who has not left).
    Every step of a conversation about a pair asks again: the curator may have dissolved the pair or removed
    the person since the previous step."""
    pair = await repos.pairs.get(int(pair_id or 0)) if me is not None else None
    if pair is None or me is None or pair.status != PairStatus.ACTIVE or me.id not in members(pair):
        return None
    return pair


async def pairs_of(repos: Repos, me: ParticipantDTO) -> list[PairDTO]:
    """Every active pair or group the person is in — as a mentee or as the mentor — across programmes."""
    pairs = await repos.pairs.all_active_of_mentee(me.id)
    seen = {p.id for p in pairs}
    return pairs + [p for p in await repos.pairs.led_by(me.id) if p.id not in seen]


async def choose_pair(repos: Repos, me: ParticipantDTO) -> list[Choice]:
    """The person's pairs; someone in several (two programmes, a mentor of two groups) gets each labelled by
    the other members and the programme, to choose from."""
    pairs = await pairs_of(repos, me)
    if len(pairs) < 2:
        return [Choice(pair, "") for pair in pairs]
    people = await repos.participants.get_many({pid for pair in pairs for pid in members(pair)})
    out = []
    for pair in pairs:
        programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
        others = ", ".join(
            ((p.full_name if (p := people.get(pid)) else None) or "—")
            for pid in members(pair)
            if pid != me.id
        )
        out.append(Choice(pair, f"{others} · {programme.title}" if programme else others))
    return out


async def meeting_of(
    repos: Repos, me: ParticipantDTO, meeting_id: int, now: datetime, default_tz: str
) -> tuple[MeetingDTO, PairState] | None:
    """The meeting and its pair's state, if the meeting is of an active pair this person is in."""
    meeting = await repos.meetings.get(meeting_id)
    pair = await pair_of_member(repos, me, meeting.pair_id) if meeting is not None else None
    if meeting is None or pair is None:
        return None
    return meeting, await pair_state(repos, pair, now, default_tz)


def ask_when(st: PairState, now: datetime, resched: int | None = None) -> AskWhen:
    return AskWhen(
        pair_id=st.pair.id,
        resched=resched,
        days=tuple(mt.quick_choices(now, st.tz)[:7]),
        stage=st.progress.current_stage,
        deadline=st.progress.deadline,
    )


# ------------------------------------------------------------------------------------ proposing a meeting
async def begin(repos: Repos, pair: PairDTO, now: datetime, default_tz: str) -> Card | Say | AskWhen:
    """/meeting for a pair: the soonest open meeting's card, why no meeting can be proposed now, or the
    question "when?"."""
    st = await pair_state(repos, pair, now, default_tz)
    if st.progress.open_meetings:
        return Card(next(m for m in st.meetings if m.id == st.progress.open_meetings[0]), st.tz)
    refusal = can_propose(st.progress)
    if refusal is not None:
        return Say(refusal.code, refusal.params)
    return ask_when(st, now)


async def typed_time(
    repos: Repos, me: ParticipantDTO, pair_id: int, text: str, day: str | None, now: datetime, default_tz: str
) -> When | None:
    """The person typed a time (just "16:30" after picking a day). None: no longer in the pair."""
    pair = await pair_of_member(repos, me, pair_id)
    if pair is None:
        return None
    st = await pair_state(repos, pair, now, default_tz)
    if day and re.fullmatch(r"\s*\d{1,2}[:.]\d{2}\s*", text):
        text = f"{date.fromisoformat(day).strftime('%d.%m.%Y')} {text.strip()}"
    result = mt.parse_meeting_time(text, now, st.tz)
    if isinstance(result, mt.Invalid):
        return When(None, (Say(result.code, result.params), Say("meeting.ask_time_again")))
    deadline = st.progress.deadline
    warning = mt.check_against_deadline(result.value, deadline, st.tz) if deadline else None
    return When(result.value, (Say(warning.code, warning.params),) if warning is not None else ())


def proposal_buttons(meeting_id: int) -> Callable[[Translator], InlineKeyboardMarkup]:
    def build(t: Translator) -> InlineKeyboardMarkup:
        kb = InlineKeyboardBuilder()
        kb.button(text=t("meeting.btn.confirm"), callback_data=MeetingCb(a=MeetingAction.OK, m=meeting_id))
        kb.button(
            text=t("meeting.btn.another_time"), callback_data=MeetingCb(a=MeetingAction.ALT, m=meeting_id)
        )
        return kb.adjust(1).as_markup()

    return build


async def propose_meeting(
    repos: Repos,
    me: ParticipantDTO,
    pair_id: int,
    starts_at: datetime | None,
    fmt: str,
    place: str,
    resched_id: int | None,
    now: datetime,
    default_tz: str,
    scheduling: Scheduling,
) -> Say:
    """The last step of /meeting (or of another time): the meeting is proposed, or moved to the new time, and
    the others are asked to confirm. Nobody is told anything when the person left the pair meanwhile."""
    pair = await pair_of_member(repos, me, pair_id)
    if pair is None:
        return Say("timebound.not_in_pair")
    if starts_at is None or starts_at <= now:
        return Say("meeting.expired_proposal")
    st = await pair_state(repos, pair, now, default_tz)
    resched = await repos.meetings.get(resched_id) if resched_id else None
    if resched is None and can_propose(st.progress) is not None:
        return Say("common.stale")
    meeting, cancelled = await propose(repos, me, st, starts_at, fmt, place, now, reschedule_of=resched)
    scheduling.disarm(cancelled)
    if resched is not None:  # whoever has it in their calendar gets the new time
        await meeting_calendar.moved(repos, resched, meeting, st.members, now, st.tz)
    await notify(
        repos,
        now,
        [pid for pid in st.members if pid != me.id],
        "meeting.proposed_to_you",
        kind="meeting",
        priority=1,
        dedup=f"proposal:{meeting.id}:{meeting.sequence}",
        params=dict(
            who=me.full_name or "—",
            stage=Localized(f"meetings.stage.{meeting.stage}"),
            when=when(meeting, st.tz, now),
            fmt=Localized(f"meeting.format.{meeting.format}"),
            place=meeting.place or "—",
        ),
        buttons=proposal_buttons(meeting.id),
        # About this upcoming meeting: goes only while it still is (not moved, cancelled or begun).
        **timebound(meeting, rem.KIND_SCENARIO),
    )
    return Say("meeting.proposal_sent", {"who": await names(repos, st.members, skip=me.id)})


async def propose(
    repos: Repos,
    me: ParticipantDTO,
    state: PairState,
    starts_at: datetime,
    fmt: str,
    place: str | None,
    now: datetime,
    reschedule_of: MeetingDTO | None = None,
) -> tuple[MeetingDTO, list[int]]:
    """A new proposal, or a new time for an existing meeting (stored). Returns it and the reminder ids
    cancelled."""
    cancelled: list[int] = []
    if reschedule_of is not None:
        await repos.meetings.update(
            reschedule_of.id,
            now,
            status=MeetingStatus.PROPOSED.value,
            starts_at=starts_at,
            ends_at=starts_at + MEETING_LENGTH,
            format=fmt,
            place=place,
            proposed_by=me.id,
            sequence=reschedule_of.sequence + 1,
        )
        cancelled = await repos.reminders.cancel(meeting_id=reschedule_of.id)
        meeting = await repos.meetings.get(reschedule_of.id)
    else:
        stage = state.progress.current_stage
        assert stage is not None
        meeting = await repos.meetings.create(
            state.pair.id, stage.value, starts_at, starts_at + MEETING_LENGTH, fmt, place, me.id, now
        )
    assert meeting is not None
    await repos.audit.log("meeting.propose", now, actor_id=me.id, object_type="meeting", object_id=meeting.id)
    return meeting, cancelled


# ------------------------------------------------------------------------- confirming, moving, cancelling
async def confirm_meeting(
    repos: Repos, me: ParticipantDTO, meeting_id: int, now: datetime, default_tz: str, scheduling: Scheduling
) -> Refused | None:
    """✅ Confirm: the meeting is confirmed once; everyone's reminders are planned and armed; each member gets
    the calendar entry (.ics) and the stage's scenario. None when done."""
    found = await meeting_of(repos, me, meeting_id, now, default_tz)
    if found is None:
        return Refused.STALE
    meeting, st = found
    ids = await confirm(repos, me, meeting, st, now)
    if ids is None:
        return Refused.ALREADY
    scheduling.arm(ids)
    fresh = await repos.meetings.get(meeting.id)
    assert fresh is not None
    people = await repos.participants.get_many(st.members)
    out: list[NewMessage] = []
    for pid in st.members:
        person = people.get(pid)
        if not reachable(person):
            continue
        assert person is not None
        out.append(ics_message(fresh, person, await names(repos, st.members, skip=pid), now, st.tz))
        # Once per stage for each person: joint work's meetings share one scenario (it stays in /materials).
        dedup = f"scenario:{st.pair.id}:{fresh.stage}:{pid}"
        shown = when(fresh, st.tz, now)
        scenario = scenario_message(fresh, person, pid == st.pair.mentor_id, shown, dedup)
        if scenario is not None:
            out.append(scenario)
    await repos.outbox.enqueue(out, now)
    return None


async def confirm(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, state: PairState, now: datetime
) -> list[int] | None:
    """proposed → confirmed once; plans everyone's reminders. Returns their ids (None: nothing was done)."""
    if meeting.proposed_by == me.id and len(state.members) > 1:
        return None
    if not await repos.meetings.update(
        meeting.id, now, expect_status=(MeetingStatus.PROPOSED.value,), status=MeetingStatus.CONFIRMED.value
    ):
        return None
    _, _, settings = await programme_plan(repos, state.pair, state.tz.key)
    # Per programme (templates set them); 24 h and 1 h before by default.
    offsets = tuple(timedelta(hours=float(h)) for h in settings.get("reminder_offsets_hours") or (24, 1))
    planned = rem.plan_meeting_reminders(meeting.id, meeting.starts_at, offsets, now=now, tz=state.tz)
    planned.append(
        rem.plan_after_meeting_check(
            meeting.id, meeting.starts_at, now=now, ends_at=meeting.ends_at, tz=state.tz
        )
    )
    await repos.audit.log("meeting.confirm", now, actor_id=me.id, object_type="meeting", object_id=meeting.id)
    return await repos.reminders.add(reminder_rows(planned, state.members, now, state.pair.id))


async def open_meeting(
    repos: Repos, me: ParticipantDTO, meeting_id: int, now: datetime, default_tz: str
) -> tuple[MeetingDTO, PairState] | Refused:
    """A proposed or confirmed meeting of this person's pair, to move or cancel."""
    found = await meeting_of(repos, me, meeting_id, now, default_tz)
    if found is None:
        return Refused.STALE
    if found[0].status not in OPEN_STATUSES:
        return Refused.ALREADY
    return found


async def new_time(
    repos: Repos, me: ParticipantDTO, meeting_id: int, now: datetime, default_tz: str
) -> AskWhen | Refused:
    """Another time / reschedule: ask "when?" for this meeting."""
    found = await open_meeting(repos, me, meeting_id, now, default_tz)
    if isinstance(found, Refused):
        return found
    meeting, st = found
    return ask_when(st, now, meeting.id)


async def cancel_meeting(
    repos: Repos,
    me: ParticipantDTO,
    meeting_id: int,
    reason: str,
    now: datetime,
    default_tz: str,
    scheduling: Scheduling,
) -> Say:
    """Cancel with a reason: the meeting's reminders stop and the others are told why."""
    found = await meeting_of(repos, me, meeting_id, now, default_tz)
    if found is None:
        return Say(Refused.STALE.value)
    meeting, st = found
    cancelled = await cancel(repos, me, meeting, reason, now)
    if cancelled is None:  # held, missed or cancelled meanwhile: nothing to tell anyone
        return Say(Refused.ALREADY.value)
    scheduling.disarm(cancelled)
    await meeting_calendar.cancelled(repos, meeting, st.members, now, st.tz)  # out of their calendars
    await notify(
        repos,
        now,
        [pid for pid in st.members if pid != me.id],
        gendered("meeting.cancelled_to_you", gender_of(me.full_name)),
        kind="meeting",
        priority=1,
        dedup=f"cancel:{meeting.id}",
        params=dict(
            who=me.full_name or "—",
            stage=Localized(f"meetings.stage.{meeting.stage}"),
            when=when(meeting, st.tz, now),
            reason=reason,
        ),
    )
    return Say("meeting.cancelled")


async def cancel(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, reason: str, now: datetime
) -> list[int] | None:
    """proposed/confirmed → cancelled. Returns the reminder ids cancelled (None: it was no longer open)."""
    if not await repos.meetings.update(
        meeting.id,
        now,
        expect_status=tuple(s.value for s in OPEN_STATUSES),
        status=MeetingStatus.CANCELLED.value,
        cancel_reason=reason,
    ):
        return None
    await repos.audit.log("meeting.cancel", now, actor_id=me.id, object_type="meeting", object_id=meeting.id)
    return await repos.reminders.cancel(meeting_id=meeting.id)


# ------------------------------------------------------------------------------ did it happen? feedback
async def held(
    repos: Repos,
    engine: Engine,
    me: ParticipantDTO,
    meeting_id: int,
    now: datetime,
    default_tz: str,
    scheduling: Scheduling,
) -> FeedbackForm | Refused:
    """ "Yes, it happened": the meeting is held (once; the feedback nudges for everyone planned and armed) and
    this person's feedback form opens."""
    found = await meeting_of(repos, me, meeting_id, now, default_tz)
    if found is None:
        return Refused.STALE
    meeting, st = found
    if meeting.status == MeetingStatus.CONFIRMED:
        ids = await mark_held(repos, me, meeting, st, now)
        if ids:
            scheduling.arm(ids)
    elif meeting.status != MeetingStatus.HELD:
        return Refused.ALREADY
    return await feedback_form(repos, engine, me, meeting, now)


async def feedback(
    repos: Repos, engine: Engine, me: ParticipantDTO, meeting_id: int, now: datetime, default_tz: str
) -> FeedbackForm | Refused:
    """ "Leave feedback" on a held meeting."""
    found = await meeting_of(repos, me, meeting_id, now, default_tz)
    if found is None:
        return Refused.STALE
    if found[0].status != MeetingStatus.HELD:
        return Refused.ALREADY
    return await feedback_form(repos, engine, me, found[0], now)


async def feedback_form(
    repos: Repos, engine: Engine, me: ParticipantDTO, meeting: MeetingDTO, now: datetime
) -> FeedbackForm:
    ctx = feedback_context(meeting.id)
    if await repos.forms.latest_submitted(me.id, FEEDBACK_FORM, ctx) is not None:
        return FeedbackForm(None)
    goals = await repos.meetings.goals(meeting.pair_id) if meeting.stage == Stage.JOINT_WORK else []
    response = await engine.begin(repos, me.id, FEEDBACK_FORM, now, context=ctx)
    return FeedbackForm(response, tuple(goals))


async def missed(
    repos: Repos, me: ParticipantDTO, meeting_id: int, now: datetime, default_tz: str, scheduling: Scheduling
) -> AskWhen | Refused:
    """ "No, it did not happen": the meeting is missed, its reminders stop, and a new time is asked for."""
    found = await meeting_of(repos, me, meeting_id, now, default_tz)
    if found is None:
        return Refused.STALE
    meeting, st = found
    cancelled = await mark_missed(repos, me, meeting, now)
    if cancelled is None:
        return Refused.ALREADY
    scheduling.disarm(cancelled)
    return ask_when(await pair_state(repos, st.pair, now, default_tz), now)


async def mark_held(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, state: PairState, now: datetime
) -> list[int] | None:
    """confirmed → held (once); plans the feedback nudges for everyone who owes feedback."""
    if not await repos.meetings.update(
        meeting.id,
        now,
        expect_status=(MeetingStatus.CONFIRMED.value,),
        status=MeetingStatus.HELD.value,
        held_at=now,
    ):
        return None
    await repos.reminders.cancel(meeting_id=meeting.id, kinds=(rem.KIND_AFTER_CHECK,))
    rows = []
    for pid in state.members:
        planned = rem.plan_feedback_nudges(meeting.id, now, now=now, participant_id=pid, tz=state.tz)
        rows += reminder_rows(planned, (pid,), now, state.pair.id)
    await repos.audit.log("meeting.held", now, actor_id=me.id, object_type="meeting", object_id=meeting.id)
    return await repos.reminders.add(rows)


async def mark_missed(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, now: datetime
) -> list[int] | None:
    if not await repos.meetings.update(
        meeting.id,
        now,
        expect_status=(MeetingStatus.CONFIRMED.value,),
        status=MeetingStatus.MISSED.value,
    ):
        return None
    return await repos.reminders.cancel(meeting_id=meeting.id)


async def feedback_submitted(
    repos: Repos, response: FormResponseDTO, me: ParticipantDTO, now: datetime, default_tz: str = DEFAULT_TZ
) -> Submitted:
    """A meeting's feedback form was submitted (its row in bot.services.submissions). The person is thanked,
    or told the others' feedback is awaited; when it completes the stage every member hears so, and the final
    stage finishes the pair (the final survey is offered). After the planning meeting the mentor is asked for
    the development plan."""
    if not (response.context or "").startswith("meeting:"):
        return Submitted(say=(Say("timebound.feedback_thanks"),))
    meeting_id = int(response.context.split(":")[1])
    result = await after_feedback(repos, me.id, meeting_id, now, default_tz)
    if result is None:  # the pair ended or the person left it while filling in the form
        return Submitted(say=(Say("timebound.feedback_not_in_pair"),))
    st, completed = result
    # One message answers the submission; the stage news goes to every member on its own.
    waiting = completed is None and st.progress.blocked_on_feedback_from
    say = [Say("timebound.feedback_waiting" if waiting else "timebound.feedback_thanks")]
    if completed == Stage.FINAL:
        # The pair's one goodbye is completion's, with the final survey: no "all stages done" beside it, and
        # the last to send feedback is not thanked for it a minute before being thanked for the programme.
        say = []
        await completion.pair_finished(repos, st.pair.id, now)
    elif completed is not None:
        nxt = st.progress.current_stage
        await notify(
            repos,
            now,
            st.members,
            "meeting.stage_done_next" if nxt else "meeting.all_stages_done",
            kind="meeting",
            priority=1,
            dedup=f"stage-done:{st.pair.id}:{completed.value}",
            params=dict(
                stage=Localized(f"meetings.stage.{completed.value}"),
                next=Localized(f"meetings.stage.{nxt.value}") if nxt else "",
            ),
        )
        if nxt == Stage.TRIAL:  # whoever skipped the entry self-assessment is asked once more, before it
            await selfcheck.ask_again(repos, st.pair, now)
    meeting = await repos.meetings.get(meeting_id)
    if (
        meeting is not None
        and meeting.stage == Stage.PLANNING
        and st.pair.mentor_id == me.id
        and not await repos.meetings.goals(st.pair.id)
    ):
        say.append(Say("meeting.goals_prompt"))
        return Submitted(say=tuple(say), then=GOALS_STATE, state_data={"pair": st.pair.id})
    return Submitted(say=tuple(say))


async def after_feedback(
    repos: Repos, participant_id: int, meeting_id: int, now: datetime, default_tz: str
) -> tuple[PairState, Stage | None] | None:
    """Feedback came in: stop its nudges and move the pair on if its stage is now complete.
    Returns the new state and the stage just completed (None if none); None when the person is no longer in
    the active pair."""
    meeting = await repos.meetings.get(meeting_id)
    if meeting is None:
        return None
    await repos.reminders.cancel(meeting_id=meeting_id, participant_id=participant_id)
    pair = await repos.pairs.get(meeting.pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE or participant_id not in members(pair):
        return None  # removed from the pair (or it ended) meanwhile: their answers move nothing on
    state = await pair_state(repos, pair, now, default_tz)
    current = state.progress.current_stage
    if current is None:
        await repos.pairs.set_stage(pair.id, Stage.FINAL.value, finished=True, now=now)
        return state, Stage.FINAL
    if current.value != pair.stage:
        done = Stage(pair.stage)
        await repos.pairs.set_stage(pair.id, current.value)
        await repos.reminders.cancel(pair_id=pair.id, kinds=(rem.KIND_STAGE_DEADLINE,))
        await repos.audit.log("pair.stage", now, object_type="pair", object_id=pair.id, stage=current.value)
        return state, done
    return state, None


# ---------------------------------------------------------------------- /meetings, the development plan
async def overviews(repos: Repos, me: ParticipantDTO, now: datetime, default_tz: str) -> list[Overview]:
    """/meetings: each of the person's pairs (someone in several programmes sees each)."""
    out = []
    for pair in await pairs_of(repos, me):
        st = await pair_state(repos, pair, now, default_tz)
        upcoming = tuple(m for m in st.meetings if m.status in OPEN_STATUSES and m.starts_at >= now)
        owed = tuple(st.progress.owes_feedback(me.id))
        out.append(Overview(st, await names(repos, st.members, skip=me.id), upcoming, owed))
    return out


async def goals_of(repos: Repos, me: ParticipantDTO, pair: PairDTO) -> Goals:
    return Goals(tuple(await repos.meetings.goals(pair.id)), pair.mentor_id == me.id)


async def add_goal(
    repos: Repos, me: ParticipantDTO | None, pair_id: int, text: str, now: datetime, tz: ZoneInfo
) -> GoalAdded:
    """The mentor typed a goal of the development plan: "text — DD.MM.YYYY", a date not in the past."""
    pair = await pair_of_member(repos, me, pair_id)
    if pair is None:
        return GoalAdded.NOT_IN_PAIR
    if me is None or pair.mentor_id != me.id:
        return GoalAdded.NOT_MENTOR
    match = GOAL_RE.match(text.strip())
    target = None
    for fmt in ("%d.%m.%Y", "%d.%m.%y") if match else ():
        try:
            target = datetime.strptime(match["date"], fmt).date()
            break
        except ValueError:
            continue
    if match is None or target is None or target < now.astimezone(tz).date():
        return GoalAdded.BAD
    await repos.meetings.add_goal(pair.id, " ".join(match["text"].split()), target, now)
    return GoalAdded.ADDED


# ----------------------------------------------------------------------------- the curator and late pairs
async def nudge_pair(repos: Repos, me: ParticipantDTO, pair_id: int, now: datetime) -> bool:
    """The curator's 🔔 from the digest: every member is reminded of the stage (once a day). False: the pair
    is no longer active."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != PairStatus.ACTIVE:
        return False
    await notify(
        repos,
        now,
        members(pair),
        "meeting.curator_nudge",
        kind="meeting",
        priority=1,
        dedup=f"curator-nudge:{pair.id}:{now.date().isoformat()}",
        params={"stage": Localized(f"meetings.stage.{pair.stage}")},
    )
    await repos.audit.log("pair.nudge", now, actor_id=me.id, object_type="pair", object_id=pair.id)
    return True


async def pair_card(repos: Repos, pair_id: int, now: datetime, default_tz: str) -> PairCard | None:
    pair = await repos.pairs.get(pair_id)
    if pair is None:
        return None
    st = await pair_state(repos, pair, now, default_tz)
    waiting = st.progress.blocked_on_feedback_from
    return PairCard(st, await names(repos, st.members), await names(repos, list(waiting)) if waiting else "")


async def toggle_alerts(repos: Repos, me: ParticipantDTO, now: datetime) -> bool:
    """/alerts: immediate alerts when a pair becomes overdue, on or off (the daily digest comes either way).
    One switch for every programme: on when it was off in all of them (a new programme starts off)."""
    active = await repos.programmes.active()
    on = not any(me.id in (p.settings.get("immediate_alerts") or []) for p in active)
    for programme in active:
        chosen = set(programme.settings.get("immediate_alerts") or [])
        chosen = chosen | {me.id} if on else chosen - {me.id}
        await repos.programmes.update_settings(
            programme.id, {**programme.settings, "immediate_alerts": sorted(chosen)}
        )
    await repos.audit.log("curator.alerts", now, actor_id=me.id, on=on)
    return on


# ------------------------------------------------------------------------------ reminders and messages
def reminder_rows(
    planned: list[rem.PlannedReminder], members: tuple[int, ...], now: datetime, pair_id: int
) -> list[dict]:
    return [
        dict(
            kind=p.kind,
            due_at=p.due_at,
            status=ReminderStatus.PENDING,
            urgent=p.urgent,
            dedup_key=f"{p.dedup_key}:p{pid}",
            participant_id=pid,
            meeting_id=p.meeting_id,
            pair_id=pair_id,
            meeting_starts_at=p.meeting_starts_at,
            created_at=now,
        )
        for p in planned
        for pid in members
    ]


def ics_message(
    meeting: MeetingDTO, person: ParticipantDTO, other_names: str, now: datetime, tz: ZoneInfo
) -> NewMessage:
    t = Translator(person.language)
    stage = t(f"meetings.stage.{meeting.stage}")
    summary = t("meeting.ics_summary", stage=stage, with_=other_names)
    description = t("meeting.ics_description", stage=stage, place=meeting.place or "—")
    data = ics.make_ics(
        ics.meeting_uid(meeting.id),
        meeting.starts_at,
        meeting.ends_at,
        summary,
        description,
        location=meeting.place if meeting.format == "offline" else None,
        url=meeting.place
        if meeting.format == "online" and (meeting.place or "").startswith(("http://", "https://"))
        else None,
        now=now,
        sequence=meeting.sequence,
    )
    assert person.telegram_id is not None
    shown = when(meeting, tz, now)(t)
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        kind="meeting_ics",
        priority=1,
        method="sendDocument",
        text=t("meeting.confirmed_caption", stage=stage, when=shown),
        dedup_key=f"ics:{meeting.id}:{meeting.sequence}:{person.id}",
        extra={
            "file_b64": base64.b64encode(data).decode(),
            "filename": file_name(t, "meeting", "ics", number=meeting.id),
        },
        **timebound(meeting, rem.KIND_SCENARIO),  # a calendar entry, too, is for before the meeting
    )


def scenario_message(
    meeting: MeetingDTO, person: ParticipantDTO, is_mentor: bool, at: MeetingTime, dedup: str
) -> NewMessage | None:
    """The stage's meeting scenario: the full version for the mentor, the short one for a mentee."""
    if person.telegram_id is None:
        return None
    t = Translator(person.language)
    try:
        body = mat.scenario_for(meeting.stage, "mentor" if is_mentor else "mentee", person.language)
    except (KeyError, ValueError):
        return None
    header = t("meeting.scenario_header", stage=t(f"meetings.stage.{meeting.stage}"), when=at(t))
    body = f"{body}\n\n{t('meeting.scenario_kept')}"
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        kind="scenario",
        priority=4,
        text=f"{header}\n\n{body}",
        dedup_key=dedup,
        **timebound(meeting, rem.KIND_SCENARIO),
    )


def timebound(meeting: MeetingDTO, kind: str) -> dict:
    """What the sender re-checks before a message about this meeting leaves: its deadline for this kind of
    message, the meeting at this very time (its sequence), the pair (still active, the person still in it)."""
    return dict(
        expires_at=rem.valid_until(kind, meeting.starts_at),
        meeting_id=meeting.id,
        meeting_sequence=meeting.sequence,
        pair_id=meeting.pair_id,
    )
