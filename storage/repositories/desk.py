"""What the curator's desk (the Mini App) reads that no chat screen does: the participants table filtered,
sorted and paged in the database (an institution of thousands is one page of fifty, never a list in memory),
and the latest matching run of a programme. Scoped by the institution like every curator statement."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import PairStatus, ProgrammeScope
from storage.models import MatchProposal, Pair, PairMember, Participant, ParticipantRole
from storage.repositories.programmes import in_scope
from storage.search import text_matches

SORTS = ("name", "group", "status")


@dataclass(frozen=True)
class PeopleFilter:
    query: str = ""
    role: str | None = None
    status: str | None = None
    group: str | None = None
    programme: ProgrammeScope | None = None
    sort: str = "name"
    descending: bool = False


@dataclass(frozen=True)
class PersonRow:
    id: int
    full_name: str
    group: str | None
    status: str
    unreachable: bool
    roles: frozenset[str]
    paired: bool


class DeskRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def people(self, f: PeopleFilter, offset: int, limit: int) -> tuple[list[PersonRow], int]:
        """One page of the people matching the filter, and how many match in all."""
        q = select(Participant.id).where(Participant.full_name.is_not(None))
        if f.query:
            q = q.where(text_matches(f.query, Participant.full_name, Participant.group_name))
        if f.status:
            q = q.where(Participant.status == f.status)
        if f.group:
            q = q.where(Participant.group_name == f.group)
        if f.role or f.programme is not None:
            holding = select(ParticipantRole.id).where(ParticipantRole.participant_id == Participant.id)
            if f.role:
                holding = holding.where(ParticipantRole.role == f.role)
            if f.programme is not None:
                holding = holding.where(in_scope(ParticipantRole.programme_id, f.programme))
            q = q.where(exists(holding))
        total = await self.s.scalar(select(func.count()).select_from(q.subquery())) or 0
        column = {
            "name": Participant.full_name,
            "group": func.coalesce(Participant.group_name, Participant.position, ""),
            "status": Participant.status,
        }[f.sort if f.sort in SORTS else "name"]
        order = [column.desc() if f.descending else column.asc()]
        if f.sort != "name":
            order.append(Participant.full_name.asc())
        rows = (
            await self.s.execute(
                select(
                    Participant.id,
                    Participant.full_name,
                    func.coalesce(Participant.group_name, Participant.position),
                    Participant.status,
                    Participant.unreachable,
                )
                .where(Participant.id.in_(q.order_by(*order, Participant.id).offset(offset).limit(limit)))
                .order_by(*order, Participant.id)
            )
        ).all()
        ids = [r[0] for r in rows]
        roles: dict[int, set[str]] = {}
        paired: set[int] = set()
        if ids:
            for pid, role in await self.s.execute(
                select(ParticipantRole.participant_id, ParticipantRole.role).where(
                    ParticipantRole.participant_id.in_(ids)
                )
            ):
                roles.setdefault(pid, set()).add(role)
            paired = set(
                await self.s.scalars(
                    select(PairMember.mentee_id)
                    .join(Pair, Pair.id == PairMember.pair_id)
                    .where(
                        PairMember.mentee_id.in_(ids),
                        PairMember.left_at.is_(None),
                        Pair.status == PairStatus.ACTIVE,
                    )
                )
            )
            paired |= set(
                await self.s.scalars(
                    select(Pair.mentor_id).where(Pair.mentor_id.in_(ids), Pair.status == PairStatus.ACTIVE)
                )
            )
        people = [
            PersonRow(
                pid,
                name or "",
                group,
                status,
                bool(unreachable),
                frozenset(roles.get(pid, ())),
                pid in paired,
            )
            for pid, name, group, status, unreachable in rows
        ]
        return people, total

    async def groups(self) -> list[str]:
        """The classes and groups people are in, for the filter."""
        rows = await self.s.scalars(
            select(Participant.group_name)
            .where(Participant.group_name.is_not(None), Participant.full_name.is_not(None))
            .distinct()
            .order_by(Participant.group_name)
        )
        return [g for g in rows if g]

    async def latest_run(self, scope: ProgrammeScope | None) -> str | None:
        """The newest matching run of the programme (None: it was never matched)."""
        return await self.s.scalar(
            select(MatchProposal.run_id)
            .where(in_scope(MatchProposal.programme_id, scope))
            .order_by(MatchProposal.id.desc())
            .limit(1)
        )
