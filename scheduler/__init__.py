"""Time-driven work. APScheduler jobs are thin triggers; the database says what is due and what was done."""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services import dashboard, district, institutions, matching, roadmap
from scheduler import digest
from scheduler.jobs import Erasure, purge_withdrawn
from scheduler.reminders import ReminderScheduler
from storage.uow import unit_of_work

log = logging.getLogger(__name__)


class Jobs:
    """The periodic jobs, callable directly (tests and the demo drive them with a simulated clock)."""

    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        timezone: str,
        reminders: ReminderScheduler,
        notify: Callable[[], None],
        erasure: Erasure | None = None,
    ) -> None:
        self.factory, self.clock, self.timezone = factory, clock, timezone
        self.reminders, self.notify = reminders, notify
        self.erasure = erasure
        self.small_numbers = 5

    async def daily_digest(self) -> int:
        now = self.clock()
        async with unit_of_work(self.factory) as repos:
            states = await digest.scan(repos, now, self.timezone)
            messages = await self._curators(repos, states, now, only_new=False)
            messages += await digest.pair_nudges(repos, states, now)
            sent = await repos.outbox.enqueue(messages, now)
        self.notify()
        return sent

    async def hourly_scan(self) -> int:
        """Immediate overdue alerts (curators who asked), nudges to late pairs, stage-deadline reminders."""
        now = self.clock()
        async with unit_of_work(self.factory) as repos:
            states = await digest.scan(repos, now, self.timezone)
            messages = await self._curators(repos, states, now, only_new=True)
            messages += await digest.pair_nudges(repos, states, now)
            messages += await roadmap.deadline_reminders(repos, now, ZoneInfo(self.timezone))
            messages += await dashboard.run_campaigns(
                repos, now, now.astimezone(ZoneInfo(self.timezone)).date()
            )
            sent = await repos.outbox.enqueue(messages, now)
            new_ids = await digest.stage_deadline_reminders(repos, states, now)
        await self.reminders.arm_ids(new_ids)
        self.notify()
        return sent

    async def waiting_reminder(self) -> int:
        """Weekly: every curator hears how many mentees wait for a pair and since when (nothing if none)."""
        now = self.clock()
        async with unit_of_work(self.factory) as repos:
            messages = await institutions.for_each(
                repos, lambda: matching.waiting_reminders(repos, now, ZoneInfo(self.timezone))
            )
            sent = await repos.outbox.enqueue(messages, now)
        self.notify()
        return sent

    async def _curators(self, repos, states, now, *, only_new: bool):  # type: ignore[no-untyped-def]
        """The curators' digest or alerts, once per institution: each names only that institution's pairs."""

        async def one() -> list:  # type: ignore[type-arg]
            visible = {p.id for p in await repos.pairs.active()}
            mine = [(state, item) for state, item in states if state.pair.id in visible]
            return await digest.digest_messages(repos, mine, now, ZoneInfo(self.timezone), only_new=only_new)

        return await institutions.for_each(repos, one)

    async def district_refresh(self) -> int:
        """Hourly: every institution's aggregate for the coordinator's summary, computed again."""
        now = self.clock()
        today = now.astimezone(ZoneInfo(self.timezone)).date()
        async with unit_of_work(self.factory) as repos:
            institutions = await repos.institutions.all()
        # One transaction per institution: SQLite's write lock is never held across the whole district.
        for institution in institutions:
            async with unit_of_work(self.factory) as repos:
                await district.refresh_one(repos, institution, now, self.timezone, today)
        return len(institutions)

    async def coordinator_digest(self) -> int:
        """Weekly: the coordinators hear which institutions fall behind (aggregates only)."""
        now = self.clock()
        today = now.astimezone(ZoneInfo(self.timezone)).date()
        async with unit_of_work(self.factory) as repos:
            messages = await district.weekly_digest(repos, now, self.timezone, today, self.small_numbers)
            sent = await repos.outbox.enqueue(messages, now)
        self.notify()
        return sent

    async def purge(self) -> int:
        return await purge_withdrawn(self.factory, self.clock, self.erasure)


def build_scheduler(
    factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    timezone: str,
    digest_hour: int,
    notify: Callable[[], None],
    erasure: Erasure | None = None,
) -> tuple[AsyncIOScheduler, ReminderScheduler, Jobs]:
    sched = AsyncIOScheduler(timezone=timezone)
    reminders = ReminderScheduler(sched, factory, clock, timezone, on_enqueue=notify)
    jobs = Jobs(factory, clock, timezone, reminders, notify, erasure)
    common = dict(replace_existing=True, coalesce=True, max_instances=1)
    # Hourly, so personal data of a withdrawn consent is gone within the same day.
    sched.add_job(
        jobs.purge, IntervalTrigger(hours=1), id="purge_withdrawn", misfire_grace_time=3600, **common
    )
    # The safety net under the per-reminder jobs: anything due and still pending goes out within a minute.
    sched.add_job(
        reminders.fire_due, IntervalTrigger(minutes=1), id="reminders_sweep", misfire_grace_time=60, **common
    )
    sched.add_job(
        jobs.daily_digest,
        CronTrigger(hour=digest_hour, minute=0, timezone=timezone),
        id="daily_digest",
        misfire_grace_time=6 * 3600,
        **common,
    )
    # Mondays at the digest hour, while any mentee waits for a pair.
    sched.add_job(
        jobs.waiting_reminder,
        CronTrigger(day_of_week="mon", hour=digest_hour, minute=0, timezone=timezone),
        id="waiting_reminder",
        misfire_grace_time=6 * 3600,
        **common,
    )
    sched.add_job(
        jobs.district_refresh,
        IntervalTrigger(hours=1),
        id="district_refresh",
        misfire_grace_time=3600,
        **common,
    )
    sched.add_job(
        jobs.coordinator_digest,
        CronTrigger(day_of_week="mon", hour=digest_hour, minute=30, timezone=timezone),
        id="coordinator_digest",
        misfire_grace_time=6 * 3600,
        **common,
    )
    sched.add_job(
        jobs.hourly_scan, IntervalTrigger(hours=1), id="hourly_scan", misfire_grace_time=3600, **common
    )
    return sched, reminders, jobs
