from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ConsentDTO
from storage.models import Consent


def _dto(row: Consent) -> ConsentDTO:
    return ConsentDTO(
        id=row.id,
        participant_id=row.participant_id,
        subject_id=row.subject_id,
        kind=row.kind,
        version=row.version,
        accepted=row.accepted,
        decided_at=row.decided_at,
        withdrawn_at=row.withdrawn_at,
    )


class ConsentRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def record(
        self,
        *,
        telegram_id: int | None,
        telegram_hash: str | None = None,
        participant_id: int | None,
        subject_id: int | None,
        kind: str,
        version: str,
        accepted: bool,
        now: datetime,
    ) -> ConsentDTO:
        row = Consent(
            telegram_id=telegram_id,
            telegram_hash=telegram_hash,
            participant_id=participant_id,
            subject_id=subject_id,
            kind=kind,
            version=version,
            accepted=accepted,
            decided_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return _dto(row)

    async def active_for_subject(self, subject_id: int, kind: str) -> ConsentDTO | None:
        row = await self.s.scalar(
            select(Consent)
            .where(
                Consent.subject_id == subject_id,
                Consent.kind == kind,
                Consent.accepted.is_(True),
                Consent.withdrawn_at.is_(None),
            )
            .order_by(Consent.id.desc())
            .limit(1)
        )
        return _dto(row) if row else None

    async def history(self, participant_id: int) -> list[ConsentDTO]:
        rows = await self.s.scalars(
            select(Consent)
            .where(or_(Consent.participant_id == participant_id, Consent.subject_id == participant_id))
            .order_by(Consent.id)
        )
        return [_dto(r) for r in rows]

    async def withdraw_all(
        self, subject_id: int, now: datetime, kind: str | None = None, given_by: int | None = None
    ) -> int:
        """Withdraw the consents in force about a person (of this kind; given by this person, e.g. one of
        two parents)."""
        q = update(Consent).where(
            Consent.subject_id == subject_id, Consent.withdrawn_at.is_(None), Consent.accepted.is_(True)
        )
        if kind:
            q = q.where(Consent.kind == kind)
        if given_by is not None:
            q = q.where(Consent.participant_id == given_by)
        result = await self.s.execute(q.values(withdrawn_at=now))
        return result.rowcount or 0
