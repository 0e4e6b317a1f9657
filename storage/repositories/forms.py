from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import FormResponseDTO, ResponseStatus
from storage.models import FormResponse
from storage.tenancy import OutsideInstitution, people_filter

_UNSET: Any = object()


_T = FormResponse.__table__
_COLUMNS = (
    _T.c.id,
    _T.c.participant_id,
    _T.c.form_id,
    _T.c.form_version,
    _T.c.version,
    _T.c.status,
    _T.c.context,
    _T.c.answers,
    _T.c.current_key,
    _T.c.draft,
    _T.c.editing,
    _T.c.submitted_at,
)
# Built once, on the table (SQLAlchemy Core): a questionnaire step reads and writes its response, and through
# the ORM each of those cost about twice the statement itself (bench/forms.py).
_GET = select(*_COLUMNS).where(_T.c.id == bindparam("rid"))
_SAVE = (
    update(_T)
    .where(_T.c.id == bindparam("rid"))
    .values(
        answers=bindparam("v_answers", type_=_T.c.answers.type),
        current_key=bindparam("v_current_key"),
        draft=bindparam("v_draft", type_=_T.c.draft.type),
        editing=bindparam("v_editing"),
        updated_at=bindparam("v_now", type_=_T.c.updated_at.type),
    )
)


def _dto(row: Any) -> FormResponseDTO:
    return FormResponseDTO(
        id=row.id,
        participant_id=row.participant_id,
        form_id=row.form_id,
        form_version=row.form_version,
        version=row.version,
        status=row.status,
        context=row.context,
        answers=dict(row.answers or {}),
        current_key=row.current_key,
        draft=list(row.draft) if row.draft is not None else None,
        editing=bool(row.editing),
        submitted_at=row.submitted_at,
    )


def _copy(dto: FormResponseDTO) -> FormResponseDTO:
    """What a caller gets: its own answers and draft, so changing them leaves the unit's copy as it is."""
    return replace(dto, answers=dict(dto.answers), draft=list(dto.draft) if dto.draft is not None else None)


