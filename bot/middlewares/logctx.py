"""The update being handled, for the log: every line written meanwhile carries its id (never who sent it)."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.logging_setup import UPDATE_ATTR, current_update_id


class LogContextMiddleware(BaseMiddleware):
    """Outer middleware on updates."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        token = current_update_id.set(update_id)
        try:
            return await handler(event, data)
        except Exception as exc:
            # aiogram's error middleware wraps every other one and logs the failure after this context ended.
            with contextlib.suppress(AttributeError, TypeError):
                setattr(exc, UPDATE_ATTR, update_id)
            raise
        finally:
            current_update_id.reset(token)
