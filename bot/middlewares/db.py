"""One unit of work per update: open a session, hand the handler its repositories, commit or roll back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.uow import unit_of_work

# The update's session and the task handling it: requests to Telegram made by that task commit what the update
# has written so far before they leave (bot/app.py PacingMiddleware). A task the handler started (a progress
# watcher) inherits the variable but is not the owner, so it never commits the handler's session.
update_session: ContextVar[tuple[AsyncSession, asyncio.Task[Any] | None] | None] = ContextVar(
    "update_session", default=None
)


async def commit_before_reply() -> None:
    """Called before a request to Telegram: commit the update's transaction so far, if this task owns it."""
    owned = update_session.get()
    if owned is None:
        return
    session, task = owned
    if task is asyncio.current_task() and session.in_transaction():
        await session.commit()


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
        async with unit_of_work(self.factory) as repos:
            data["repos"] = repos
            data["after_commit"] = after_commit
            token = update_session.set((repos.session, asyncio.current_task()))
            try:
                result = await handler(event, data)
            finally:
                update_session.reset(token)
        if self.on_commit is not None:
            self.on_commit()
        # Work that must see committed rows (e.g. arming a reminder job that reads its row back).
        for action in after_commit:
            await action()
        return result
