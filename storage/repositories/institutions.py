"""Institutions: the district's organisations, and which of them a curator works in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import InstitutionDTO, Role
from storage.models import CuratorProgramme, DistrictFigures, Institution, ParticipantRole, Programme
from storage.tenancy import UNSCOPED, InstitutionScope, make_scope

# The institution a single-school installation's rows belong to (migration 0014 names it the same); the
# coordinator's /institutions shows it by this name.
FIRST_INSTITUTION_TITLE = "Образовательная организация"


def _dto(row: Institution) -> InstitutionDTO:
    return InstitutionDTO(
        id=row.id, title=row.title, created_at=row.created_at, archived=row.archived_at is not None
    )


class InstitutionRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def create(self, title: str, now: datetime) -> InstitutionDTO:
        row = Institution(title=title, created_at=now)
        self.s.add(row)
        await self.s.flush()
        return _dto(row)

    async def get(self, institution_id: int) -> InstitutionDTO | None:
        row = await self.s.get(Institution, institution_id, execution_options=UNSCOPED)
        return _dto(row) if row else None

    async def all(self) -> list[InstitutionDTO]:
        rows = await self.s.scalars(
            select(Institution).order_by(Institution.id).execution_options(**UNSCOPED)
        )
        return [_dto(r) for r in rows]

    async def rename(self, institution_id: int, title: str) -> bool:
        result = await self.s.execute(
            update(Institution).where(Institution.id == institution_id).values(title=title)
        )
        return result.rowcount == 1

    async def first_id(self) -> int | None:
        """The first institution: rows written before institutions existed belong to it."""
        return await self.s.scalar(select(func.min(Institution.id)).execution_options(**UNSCOPED))

    async def ensure_first(self, title: str, now: datetime) -> int:
        first = await self.first_id()
        return first if first is not None else (await self.create(title, now)).id

    async def of_curator(self, curator_id: int) -> tuple[list[int], int | None]:
        """The institutions a curator curates (a curator's role with no institution is the first's), and the
        one they chose to work in (None: not chosen yet). One statement."""
        first = select(func.min(Institution.id)).scalar_subquery()
        chosen = (
            select(func.coalesce(CuratorProgramme.institution_id, Programme.institution_id, first))
            .select_from(CuratorProgramme)
            .outerjoin(Programme, Programme.id == CuratorProgramme.programme_id)
            .where(CuratorProgramme.participant_id == curator_id)
            .scalar_subquery()
        )
        rows = (
            await self.s.execute(
                select(func.coalesce(ParticipantRole.institution_id, first), chosen)
                .where(
                    ParticipantRole.participant_id == curator_id, ParticipantRole.role == Role.CURATOR.value
                )
                .execution_options(**UNSCOPED)
            )
        ).all()
        own = sorted({r[0] for r in rows if r[0] is not None})
        return own, rows[0][1] if rows else None

    async def of_person(self, participant_id: int) -> int | None:
        """The institution of a person's first role (None: the first institution, or none yet)."""
        return await self.s.scalar(
            select(ParticipantRole.institution_id)
            .where(ParticipantRole.participant_id == participant_id)
            .order_by(ParticipantRole.id)
            .limit(1)
        )

    async def of_programme(self, programme_id: int | None) -> int | None:
        """A programme's institution (NULL, or no programme: the first one; None when there is none)."""
        first = select(func.min(Institution.id)).scalar_subquery()
        if programme_id is None:
            return await self.first_id()
        return await self.s.scalar(
            select(func.coalesce(Programme.institution_id, first))
            .where(Programme.id == programme_id)
            .execution_options(**UNSCOPED)
        )

    async def of_person_all(self, participant_id: int) -> frozenset[int]:
        """Every institution in which the person holds a role (a role with none: the first institution)."""
        first = select(func.min(Institution.id)).scalar_subquery()
        rows = await self.s.scalars(
            select(func.coalesce(ParticipantRole.institution_id, first))
            .where(ParticipantRole.participant_id == participant_id)
            .execution_options(**UNSCOPED)
        )
        return frozenset(r for r in rows if r is not None)

    async def scope(self, institution_id: int) -> InstitutionScope:
        """What a unit working in ``institution_id`` may see (its programmes listed once)."""
        first = await self.first_id()
        is_first = first == institution_id
        condition = Programme.institution_id == institution_id
        if is_first:
            condition = condition | Programme.institution_id.is_(None)
        ids = tuple(
            await self.s.scalars(
                select(Programme.id).where(condition).order_by(Programme.id).execution_options(**UNSCOPED)
            )
        )
        return make_scope(institution_id, is_first, ids)

    async def save_figures(
        self,
        institution_id: int,
        figures: dict[str, Any],
        targets: dict[str, Any],
        curators: int,
        programmes: int,
        now: datetime,
    ) -> None:
        row = await self.s.get(DistrictFigures, institution_id)
        if row is None:
            row = DistrictFigures(institution_id=institution_id)
            self.s.add(row)
        row.figures, row.targets, row.curators, row.programmes = figures, targets, curators, programmes
        row.computed_at = now
        await self.s.flush()

    async def stored_figures(
        self, institution_id: int | None = None
    ) -> dict[int, tuple[datetime, dict[str, Any], dict[str, Any], int, int]]:
        """Every institution's (or one's) latest aggregate: (computed at, figures, targets, curators,
        programmes)."""
        q = select(
            DistrictFigures.institution_id,
            DistrictFigures.computed_at,
            DistrictFigures.figures,
            DistrictFigures.targets,
            DistrictFigures.curators,
            DistrictFigures.programmes,
        ).execution_options(**UNSCOPED)
        if institution_id is not None:
            q = q.where(DistrictFigures.institution_id == institution_id)
        rows = await self.s.execute(q)
        return {r[0]: (r[1], dict(r[2] or {}), dict(r[3] or {}), r[4], r[5]) for r in rows}

    async def set_current(self, curator_id: int, institution_id: int, now: datetime) -> None:
        """The curator works in ``institution_id`` now (their current programme is chosen again there)."""
        row = await self.s.get(CuratorProgramme, curator_id, execution_options=UNSCOPED)
        if row is None:
            self.s.add(
                CuratorProgramme(
                    participant_id=curator_id,
                    programme_id=None,
                    institution_id=institution_id,
                    updated_at=now,
                )
            )
        else:
            row.institution_id, row.programme_id, row.updated_at = institution_id, None, now
        await self.s.flush()
