"""Bulk data for benchmarks and fault tests: pairs with a confirmed meeting each and a reminder before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain import reminders as rem
from bot.services.meetings import reminder_rows
from storage.models import Meeting, Pair, PairMember, Participant
from storage.uow import unit_of_work


async def seed_reminder_burst(
    factory: async_sessionmaker[AsyncSession],
    now: datetime,
    plan: list[tuple[datetime, timedelta]],
    tg_base: int,
    *,
    reminded: int | None = None,
) -> dict[int, int]:
    """One pair per ``plan`` entry ``(due, lead)``: a mentor and a mentee (Telegram ids from ``tg_base`` on),
    a confirmed meeting starting at ``due + lead`` and, for each member, the "before" reminder due at
    ``due`` — inserted in bulk, the reminders through ReminderRepo.add as the bot plans them. ``reminded``:
    only the first that many people get a reminder (default: all). Returns participant id → Telegram id."""
    pairs = len(plan)
    people = 2 * pairs
    async with unit_of_work(factory) as repos:
        s = repos.session
        await s.execute(
            insert(Participant),
            [
                dict(
                    telegram_id=tg_base + i,
                    language="ru",
                    status="active",
                    full_name=f"Участник {i}",
                    unreachable=False,
                    created_at=now,
                    updated_at=now,
                )
                for i in range(people)
            ],
        )
        rows = (
            await s.execute(
                select(Participant.id, Participant.telegram_id)
                .where(Participant.telegram_id >= tg_base, Participant.telegram_id < tg_base + people)
                .order_by(Participant.telegram_id)
            )
        ).all()
        pids = [pid for pid, _ in rows]
        await s.execute(
            insert(Pair),
            [
                dict(mentor_id=pids[2 * j], status="active", stage="introduction", created_at=now)
                for j in range(pairs)
            ],
        )
        pair_ids = list((await s.scalars(select(Pair.id).order_by(Pair.id.desc()).limit(pairs))).all())[::-1]
        await s.execute(
            insert(PairMember),
            [
                dict(pair_id=pair_ids[j], mentee_id=pids[2 * j + 1], joined_at=now, dissolved=False)
                for j in range(pairs)
            ],
        )
        starts = [due + lead for due, lead in plan]
        await s.execute(
            insert(Meeting),
            [
                dict(
                    pair_id=pair_ids[j],
                    stage="introduction",
                    status="confirmed",
                    starts_at=starts[j],
                    ends_at=starts[j] + timedelta(hours=1),
                    format="online",
                    place=f"https://meet.example/{j}",
                    proposed_by=pids[2 * j],
                    sequence=0,
                    created_at=now,
                    updated_at=now,
                )
                for j in range(pairs)
            ],
        )
        meeting_ids = list(
            (await s.scalars(select(Meeting.id).order_by(Meeting.id.desc()).limit(pairs))).all()
        )[::-1]
        limit = people if reminded is None else reminded
        reminders = []
        for j, (due, lead) in enumerate(plan):
            kind = rem.BEFORE_PREFIX + rem.duration_label(lead)
            planned = rem.PlannedReminder(
                kind=kind,
                due_at=due,
                urgent=lead <= rem.URGENT_LEAD,
                dedup_key=f"meeting:{meeting_ids[j]}:{kind}:{starts[j].astimezone(UTC).isoformat()}",
                meeting_id=meeting_ids[j],
                meeting_starts_at=starts[j],
            )
            members = tuple(p for i, p in enumerate(pids[2 * j : 2 * j + 2], start=2 * j) if i < limit)
            reminders += reminder_rows([planned], members, now, pair_ids[j])
        ids = await repos.reminders.add(reminders)
        assert len(ids) == min(limit, people), len(ids)
    return {pid: tg for pid, tg in rows}
