"""Each Telegram update is handled once. In webhook mode Telegram retries an update whose answer came late (a
big import) or never came (the instance died); the retry of an update already handled is skipped.

The update's id is recorded in the update's first commit, together with what it wrote (storage/uow.py,
``Repos.record_update``): one commit a step. An update that failed or whose process died before that commit
left nothing behind and is handled again when Telegram retries it; one whose effects were saved is never
applied again after a crash or a restart (a retried answer is not taken for the answer to the next question).
An update that ends in an error after its first commit (Telegram refused the reply) is taken back off the
record, so Telegram's retry handles it again, as before. A copy is not looked up first: it runs until its
first commit, finds the id recorded, is rolled back before it has said anything and ends there
(``AlreadyHandled``). A retry that arrives while the first copy is still being handled in this process waits
for it (OneCopyAtATime)."""

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
from storage.uow import AlreadyHandled, Repos

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
        now = self.clock()
        repos.record_update(event.update_id, now)
        try:
            result = await handler(event, data)
        except AlreadyHandled:
            log.info("update_id=%s was handled before: skipped", event.update_id)
            return UNHANDLED
        except Exception:
            try:
                await repos.unrecord_update()
            except Exception as exc:  # the database failed too: the handler's error is the one to report
                log.warning("update_id=%s stays recorded (%s)", event.update_id, type(exc).__name__)
            raise
        if time.monotonic() >= self._next_cleanup:
            self._next_cleanup = time.monotonic() + CLEANUP_EVERY
            await repos.updates.forget_before(now - KEEP)
        return result
