from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate

# Built once: every update records its id, and building a statement costs more than running this one.
_ROW = {"update_id": bindparam("update_id"), "handled_at": bindparam("handled_at")}
_T = ProcessedUpdate.__table__  # Core on the table: an ORM insert with RETURNING is compiled every time
_RECORD = {  # by dialect: each has its own INSERT … ON CONFLICT DO NOTHING
    "postgresql": postgresql.insert(_T)
    .values(_ROW)
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_T.c.update_id),
    "sqlite": sqlite.insert(_T)
    .values(_ROW)
    .on_conflict_do_nothing(index_elements=["update_id"])
    .returning(_T.c.update_id),
}


class UpdateRepo:
    """Telegram update ids already handled (ids only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(self, update_id: int, now: datetime) -> bool:
        """False when the id is recorded already (a copy handled before, here or by another instance; on
        PostgreSQL a copy still being handled elsewhere makes this wait for its transaction to end)."""
        stmt = _RECORD[self.s.get_bind().dialect.name]
        result = await self.s.execute(stmt, {"update_id": update_id, "handled_at": now})
        return result.first() is not None

    async def forget(self, update_id: int) -> None:
        await self.s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id))

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self.s.execute(delete(ProcessedUpdate).where(ProcessedUpdate.handled_at < cutoff))
        return result.rowcount or 0
