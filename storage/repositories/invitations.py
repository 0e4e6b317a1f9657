from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import InvitationDTO, Role
from storage.models import Invitation, Programme
from storage.tenancy import institution_for_new_rows


def _dto(row: Invitation) -> InvitationDTO:
    return InvitationDTO(
        id=row.id,
        role=Role(row.role),
        programme_id=row.programme_id,
        created_by=row.created_by,
        child_id=row.child_id,
        max_uses=row.max_uses,
        uses=row.uses,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        created_at=row.created_at,
        institution_id=row.institution_id,
    )


class InvitationRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def create(
        self,
        token_hash: str,
        role: Role,
        expires_at: datetime,
        now: datetime,
        *,
        programme_id: int | None = None,
        created_by: int | None = None,
        child_id: int | None = None,
        max_uses: int | None = None,
        institution_id: int | None = None,
    ) -> InvitationDTO:
        if institution_id is None and programme_id is not None:
            institution_id = await self.s.scalar(
                select(Programme.institution_id).where(Programme.id == programme_id)
            )
        row = Invitation(
            institution_id=institution_id if institution_id is not None else institution_for_new_rows(self.s),
            token_hash=token_hash,
            role=role.value,
            programme_id=programme_id,
            created_by=created_by,
            child_id=child_id,
            max_uses=max_uses,
            uses=0,
            expires_at=expires_at,
            created_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return _dto(row)

    async def by_hash(self, token_hash: str) -> InvitationDTO | None:
        row = await self.s.scalar(select(Invitation).where(Invitation.token_hash == token_hash))
        return _dto(row) if row else None

    async def get(self, invitation_id: int) -> InvitationDTO | None:
        row = await self.s.get(Invitation, invitation_id)
        return _dto(row) if row else None

    async def consume(self, invitation_id: int) -> bool:
        """Count one use atomically; False when a concurrent use took the last one."""
        result = await self.s.execute(
            update(Invitation)
            .where(
                Invitation.id == invitation_id,
                (Invitation.max_uses.is_(None)) | (Invitation.uses < Invitation.max_uses),
            )
            .values(uses=Invitation.uses + 1)
        )
        return result.rowcount == 1

    async def revoke(self, invitation_id: int, now: datetime) -> bool:
        result = await self.s.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount == 1

    async def revoke_for_child(self, child_id: int, now: datetime) -> int:
        """Revoke every parent link of this child that still works (consent for them was withdrawn)."""
        result = await self.s.execute(
            update(Invitation)
            .where(
                Invitation.child_id == child_id,
                Invitation.role == Role.PARENT.value,
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return result.rowcount or 0

    async def revoke_for_programme(self, programme_id: int, roles: tuple[Role, ...], now: datetime) -> int:
        """Revoke a programme's unused-up links for these roles (its year was closed)."""
        result = await self.s.execute(
            update(Invitation)
            .where(
                Invitation.programme_id == programme_id,
                Invitation.role.in_([r.value for r in roles]),
                Invitation.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return result.rowcount or 0

    async def list_active(self, now: datetime, created_by: int | None = None) -> list[InvitationDTO]:
        q = select(Invitation).where(Invitation.revoked_at.is_(None), Invitation.expires_at > now)
        if created_by is not None:
            q = q.where(Invitation.created_by == created_by)
        rows = await self.s.scalars(q.order_by(Invitation.id.desc()))
        return [_dto(r) for r in rows if r.max_uses is None or r.uses < r.max_uses]
