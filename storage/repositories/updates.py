from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate

_T = ProcessedUpdate.__table__
# Every update records its id. Written as text, the same SQL on SQLite and PostgreSQL, because SQLAlchemy does
# not cache the dialects' own INSERT … ON CONFLICT constructs: built that way it was compiled again for every
# update ("no key" in its log), a fifth of a questionnaire step.
_RECORD = text(
    "INSERT INTO processed_updates (update_id, handled_at) VALUES (:update_id, :handled_at) "
    "ON CONFLICT (update_id) DO NOTHING RETURNING update_id"
).bindparams(
    bindparam("update_id", type_=_T.c.update_id.type),
    bindparam("handled_at", type_=_T.c.handled_at.type),
)


class UpdateRepo:
    """Telegram update ids already handled (ids only)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(self, update_id: int, now: datetime) -> bool:
        """False when the id is recorded already (a copy handled before, here or by another instance; on
        PostgreSQL a copy still being handled elsewhere makes this wait for its transaction to end)."""
        result = await self.s.execute(_RECORD, {"update_id": update_id, "handled_at": now})
        return result.first() is not None

    async def forget(self, update_id: int) -> None:
        await self.s.execute(delete(_T).where(_T.c.update_id == update_id))

    async def forget_before(self, cutoff: datetime) -> int:
        result = await self.s.execute(delete(_T).where(_T.c.handled_at < cutoff))
        return result.rowcount or 0
