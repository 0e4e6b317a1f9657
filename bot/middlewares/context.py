"""Who is writing (participant + roles), in which language to answer them, and where their conversation is
(the state, read here inside the unit of work: bot/middlewares/state.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.config import Settings
from bot.domain.register import of_person
from bot.i18n import Translator, pick_language
from bot.middlewares.state import read_state
from storage.uow import Repos


class ContextMiddleware(BaseMiddleware):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        await read_state(data)
        user: User | None = data.get("event_from_user")
        repos: Repos = data["repos"]
        me = await repos.participants.by_telegram_id(user.id) if user else None
        if me is not None:
            lang = me.language
        else:
            state = data.get("state")
            stored = (await state.get_data()).get("lang") if state is not None else None
            lang = stored or pick_language(
                user.language_code if user else None, self.settings.default_language
            )
        data["me"] = me
        # a pupil (a minor mentee) reads the «ты» wording of every text that has one
        data["t"] = Translator(lang, of_person(me).value if me is not None else None)
        data["settings"] = self.settings
        data["bootstrap_curator"] = bool(user and user.id in self.settings.curator_ids)
        return await handler(event, data)
