"""Time-driven work. APScheduler jobs are thin triggers; the database says what is due and what was done."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from scheduler.jobs import purge_withdrawn


def build_scheduler(
    factory: async_sessionmaker[AsyncSession], clock: Clock, timezone: str
) -> AsyncIOScheduler:
    sched = AsyncIOScheduler(timezone=timezone)
    # Hourly, so personal data of a withdrawn consent is gone within the same day.
    sched.add_job(
        purge_withdrawn,
        IntervalTrigger(hours=1),
        args=[factory, clock],
        id="purge_withdrawn",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    return sched
