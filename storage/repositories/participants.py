from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ParticipantDTO, ProgrammeScope, Role, RoleHolding, Status
from storage.models import (
    Consent,
    FsmRecord,
    Invitation,
    ParentLink,
    Participant,
    ParticipantRole,
    Programme,
)
from storage.repositories.programmes import in_scope
from storage.tenancy import institution_for_new_rows


def _holding(row: ParticipantRole) -> RoleHolding:
    return RoleHolding(
        id=row.id,
        participant_id=row.participant_id,
        role=Role(row.role),
        programme_id=row.programme_id,
        invitation_id=row.invitation_id,
    )


# Built once: every update looks up who is writing (building a statement costs more than running these).
# Who is writing and their roles in one statement (a row per role; NULL for a person without one), in
# SQLAlchemy Core on the tables: through the ORM the same read cost about twice as much (bench/forms.py).
_P, _PR = Participant.__table__, ParticipantRole.__table__
_BY_TELEGRAM_ID = (
    select(_P, _PR.c.role.label("held_role"))
    .select_from(_P.outerjoin(_PR, _PR.c.participant_id == _P.c.id))
    .where(_P.c.telegram_id == bindparam("telegram_id"))
)
_ROLES_OF = select(ParticipantRole.role).where(ParticipantRole.participant_id == bindparam("participant_id"))


class ParticipantRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _dto(self, row: Participant) -> ParticipantDTO:
        roles = (await self.s.scalars(_ROLES_OF, {"participant_id": row.id})).all()
        return self._plain(row, frozenset(Role(r) for r in roles))

    @staticmethod
    def _plain(row: Any, roles: frozenset[Role]) -> ParticipantDTO:
        return ParticipantDTO(
            id=row.id,
            telegram_id=row.telegram_id,
            full_name=row.full_name,
            language=row.language,
            status=row.status,
            roles=roles,
            is_minor=row.is_minor,
            group_name=row.group_name,
            position=row.position,
            unreachable=row.unreachable,
            username=row.username,
            commands_version=row.commands_version,
            parent_declined_at=row.parent_declined_at,
        )

    async def by_telegram_id(self, telegram_id: int) -> ParticipantDTO | None:
        rows = (await self.s.execute(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})).all()
        if not rows:
            return None
        roles = frozenset(Role(row.held_role) for row in rows if row.held_role is not None)
        return self._plain(rows[0], roles)

    async def get(self, participant_id: int) -> ParticipantDTO | None:
        row = await self.s.get(Participant, participant_id)
        return await self._dto(row) if row else None

    async def get_many(self, ids: set[int] | list[int]) -> dict[int, ParticipantDTO]:
        """Several people in two queries (a reminder burst composes hundreds of messages at once)."""
        ids = list(ids)
        if not ids:
            return {}
        out: dict[int, ParticipantDTO] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = list(await self.s.scalars(select(Participant).where(Participant.id.in_(chunk))))
            roles = await self._roles_of(chunk)
            for row in rows:
                out[row.id] = self._plain(row, frozenset(roles.get(row.id, ())))
        return out

    async def create(
        self, telegram_id: int, language: str, status: str, now: datetime, username: str | None = None
    ) -> ParticipantDTO:
        row = Participant(
            telegram_id=telegram_id,
            language=language,
            status=status,
            username=username,
            created_at=now,
            updated_at=now,
            unreachable=False,
        )
        self.s.add(row)
        await self.s.flush()
        return await self._dto(row)

    async def update(self, participant_id: int, now: datetime, **fields: object) -> None:
        allowed = {
            "full_name",
            "language",
            "status",
            "is_minor",
            "group_name",
            "position",
            "unreachable",
            "username",
            "commands_version",
            "deletion_due_at",
            "parent_declined_at",
        }
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown participant fields: {sorted(unknown)}")
        await self.s.execute(
            update(Participant).where(Participant.id == participant_id).values(updated_at=now, **fields)
        )

    async def add_role(
        self,
        participant_id: int,
        role: Role,
        now: datetime,
        programme_id: int | None = None,
        invitation_id: int | None = None,
        institution_id: int | None = None,
    ) -> bool:
        """The role's institution: ``institution_id``, else the invitation's, else the programme's, else the
        unit's scope (NULL: the first institution)."""
        if institution_id is None and invitation_id is not None:
            institution_id = await self.s.scalar(
                select(Invitation.institution_id).where(Invitation.id == invitation_id)
            )
        if institution_id is None and programme_id is not None:
            institution_id = await self.s.scalar(
                select(Programme.institution_id).where(Programme.id == programme_id)
            )
        if institution_id is None:
            institution_id = institution_for_new_rows(self.s)
        if institution_id is None and role != Role.COORDINATOR:
            # The first institution (created with the first role that needs one): a role is always in one.
            from storage.repositories.institutions import FIRST_INSTITUTION_TITLE, InstitutionRepo

            institution_id = await InstitutionRepo(self.s).ensure_first(FIRST_INSTITUTION_TITLE, now)
        exists = await self.s.scalar(
            select(ParticipantRole.id).where(
                ParticipantRole.participant_id == participant_id,
                ParticipantRole.role == role.value,
                ParticipantRole.programme_id.is_(None)
                if programme_id is None
                else ParticipantRole.programme_id == programme_id,
                ParticipantRole.institution_id.is_(None)
                if institution_id is None
                else ParticipantRole.institution_id == institution_id,
            )
        )
        if exists:
            return False
        self.s.add(
            ParticipantRole(
                participant_id=participant_id,
                role=role.value,
                programme_id=programme_id,
                invitation_id=invitation_id,
                institution_id=institution_id,
                created_at=now,
            )
        )
        await self.s.flush()
        return True

    async def holdings(self, participant_id: int) -> list[RoleHolding]:
        """Each role the person holds, one per programme, oldest first."""
        rows = await self.s.scalars(
            select(ParticipantRole)
            .where(ParticipantRole.participant_id == participant_id)
            .order_by(ParticipantRole.id)
        )
        return [_holding(r) for r in rows]

    async def holding(self, holding_id: int) -> RoleHolding | None:
        row = await self.s.get(ParticipantRole, holding_id)
        return _holding(row) if row else None

    async def remove_holding(self, holding_id: int) -> bool:
        result = await self.s.execute(delete(ParticipantRole).where(ParticipantRole.id == holding_id))
        return result.rowcount == 1

    async def count_holders(self, role: Role, statuses: tuple[str, ...]) -> int:
        """How many people in these statuses hold the role (in any programme)."""
        return (
            await self.s.scalar(
                select(func.count(func.distinct(ParticipantRole.participant_id)))
                .join(Participant, Participant.id == ParticipantRole.participant_id)
                .where(ParticipantRole.role == role.value, Participant.status.in_(statuses))
            )
            or 0
        )

    async def joined_through(self, invitation_id: int) -> list[tuple[ParticipantDTO, Role]]:
        """Who got a role through this invitation, and which role."""
        rows = await self.s.execute(
            select(Participant, ParticipantRole.role)
            .join(ParticipantRole, ParticipantRole.participant_id == Participant.id)
            .where(ParticipantRole.invitation_id == invitation_id)
            .order_by(ParticipantRole.id)
        )
        return [(await self._dto(p), Role(role)) for p, role in rows.all()]

    async def role_programmes(self, participant_id: int, role: Role) -> list[int | None]:
        """The programmes in which the person holds this role, oldest role first (None: no programme)."""
        rows = await self.s.scalars(
            select(ParticipantRole.programme_id)
            .where(ParticipantRole.participant_id == participant_id, ParticipantRole.role == role.value)
            .order_by(ParticipantRole.id)
        )
        return list(rows.all())

    async def link_parent(self, parent_id: int, child_id: int, now: datetime) -> None:
        exists = await self.s.scalar(
            select(ParentLink.id).where(ParentLink.parent_id == parent_id, ParentLink.child_id == child_id)
        )
        if not exists:
            self.s.add(ParentLink(parent_id=parent_id, child_id=child_id, created_at=now))
            await self.s.flush()

    async def children_of(self, parent_id: int) -> list[ParticipantDTO]:
        rows = await self.s.scalars(
            select(Participant)
            .join(ParentLink, ParentLink.child_id == Participant.id)
            .where(ParentLink.parent_id == parent_id)
            .order_by(Participant.id)
        )
        return [await self._dto(r) for r in rows]

    async def parents_of(self, child_id: int) -> list[ParticipantDTO]:
        rows = await self.s.scalars(
            select(Participant)
            .join(ParentLink, ParentLink.parent_id == Participant.id)
            .where(ParentLink.child_id == child_id)
            .order_by(Participant.id)
        )
        return [await self._dto(r) for r in rows]

    async def with_role(self, role: Role, scope: ProgrammeScope | None = None) -> list[ParticipantDTO]:
        """People holding the role (in this programme, when a scope is given)."""
        rows = await self.s.scalars(
            select(Participant)
            .join(ParticipantRole, ParticipantRole.participant_id == Participant.id)
            .where(ParticipantRole.role == role.value, in_scope(ParticipantRole.programme_id, scope))
            .distinct()
            .order_by(Participant.id)
        )
        people = list(rows)
        roles = await self._roles_of([p.id for p in people])
        return [self._plain(r, frozenset(roles.get(r.id, ()))) for r in people]

    async def _roles_of(self, ids: list[int]) -> dict[int, set[Role]]:
        """Each person's roles, 500 people per statement (a list of hundreds is not a query each)."""
        roles: dict[int, set[Role]] = {}
        for start in range(0, len(ids), 500):
            for pid, role in await self.s.execute(
                select(ParticipantRole.participant_id, ParticipantRole.role).where(
                    ParticipantRole.participant_id.in_(ids[start : start + 500])
                )
            ):
                roles.setdefault(pid, set()).add(Role(role))
        return roles

    async def mark_unreachable_by_chat(self, chat_id: int, now: datetime) -> None:
        await self.s.execute(
            update(Participant)
            .where(Participant.telegram_id == chat_id)
            .values(unreachable=True, updated_at=now)
        )

    async def chat_is_writable(self, chat_id: int) -> bool:
        """False for people who withdrew consent: the bot stops writing to them."""
        status = await self.s.scalar(select(Participant.status).where(Participant.telegram_id == chat_id))
        return status != Status.WITHDRAWN

    async def due_for_anonymisation(self, now: datetime) -> list[int]:
        rows = await self.s.scalars(
            select(Participant.id).where(
                Participant.status == Status.WITHDRAWN,
                Participant.deletion_due_at <= now,
                Participant.full_name.is_not(None) | Participant.telegram_id.is_not(None),
            )
        )
        return list(rows.all())

    async def anonymise(self, participant_id: int, now: datetime) -> None:
        """Erase what identifies the person; the row stays as an anonymous statistic."""
        tg = await self.s.scalar(select(Participant.telegram_id).where(Participant.id == participant_id))
        await self.s.execute(
            update(Participant)
            .where(Participant.id == participant_id)
            .values(
                telegram_id=None,
                username=None,
                full_name=None,
                group_name=None,
                position=None,
                updated_at=now,
            )
        )
        if tg is not None:
            await self.s.execute(delete(FsmRecord).where(FsmRecord.key.like(f"%:{tg}:{tg}:%")))
            await self.s.execute(update(Consent).where(Consent.telegram_id == tg).values(telegram_id=None))
