from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.statuses import OutboxStatus
from storage.models import OutboxMessage


@dataclass(frozen=True)
class OutboxWait:
    """Messages waiting to go out for longer than asked: how many, since when the oldest has waited, and how
    many are pending in all."""

    waiting: int
    oldest: datetime | None
    pending: int


class HealthRepo:
    """What the operator's watch (bot/operator.py) asks the database: can it be written, and how long the
    oldest message has waited."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def write_probe(self) -> None:
        """Start a write as any writer would, changing nothing: an UPDATE takes SQLite's write lock even when
        it matches no row, so a lock held elsewhere (another process, a stuck transaction) shows here as it
        does to every update, not only to readers."""
        await self.s.execute(update(OutboxMessage).where(OutboxMessage.id == -1).values(id=OutboxMessage.id))

    async def outbox_wait(self, older_than: datetime) -> OutboxWait:
        """Pending messages that should have gone out before `older_than`. A message never tried waits from
        the time it was due (`not_before`: a message deferred out of quiet hours is not late before its
        morning); one Telegram refused and that waits for another try (`last_error` set) waits from when it
        was queued, as its `not_before` moves with each try."""
        pending = OutboxMessage.status == OutboxStatus.PENDING
        untried = await self.s.execute(
            select(func.min(OutboxMessage.not_before), func.count()).where(
                pending, OutboxMessage.last_error.is_(None), OutboxMessage.not_before <= older_than
            )
        )
        retried = await self.s.execute(
            select(func.min(OutboxMessage.created_at), func.count()).where(
                pending, OutboxMessage.last_error.is_not(None), OutboxMessage.created_at <= older_than
            )
        )
        total = await self.s.scalar(select(func.count()).where(pending)) or 0
        (first, n1), (second, n2) = untried.one(), retried.one()
        oldest = min((d for d in (first, second) if d is not None), default=None)
        return OutboxWait(waiting=n1 + n2, oldest=oldest, pending=total)
