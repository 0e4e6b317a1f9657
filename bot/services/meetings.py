"""The meeting sequence of a pair: proposing, confirming, rescheduling, cancelling, marking held, feedback and
stage progress. Reminders are rows planned here; scheduler/ fires them. No Telegram in this module."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import ics
from bot.domain import materials as mat
from bot.domain import reminders as rem
from bot.domain.entities import MeetingDTO, NewMessage, PairDTO, ParticipantDTO
from bot.domain.stages import (
    MeetingRecord,
    MeetingStatus,
    PairProgress,
    Stage,
    StagePlan,
    progress,
)
from bot.filenames import file_name
from bot.i18n import Translator
from storage.uow import Repos

MEETING_LENGTH = timedelta(hours=1)
FEEDBACK_FORM = "meeting_feedback"


@dataclass(frozen=True)
class PairState:
    pair: PairDTO
    plan: StagePlan
    progress: PairProgress
    members: tuple[int, ...]  # mentor first, then mentees
    meetings: list[MeetingDTO]
    tz: ZoneInfo


def feedback_context(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


async def programme_plan(repos: Repos, pair: PairDTO, default_tz: str) -> tuple[StagePlan, ZoneInfo, dict]:
    programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
    settings = programme.settings if programme else {}
    plan = StagePlan.from_mapping(settings.get("stage_plan"))
    return plan, ZoneInfo(programme.timezone if programme else default_tz), settings


async def pair_state(repos: Repos, pair: PairDTO, now: datetime, default_tz: str) -> PairState:
    plan, tz, _ = await programme_plan(repos, pair, default_tz)
    meetings = await repos.meetings.for_pair(pair.id)
    fb = await repos.meetings.feedback_from([m.id for m in meetings])
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
    members = (pair.mentor_id, *pair.mentee_ids)
    prog = progress(plan, members, records, pair.created_at.astimezone(tz).date(), now.astimezone(tz).date())
    return PairState(pair, plan, prog, members, meetings, tz)


async def pair_of_member(repos: Repos, me: ParticipantDTO, pair_id: int) -> PairDTO | None:
    """The pair, if it is active and this person is in it now (its mentor or a mentee who has not left)."""
    pair = await repos.pairs.get(pair_id)
    if pair is None or pair.status != "active" or me.id not in (pair.mentor_id, *pair.mentee_ids):
        return None
    return pair


async def pairs_of(repos: Repos, me: ParticipantDTO) -> list[PairDTO]:
    """Every active pair or group the person is in — as a mentee or as the mentor — across programmes."""
    pairs = await repos.pairs.all_active_of_mentee(me.id)
    seen = {p.id for p in pairs}
    return pairs + [p for p in await repos.pairs.led_by(me.id) if p.id not in seen]


def reminder_rows(
    planned: list[rem.PlannedReminder], members: tuple[int, ...], now: datetime, pair_id: int
) -> list[dict]:
    return [
        dict(
            kind=p.kind,
            due_at=p.due_at,
            status="pending",
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
    """A new proposal, or a new time for an existing meeting. Returns it and the reminder ids cancelled."""
    cancelled: list[int] = []
    if reschedule_of is not None:
        await repos.meetings.update(
            reschedule_of.id,
            now,
            status="proposed",
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


async def confirm(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, state: PairState, now: datetime
) -> list[int] | None:
    """proposed → confirmed once; plans everyone's reminders. Returns their ids (None: nothing was done)."""
    if meeting.proposed_by == me.id and len(state.members) > 1:
        return None
    if not await repos.meetings.update(meeting.id, now, expect_status=("proposed",), status="confirmed"):
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


async def cancel(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, reason: str, now: datetime
) -> list[int]:
    if not await repos.meetings.update(
        meeting.id, now, expect_status=("proposed", "confirmed"), status="cancelled", cancel_reason=reason
    ):
        return []
    await repos.audit.log("meeting.cancel", now, actor_id=me.id, object_type="meeting", object_id=meeting.id)
    return await repos.reminders.cancel(meeting_id=meeting.id)


async def mark_held(
    repos: Repos, me: ParticipantDTO, meeting: MeetingDTO, state: PairState, now: datetime
) -> list[int] | None:
    """confirmed → held (once); plans the feedback nudges for everyone who owes feedback."""
    if not await repos.meetings.update(
        meeting.id, now, expect_status=("confirmed",), status="held", held_at=now
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
    if not await repos.meetings.update(meeting.id, now, expect_status=("confirmed",), status="missed"):
        return None
    return await repos.reminders.cancel(meeting_id=meeting.id)


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
    if pair is None or pair.status != "active" or participant_id not in (pair.mentor_id, *pair.mentee_ids):
        return None  # removed from the pair (or it ended) meanwhile: their answers move nothing on
    state = await pair_state(repos, pair, now, default_tz)
    current = state.progress.current_stage
    if current is None:
        if pair.status == "active":
            await repos.pairs.set_stage(pair.id, Stage.FINAL.value, finished=True, now=now)
            return state, Stage.FINAL
        return state, None
    if current.value != pair.stage:
        done = Stage(pair.stage)
        await repos.pairs.set_stage(pair.id, current.value)
        await repos.reminders.cancel(pair_id=pair.id, kinds=(rem.KIND_STAGE_DEADLINE,))
        await repos.audit.log("pair.stage", now, object_type="pair", object_id=pair.id, stage=current.value)
        return state, done
    return state, None


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
    when = meeting.starts_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        kind="meeting_ics",
        priority=1,
        method="sendDocument",
        text=t("meeting.confirmed_caption", stage=stage, when=when),
        dedup_key=f"ics:{meeting.id}:{meeting.sequence}:{person.id}",
        extra={
            "file_b64": base64.b64encode(data).decode(),
            "filename": file_name(t, "meeting", "ics", number=meeting.id),
        },
        **timebound(meeting, rem.KIND_SCENARIO),  # a calendar entry, too, is for before the meeting
    )


def local_date(dt: datetime, tz: ZoneInfo) -> date:
    return dt.astimezone(tz).date()


def scenario_message(
    meeting: MeetingDTO, person: ParticipantDTO, is_mentor: bool, when: str, dedup: str
) -> NewMessage | None:
    """The stage's meeting scenario: the full version for the mentor, the short one for a mentee."""
    if person.telegram_id is None:
        return None
    t = Translator(person.language)
    try:
        body = mat.scenario_for(meeting.stage, "mentor" if is_mentor else "mentee", person.language)
    except (KeyError, ValueError):
        return None
    header = t("meeting.scenario_header", stage=t(f"meetings.stage.{meeting.stage}"), when=when)
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
