"""Last in the chain: stray text outside a conversation, and buttons nobody recognises."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.i18n import Translator

log = logging.getLogger("nastavnik.fallback")


async def stray(message: Message, t: Translator) -> None:
    await message.answer(t("common.stray"))


async def unknown_button(cb: CallbackQuery, t: Translator) -> None:
    # Old keyboards and forged data land here; the payload may be attacker-chosen, so log only its size.
    log.warning("unrecognised callback data (len=%d)", len(cb.data or ""))
    await cb.answer(t("common.stale"), show_alert=True)


def routers() -> list[Router]:
    r = Router(name=__name__)
    r.message.register(stray)
    r.callback_query.register(unknown_button)
    return [r]
