"""/swot (curator): the SWOT analysis of the current programme for the current monitoring period, and the
button of the campaign's invitation. The answers are given in the generic questionnaire
(handlers/questionnaire.py); what the analysis is and where it is kept: bot/services/swot.py."""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks.swot import SwotAction, SwotCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, ProgrammeDTO
from bot.domain.grammar import format_date
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.services import swot as svc
from bot.services.questionnaires import Engine
from handlers.programmes import for_change, refusal
from handlers.questionnaire import point, show
from storage.uow import Repos


async def _render(
    message: Message,
    outcome: svc.Opened | svc.AlreadySent,
    programme: ProgrammeDTO,
    period: str,
    engine: Engine,
    t: Translator,
    state: FSMContext,
    settings: Settings,
    now: datetime,
) -> None:
    names = {"programme": programme.title, "period": svc.period_name(period)(t)}
    if isinstance(outcome, svc.AlreadySent):
        sent = outcome.result.submitted_at.astimezone(settings.tz).date()
        shown = format_date(t, sent, today=now.astimezone(settings.tz).date())
        again = SwotCb(a=SwotAction.AGAIN, p=programme.id, period=period)
        markup = InlineKeyboardBuilder().button(text=t("swot.again_button"), callback_data=again).as_markup()
        await message.answer(t("swot.already", date=shown, **names), reply_markup=markup)
        return
    await point(state, outcome.response)  # before anything is sent: a message commits what was written
    await message.answer(t(f"swot.start.{outcome.start}", **names))
    await show(message, engine, outcome.response, t, state)


async def swot(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
    engine: Engine,
) -> None:
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    now = clock()
    period = svc.period_of(now.astimezone(settings.tz).date())
    outcome = await svc.open_swot(repos, engine, me.id, programme, period, now)
    await _render(message, outcome, programme, period, engine, t, state, settings, now)


async def swot_button(
    cb: CallbackQuery,
    callback_data: SwotCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
    engine: Engine,
) -> None:
    """The invitation's button (that programme and period), or "fill in again" under an analysis sent."""
    now = clock()
    period = svc.parse_period(callback_data.period, now.astimezone(settings.tz).date())
    programme = await repos.programmes.get(callback_data.p)
    if period is None or programme is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if programme.archived:
        await cb.answer(refusal(t, programme), show_alert=True)
        return
    again = callback_data.a == SwotAction.AGAIN
    outcome = await svc.open_swot(repos, engine, me.id, programme, period, now, again=again)
    await cb.answer()
    await _render(cb.message, outcome, programme, period, engine, t, state, settings, now)


def routers() -> list[Router]:
    curator = curators_only(f"{__name__}.curator")
    curator.message.register(swot, Command("swot"))
    curator.callback_query.register(swot_button, SwotCb.filter())
    return [curator]
