from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import PairDTO, PairStatus, ProgrammeScope, ProposalDTO, Status
from bot.domain.statuses import ProposalStatus
from storage.models import MatchProposal, Pair, PairMember, Participant, WaitingMentee
from storage.repositories.programmes import in_scope


def _proposal(row: MatchProposal) -> ProposalDTO:
    return ProposalDTO(
        id=row.id,
        run_id=row.run_id,
        mentee_id=row.mentee_id,
        mentor_id=row.mentor_id,
        score=row.score,
        reasons=list(row.reasons or []),
        status=row.status,
        programme_id=row.programme_id,
    )


class PairRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def _dto(self, row: Pair) -> PairDTO:
        members = (
            await self.s.scalars(
                select(PairMember.mentee_id)
                .where(PairMember.pair_id == row.id, PairMember.left_at.is_(None))
                .order_by(PairMember.id)
            )
        ).all()
        return self._plain(row, tuple(members))

    async def _dtos(self, rows: Iterable[Pair], *, all_members: bool = False) -> list[PairDTO]:
        """Many pairs with their mentees in one statement per 500 pairs (a dashboard lists hundreds);
        ``all_members``: those who left too (a finished pair's)."""
        pairs = list(rows)
        members: dict[int, list[int]] = {p.id: [] for p in pairs}
        ids = list(members)
        for start in range(0, len(ids), 500):
            q = select(PairMember.pair_id, PairMember.mentee_id).where(
                PairMember.pair_id.in_(ids[start : start + 500])
            )
            if not all_members:
                q = q.where(PairMember.left_at.is_(None))
            for pair_id, mentee_id in await self.s.execute(q.order_by(PairMember.id)):
                members[pair_id].append(mentee_id)
        return [self._plain(p, tuple(members[p.id])) for p in pairs]

    @staticmethod
    def _plain(row: Pair, members: tuple[int, ...]) -> PairDTO:
        return PairDTO(
            id=row.id,
            programme_id=row.programme_id,
            mentor_id=row.mentor_id,
            status=row.status,
            stage=row.stage,
            created_at=row.created_at,
            mentee_ids=members,
            closed_at=row.closed_at,
            close_reason=row.close_reason,
        )

    async def get(self, pair_id: int) -> PairDTO | None:
        row = await self.s.get(Pair, pair_id)
        return await self._dto(row) if row else None

    async def active(
        self, programme_id: int | None = None, *, scope: ProgrammeScope | None = None
    ) -> list[PairDTO]:
        q = select(Pair).where(Pair.status == PairStatus.ACTIVE, in_scope(Pair.programme_id, scope))
        if programme_id is not None:
            q = q.where(Pair.programme_id == programme_id)
        return await self._dtos(await self.s.scalars(q.order_by(Pair.id)))

    async def finished(self, scope: ProgrammeScope | None = None) -> list[PairDTO]:
        rows = await self.s.scalars(
            select(Pair)
            .where(Pair.status == PairStatus.FINISHED, in_scope(Pair.programme_id, scope))
            .order_by(Pair.id)
        )
        return await self._dtos(rows, all_members=True)

    async def closed_between(
        self, start: datetime, end: datetime, scope: ProgrammeScope | None = None
    ) -> list[PairDTO]:
        """Pairs that finished or were dissolved in [start, end), with every mentee they had."""
        rows = await self.s.scalars(
            select(Pair)
            .where(
                Pair.status != PairStatus.ACTIVE,
                Pair.closed_at >= start,
                Pair.closed_at < end,
                in_scope(Pair.programme_id, scope),
            )
            .order_by(Pair.id)
        )
        return await self._dtos(rows, all_members=True)

    async def active_of_mentor(self, mentor_id: int, programme_id: int | None) -> PairDTO | None:
        q = select(Pair).where(Pair.mentor_id == mentor_id, Pair.status == PairStatus.ACTIVE)
        q = q.where(
            Pair.programme_id.is_(None) if programme_id is None else Pair.programme_id == programme_id
        )
        row = await self.s.scalar(q.order_by(Pair.id).limit(1))
        return await self._dto(row) if row else None

    async def led_by(self, mentor_id: int) -> list[PairDTO]:
        """The active pairs or groups a mentor leads, in any programme."""
        rows = await self.s.scalars(
            select(Pair)
            .where(Pair.mentor_id == mentor_id, Pair.status == PairStatus.ACTIVE)
            .order_by(Pair.id)
        )
        return await self._dtos(rows)

    async def statuses(self, ids: set[int] | list[int]) -> dict[int, str]:
        ids = list(ids)
        out: dict[int, str] = {}
        for start in range(0, len(ids), 500):
            rows = await self.s.execute(
                select(Pair.id, Pair.status).where(Pair.id.in_(ids[start : start + 500]))
            )
            out.update({pid: status for pid, status in rows.all()})
        return out

    async def all_active_of_mentee(self, mentee_id: int) -> list[PairDTO]:
        """Every active pair the person is a mentee in (one per programme)."""
        rows = await self.s.scalars(
            select(Pair)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(
                PairMember.mentee_id == mentee_id,
                PairMember.left_at.is_(None),
                Pair.status == PairStatus.ACTIVE,
            )
            .order_by(Pair.id)
        )
        return await self._dtos(rows)

    async def active_of_mentee(self, mentee_id: int, scope: ProgrammeScope | None = None) -> PairDTO | None:
        """The mentee's active pair (in this programme, when a scope is given: one may be a mentee in
        several programmes at once)."""
        row = await self.s.scalar(
            select(Pair)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(
                PairMember.mentee_id == mentee_id,
                PairMember.left_at.is_(None),
                Pair.status == PairStatus.ACTIVE,
                in_scope(Pair.programme_id, scope),
            )
            .order_by(Pair.id)
            .limit(1)
        )
        return await self._dto(row) if row else None

    async def is_paired(self, participant_id: int) -> bool:
        if await self.active_of_mentee(participant_id) is not None:
            return True
        row = await self.s.scalar(
            select(Pair.id).where(Pair.mentor_id == participant_id, Pair.status == PairStatus.ACTIVE).limit(1)
        )
        return row is not None

    async def create(
        self, programme_id: int | None, mentor_id: int, approved_by: int | None, now: datetime
    ) -> int:
        row = Pair(
            programme_id=programme_id,
            mentor_id=mentor_id,
            status=PairStatus.ACTIVE,
            stage="introduction",
            created_at=now,
            approved_by=approved_by,
        )
        self.s.add(row)
        await self.s.flush()
        return row.id

    async def set_stage(
        self, pair_id: int, stage: str, *, finished: bool = False, now: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {"stage": stage}
        if finished:
            values.update(status=PairStatus.FINISHED, closed_at=now)
        await self.s.execute(update(Pair).where(Pair.id == pair_id).values(**values))

    async def add_member(self, pair_id: int, mentee_id: int, now: datetime) -> None:
        self.s.add(PairMember(pair_id=pair_id, mentee_id=mentee_id, joined_at=now, dissolved=False))
        await self.s.flush()

    async def remove_member(self, pair_id: int, mentee_id: int, now: datetime, reason: str) -> bool:
        """Dissolve one mentee's pairing; the pair itself ends when its last mentee leaves."""
        result = await self.s.execute(
            update(PairMember)
            .where(
                PairMember.pair_id == pair_id, PairMember.mentee_id == mentee_id, PairMember.left_at.is_(None)
            )
            .values(left_at=now, dissolved=True)
        )
        if result.rowcount != 1:
            return False
        left = await self.s.scalar(
            select(func.count())
            .select_from(PairMember)
            .where(PairMember.pair_id == pair_id, PairMember.left_at.is_(None))
        )
        if not left:
            await self.s.execute(
                update(Pair)
                .where(Pair.id == pair_id)
                .values(status=PairStatus.DISSOLVED, closed_at=now, close_reason=reason)
            )
        return True

    async def excluded_mentors(self, mentee_ids: list[int]) -> dict[int, set[int]]:
        rows = await self.s.execute(
            select(PairMember.mentee_id, Pair.mentor_id)
            .join(Pair, Pair.id == PairMember.pair_id)
            .where(PairMember.dissolved.is_(True), PairMember.mentee_id.in_(mentee_ids))
        )
        out: dict[int, set[int]] = {}
        for mentee, mentor in rows.all():
            out.setdefault(mentee, set()).add(mentor)
        return out

    async def loads(self) -> dict[int, int]:
        """Active mentees per mentor."""
        rows = await self.s.execute(
            select(Pair.mentor_id, func.count(PairMember.id))
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(Pair.status == PairStatus.ACTIVE, PairMember.left_at.is_(None))
            .group_by(Pair.mentor_id)
        )
        return {mentor: n for mentor, n in rows.all()}

    async def paired_mentees(self, scope: ProgrammeScope | None = None) -> set[int]:
        rows = await self.s.scalars(
            select(PairMember.mentee_id)
            .join(Pair, Pair.id == PairMember.pair_id)
            .where(
                Pair.status == PairStatus.ACTIVE,
                PairMember.left_at.is_(None),
                in_scope(Pair.programme_id, scope),
            )
        )
        return set(rows.all())

    # -- proposals ---------------------------------------------------------------------------------------
    async def save_proposals(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.s.execute(insert(MatchProposal), rows)

    async def proposals(self, run_id: str, status: str | None = None) -> list[ProposalDTO]:
        q = select(MatchProposal).where(MatchProposal.run_id == run_id)
        if status is not None:
            q = q.where(MatchProposal.status == status)
        return [_proposal(r) for r in await self.s.scalars(q.order_by(MatchProposal.id))]

    async def proposal(self, proposal_id: int) -> ProposalDTO | None:
        row = await self.s.get(MatchProposal, proposal_id)
        return _proposal(row) if row else None

    async def decide(self, proposal_id: int, status: str, now: datetime) -> bool:
        """proposed → approved/rejected exactly once (a double press finds nothing to change)."""
        result = await self.s.execute(
            update(MatchProposal)
            .where(MatchProposal.id == proposal_id, MatchProposal.status == ProposalStatus.PROPOSED)
            .values(status=status, decided_at=now)
        )
        return result.rowcount == 1

    async def withdraw_open_proposals(self, now: datetime, scope: ProgrammeScope | None = None) -> None:
        """A new /match run replaces the proposals of earlier runs (of the same programme) never decided."""
        await self.s.execute(
            update(MatchProposal)
            .where(
                MatchProposal.status == ProposalStatus.PROPOSED, in_scope(MatchProposal.programme_id, scope)
            )
            .values(status=ProposalStatus.SUPERSEDED, decided_at=now)
        )

    # -- the waiting list ----------------------------------------------------------------------------------
    @staticmethod
    def _same_programme(programme_id: int | None) -> Any:
        col = WaitingMentee.programme_id
        return col.is_(None) if programme_id is None else col == programme_id

    async def start_waiting(self, participant_id: int, programme_id: int | None, now: datetime) -> datetime:
        """The mentee waits for a pair in this programme from now (unless already waiting); returns since."""
        since = await self.s.scalar(
            select(WaitingMentee.since).where(
                WaitingMentee.participant_id == participant_id,
                self._same_programme(programme_id),
                WaitingMentee.ended_at.is_(None),
            )
        )
        if since is not None:
            return since
        self.s.add(WaitingMentee(participant_id=participant_id, programme_id=programme_id, since=now))
        await self.s.flush()
        return now

    async def end_waiting(self, participant_id: int, programme_id: int | None, now: datetime) -> None:
        await self.s.execute(
            update(WaitingMentee)
            .where(
                WaitingMentee.participant_id == participant_id,
                self._same_programme(programme_id),
                WaitingMentee.ended_at.is_(None),
            )
            .values(ended_at=now)
        )

    async def waiting(self, programme_id: int | None) -> list[tuple[int, datetime]]:
        """(participant id, since) of the programme's mentees still waiting and still taking part (active),
        longest wait first."""
        rows = await self.s.execute(
            select(WaitingMentee.participant_id, WaitingMentee.since)
            .join(Participant, Participant.id == WaitingMentee.participant_id)
            .where(
                self._same_programme(programme_id),
                WaitingMentee.ended_at.is_(None),
                Participant.status == Status.ACTIVE.value,
            )
            .order_by(WaitingMentee.since, WaitingMentee.id)
        )
        return [(pid, since) for pid, since in rows.all()]
