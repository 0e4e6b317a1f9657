from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


class UpdateRepo:
    """Telegram update ids already handled (ids only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def seen(self, update_id: int) -> bool:
        found = await self.s.scalar(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == update_id)
        )
        return found is not None

    async def record(self, update_id: int, now: datetime) -> None:
        """A copy handled meanwhile by another instance already recorded it: nothing to add then."""
        if self.s.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(ProcessedUpdate).values(update_id=update_id, handled_at=now)
        await self.s.execute(stmt.on_conflict_do_nothing(index_elements=["update_id"]))

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self.s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < cutoff))
        return result.rowcount or 0
