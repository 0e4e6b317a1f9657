"""Access control in one place: handlers declare flags={"roles": {...}}; curator callbacks are refused for
anyone else by their prefix, even when the data was forged to look valid."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator
from handlers.callbacks import CURATOR_PREFIXES

log = logging.getLogger("nastavnik.access")


def _allowed(me: ParticipantDTO | None, roles: set[Role]) -> bool:
    if me is None or me.status == Status.WITHDRAWN.value or not me.full_name:
        return False
    return bool(me.roles & roles)


class AccessMiddleware(BaseMiddleware):
    """Inner middleware: runs after a handler matched, so its flags are known."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        roles: set[Role] | None = get_flag(data, "roles")
        if isinstance(event, CallbackQuery) and (event.data or "").split(":", 1)[0] in CURATOR_PREFIXES:
            roles = {Role.CURATOR}
        if roles is None or _allowed(data.get("me"), roles):
            return await handler(event, data)
        t: Translator = data["t"]
        me = data.get("me")
        log.warning(
            "access denied update_id=%s participant=%s need=%s",
            data.get("event_update").update_id if data.get("event_update") else None,
            me.id if me else None,
            ",".join(sorted(roles)),
        )
        key = "access.denied" if roles == {Role.CURATOR} else "access.denied_role"
        if isinstance(event, CallbackQuery):
            await event.answer(t(key), show_alert=True)
        elif isinstance(event, Message):
            await event.answer(t(key))
        return None
