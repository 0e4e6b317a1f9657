"""Any exception in a handler: a short apology to the person, the error with the update id in the log, and an
alert to the operator (the exception's class and the time only; at most one an hour, bot/operator.py)."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.config import Settings
from bot.i18n import Translator, pick_language
from bot.operator import Operator

log = logging.getLogger("nastavnik.errors")
FALLBACK_LANGUAGE = "ru"  # when the failure came before the settings reached the update's data


async def on_error(
    event: ErrorEvent, settings: Settings | None = None, operator: Operator | None = None
) -> None:
    log.error(
        "handler failed update_id=%s error=%s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    await _apologise(event, settings)
    if operator is not None:  # after the apology: the alert may wait for a database in trouble
        await operator.update_failed(event.exception)


async def _apologise(event: ErrorEvent, settings: Settings | None) -> None:
    update = event.update
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
