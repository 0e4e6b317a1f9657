"""Conversation states (aiogram's FSM), one row per person and chat.

aiogram asks for the state and the data separately, several times an update, and a handler often sets both:
a row is read once per unit of work and held in the session's info; writes change that copy and reach the
database once, as one statement, when the unit commits (``flush``, called by Repos.commit before it commits).
Statements are SQLAlchemy Core on the table, built once: through the ORM each cost about twice as much."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FsmRecord

_T = FsmRecord.__table__
_GET = select(_T.c.state, _T.c.data).where(_T.c.key == bindparam("k"))
_VALUES = {
    "state": bindparam("v_state"),
    "data": bindparam("v_data", type_=_T.c.data.type),
    "updated_at": bindparam("v_now", type_=_T.c.updated_at.type),
}
_INSERT = insert(_T).values(key=bindparam("k"), **_VALUES)
_UPDATE = update(_T).where(_T.c.key == bindparam("k")).values(**_VALUES)
_DELETE = delete(_T).where(_T.c.key == bindparam("k"))


class _Held:
    """A row as the unit sees it: `stored` whether it is in the database, `dirty` since when it differs."""

    __slots__ = ("data", "dirty", "state", "stored")

    def __init__(self, state: str | None, data: dict[str, Any], stored: bool) -> None:
        self.state, self.data, self.stored = state, data, stored
        self.dirty: datetime | None = None


class FsmRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session
        self._held: dict[str, _Held] = session.info.setdefault("fsm_states", {})

    async def _row(self, key: str) -> _Held:
        held = self._held.get(key)
        if held is None:
            row = (await self.s.execute(_GET, {"k": key})).first()
            held = _Held(row.state, dict(row.data or {}), True) if row else _Held(None, {}, False)
            self._held[key] = held
        return held

    async def get(self, key: str) -> tuple[str | None, dict[str, Any]]:
        held = await self._row(key)
        return held.state, dict(held.data)

    async def put(self, key: str, now: datetime, *, state: Any = ..., data: Any = ...) -> None:
        held = await self._row(key)
        new_state = held.state if state is ... else state
        new_data = held.data if data is ... else dict(data)
        if new_state != held.state or new_data != held.data:
            held.state, held.data, held.dirty = new_state, dict(new_data), now

    def changed(self) -> bool:
        """Whether this unit changed a conversation that is not written yet."""
        return any(held.dirty is not None for held in self._held.values())

    async def flush(self) -> None:
        """Write what changed in this unit: one statement per conversation, before the unit commits."""
        for key, held in self._held.items():
            if held.dirty is None:
                continue
            now, held.dirty = held.dirty, None
            params = {"k": key, "v_state": held.state, "v_data": held.data, "v_now": now}
            if held.state is None and not held.data:
                if held.stored:
                    await self.s.execute(_DELETE, {"k": key})
                    held.stored = False
            elif held.stored:
                await self.s.execute(_UPDATE, params)
            else:
                await self.s.execute(_INSERT, params)
                held.stored = True
