from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.services.privacy import anonymise_due
from storage.uow import unit_of_work

log = logging.getLogger(__name__)


async def purge_withdrawn(factory: async_sessionmaker[AsyncSession], clock: Clock) -> int:
    async with unit_of_work(factory) as repos:
        n = await anonymise_due(repos, clock())
    if n:
        log.info("anonymised %d participants after consent withdrawal", n)
    return n
