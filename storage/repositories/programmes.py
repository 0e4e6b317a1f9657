from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ProgrammeDTO
from storage.models import Programme


def _dto(row: Programme) -> ProgrammeDTO:
    return ProgrammeDTO(
        id=row.id,
        title=row.title,
        template=row.template,
        timezone=row.timezone,
        settings=dict(row.settings or {}),
        archived=row.archived_at is not None,
    )


class ProgrammeRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, programme_id: int) -> ProgrammeDTO | None:
        row = await self.s.get(Programme, programme_id)
        return _dto(row) if row else None

    async def active(self) -> list[ProgrammeDTO]:
        rows = await self.s.scalars(
            select(Programme).where(Programme.archived_at.is_(None)).order_by(Programme.id)
        )
        return [_dto(r) for r in rows]

    async def update_settings(self, programme_id: int, settings: dict[str, Any]) -> None:
        row = await self.s.get(Programme, programme_id)
        if row is not None:
            row.settings = dict(settings)
            await self.s.flush()

    async def create(
        self,
        title: str,
        timezone: str,
        now: datetime,
        template: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> ProgrammeDTO:
        row = Programme(
            title=title, timezone=timezone, template=template, settings=settings or {}, created_at=now
        )
        self.s.add(row)
        await self.s.flush()
        return _dto(row)
