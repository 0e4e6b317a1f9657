from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry
from storage.tenancy import institution_for_new_rows


class AuditRepo:
    """Records ids and action names only — callers must not pass names, answers or phone numbers."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def log(
        self,
        action: str,
        now: datetime,
        *,
        actor_id: int | None = None,
        object_type: str | None = None,
        object_id: int | None = None,
        **details: Any,
    ) -> None:
        self.s.add(
            AuditEntry(
                at=now,
                actor_id=actor_id,
                action=action,
                object_type=object_type,
                object_id=object_id,
                details=details,
                institution_id=institution_for_new_rows(self.s),
            )
        )
