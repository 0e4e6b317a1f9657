"""The self-assessment button (entry, half-way, exit): opens the person's form through
bot/services/selfcheck.py and shows it with the generic questionnaire renderer; answering and sending it is
the questionnaire's handlers' job."""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks.selfcheck import SelfcheckCb
from bot.clock import Clock
from bot.domain.entities import ParticipantDTO, Role
from bot.i18n import Translator
from bot.middlewares.access import only_for
from bot.services import selfcheck as svc
from bot.services.questionnaires import Engine
from handlers.questionnaire import show
from storage.uow import Repos


async def open_selfcheck(
    cb: CallbackQuery,
    callback_data: SelfcheckCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    d = callback_data
    response = await svc.open_selfcheck(repos, engine, me.id, d.m, d.p, d.r, d.d, clock())
    if isinstance(response, svc.Refusal):
        await cb.answer(t(response), show_alert=True)
        return
    await cb.answer()
    await show(cb.message, engine, response, t, state)


def routers() -> list[Router]:
    """Members of pairs only: the mentor and the mentees assess themselves."""
    paired = only_for(Router(name=__name__), Role.MENTEE, Role.MENTOR)
    paired.callback_query.register(open_selfcheck, SelfcheckCb.filter())
    return [paired]
