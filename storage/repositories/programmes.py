from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ProgrammeDTO, ProgrammeScope
from storage.models import CuratorProgramme, Programme, ProgrammeClosure
from storage.tenancy import institution_for_new_rows


def _dto(row: Programme) -> ProgrammeDTO:
    return ProgrammeDTO(
        id=row.id,
        title=row.title,
        template=row.template,
        timezone=row.timezone,
        settings=dict(row.settings or {}),
        archived=row.archived_at is not None,
        created_at=row.created_at,
    )


def in_scope(column: Any, scope: ProgrammeScope | None) -> ColumnElement[bool]:
    """A programme_id column's condition for one programme's rows (every row when scope is None)."""
    if scope is None:
        return true()
    own = column == scope.programme_id
    return or_(own, column.is_(None)) if scope.unassigned else own


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

    async def all(self) -> list[ProgrammeDTO]:
        """Every programme, active and archived, oldest first."""
        return [_dto(r) for r in await self.s.scalars(select(Programme).order_by(Programme.id))]

    async def first_id(self) -> int | None:
        """The installation's first programme: rows without a programme belong to it."""
        return await self.s.scalar(select(func.min(Programme.id)))

    async def scope(self, programme_id: int) -> ProgrammeScope:
        return ProgrammeScope(programme_id, unassigned=programme_id == await self.first_id())

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
            title=title,
            timezone=timezone,
            template=template,
            settings=settings or {},
            created_at=now,
            institution_id=institution_for_new_rows(self.s),
        )
        self.s.add(row)
        await self.s.flush()
        return _dto(row)

    async def archive(self, programme_id: int, now: datetime) -> bool:
        """active → archived exactly once (a second close finds nothing to change)."""
        result = await self.s.execute(
            update(Programme)
            .where(Programme.id == programme_id, Programme.archived_at.is_(None))
            .values(archived_at=now)
        )
        return result.rowcount == 1

    # -- closed years ------------------------------------------------------------------------------------
    async def record_closure(
        self, programme_id: int, successor_id: int, closed_by: int | None, now: datetime
    ) -> None:
        self.s.add(
            ProgrammeClosure(
                programme_id=programme_id, successor_id=successor_id, closed_by=closed_by, closed_at=now
            )
        )
        await self.s.flush()

    async def successor(self, programme_id: int) -> int | None:
        """The cohort that continues a closed programme year (None: not closed, or no successor)."""
        return await self.s.scalar(
            select(ProgrammeClosure.successor_id).where(ProgrammeClosure.programme_id == programme_id)
        )

    async def continuing(self, programme_id: int | None) -> int | None:
        """The programme that carries on ``programme_id`` today: itself while active, else the cohort its
        closed year passed to (followed along the years). No programme means the first programme."""
        pid = programme_id if programme_id is not None else await self.first_id()
        seen: set[int] = set()
        while pid is not None and pid not in seen:
            seen.add(pid)
            row = await self.s.get(Programme, pid)
            if row is None or row.archived_at is None:
                return pid
            successor = await self.successor(pid)
            if successor is None:
                return pid
            pid = successor
        return pid

    # -- each curator's current programme -------------------------------------------------------------
    async def current_of(self, curator_id: int) -> int | None:
        return await self.s.scalar(
            select(CuratorProgramme.programme_id).where(CuratorProgramme.participant_id == curator_id)
        )

    async def set_current(self, curator_id: int, programme_id: int, now: datetime) -> None:
        """The curator works on ``programme_id`` now, in its institution."""
        institution_id = await self.s.scalar(
            select(Programme.institution_id).where(Programme.id == programme_id)
        )
        row = await self.s.get(CuratorProgramme, curator_id)
        if row is None:
            self.s.add(
                CuratorProgramme(
                    participant_id=curator_id,
                    programme_id=programme_id,
                    institution_id=institution_id,
                    updated_at=now,
                )
            )
        else:
            row.programme_id, row.institution_id, row.updated_at = programme_id, institution_id, now
        await self.s.flush()

    async def move_current(self, from_id: int, to_id: int, now: datetime) -> None:
        """Curators working on a programme follow it to the cohort that continues it."""
        await self.s.execute(
            update(CuratorProgramme)
            .where(CuratorProgramme.programme_id == from_id)
            .values(programme_id=to_id, updated_at=now)
        )
