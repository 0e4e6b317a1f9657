"""Reminders: rows in the database, fired exactly once through the outbox.

APScheduler holds one DateTrigger job per pending reminder (stable id, replace_existing), re-armed from the
database at start; a sweep every minute is the safety net. Firing moves the row pending → sent (or dropped)
in the same transaction that enqueues the message, whose dedup key is the reminder's own, so a double fire,
a restart or two instances can never send it twice."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.domain import reminders as rem
from bot.domain.entities import NewMessage, ReminderDTO, Status
from bot.i18n import Translator
from bot.services.meetings import scenario_message
from handlers.callbacks import MeetingCb
from storage.uow import Repos, unit_of_work

log = logging.getLogger(__name__)
BATCH = 200


def _kb(*buttons: tuple[str, str]) -> dict:
    return {"inline_keyboard": [[{"text": text, "callback_data": data}] for text, data in buttons]}


async def compose(repos: Repos, r: ReminderDTO, tz: ZoneInfo) -> list[NewMessage]:
    person = await repos.participants.get(r.participant_id)
    if person is None or person.telegram_id is None or person.status == Status.WITHDRAWN.value:
        return []
    t = Translator(person.language)
    meeting = await repos.meetings.get(r.meeting_id) if r.meeting_id else None
    markup = None
    params: dict = {}
    if meeting is not None:
        params = dict(
            stage=t(f"meetings.stage.{meeting.stage}"),
            when=meeting.starts_at.astimezone(tz).strftime("%d.%m.%Y %H:%M"),
            place=meeting.place or "—",
            fmt=t(f"meeting.format.{meeting.format}"),
        )
    if rem.is_before_meeting(r.kind) and meeting is not None:
        key = "meeting.remind.before_1h" if r.urgent else "meeting.remind.before"
    elif r.kind == rem.KIND_AFTER_CHECK and meeting is not None:
        key = "meeting.remind.after_check"
        markup = _kb(
            (t("meeting.btn.held_yes"), MeetingCb(a="yes", m=meeting.id).pack()),
            (t("meeting.btn.held_no"), MeetingCb(a="no", m=meeting.id).pack()),
        )
    elif r.kind.startswith(rem.FEEDBACK_PREFIX) and meeting is not None:
        key = "meeting.remind.feedback"
        markup = _kb((t("meeting.btn.feedback"), MeetingCb(a="fb", m=meeting.id).pack()))
    elif r.kind == rem.KIND_STAGE_DEADLINE and r.pair_id is not None:
        pair = await repos.pairs.get(r.pair_id)
        if pair is None or pair.status != "active":
            return []
        # The key names the stage the nudge was planned for ("pair:<id>:stage_deadline:<stage>:…").
        planned_for = r.dedup_key.split(":")[3] if r.dedup_key.count(":") >= 3 else pair.stage
        if planned_for != pair.stage:
            return []  # that stage is done: a nudge now would name the wrong stage
        meetings = await repos.meetings.for_pair(pair.id)
        if any(m.stage == pair.stage and m.status in ("proposed", "confirmed") for m in meetings):
            return []  # a meeting was scheduled since: no nudge needed
        key, params = "meeting.remind.stage_deadline", {"stage": t(f"meetings.stage.{pair.stage}")}
    else:
        return []
    out = [
        NewMessage(
            chat_id=person.telegram_id,
            participant_id=person.id,
            kind=f"reminder:{r.kind}",
            text=t(key, **params),
            dedup_key=f"reminder:{r.dedup_key}",
            reply_markup=markup,
            priority=1 if r.urgent else 4,
        )
    ]
    if r.kind == "before_24h" and meeting is not None:
        # The day before, the stage's scenario comes again: the mentor's full one, the mentee's short one.
        pair = await repos.pairs.get(meeting.pair_id)
        scenario = scenario_message(
            meeting,
            person,
            pair is not None and pair.mentor_id == person.id,
            params["when"],
            f"reminder:{r.dedup_key}:scenario",
        )
        if scenario is not None:
            out.append(scenario)
    return out


async def fire(repos: Repos, reminder_id: int, now: datetime, tz: ZoneInfo) -> str:
    """Send one reminder if it is still pending and still meaningful. Returns what happened."""
    r = await repos.reminders.get(reminder_id)
    if r is None or r.status != "pending":
        return "skipped"
    planned = rem.PlannedReminder(
        kind=r.kind,
        due_at=r.due_at,
        urgent=r.urgent,
        dedup_key=r.dedup_key,
        meeting_id=r.meeting_id,
        meeting_starts_at=r.meeting_starts_at,
    )
    if not rem.still_meaningful(planned, now):
        await repos.reminders.finish(r.id, "dropped", now, note="meeting already started")
        log.info(
            "reminder %s (%s) dropped: fell due while the bot was down and is no longer meaningful",
            r.id,
            r.kind,
        )
        return "dropped"
    messages = await compose(repos, r, tz)
    if not messages:
        await repos.reminders.finish(r.id, "dropped", now, note="nothing to say")
        return "dropped"
    if not await repos.reminders.finish(r.id, "sent", now):
        return "skipped"
    await repos.outbox.enqueue(messages, now)
    return "sent"


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
        self.fired: dict[str, int] = {"sent": 0, "dropped": 0, "skipped": 0}
        self._slots = asyncio.Semaphore(4)
        self._sweeping = False
        self._again = False

    def arm(self, reminders: list[ReminderDTO]) -> None:
        for r in reminders:
            grace = rem.misfire_grace_seconds(r.kind)
            self.sched.add_job(
                self._job,
                DateTrigger(run_date=r.due_at),
                args=[r.id],
                id=f"reminder:{r.id}",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=grace,
            )

    def disarm(self, ids: list[int]) -> None:
        for rid in ids:
            job = self.sched.get_job(f"reminder:{rid}")
            if job is not None:
                job.remove()

    async def arm_ids(self, ids: list[int]) -> None:
        async with unit_of_work(self.factory) as repos:
            rows = [r for rid in ids if (r := await repos.reminders.get(rid)) and r.status == "pending"]
        self.arm(rows)

    async def fire_one(self, reminder_id: int) -> str:
        async with self._slots, unit_of_work(self.factory) as repos:
            outcome = await fire(repos, reminder_id, self.clock(), self.tz)
        self.fired[outcome] += 1
        if outcome == "sent" and callable(self.on_enqueue):
            self.on_enqueue()
        return outcome

    async def fire_due(self) -> int:
        """Fire everything pending whose time has come, in batches of one transaction each.

        Every reminder job, the minute sweep and the start-up catch-up land here. A burst of thousands of
        reminders due in the same minute thus costs a few dozen transactions instead of one per reminder
        (and does not starve the sender of connections). A call while a sweep runs makes it look once more."""
        if self._sweeping:
            self._again = True
            return 0
        self._sweeping, total = True, 0
        try:
            while True:
                self._again = False
                now = self.clock()
                async with unit_of_work(self.factory) as repos:
                    due = await repos.reminders.due(now, limit=BATCH)
                    outcomes = [await fire(repos, r.id, now, self.tz) for r in due]
                for outcome in outcomes:
                    self.fired[outcome] += 1
                if "sent" in outcomes and callable(self.on_enqueue):
                    self.on_enqueue()
                total += len(due)
                if len(due) < BATCH and not self._again:
                    return total
        finally:
            self._sweeping = False

    async def _job(self, reminder_id: int) -> None:
        """A reminder's own APScheduler job: its row (and anything else due) goes out now."""
        await self.fire_due()

    async def rearm_all(self) -> None:
        """At start: what fell due while down goes now (if still meaningful); the rest is armed."""
        await self.fire_due()
        async with unit_of_work(self.factory) as repos:
            pending = await repos.reminders.pending()
        self.arm([r for r in pending if r.due_at > self.clock() - timedelta(seconds=1)])
        log.info("reminders re-armed: %d pending", len(pending))
