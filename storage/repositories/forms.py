from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import FormResponseDTO, ResponseStatus
from storage.models import FormResponse
from storage.repositories.kept import kept

_UNSET: Any = object()


def _dto(row: FormResponse) -> FormResponseDTO:
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
        editing=row.editing,
        submitted_at=row.submitted_at,
    )


class FormRepo:
    """Form responses. A questionnaire step reads its response several times (the handler, the engine, the
    save): the rows are kept for the unit of work (repositories/kept.py), so only the first is a query."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def get(self, response_id: int) -> FormResponseDTO | None:
        row = kept(self.s, await self.s.get(FormResponse, response_id))
        return _dto(row) if row else None

    async def open_for(
        self, participant_id: int, form_id: str | None = None, context: str | None = None
    ) -> FormResponseDTO | None:
        """The person's unfinished form (the newest, if somehow several)."""
        q = select(FormResponse).where(
            FormResponse.participant_id == participant_id, FormResponse.status == ResponseStatus.IN_PROGRESS
        )
        if form_id is not None:
            q = q.where(FormResponse.form_id == form_id)
        if context is not None:
            q = q.where(FormResponse.context == context)
        row = kept(self.s, await self.s.scalar(q.order_by(FormResponse.id.desc()).limit(1)))
        return _dto(row) if row else None

    async def latest_submitted(
        self, participant_id: int, form_id: str, context: str | None = None
    ) -> FormResponseDTO | None:
        q = select(FormResponse).where(
            FormResponse.participant_id == participant_id,
            FormResponse.form_id == form_id,
            FormResponse.status == ResponseStatus.SUBMITTED,
        )
        if context is not None:
            q = q.where(FormResponse.context == context)
        row = await self.s.scalar(q.order_by(FormResponse.version.desc(), FormResponse.id.desc()).limit(1))
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
        row = FormResponse(
            participant_id=participant_id,
            form_id=form_id,
            form_version=form_version,
            version=version,
            status=ResponseStatus.IN_PROGRESS,
            context=context,
            answers=answers or {},
            current_key=current_key,
            draft=None,
            editing=editing,
            started_at=now,
            updated_at=now,
        )
        self.s.add(row)
        await self.s.flush()
        return _dto(kept(self.s, row))

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
        row = kept(self.s, await self.s.get(FormResponse, response_id))
        assert row is not None
        for name, value in (
            ("answers", answers),
            ("current_key", current_key),
            ("draft", draft),
            ("editing", editing),
        ):
            if value is not _UNSET:
                setattr(row, name, dict(value) if name == "answers" else value)
        row.updated_at = now
        await self.s.flush()
        return _dto(row)

    async def submit(self, response_id: int, now: datetime) -> FormResponseDTO:
        row = kept(self.s, await self.s.get(FormResponse, response_id))
        assert row is not None
        await self.s.execute(
            update(FormResponse)
            .where(
                FormResponse.participant_id == row.participant_id,
                FormResponse.form_id == row.form_id,
                FormResponse.context.is_(None)
                if row.context is None
                else FormResponse.context == row.context,
                FormResponse.status == ResponseStatus.SUBMITTED,
                FormResponse.id != row.id,
            )
            .values(status=ResponseStatus.SUPERSEDED)
        )
        await self.s.execute(
            update(FormResponse)
            .where(FormResponse.id == response_id)
            .values(
                status=ResponseStatus.SUBMITTED,
                submitted_at=now,
                updated_at=now,
                current_key=None,
                draft=None,
                editing=False,
            )
        )
        await self.s.refresh(row)
        return _dto(row)

    async def discard(self, response_id: int) -> None:
        await self.s.execute(
            update(FormResponse)
            .where(FormResponse.id == response_id)
            .values(status=ResponseStatus.SUPERSEDED)
        )

    async def status_by_participant(self, form_ids: list[str]) -> dict[int, dict[str, str]]:
        """participant id → {form id: 'submitted' | 'in_progress'} (submitted wins)."""
        rows = await self.s.execute(
            select(FormResponse.participant_id, FormResponse.form_id, FormResponse.status).where(
                FormResponse.form_id.in_(form_ids),
                FormResponse.status.in_((ResponseStatus.SUBMITTED, ResponseStatus.IN_PROGRESS)),
            )
        )
        out: dict[int, dict[str, str]] = {}
        for pid, form_id, status in rows.all():
            current = out.setdefault(pid, {}).get(form_id)
            if current != ResponseStatus.SUBMITTED:
                out[pid][form_id] = status
        return out
