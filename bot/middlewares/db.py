"""One unit of work per update: open a session, hand the handler its repositories, commit or roll back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.uow import unit_of_work


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
            result = await handler(event, data)
        if self.on_commit is not None:
            self.on_commit()
        # Work that must see committed rows (e.g. arming a reminder job that reads its row back).
        for action in after_commit:
            await action()
        return result
