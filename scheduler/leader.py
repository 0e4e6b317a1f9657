"""Exactly one instance runs the scheduler: the holder of a PostgreSQL advisory lock (APScheduler 3 must not
run in two processes). The lock lives on one dedicated connection: if the instance dies, PostgreSQL ends its
session and releases the lock, and another instance takes over within one poll interval. SQLite means one
instance, which is always the leader."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)
LOCK_KEY = 0x4E415354  # "NAST"


class Leadership:
    def __init__(
        self,
        database_url: str,
        on_elected: Callable[[], Awaitable[None]],
        on_lost: Callable[[], Awaitable[None]],
        poll: float = 2.0,
    ) -> None:
        self.url = database_url
        self.on_elected, self.on_lost = on_elected, on_lost
        self.poll = poll
        self.is_leader = False
        self._conn = None
        self._stop = asyncio.Event()

    async def run(self) -> None:
        if not self.url.startswith("postgresql"):
            self.is_leader = True
            await self.on_elected()
            await self._stop.wait()
            return
        import asyncpg

        dsn = self.url.replace("postgresql+asyncpg://", "postgresql://", 1)
        while not self._stop.is_set():
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(dsn, timeout=5)
                if not self.is_leader:
                    if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
                        self.is_leader = True
                        log.info("scheduler leadership acquired")
                        await self.on_elected()
                else:
                    await self._conn.fetchval("SELECT 1")  # the lock lives as long as this session
            except Exception as exc:  # any failure means the lock may be lost
                log.warning("leadership check failed: %s", type(exc).__name__)
                if self.is_leader:
                    self.is_leader = False
                    await self.on_lost()
                self._conn = None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll)

    async def stop(self) -> None:
        self._stop.set()
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close()
