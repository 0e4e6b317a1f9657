"""Private chats only, for every command, button and conversation: names, answers and personal-data files must
never be posted where others read them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.enums import ChatType
from aiogram.types import Chat, TelegramObject, Update


class PrivateChatsOnly(BaseMiddleware):
    """Outer middleware on updates: only an update from a private chat goes on to the feature routers. One
    from a group, supergroup or channel goes to `outside` (which leaves the chat); one with no chat at all
    (inline queries, polls) is ignored."""

    def __init__(self, outside: Router) -> None:
        self.outside = outside

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is not None and chat.type == ChatType.PRIVATE:
            return await handler(event, data)
        if chat is not None and isinstance(event, Update):
            return await self.outside.propagate_event(event.event_type, event.event, **data)
        return UNHANDLED
