"""Deleting personal data after consent is withdrawn; anonymous statistics (status, roles) stay."""

from __future__ import annotations

from datetime import datetime

from storage.uow import Repos


async def anonymise_due(repos: Repos, now: datetime) -> int:
    ids = await repos.participants.due_for_anonymisation(now)
    for pid in ids:
        await repos.participants.anonymise(pid, now)
        await repos.audit.log("privacy.anonymise", now, object_type="participant", object_id=pid)
    return len(ids)
