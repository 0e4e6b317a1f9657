from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate

# Built once: every update asks and records, and building a statement costs more than running this one.
_SEEN = select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == bindparam("update_id"))
_ROW = {"update_id": bindparam("update_id"), "handled_at": bindparam("handled_at")}
_RECORD = {  # by dialect: each has its own INSERT … ON CONFLICT DO NOTHING
    "postgresql": postgresql.insert(ProcessedUpdate)
    .values(_ROW)
    .on_conflict_do_nothing(index_elements=["update_id"]),
    "sqlite": sqlite.insert(ProcessedUpdate)
    .values(_ROW)
    .on_conflict_do_nothing(index_elements=["update_id"]),
}


class UpdateRepo:
    """Telegram update ids already handled (ids only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def seen(self, update_id: int) -> bool:
        return await self.s.scalar(_SEEN, {"update_id": update_id}) is not None

    async def record(self, update_id: int, now: datetime) -> None:
        """A copy handled meanwhile by another instance already recorded it: nothing to add then."""
        stmt = _RECORD[self.s.get_bind().dialect.name]
        await self.s.execute(stmt, {"update_id": update_id, "handled_at": now})

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self.s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < cutoff))
        return result.rowcount or 0
