"""The conversation state, read inside the update's unit of work.

aiogram's FSM middleware takes the person's lock (one update per person at a time) and reads the state before
anything else, so with the state in the bot's database the read was a transaction of its own, and every later
read in the update another query. Here the lock is taken in the same place (before the unit of work opens,
so an update never waits for the lock inside a transaction that saw the database before the previous update
committed), and ContextMiddleware reads the state inside the unit (`read_state`), whose FSM repository keeps
the row for the rest of the update."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject


class ConversationLock(FSMContextMiddleware):
    """aiogram's FSMContextMiddleware without its early read of the state (see `read_state`)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        context = self.resolve_event_context(cast(Bot, data["bot"]), data)
        data["fsm_storage"] = self.storage
        if context is None:
            return await handler(event, data)
        async with self.events_isolation.lock(key=context.key):
            data["state"] = context
            return await handler(event, data)


async def read_state(data: dict[str, Any]) -> None:
    """Put `raw_state` where aiogram's state filters look for it (None without a conversation context)."""
    state: FSMContext | None = data.get("state")
    data["raw_state"] = await state.get_state() if state is not None else None
