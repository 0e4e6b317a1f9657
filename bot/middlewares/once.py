"""Each Telegram update is handled once. In webhook mode Telegram retries an update whose answer came late (a
big import) or never came (the instance died); the retry of an update already handled is skipped.

The update's id is recorded in the update's own transaction, with what it wrote last: an update that failed or
whose process died before that commit is handled again when Telegram retries it, and one that was handled is
never handled twice, even after a restart. A retry that arrives while the first copy is still being handled
in this process waits for it, then finds it recorded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update

from bot.clock import Clock
from storage.uow import Repos

log = logging.getLogger("nastavnik.updates")
KEEP = timedelta(days=2)  # Telegram gives up on an update after 24 hours
CLEANUP_EVERY = 3600.0  # seconds


class OneCopyAtATime(BaseMiddleware):
    """Outer middleware on updates, before the unit of work: copies of one update run one after another, each
    after the previous one's commit."""

    def __init__(self) -> None:
        self._running: dict[int, asyncio.Event] = {}

    async def wait_idle(self, timeout: float) -> bool:
        """At shutdown: wait until no update is being handled; False if some still are after `timeout`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._running:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            waiters = [asyncio.ensure_future(e.wait()) for e in self._running.values()]
            await asyncio.wait(waiters, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        return True

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        while (running := self._running.get(event.update_id)) is not None:
            await running.wait()
        done = self._running[event.update_id] = asyncio.Event()
        try:
            return await handler(event, data)
        finally:
            del self._running[event.update_id]
            done.set()


class HandledOnce(BaseMiddleware):
    """Outer middleware on updates, inside the unit of work."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._next_cleanup = 0.0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        repos: Repos = data["repos"]
        updates = repos.updates
        if await updates.seen(event.update_id):
            log.info("update_id=%s was handled before: skipped", event.update_id)
            return UNHANDLED
        result = await handler(event, data)
        now = self.clock()
        await updates.record(event.update_id, now)
        if time.monotonic() >= self._next_cleanup:
            self._next_cleanup = time.monotonic() + CLEANUP_EVERY
            await updates.forget_before(now - KEEP)
        return result
