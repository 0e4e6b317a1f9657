"""One unit of work per update: open a session, hand the handler its repositories, commit or roll back.

When the update's transaction commits:
- before each request the handler makes to Telegram (a reply, an edit, a button's answer; not the get*
  methods): ``commit_before_reply`` below, called by the request middleware in bot/app.py. What a person is
  told is already saved, so a crash right after a reply loses no answer the person saw acknowledged;
- at the end of the update (or it rolls back if the handler raised; what was committed before a reply stays).
Then the ``after_commit`` actions run: work that must see committed rows (arming a reminder job that reads
its row back, forgetting an erased person's conversation). Messages to other people go through the outbox
table in the same transaction (bot/services/notify.py): sent once, and only if the update's work was saved."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.uow import AlreadyHandled, current_unit, unit_of_work

log = logging.getLogger("nastavnik.updates")


async def commit_before_reply() -> None:
    """Called before a request to Telegram: commit the update's transaction so far, if the running task is
    the one handling the update (a task it started, such as a progress watcher, never commits its work)."""
    unit = current_unit()
    if unit is not None:
        await unit.commit_before_reply()


class UnitOfWorkMiddleware(BaseMiddleware):
    def __init__(
        self, factory: async_sessionmaker[AsyncSession], on_commit: Callable[[], None] | None = None
    ) -> None:
        self.factory = factory
        self.on_commit = on_commit

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        after_commit: list[Callable[[], Awaitable[Any]]] = []
        try:
            async with unit_of_work(self.factory, commits_before_reply=True) as repos:
                data["repos"] = repos
                data["after_commit"] = after_commit
                result = await handler(event, data)
        except AlreadyHandled as copy:  # found at the update's only commit, at its end (see HandledOnce)
            log.info("update_id=%s was handled before: skipped", copy.update_id)
            return UNHANDLED
        if self.on_commit is not None:
            self.on_commit()
        # Work that must see committed rows (e.g. arming a reminder job that reads its row back).
        for action in after_commit:
            await action()
        return result
