"""The curators' SWOT analyses of a programme: form responses of the form "swot" whose context is
"swot:<programme id>:<period>" (bot/services/swot.py), whichever curator of the institution sent them.
ORM statements: a curator's unit sees only its institution's answers (storage/tenancy.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import FormResponseDTO, ResponseStatus
from storage.models import FormResponse

FORM_ID = "swot"


_COLUMNS = (
    FormResponse.id,
    FormResponse.participant_id,
    FormResponse.form_id,
    FormResponse.form_version,
    FormResponse.version,
    FormResponse.status,
    FormResponse.context,
    FormResponse.answers,
    FormResponse.submitted_at,
)


def context_prefix(programme_id: int) -> str:
    return f"{FORM_ID}:{programme_id}:"


class SwotRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def submitted(self, programme_id: int, period: str | None = None) -> list[FormResponseDTO]:
        """The programme's submitted SWOT responses (of one period, or of every one), newest first."""
        prefix = context_prefix(programme_id)
        where = (
            FormResponse.context == prefix + period
            if period is not None
            else FormResponse.context.startswith(prefix, autoescape=True)
        )
        # Columns, not entities: the questionnaire engine writes responses with Core statements, which would
        # leave an entity loaded earlier in the unit stale.
        rows = await self.s.execute(
            select(*_COLUMNS)
            .where(
                FormResponse.form_id == FORM_ID,
                FormResponse.status == ResponseStatus.SUBMITTED,
                where,
            )
            .order_by(FormResponse.submitted_at.desc(), FormResponse.id.desc())
        )
        return [
            FormResponseDTO(
                id=r.id,
                participant_id=r.participant_id,
                form_id=r.form_id,
                form_version=r.form_version,
                version=r.version,
                status=r.status,
                context=r.context,
                answers=dict(r.answers or {}),
                current_key=None,
                draft=None,
                editing=False,
                submitted_at=r.submitted_at,
            )
            for r in rows.all()
        ]
