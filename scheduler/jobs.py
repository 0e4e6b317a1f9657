from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.privacy import erase_due
from storage.db import truncate_wal
from storage.uow import unit_of_work

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erasure:
    """What an erasure outside an update needs besides the database: the ledger's key (never stored in the
    database) and a way to drop a person's conversation state wherever it lives (SQL or Redis)."""

    key: bytes | None = None
    forget_state: Callable[[int], Awaitable[Any]] | None = None


async def purge_withdrawn(
    factory: async_sessionmaker[AsyncSession], clock: Clock, erasure: Erasure | None = None
) -> int:
    """Erase everyone whose deletion is due (participants.deletion_due_at <= now): at start-up and hourly."""
    erasure = erasure or Erasure()
    async with unit_of_work(factory) as repos:
        done = await erase_due(repos, clock(), key=erasure.key)
    if not done:
        return 0
    if erasure.forget_state is not None:
        for person in done:
            if person.former_telegram_id is not None:
                await erasure.forget_state(person.former_telegram_id)
    engine = factory.kw.get("bind")
    if engine is not None:
        await truncate_wal(engine)
    log.info("anonymised %d participants after consent withdrawal", len(done))
    return len(done)
