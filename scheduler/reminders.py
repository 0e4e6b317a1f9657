"""Reminders: rows in the database, fired exactly once through the outbox.

Reminders are grouped per due second: APScheduler holds one DateTrigger job per due second (and misfire
grace), not one per reminder, with a stable id (replace_existing), re-armed from the database at start; each
job fires everything then due, in batches of one transaction. A sweep every minute is the safety net.
Firing moves the row pending → sent (or dropped, or expired) in the same transaction that enqueues the
message, whose dedup key is the reminder's own, so a double fire, a restart or two instances can never send
it twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.meetings import MeetingAction, MeetingCb
from bot.clock import Clock
from bot.domain import reminders as rem
from bot.domain.entities import MeetingDTO, NewMessage, PairStatus, ParticipantDTO, ReminderDTO, Status
from bot.domain.register import of_person
from bot.domain.stages import OPEN_STATUSES
from bot.domain.statuses import ReminderStatus
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services.meetings import when
from storage.uow import Repos, unit_of_work

log = logging.getLogger(__name__)
BATCH = 200
_Text = tuple[str, dict, dict | None]  # locale key, its parameters, the keyboard


def _kb(*buttons: tuple[str, MeetingCb]) -> dict:
    """Buttons one under another, as the outbox stores a keyboard."""
    kb = InlineKeyboardBuilder()
    for text, data in buttons:
        kb.button(text=text, callback_data=data)
    return kb.adjust(1).as_markup().model_dump(exclude_none=True)


def _about_meeting(r: ReminderDTO, t: Translator, meeting: MeetingDTO, tz: ZoneInfo) -> _Text | None:
    """The text and buttons of a reminder about a meeting (before it, "did it happen?", feedback)."""
    params = dict(
        stage=t(f"meetings.stage.{meeting.stage}"),
        when=when(meeting, tz, r.due_at)(t),
        place=meeting.place or "—",
        fmt=t(f"meeting.format.{meeting.format}"),
    )
    if rem.is_before_meeting(r.kind):
        return "meeting.remind.before_1h" if r.urgent else "meeting.remind.before", params, None
    if r.kind == rem.KIND_AFTER_CHECK:
        markup = _kb(
            (t("meeting.btn.held_yes"), MeetingCb(a=MeetingAction.YES, m=meeting.id)),
            (t("meeting.btn.held_no"), MeetingCb(a=MeetingAction.NO, m=meeting.id)),
        )
        return "meeting.remind.after_check", params, markup
    if r.kind.startswith(rem.FEEDBACK_PREFIX):
        markup = _kb((t("meeting.btn.feedback"), MeetingCb(a=MeetingAction.FB, m=meeting.id)))
        return "meeting.remind.feedback", params, markup
    return None


async def _stage_deadline(repos: Repos, r: ReminderDTO, t: Translator) -> _Text | None:
    """The nudge before a stage's deadline, unless the pair ended, the stage is done or a meeting of it is
    scheduled since."""
    pair = await repos.pairs.get(r.pair_id) if r.pair_id is not None else None
    if pair is None or pair.status != PairStatus.ACTIVE:
        return None
    # The key names the stage the nudge was planned for ("pair:<id>:stage_deadline:<stage>:…").
    planned_for = r.dedup_key.split(":")[3] if r.dedup_key.count(":") >= 3 else pair.stage
    if planned_for != pair.stage:
        return None  # that stage is done: a nudge now would name the wrong stage
    meetings = await repos.meetings.for_pair(pair.id)
    if any(m.stage == pair.stage and m.status in OPEN_STATUSES for m in meetings):
        return None  # a meeting was scheduled since: no nudge needed
    return "meeting.remind.stage_deadline", {"stage": t(f"meetings.stage.{pair.stage}")}, None


async def compose(
    repos: Repos,
    r: ReminderDTO,
    tz: ZoneInfo,
    people: dict[int, ParticipantDTO] | None = None,
    meetings_by_id: dict[int, MeetingDTO] | None = None,
) -> list[NewMessage]:
    """The messages of one reminder (none if it has nothing left to say). ``people`` and ``meetings_by_id``
    are what a batch already loaded."""
    person = (
        people[r.participant_id]
        if people is not None and r.participant_id in people
        else await repos.participants.get(r.participant_id)
    )
    if person is None or person.telegram_id is None or person.status == Status.WITHDRAWN.value:
        return []
    t = Translator(person.language, of_person(person).value)  # a pupil reads «ты»
    meeting = None
    if r.meeting_id:
        meeting = (
            meetings_by_id[r.meeting_id]
            if meetings_by_id is not None and r.meeting_id in meetings_by_id
            else await repos.meetings.get(r.meeting_id)
        )
    if meeting is not None and r.kind != rem.KIND_STAGE_DEADLINE:
        found = _about_meeting(r, t, meeting, tz)
    elif r.kind == rem.KIND_STAGE_DEADLINE:
        found = await _stage_deadline(repos, r, t)
    else:
        found = None
    if found is None:
        return []
    key, params, markup = found
    text = t(key, **params)
    if meeting is not None and rem.is_before_meeting(r.kind) and not r.urgent:
        # The stage's scenario came once, with its first confirmed meeting: pointed to, not sent again.
        text = f"{text}\n{t('meeting.remind.scenario_in_materials')}"
    out = [
        NewMessage(
            chat_id=person.telegram_id,
            participant_id=person.id,
            kind=f"reminder:{r.kind}",
            text=text,
            dedup_key=f"reminder:{r.dedup_key}",
            reply_markup=markup,
            priority=1 if r.urgent else 4,
            # Re-checked by the sender: a reminder still queued when the bot stopped is not sent past its
            # meaning, nor about a meeting that was moved or cancelled, nor to someone who left the pair.
            expires_at=rem.valid_until(r.kind, meeting.starts_at if meeting is not None else None),
            meeting_id=meeting.id if meeting is not None else None,
            meeting_sequence=meeting.sequence if meeting is not None else None,
            pair_id=r.pair_id,
        )
    ]
    return out


def _planned(r: ReminderDTO) -> rem.PlannedReminder:
    return rem.PlannedReminder(
        kind=r.kind,
        due_at=r.due_at,
        urgent=r.urgent,
        dedup_key=r.dedup_key,
        meeting_id=r.meeting_id,
        meeting_starts_at=r.meeting_starts_at,
        participant_id=r.participant_id,
        pair_id=r.pair_id,
    )


async def fire_batch(repos: Repos, due: list[ReminderDTO], now: datetime, tz: ZoneInfo) -> list[str]:
    """Fire many due reminders in one transaction: everything is read and composed first, then a few
    statements move the rows pending → sent/dropped/expired (only rows still pending: RETURNING tells which)
    and enqueue the messages of exactly those, in the order of ``due``. The write lock is held for the writes
    only.

    A reminder that is no longer meaningful (the domain's ``valid_until``), or that a later reminder of the
    same meeting to the same person makes pointless (that one is due too), expires: kept and counted, never
    sent late."""
    people = await repos.participants.get_many({r.participant_id for r in due})
    meeting_ids = {r.meeting_id for r in due if r.meeting_id}
    meetings_by_id = await repos.meetings.get_many(meeting_ids)
    pair_status = await repos.pairs.statuses({r.pair_id for r in due if r.pair_id})
    # The later reminder may sit in the next batch: look at every passed one of these meetings.
    passed = {r.id: r for r in await repos.reminders.due_for_meetings(meeting_ids, now)} | {
        r.id: r for r in due
    }
    beaten = rem.superseded([_planned(r) for r in passed.values()], now)
    late: list[int] = []
    outdone: list[int] = []
    silent: list[int] = []
    messages: dict[int, list[NewMessage]] = {}
    for r in due:
        if r.dedup_key in beaten:
            outdone.append(r.id)
            continue
        if not rem.still_meaningful(_planned(r), now):
            late.append(r.id)
            continue
        # A pair that ended (dissolved, closed) gets no more reminders, whatever was still pending.
        ended = r.pair_id is not None and pair_status.get(r.pair_id, PairStatus.ACTIVE) != PairStatus.ACTIVE
        out = [] if ended else await compose(repos, r, tz, people, meetings_by_id)
        if out:
            messages[r.id] = out
        else:
            silent.append(r.id)
    expired = await repos.reminders.finish_many(
        outdone, ReminderStatus.EXPIRED, now, note="superseded by a later reminder"
    )
    expired |= await repos.reminders.finish_many(
        late, ReminderStatus.EXPIRED, now, note="no longer meaningful"
    )
    for r in due:
        if r.id in expired:
            log.info(
                "reminder %s (%s) expired: fell due while the bot was down and is no longer meaningful",
                r.id,
                r.kind,
            )
    dropped = await repos.reminders.finish_many(silent, ReminderStatus.DROPPED, now, note="nothing to say")
    sent = await repos.reminders.finish_many(list(messages), ReminderStatus.SENT, now)
    await repos.outbox.enqueue([m for rid in messages if rid in sent for m in messages[rid]], now)
    return [
        ReminderStatus.SENT
        if r.id in sent
        else ReminderStatus.EXPIRED
        if r.id in expired
        else ReminderStatus.DROPPED
        if r.id in dropped
        else "skipped"
        for r in due
    ]


async def fire(repos: Repos, reminder_id: int, now: datetime, tz: ZoneInfo) -> str:
    """Send one reminder if it is still pending and still meaningful. Returns what happened."""
    r = await repos.reminders.get(reminder_id)
    if r is None or r.status != ReminderStatus.PENDING:
        return "skipped"
    return (await fire_batch(repos, [r], now, tz))[0]


class ReminderScheduler:
    def __init__(
        self,
        sched: AsyncIOScheduler,
        factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        timezone: str,
        on_enqueue: object = None,
    ) -> None:
        self.sched = sched
        self.factory = factory
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self.on_enqueue = on_enqueue
        self.fired: dict[str, int] = {
            ReminderStatus.SENT: 0,
            ReminderStatus.EXPIRED: 0,
            ReminderStatus.DROPPED: 0,
            "skipped": 0,
        }
        self._slots = asyncio.Semaphore(4)
        self._sweeping = False
        self._again = False
        # Which job fires which reminder (rebuilt from the database at start by rearm_all).
        self._job_of: dict[int, str] = {}
        self._members: dict[str, set[int]] = {}

    def arm(self, reminders: list[ReminderDTO]) -> None:
        """One APScheduler job per due second (and misfire grace): thousands of reminders due in the same
        minute are a few dozen jobs, each firing everything due in batches. The job id is stable (the due
        second and the grace), so arming again replaces rather than duplicates."""
        for r in reminders:
            grace = rem.misfire_grace_seconds(r.kind)
            due = r.due_at.replace(microsecond=0) + (
                timedelta(seconds=1) if r.due_at.microsecond else timedelta()
            )
            job_id = f"reminders:{due.astimezone(UTC).strftime('%Y%m%dT%H%M%S')}:{grace}"
            old = self._job_of.get(r.id)
            if old is not None and old != job_id:
                self._forget(r.id)
            members = self._members.setdefault(job_id, set())
            members.add(r.id)
            self._job_of[r.id] = job_id
            if len(members) == 1 or self.sched.get_job(job_id) is None:
                self.sched.add_job(
                    self._job,
                    DateTrigger(run_date=due),
                    args=[job_id],
                    id=job_id,
                    replace_existing=True,
                    coalesce=True,
                    misfire_grace_time=grace,
                )

    def armed(self, reminder_id: int) -> bool:
        """Whether a scheduler job will fire this reminder."""
        job_id = self._job_of.get(reminder_id)
        return job_id is not None and self.sched.get_job(job_id) is not None

    def _forget(self, reminder_id: int) -> None:
        job_id = self._job_of.pop(reminder_id, None)
        if job_id is None:
            return
        members = self._members.get(job_id)
        if members is not None:
            members.discard(reminder_id)
            if not members:
                del self._members[job_id]
                job = self.sched.get_job(job_id)
                if job is not None:
                    job.remove()

    def disarm(self, ids: list[int]) -> None:
        for rid in ids:
            self._forget(rid)

    async def arm_ids(self, ids: list[int]) -> None:
        async with unit_of_work(self.factory) as repos:
            rows = [
                r
                for rid in ids
                if (r := await repos.reminders.get(rid)) and r.status == ReminderStatus.PENDING
            ]
        self.arm(rows)

    async def fire_one(self, reminder_id: int) -> str:
        async with self._slots, unit_of_work(self.factory) as repos:
            outcome = await fire(repos, reminder_id, self.clock(), self.tz)
        self.fired[outcome] += 1
        if outcome == ReminderStatus.SENT and callable(self.on_enqueue):
            self.on_enqueue()
        return outcome

    async def fire_due(self, *, newest_first: bool = False) -> int:
        """Fire everything pending whose time has come, in batches of one transaction each.

        Every reminder job, the minute sweep and the start-up catch-up land here. A burst of thousands of
        reminders due in the same minute thus costs a few dozen transactions instead of one per reminder
        (and does not starve the sender of connections). A call while a sweep runs makes it look once more.
        ``newest_first`` (the catch-up after downtime): the most recent reminders go out first."""
        if self._sweeping:
            self._again = True
            return 0
        self._sweeping, total = True, 0
        try:
            while True:
                self._again = False
                now = self.clock()
                async with unit_of_work(self.factory) as repos:
                    due = await repos.reminders.due(now, limit=BATCH, newest_first=newest_first)
                    outcomes = await fire_batch(repos, due, now, self.tz)
                for outcome in outcomes:
                    self.fired[outcome] += 1
                if ReminderStatus.SENT in outcomes and callable(self.on_enqueue):
                    self.on_enqueue()
                total += len(due)
                if len(due) < BATCH and not self._again:
                    return total
        finally:
            self._sweeping = False

    async def _job(self, job_id: str) -> None:
        """A due second's APScheduler job: its reminders (and anything else due) go out now."""
        for rid in self._members.pop(job_id, set()):
            self._job_of.pop(rid, None)
        await self.fire_due()

    async def rearm_all(self) -> None:
        """At start: what fell due while down goes now, newest first and only if still meaningful (a reminder
        superseded by a later one, or past its meaning, expires); the rest is armed."""
        await self.fire_due(newest_first=True)
        async with unit_of_work(self.factory) as repos:
            pending = await repos.reminders.pending()
        self.arm([r for r in pending if r.due_at > self.clock() - timedelta(seconds=1)])
        log.info("reminders re-armed: %d pending", len(pending))