class FormRepo:
    """Form responses. A questionnaire step reads its response several times (the handler, the engine, the
    save): a response read or written in a unit of work is held for the rest of it (in the session's info,
    dropped with the session), so only the first read is a query. This repository's writes keep that copy
    true; the erasure (repositories/privacy.py) changes answers in place and reads none of them back."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session
        self._held: dict[int, FormResponseDTO] = session.info.setdefault("form_responses", {})

    def _hold(self, dto: FormResponseDTO) -> FormResponseDTO:
        self._held[dto.id] = dto
        return _copy(dto)

    async def get(self, response_id: int) -> FormResponseDTO | None:
        held = self._held.get(response_id)
        if held is not None:
            return _copy(held)
        mine = people_filter(self.s, _T.c.participant_id)
        row = (await self.s.execute(_GET if mine is None else _GET.where(mine), {"rid": response_id})).first()
        if row is None and mine is not None and (await self.s.execute(_GET, {"rid": response_id})).first():
            raise OutsideInstitution("form_responses", response_id)
        return self._hold(_dto(row)) if row else None

    async def open_for(
        self, participant_id: int, form_id: str | None = None, context: str | None = None
    ) -> FormResponseDTO | None:
        """The person's unfinished form (the newest, if somehow several)."""
        q = select(*_COLUMNS).where(
            _T.c.participant_id == participant_id, _T.c.status == ResponseStatus.IN_PROGRESS
        )
        if form_id is not None:
            q = q.where(_T.c.form_id == form_id)
        if context is not None:
            q = q.where(_T.c.context == context)
        if (mine := people_filter(self.s, _T.c.participant_id)) is not None:
            q = q.where(mine)
        row = (await self.s.execute(q.order_by(_T.c.id.desc()).limit(1))).first()
        return self._hold(_dto(row)) if row else None

    async def latest_submitted(
        self, participant_id: int, form_id: str, context: str | None = None
    ) -> FormResponseDTO | None:
        q = select(*_COLUMNS).where(
            _T.c.participant_id == participant_id,
            _T.c.form_id == form_id,
            _T.c.status == ResponseStatus.SUBMITTED,
        )
        if context is not None:
            q = q.where(_T.c.context == context)
        if (mine := people_filter(self.s, _T.c.participant_id)) is not None:
            q = q.where(mine)
        row = (await self.s.execute(q.order_by(_T.c.version.desc(), _T.c.id.desc()).limit(1))).first()
        return _dto(row) if row else None

    async def create(
        self,
        participant_id: int,
        form_id: str,
        form_version: int,
        now: datetime,
        *,
        version: int = 1,
        answers: dict[str, Any] | None = None,
        current_key: str | None = None,
        editing: bool = False,
        context: str | None = None,
    ) -> FormResponseDTO:
        values = dict(
            participant_id=participant_id,
            form_id=form_id,
            form_version=form_version,
            version=version,
            status=ResponseStatus.IN_PROGRESS.value,
            context=context,
            answers=dict(answers or {}),
            current_key=current_key,
            draft=None,
            editing=editing,
            started_at=now,
            updated_at=now,
        )
        new_id = (await self.s.execute(insert(_T).values(values).returning(_T.c.id))).scalar_one()
        return self._hold(_dto(SimpleNamespace(id=new_id, submitted_at=None, **values)))

    async def save(
        self,
        response_id: int,
        now: datetime,
        *,
        answers: Any = _UNSET,
        current_key: Any = _UNSET,
        draft: Any = _UNSET,
        editing: Any = _UNSET,
    ) -> FormResponseDTO:
        held = await self.get(response_id)
        assert held is not None
        changed = replace(
            held,
            answers=dict(answers) if answers is not _UNSET else held.answers,
            current_key=current_key if current_key is not _UNSET else held.current_key,
            draft=draft if draft is not _UNSET else held.draft,
            editing=editing if editing is not _UNSET else held.editing,
        )
        await self.s.execute(
            _SAVE,
            {
                "rid": response_id,
                "v_answers": changed.answers,
                "v_current_key": changed.current_key,
                "v_draft": changed.draft,
                "v_editing": changed.editing,
                "v_now": now,
            },
        )
        return self._hold(changed)

    async def submit(self, response_id: int, now: datetime) -> FormResponseDTO:
        row = await self.get(response_id)
        assert row is not None
        await self.s.execute(
            update(_T)
            .where(
                _T.c.participant_id == row.participant_id,
                _T.c.form_id == row.form_id,
                _T.c.context.is_(None) if row.context is None else _T.c.context == row.context,
                _T.c.status == ResponseStatus.SUBMITTED,
                _T.c.id != row.id,
            )
            .values(status=ResponseStatus.SUPERSEDED)
        )
        await self.s.execute(
            update(_T)
            .where(_T.c.id == response_id)
            .values(
                status=ResponseStatus.SUBMITTED,
                submitted_at=now,
                updated_at=now,
                current_key=None,
                draft=None,
                editing=False,
            )
        )
        owner = (row.participant_id, row.form_id)
        for rid in [k for k, h in self._held.items() if (h.participant_id, h.form_id) == owner]:
            del self._held[rid]  # this one and any it superseded are read again
        submitted = await self.get(response_id)
        assert submitted is not None
        return submitted

    async def discard(self, response_id: int) -> None:
        await self.s.execute(
            update(_T).where(_T.c.id == response_id).values(status=ResponseStatus.SUPERSEDED)
        )
        self._held.pop(response_id, None)

    async def status_by_participant(self, form_ids: list[str]) -> dict[int, dict[str, str]]:
        """participant id → {form id: 'submitted' | 'in_progress'} (submitted wins)."""
        q = select(_T.c.participant_id, _T.c.form_id, _T.c.status).where(
            _T.c.form_id.in_(form_ids),
            _T.c.status.in_((ResponseStatus.SUBMITTED, ResponseStatus.IN_PROGRESS)),
        )
        if (mine := people_filter(self.s, _T.c.participant_id)) is not None:
            q = q.where(mine)
        rows = await self.s.execute(q)
        out: dict[int, dict[str, str]] = {}
        for pid, form_id, status in rows.all():
            current = out.setdefault(pid, {}).get(form_id)
            if current != ResponseStatus.SUBMITTED:
                out[pid][form_id] = status
        return out
