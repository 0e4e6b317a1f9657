from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.statuses import MentorStatus
from storage.models import (
    Institution,
    Material,
    MaterialRead,
    MentorProfile,
    TrainingAttendance,
    TrainingSession,
)
from storage.tenancy import institution_for_new_rows


def _of(column: Any, institutions: frozenset[int]) -> Any:
    """``column`` names one of ``institutions`` (NULL: the first institution)."""
    first = select(func.min(Institution.id)).scalar_subquery()
    return or_(column.in_(institutions), and_(column.is_(None), first.in_(institutions)))


@dataclass(frozen=True)
class MentorProfileDTO:
    participant_id: int
    status: str
    interview_on: date | None
    interview_note: str | None
    decline_reason: str | None


@dataclass(frozen=True)
class MaterialDTO:
    id: int
    audience: str
    stage: str | None
    kind: str
    title: str
    body: str | None
    file_id: str | None
    created_at: datetime


class MentorBaseRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def profile(self, participant_id: int) -> MentorProfileDTO:
        """A mentor without a row is a candidate."""
        row = await self.s.scalar(select(MentorProfile).where(MentorProfile.participant_id == participant_id))
        if row is None:
            return MentorProfileDTO(participant_id, MentorStatus.CANDIDATE, None, None, None)
        return MentorProfileDTO(
            row.participant_id, row.status, row.interview_on, row.interview_note, row.decline_reason
        )

    async def statuses(self, participant_ids: list[int]) -> dict[int, str]:
        rows = await self.s.execute(
            select(MentorProfile.participant_id, MentorProfile.status).where(
                MentorProfile.participant_id.in_(participant_ids)
            )
        )
        found = dict(rows.all())
        return {pid: found.get(pid, MentorStatus.CANDIDATE) for pid in participant_ids}

    async def set_status(
        self,
        participant_id: int,
        status: str,
        now: datetime,
        *,
        expect: tuple[str, ...],
        by: int | None = None,
        **fields: object,
    ) -> bool:
        """Move along the lifecycle only from the expected states (a double press does nothing)."""
        row = await self.s.scalar(select(MentorProfile).where(MentorProfile.participant_id == participant_id))
        if row is None:
            if MentorStatus.CANDIDATE not in expect:
                return False
            row = MentorProfile(participant_id=participant_id, status=MentorStatus.CANDIDATE, updated_at=now)
            self.s.add(row)
            await self.s.flush()
        result = await self.s.execute(
            update(MentorProfile)
            .where(MentorProfile.id == row.id, MentorProfile.status.in_(expect))
            .values(status=status, updated_at=now, decided_by=by, **fields)
        )
        return result.rowcount == 1

    # -- training ----------------------------------------------------------------------------------------
    async def add_training(self, held_on: date, topic: str, by: int | None, now: datetime) -> int:
        row = TrainingSession(
            held_on=held_on,
            topic=topic,
            created_by=by,
            created_at=now,
            institution_id=institution_for_new_rows(self.s),
        )
        self.s.add(row)
        await self.s.flush()
        return row.id

    async def training(self, session_id: int) -> tuple[date, str] | None:
        row = await self.s.get(TrainingSession, session_id)
        return (row.held_on, row.topic) if row else None

    async def toggle_attendance(self, session_id: int, participant_id: int) -> bool:
        """Mark or unmark attendance; returns whether the person is now marked."""
        row = await self.s.scalar(
            select(TrainingAttendance).where(
                TrainingAttendance.session_id == session_id,
                TrainingAttendance.participant_id == participant_id,
            )
        )
        if row is not None:
            await self.s.delete(row)
            await self.s.flush()
            return False
        self.s.add(TrainingAttendance(session_id=session_id, participant_id=participant_id))
        await self.s.flush()
        return True

    async def attendees(self, session_id: int) -> set[int]:
        rows = await self.s.scalars(
            select(TrainingAttendance.participant_id).where(TrainingAttendance.session_id == session_id)
        )
        return set(rows.all())

    async def trainings_done(self, participant_ids: list[int]) -> dict[int, int]:
        rows = await self.s.execute(
            select(TrainingAttendance.participant_id, func.count())
            .where(TrainingAttendance.participant_id.in_(participant_ids))
            .group_by(TrainingAttendance.participant_id)
        )
        return dict(rows.all())

    # -- materials ---------------------------------------------------------------------------------------
    async def add_material(
        self,
        *,
        audience: str,
        stage: str | None,
        kind: str,
        title: str,
        body: str | None,
        file_id: str | None,
        by: int | None,
        now: datetime,
    ) -> int:
        row = Material(
            audience=audience,
            stage=stage,
            kind=kind,
            title=title,
            body=body,
            file_id=file_id,
            created_by=by,
            created_at=now,
            institution_id=institution_for_new_rows(self.s),
        )
        self.s.add(row)
        await self.s.flush()
        return row.id

    async def materials_for(
        self, audiences: set[str], institutions: frozenset[int] | None = None
    ) -> list[MaterialDTO]:
        """The curators' materials for these audiences, of these institutions (every one when None)."""
        q = select(Material).where(Material.audience.in_(audiences))
        if institutions is not None:
            q = q.where(_of(Material.institution_id, institutions))
        rows = await self.s.scalars(q.order_by(Material.created_at.desc(), Material.id.desc()))
        return [
            MaterialDTO(r.id, r.audience, r.stage, r.kind, r.title, r.body, r.file_id, r.created_at)
            for r in rows
        ]

    async def material(
        self, material_id: int, institutions: frozenset[int] | None = None
    ) -> MaterialDTO | None:
        r = await self.s.get(Material, material_id)
        if r is not None and institutions is not None:
            mine = await self.s.scalar(
                select(Material.id).where(
                    Material.id == material_id, _of(Material.institution_id, institutions)
                )
            )
            r = r if mine is not None else None
        return (
            MaterialDTO(r.id, r.audience, r.stage, r.kind, r.title, r.body, r.file_id, r.created_at)
            if r
            else None
        )

    async def mark_read(self, key: str, participant_id: int, now: datetime) -> bool:
        exists = await self.s.scalar(
            select(MaterialRead.id).where(
                MaterialRead.material_key == key, MaterialRead.participant_id == participant_id
            )
        )
        if exists:
            return False
        self.s.add(MaterialRead(material_key=key, participant_id=participant_id, read_at=now))
        await self.s.flush()
        return True

    async def reads(self, participant_id: int) -> set[str]:
        rows = await self.s.scalars(
            select(MaterialRead.material_key).where(MaterialRead.participant_id == participant_id)
        )
        return set(rows.all())
