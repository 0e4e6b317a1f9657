"""Announcement audiences in a handful of queries: a school-wide audience is thousands of people, and the
per-person lookups of ParticipantRepo would cost one query each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ParticipantDTO, ProgrammeScope, Role, Status
from storage.models import ParentLink, Participant, ParticipantRole
from storage.repositories.programmes import in_scope

CHUNK = 500  # keeps IN (...) lists under SQLite's bound-parameter limit


def _reachable(q: Select) -> Select:
    """People the bot may write to: they have a chat with it and have not withdrawn consent."""
    return q.where(Participant.telegram_id.is_not(None), Participant.status != Status.WITHDRAWN.value)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


class AnnounceRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _dtos(self, rows: Sequence[Participant]) -> list[ParticipantDTO]:
        ids = [r.id for r in rows]
        roles: dict[int, set[Role]] = defaultdict(set)
        for chunk in _chunks(ids):
            found = await self.s.execute(
                select(ParticipantRole.participant_id, ParticipantRole.role).where(
                    ParticipantRole.participant_id.in_(chunk)
                )
            )
            for pid, role in found.all():
                roles[pid].add(Role(role))
        return [
            ParticipantDTO(
                id=r.id,
                telegram_id=r.telegram_id,
                full_name=r.full_name,
                language=r.language,
                status=r.status,
                roles=frozenset(roles[r.id]),
                is_minor=r.is_minor,
                group_name=r.group_name,
                position=r.position,
                unreachable=r.unreachable,
                username=r.username,
                commands_version=r.commands_version,
            )
            for r in rows
        ]

    async def with_roles(
        self, roles: Iterable[Role], programme_id: int | None = None, *, scope: ProgrammeScope | None = None
    ) -> list[ParticipantDTO]:
        """Reachable people holding any of these roles (in this programme, when one is given)."""
        cond = ParticipantRole.role.in_([r.value for r in roles]) & in_scope(
            ParticipantRole.programme_id, scope
        )
        if programme_id is not None:
            cond = cond & (ParticipantRole.programme_id == programme_id)
        q = _reachable(
            select(Participant).where(Participant.id.in_(select(ParticipantRole.participant_id).where(cond)))
        )
        rows = (await self.s.scalars(q.order_by(Participant.id))).all()
        return await self._dtos(rows)

    async def mentees_of_class(self, group_name: str) -> list[ParticipantDTO]:
        q = _reachable(
            select(Participant).where(
                Participant.group_name == group_name,
                Participant.id.in_(
                    select(ParticipantRole.participant_id).where(ParticipantRole.role == Role.MENTEE.value)
                ),
            )
        )
        rows = (await self.s.scalars(q.order_by(Participant.id))).all()
        return await self._dtos(rows)

    async def parents_of(self, child_ids: Sequence[int]) -> list[ParticipantDTO]:
        """Reachable parents linked to any of these children (each parent once)."""
        rows: dict[int, Participant] = {}
        for chunk in _chunks(list(child_ids)):
            q = _reachable(
                select(Participant).where(
                    Participant.id.in_(select(ParentLink.parent_id).where(ParentLink.child_id.in_(chunk)))
                )
            )
            for row in await self.s.scalars(q):
                rows[row.id] = row
        return await self._dtos([rows[k] for k in sorted(rows)])

    async def by_ids(self, ids: Sequence[int]) -> list[ParticipantDTO]:
        """Reachable people among these ids."""
        rows: list[Participant] = []
        for chunk in _chunks(sorted(set(ids))):
            q = _reachable(select(Participant).where(Participant.id.in_(chunk)))
            rows += (await self.s.scalars(q)).all()
        return await self._dtos(sorted(rows, key=lambda r: r.id))

    async def classes(self) -> list[str]:
        """Class (group) names of reachable mentees, for the curator to pick one."""
        q = _reachable(
            select(Participant.group_name)
            .where(
                Participant.group_name.is_not(None),
                Participant.id.in_(
                    select(ParticipantRole.participant_id).where(ParticipantRole.role == Role.MENTEE.value)
                ),
            )
            .distinct()
        )
        return sorted(g for g in (await self.s.scalars(q)).all() if g)
