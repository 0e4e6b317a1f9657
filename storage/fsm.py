"""aiogram FSM storage on the bot's own database (aiogram ships none for SQL).

Inside a unit of work that the running task opened (an update's, a job's) it writes through that unit's
session, so a conversation step and the answer it stored commit together or not at all; elsewhere (including a
task started from inside an update) it opens its own short transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock, utc_now
from storage.uow import current_unit, unit_of_work


class SqlStorage(BaseStorage):
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        clock: Clock = utc_now,
        key_builder: KeyBuilder | None = None,
    ) -> None:
        self.factory = factory
        self.clock = clock
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)

    async def _put(self, key: StorageKey, **values: Any) -> None:
        k = self.key_builder.build(key)
        unit = current_unit()
        if unit is not None:
            await unit.fsm.put(k, self.clock(), **values)
            return
        async with unit_of_work(self.factory) as repos:
            await repos.fsm.put(k, self.clock(), **values)

    async def _get(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        k = self.key_builder.build(key)
        unit = current_unit()
        if unit is not None:
            return await unit.fsm.get(k)
        async with unit_of_work(self.factory) as repos:
            return await repos.fsm.get(k)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._put(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._get(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"Data must be a dict, got {type(data).__name__}")
        await self._put(key, data=data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return (await self._get(key))[1]

    async def close(self) -> None:
        return None
