"""Completion of a pair: early closing, the case base (best practices with every member's consent) and the
mentors' honour board. SQL only; returns plain objects; never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import PairStatus
from bot.domain.statuses import CaseStatus
from storage.models import CaseConsent, CaseStory, HonourOptOut, Pair, PairMember


@dataclass(frozen=True)
class CaseDTO:
    id: int
    pair_id: int
    story: str
    status: str
    created_by: int | None
    created_at: datetime
    decided_at: datetime | None
    # participant id → True (agreed) | False (refused) | None (not answered yet)
    consents: dict[int, bool | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentOutcome:
    """What one consent answer did: recorded | published | declined | already (answered before) | stale."""

    result: str
    case: CaseDTO | None = None


class CompletionRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # -- pairs ------------------------------------------------------------------------------------------
    async def close_pair(self, pair_id: int, reason: str, now: datetime) -> bool:
        """active → finished early with the curator's reason, once (a double press changes nothing)."""
        result = await self.s.execute(
            update(Pair)
            .where(Pair.id == pair_id, Pair.status == PairStatus.ACTIVE)
            .values(status=PairStatus.FINISHED, closed_at=now, close_reason=reason)
        )
        return result.rowcount == 1

    async def finished_pair_ids_of(self, participant_id: int) -> list[int]:
        """Finished pairs the person led or took part in as a mentee (not the ones they were dissolved from),
        newest first."""
        as_mentee = select(PairMember.pair_id).where(
            PairMember.mentee_id == participant_id, PairMember.dissolved.is_(False)
        )
        rows = await self.s.scalars(
            select(Pair.id)
            .where(
                Pair.status == PairStatus.FINISHED,
                or_(Pair.mentor_id == participant_id, Pair.id.in_(as_mentee)),
            )
            .order_by(Pair.closed_at.desc(), Pair.id.desc())
        )
        return list(rows.all())

    async def finished_counts(self) -> dict[int, int]:
        """Finished pairs per mentor."""
        rows = await self.s.execute(
            select(Pair.mentor_id, func.count(Pair.id))
            .where(Pair.status == PairStatus.FINISHED)
            .group_by(Pair.mentor_id)
        )
        return {mentor: n for mentor, n in rows.all()}

    # -- the case base ----------------------------------------------------------------------------------
    async def _case(self, row: CaseStory) -> CaseDTO:
        consents = await self.s.execute(
            select(CaseConsent.participant_id, CaseConsent.agreed)
            .where(CaseConsent.case_id == row.id)
            .order_by(CaseConsent.id)
        )
        return CaseDTO(
            id=row.id,
            pair_id=row.pair_id,
            story=row.story,
            status=row.status,
            created_by=row.created_by,
            created_at=row.created_at,
            decided_at=row.decided_at,
            consents=dict(consents.all()),
        )

    async def create_case(
        self, pair_id: int, story: str, member_ids: list[int], by: int | None, now: datetime
    ) -> CaseDTO:
        row = CaseStory(
            pair_id=pair_id,
            story=story,
            status=CaseStatus.PROPOSED,
            created_by=by,
            created_at=now,
            updated_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        for pid in dict.fromkeys(member_ids):
            self.s.add(CaseConsent(case_id=row.id, participant_id=pid))
        await self.s.flush()
        return await self._case(row)

    async def case(self, case_id: int) -> CaseDTO | None:
        row = await self.s.get(CaseStory, case_id, populate_existing=True)
        return await self._case(row) if row else None

    async def cases(self, status: str | None = None) -> list[CaseDTO]:
        q = select(CaseStory)
        if status is not None:
            q = q.where(CaseStory.status == status)
        rows = await self.s.scalars(q.order_by(CaseStory.decided_at.desc(), CaseStory.id.desc()))
        return [await self._case(r) for r in rows]

    async def pairs_with_live_case(self) -> set[int]:
        """Pairs that already have a case waiting for consent or published (a declined one may be retried)."""
        rows = await self.s.scalars(
            select(CaseStory.pair_id).where(CaseStory.status.in_((CaseStatus.PROPOSED, CaseStatus.PUBLISHED)))
        )
        return set(rows.all())

    async def answer_consent(
        self, case_id: int, participant_id: int, agreed: bool, now: datetime
    ) -> ConsentOutcome:
        """Record one member's answer. Any "no" declines the case; the last "yes" publishes it."""
        # Write to the case row first: it takes the row's write lock, so two members answering at the same
        # moment are applied one after the other and the second one sees the first one's answer.
        touched = await self.s.execute(
            update(CaseStory)
            .where(CaseStory.id == case_id, CaseStory.status == CaseStatus.PROPOSED)
            .values(updated_at=now)
        )
        if touched.rowcount != 1:
            case = await self.case(case_id)
            return ConsentOutcome("stale", case)
        answered = await self.s.execute(
            update(CaseConsent)
            .where(
                CaseConsent.case_id == case_id,
                CaseConsent.participant_id == participant_id,
                CaseConsent.agreed.is_(None),
            )
            .values(agreed=agreed, answered_at=now)
        )
        if answered.rowcount != 1:
            return ConsentOutcome("already", await self.case(case_id))
        waiting = await self.s.scalar(
            select(func.count())
            .select_from(CaseConsent)
            .where(
                CaseConsent.case_id == case_id,
                or_(CaseConsent.agreed.is_(None), CaseConsent.agreed.is_(False)),
            )
        )
        result = "recorded"
        if not agreed:
            result = CaseStatus.DECLINED
        elif not waiting:
            result = CaseStatus.PUBLISHED
        if result != "recorded":
            await self.s.execute(
                update(CaseStory).where(CaseStory.id == case_id).values(status=result, decided_at=now)
            )
        return ConsentOutcome(result, await self.case(case_id))

    # -- the honour board -------------------------------------------------------------------------------
    async def opted_out(self) -> set[int]:
        return set((await self.s.scalars(select(HonourOptOut.participant_id))).all())

    async def set_opt_out(self, participant_id: int, out: bool, now: datetime) -> None:
        exists = await self.s.scalar(
            select(HonourOptOut.participant_id).where(HonourOptOut.participant_id == participant_id)
        )
        if out and exists is None:
            self.s.add(HonourOptOut(participant_id=participant_id, created_at=now))
            await self.s.flush()
        elif not out and exists is not None:
            await self.s.execute(delete(HonourOptOut).where(HonourOptOut.participant_id == participant_id))
