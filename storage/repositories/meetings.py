from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import String, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import GoalDTO, MeetingDTO, ReminderDTO, ResponseStatus
from bot.domain.stages import MeetingStatus
from bot.domain.statuses import ReminderStatus
from storage.models import DevelopmentGoal, FormResponse, Meeting, Reminder

MEETING_FIELDS = {
    "status",
    "starts_at",
    "ends_at",
    "format",
    "place",
    "proposed_by",
    "sequence",
    "cancel_reason",
    "held_at",
    "stage",
}


def _meeting(r: Meeting) -> MeetingDTO:
    return MeetingDTO(
        id=r.id,
        pair_id=r.pair_id,
        stage=r.stage,
        status=r.status,
        starts_at=r.starts_at,
        ends_at=r.ends_at,
        format=r.format,
        place=r.place,
        proposed_by=r.proposed_by,
        sequence=r.sequence,
        cancel_reason=r.cancel_reason,
        held_at=r.held_at,
    )


def _reminder(r: Reminder) -> ReminderDTO:
    return ReminderDTO(
        id=r.id,
        kind=r.kind,
        due_at=r.due_at,
        status=r.status,
        urgent=r.urgent,
        dedup_key=r.dedup_key,
        participant_id=r.participant_id,
        meeting_id=r.meeting_id,
        pair_id=r.pair_id,
        meeting_starts_at=r.meeting_starts_at,
    )


class MeetingRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def create(
        self,
        pair_id: int,
        stage: str,
        starts_at: datetime,
        ends_at: datetime,
        fmt: str,
        place: str | None,
        proposed_by: int,
        now: datetime,
    ) -> MeetingDTO:
        row = Meeting(
            pair_id=pair_id,
            stage=stage,
            status=MeetingStatus.PROPOSED,
            starts_at=starts_at,
            ends_at=ends_at,
            format=fmt,
            place=place,
            proposed_by=proposed_by,
            sequence=0,
            created_at=now,
            updated_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return _meeting(row)

    async def get_many(self, ids: set[int] | list[int]) -> dict[int, MeetingDTO]:
        ids = list(ids)
        out: dict[int, MeetingDTO] = {}
        for start in range(0, len(ids), 500):
            for row in await self.s.scalars(select(Meeting).where(Meeting.id.in_(ids[start : start + 500]))):
                out[row.id] = _meeting(row)
        return out

    async def get(self, meeting_id: int) -> MeetingDTO | None:
        row = await self.s.get(Meeting, meeting_id)
        return _meeting(row) if row else None

    async def for_pair(self, pair_id: int) -> list[MeetingDTO]:
        rows = await self.s.scalars(
            select(Meeting).where(Meeting.pair_id == pair_id).order_by(Meeting.starts_at, Meeting.id)
        )
        return [_meeting(r) for r in rows]

    async def for_pairs(self, pair_ids: list[int]) -> dict[int, list[MeetingDTO]]:
        """Every meeting of these pairs, by pair (each in time order), in one statement per 500 pairs."""
        out: dict[int, list[MeetingDTO]] = {p: [] for p in pair_ids}
        for start in range(0, len(pair_ids), 500):
            chunk = pair_ids[start : start + 500]
            rows = await self.s.scalars(
                select(Meeting).where(Meeting.pair_id.in_(chunk)).order_by(Meeting.starts_at, Meeting.id)
            )
            for r in rows:
                out[r.pair_id].append(_meeting(r))
        return out

    async def update(
        self, meeting_id: int, now: datetime, *, expect_status: tuple[str, ...] | None = None, **fields: Any
    ) -> bool:
        """Change a meeting; with expect_status the change happens only from those states (a double press
        finds nothing to change)."""
        assert set(fields) <= MEETING_FIELDS, set(fields) - MEETING_FIELDS
        q = update(Meeting).where(Meeting.id == meeting_id)
        if expect_status:
            q = q.where(Meeting.status.in_(expect_status))
        result = await self.s.execute(q.values(updated_at=now, **fields))
        return result.rowcount == 1

    async def feedback_from(self, meeting_ids: list[int]) -> dict[int, set[int]]:
        if not meeting_ids:
            return {}
        contexts = {f"meeting:{m}": m for m in meeting_ids}
        out: dict[int, set[int]] = {m: set() for m in meeting_ids}
        keys = list(contexts)
        for start in range(0, len(keys), 500):
            rows = await self.s.execute(
                select(FormResponse.context, FormResponse.participant_id).where(
                    FormResponse.context.in_(keys[start : start + 500]),
                    FormResponse.status == ResponseStatus.SUBMITTED,
                )
            )
            for ctx, pid in rows.all():
                out[contexts[ctx]].add(pid)
        return out

    async def mentee_ratings(self, mentor_ids: list[int]) -> dict[int, list[int]]:
        """The 1–5 meeting ratings mentees gave in each mentor's pairs (for the registry and honour board)."""
        from storage.models import Pair, PairMember

        contexts = (
            select(
                ("meeting:" + func.cast(Meeting.id, String)).label("ctx"),
                Pair.mentor_id,
                PairMember.mentee_id,
            )
            .join(Pair, Pair.id == Meeting.pair_id)
            .join(PairMember, PairMember.pair_id == Pair.id)
            .where(Pair.mentor_id.in_(mentor_ids))
            .subquery()
        )
        rows = await self.s.execute(
            select(contexts.c.mentor_id, FormResponse.answers)
            .join(
                FormResponse,
                (FormResponse.context == contexts.c.ctx)
                & (FormResponse.participant_id == contexts.c.mentee_id),
            )
            .where(
                FormResponse.status == ResponseStatus.SUBMITTED, FormResponse.form_id == "meeting_feedback"
            )
        )
        out: dict[int, list[int]] = {}
        for mentor_id, answers in rows.all():
            rating = (answers or {}).get("rating")
            if isinstance(rating, int):
                out.setdefault(mentor_id, []).append(rating)
        return out

    # -- goals of the individual development plan -------------------------------------------------------
    async def add_goal(self, pair_id: int, text: str, target: date, now: datetime) -> None:
        self.s.add(DevelopmentGoal(pair_id=pair_id, text=text, target_date=target, created_at=now))
        await self.s.flush()

    async def goals(self, pair_id: int) -> list[GoalDTO]:
        rows = await self.s.scalars(
            select(DevelopmentGoal)
            .where(DevelopmentGoal.pair_id == pair_id)
            .order_by(DevelopmentGoal.target_date, DevelopmentGoal.id)
        )
        return [GoalDTO(id=r.id, pair_id=r.pair_id, text=r.text, target_date=r.target_date) for r in rows]


class ReminderRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def add(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert reminders; a dedup_key that already exists is skipped. Returns the ids of new rows."""
        if not rows:
            return []
        insert = pg_insert if self.s.bind.dialect.name == "postgresql" else sqlite_insert
        ids: list[int] = []
        for start in range(0, len(rows), 500):
            stmt = (
                insert(Reminder)
                .values(rows[start : start + 500])
                .on_conflict_do_nothing(index_elements=["dedup_key"])
                .returning(Reminder.id)
            )
            ids += list((await self.s.scalars(stmt)).all())
        return ids

    async def get(self, reminder_id: int) -> ReminderDTO | None:
        row = await self.s.get(Reminder, reminder_id)
        return _reminder(row) if row else None

    async def pending(self) -> list[ReminderDTO]:
        rows = await self.s.scalars(
            select(Reminder).where(Reminder.status == ReminderStatus.PENDING).order_by(Reminder.due_at)
        )
        return [_reminder(r) for r in rows]

    async def due(self, now: datetime, limit: int = 1000, *, newest_first: bool = False) -> list[ReminderDTO]:
        order = (
            (Reminder.due_at.desc(), Reminder.id.desc()) if newest_first else (Reminder.due_at, Reminder.id)
        )
        rows = await self.s.scalars(
            select(Reminder)
            .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
            .order_by(*order)
            .limit(limit)
        )
        return [_reminder(r) for r in rows]

    async def due_for_meetings(self, meeting_ids: set[int], now: datetime) -> list[ReminderDTO]:
        """Every pending reminder of these meetings whose time has come (to tell which ones a later one
        supersedes)."""
        ids = list(meeting_ids)
        out: list[ReminderDTO] = []
        for start in range(0, len(ids), 500):
            rows = await self.s.scalars(
                select(Reminder).where(
                    Reminder.meeting_id.in_(ids[start : start + 500]),
                    Reminder.status == ReminderStatus.PENDING,
                    Reminder.due_at <= now,
                )
            )
            out += [_reminder(r) for r in rows]
        return out

    async def finish_many(
        self, ids: list[int], status: str, now: datetime, note: str | None = None
    ) -> set[int]:
        """pending → sent/dropped/expired exactly once, for many rows; returns the ids this call moved."""
        done: set[int] = set()
        for start in range(0, len(ids), 500):
            result = await self.s.scalars(
                update(Reminder)
                .where(Reminder.id.in_(ids[start : start + 500]), Reminder.status == ReminderStatus.PENDING)
                .values(status=status, fired_at=now, note=note)
                .returning(Reminder.id)
            )
            done.update(result.all())
        return done

    async def cancel(
        self,
        *,
        meeting_id: int | None = None,
        kinds: tuple[str, ...] | None = None,
        participant_id: int | None = None,
        pair_id: int | None = None,
    ) -> list[int]:
        q = select(Reminder.id).where(Reminder.status == ReminderStatus.PENDING)
        if meeting_id is not None:
            q = q.where(Reminder.meeting_id == meeting_id)
        if pair_id is not None:
            q = q.where(Reminder.pair_id == pair_id)
        if participant_id is not None:
            q = q.where(Reminder.participant_id == participant_id)
        if kinds:
            q = q.where(Reminder.kind.in_(kinds))
        ids = list((await self.s.scalars(q)).all())
        if ids:
            await self.s.execute(
                update(Reminder).where(Reminder.id.in_(ids)).values(status=ReminderStatus.CANCELLED)
            )
        return ids
