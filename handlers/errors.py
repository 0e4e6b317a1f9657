"""Any exception in a handler: a short apology to the person, the error with the update id in the log."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.config import Settings
from bot.i18n import Translator, pick_language

log = logging.getLogger("nastavnik.errors")
FALLBACK_LANGUAGE = "ru"  # when the failure came before the settings reached the update's data


async def on_error(event: ErrorEvent, settings: Settings | None = None) -> None:
    update = event.update
    log.error(
        "handler failed update_id=%s error=%s",
        update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    user = update.event.from_user if hasattr(update.event, "from_user") else None  # type: ignore[union-attr]
    chat_id = user.id if user else None
    if chat_id is None:
        return
    default = settings.default_language if settings is not None else FALLBACK_LANGUAGE
    t = Translator(pick_language(user.language_code, default))
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t("errors.apology"), show_alert=True)
        else:
            await update.bot.send_message(chat_id, t("errors.apology"))  # type: ignore[union-attr]
    except Exception:
        log.warning("could not deliver the apology update_id=%s", update.update_id)


def routers() -> list[Router]:
    r = Router(name=__name__)
    r.errors.register(on_error)
    return [r]
