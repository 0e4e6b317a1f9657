"""Roadmap items (дорожная карта): SQL only, plain dataclasses out, never commits.

``due_on`` is the date an open item is next due: the deadline itself for a one-off item, the tracked
occurrence for a recurring one (the service advances it when the item is done), NULL for an item
without a date. So "overdue" and "due soon" are plain range queries."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import Status
from bot.domain.roadmap import ItemStatus
from storage.models import Participant, Programme, RoadmapItem

# Column widths of roadmap_items: a longer value is refused before it reaches the database.
SECTION_CHARS = RESPONSIBLE_CHARS = DEADLINE_CHARS = 300
NOTE_CHARS = 500


@dataclass(frozen=True)
class NewRoadmapItem:
    activity: str
    deadline_text: str
    deadline_kind: str
    due_on: date | None
    recurrence: dict[str, Any] = field(default_factory=dict)
    responsible: str | None = None
    responsible_id: int | None = None
    result: str | None = None
    section: str | None = None


@dataclass(frozen=True)
class RoadmapItemDTO:
    id: int
    programme_id: int | None
    section: str | None
    activity: str
    responsible: str | None
    responsible_id: int | None
    deadline_text: str
    deadline_kind: str
    due_on: date | None
    recurrence: dict[str, Any]
    result: str | None
    status: str
    done_note: str | None
    done_at: datetime | None


@dataclass(frozen=True)
class Person:
    id: int
    full_name: str


def _dto(r: RoadmapItem) -> RoadmapItemDTO:
    return RoadmapItemDTO(
        id=r.id,
        programme_id=r.programme_id,
        section=r.section,
        activity=r.activity,
        responsible=r.responsible,
        responsible_id=r.responsible_id,
        deadline_text=r.deadline_text,
        deadline_kind=r.deadline_kind,
        due_on=r.due_on,
        recurrence=dict(r.recurrence or {}),
        result=r.result,
        status=r.status,
        done_note=r.done_note,
        done_at=r.done_at,
    )


# --- who is "Алимова Н.Е." ---------------------------------------------------------------------------

_SPLIT = re.compile(r"[,;/]|\s+и\s+")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
# "Алимова Н.Е.", "Алимова Н. Е.", "Алимова Н."; and initials first: "Н.Е. Алимова".
_SURNAME_FIRST = re.compile(r"^([^\W\d_][\w-]+)\s+([^\W\d_])\.\s*(?:([^\W\d_])\.?)?$")
_INITIALS_FIRST = re.compile(r"^([^\W\d_])\.\s*(?:([^\W\d_])\.)?\s*([^\W\d_][\w-]+)$")


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


def _reference(part: str) -> tuple[str, str] | None:
    """(surname, initials) of "Алимова Н.Е." / "Н.Е. Алимова", else None."""
    text = _norm(part).strip()
    if m := _SURNAME_FIRST.match(text):
        return m.group(1), m.group(2) + (m.group(3) or "")
    if m := _INITIALS_FIRST.match(text):
        return m.group(3), m.group(1) + (m.group(2) or "")
    return None


def _matches(part: str, person: Person) -> bool:
    if _norm(part).strip(" .") == _norm(person.full_name):
        return True
    ref = _reference(part)
    words = _WORD.findall(_norm(person.full_name))
    if ref is None or len(words) < 2:
        return False
    surname, initials = ref
    # Russian documents write "Фамилия И.О."; the bot stores the name as the person typed it, surname first.
    return words[0] == surname and "".join(w[0] for w in words[1:]).startswith(initials)


def match_name(text: str, people: Sequence[Person]) -> int | None:
    """The participant a roadmap's "responsible" cell names: the first name in the cell that fits exactly
    one person (a full name, or a surname with initials, case-insensitively). A post ("Координатор …")
    fits nobody."""
    for part in _SPLIT.split(text or ""):
        if not part.strip():
            continue
        found = {p.id for p in people if _matches(part, p)}
        if len(found) == 1:
            return found.pop()
    return None


class RoadmapRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    def _scope(self, query: Any, programme_id: int | None) -> Any:
        return query if programme_id is None else query.where(RoadmapItem.programme_id == programme_id)

    async def add_many(
        self, items: Sequence[NewRoadmapItem], programme_id: int | None, now: datetime
    ) -> list[int]:
        """One flush in the caller's transaction: a failure leaves nothing behind once it rolls back."""
        rows = [
            RoadmapItem(
                programme_id=programme_id,
                section=i.section[:SECTION_CHARS] if i.section else None,
                activity=i.activity,
                responsible=i.responsible,
                responsible_id=i.responsible_id,
                deadline_text=i.deadline_text,
                deadline_kind=i.deadline_kind,
                due_on=i.due_on,
                recurrence=dict(i.recurrence),
                result=i.result,
                status=ItemStatus.OPEN,
                created_at=now,
                updated_at=now,
            )
            for i in items
        ]
        self.s.add_all(rows)
        await self.s.flush()
        return [r.id for r in rows]

    async def get(self, item_id: int) -> RoadmapItemDTO | None:
        row = await self.s.get(RoadmapItem, item_id)
        return _dto(row) if row else None

    async def list(
        self,
        programme_id: int | None = None,
        *,
        status: str | None = ItemStatus.OPEN,
        due_until: date | None = None,
        overdue_on: date | None = None,
        undated: bool | None = None,
    ) -> list[RoadmapItemDTO]:
        """Items by due date (undated last). ``due_until``: due on or before that day (overdue included);
        ``overdue_on``: due before that day; ``undated``: only items with (False) / without (True) a date."""
        q = self._scope(select(RoadmapItem), programme_id)
        if status is not None:
            q = q.where(RoadmapItem.status == status)
        if due_until is not None:
            q = q.where(RoadmapItem.due_on <= due_until)
        if overdue_on is not None:
            q = q.where(RoadmapItem.due_on < overdue_on)
        if undated is not None:
            q = q.where(RoadmapItem.due_on.is_(None) if undated else RoadmapItem.due_on.is_not(None))
        q = q.order_by(RoadmapItem.due_on.is_(None), RoadmapItem.due_on, RoadmapItem.id)
        return [_dto(r) for r in await self.s.scalars(q)]

    async def counts(self, programme_id: int | None = None) -> dict[str, int]:
        q = self._scope(select(RoadmapItem.status, func.count()).group_by(RoadmapItem.status), programme_id)
        return {status: n for status, n in (await self.s.execute(q)).all()}

    async def deadlines(
        self, programme_id: int | None = None
    ) -> list[tuple[str, str, date | None, dict[str, Any]]]:
        """(activity, deadline kind, due date, recurrence) of every item, to tell a row already imported."""
        q = self._scope(
            select(
                RoadmapItem.activity, RoadmapItem.deadline_kind, RoadmapItem.due_on, RoadmapItem.recurrence
            ),
            programme_id,
        )
        return [(a, k, d, dict(r or {})) for a, k, d, r in (await self.s.execute(q)).all()]

    async def mark_done(
        self,
        item_id: int,
        note: str | None,
        now: datetime,
        *,
        expect_due_on: date | None,
        next_due_on: date | None = None,
    ) -> bool:
        """Only from open and only for the occurrence the curator saw (a double press changes nothing).
        With ``next_due_on`` a recurring item stays open and moves on to its next occurrence."""
        q = update(RoadmapItem).where(RoadmapItem.id == item_id, RoadmapItem.status == ItemStatus.OPEN)
        q = q.where(
            RoadmapItem.due_on.is_(None) if expect_due_on is None else RoadmapItem.due_on == expect_due_on
        )
        values: dict[str, Any] = dict(done_note=note, done_at=now, updated_at=now)
        if next_due_on is None:
            values["status"] = ItemStatus.DONE
        else:
            values["due_on"] = next_due_on
        result = await self.s.execute(q.values(**values))
        return result.rowcount == 1

    async def move(
        self,
        item_id: int,
        now: datetime,
        *,
        deadline_text: str,
        deadline_kind: str,
        due_on: date | None,
        recurrence: dict[str, Any],
    ) -> bool:
        q = update(RoadmapItem).where(RoadmapItem.id == item_id, RoadmapItem.status == ItemStatus.OPEN)
        result = await self.s.execute(
            q.values(
                deadline_text=deadline_text,
                deadline_kind=deadline_kind,
                due_on=due_on,
                recurrence=dict(recurrence),
                updated_at=now,
            )
        )
        return result.rowcount == 1

    async def due_for_responsible(self, start: date, end: date) -> list[RoadmapItemDTO]:
        """Open items with a responsible participant, due between start and end (inclusive); an archived
        programme's roadmap reminds nobody."""
        archived = select(Programme.id).where(Programme.archived_at.is_not(None))
        q = (
            select(RoadmapItem)
            .where(
                RoadmapItem.status == ItemStatus.OPEN,
                RoadmapItem.responsible_id.is_not(None),
                RoadmapItem.due_on >= start,
                RoadmapItem.due_on <= end,
                RoadmapItem.programme_id.is_(None) | RoadmapItem.programme_id.not_in(archived),
            )
            .order_by(RoadmapItem.due_on, RoadmapItem.id)
        )
        return [_dto(r) for r in await self.s.scalars(q)]

    # --- responsible people ---------------------------------------------------------------------------

    async def people(self) -> list[Person]:
        """Grown-up participants the bot can write to: the only ones a roadmap can name as responsible."""
        rows = await self.s.execute(
            select(Participant.id, Participant.full_name).where(
                Participant.status == Status.ACTIVE.value,
                Participant.telegram_id.is_not(None),
                Participant.full_name.is_not(None),
                Participant.is_minor.is_not(True),
            )
        )
        return [Person(pid, name) for pid, name in rows.all()]

    async def match_responsible(self, names: Iterable[str]) -> dict[str, int | None]:
        people = await self.people()
        return {name: match_name(name, people) for name in set(names)}

    async def link_responsible(self, now: datetime) -> int:
        """Open items whose responsible person joined the bot after the import get linked now."""
        rows = (
            await self.s.execute(
                select(RoadmapItem.id, RoadmapItem.responsible).where(
                    RoadmapItem.status == ItemStatus.OPEN,
                    RoadmapItem.responsible_id.is_(None),
                    RoadmapItem.responsible.is_not(None),
                )
            )
        ).all()
        if not rows:
            return 0
        found = await self.match_responsible(text for _, text in rows)
        linked = 0
        for item_id, text in rows:
            if (pid := found.get(text)) is not None:
                await self.s.execute(
                    update(RoadmapItem)
                    .where(RoadmapItem.id == item_id)
                    .values(responsible_id=pid, updated_at=now)
                )
                linked += 1
        return linked
