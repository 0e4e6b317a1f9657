from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FsmRecord
from storage.repositories.kept import kept


class FsmRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _row(self, key: str) -> FsmRecord | None:
        # aiogram asks for the state and the data separately, several times an update: kept, read once.
        return kept(self.s, await self.s.get(FsmRecord, key))

    async def get(self, key: str) -> tuple[str | None, dict[str, Any]]:
        row = await self._row(key)
        if row is None:
            return None, {}
        return row.state, dict(row.data or {})

    async def put(self, key: str, now: datetime, *, state: Any = ..., data: Any = ...) -> None:
        row = await self._row(key)
        new_state = (row.state if row else None) if state is ... else state
        new_data = (dict(row.data or {}) if row else {}) if data is ... else dict(data)
        if new_state is None and not new_data:
            if row is not None:
                await self.s.delete(row)
                await self.s.flush()
            return
        if row is None:
            self.s.add(kept(self.s, FsmRecord(key=key, state=new_state, data=new_data, updated_at=now)))
            await self.s.flush()
        elif row.state != new_state or (row.data or {}) != new_data:
            # No flush: several writes in one update end as a single UPDATE at commit.
            row.state, row.data, row.updated_at = new_state, new_data, now
