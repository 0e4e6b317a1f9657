"""Commands everyone has: /help, /cancel, /language, /consent (and withdrawing it)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks.people import LangCb, WithdrawAction, WithdrawCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Status
from bot.domain.grammar import format_date
from bot.i18n import Translator
from bot.services import onboarding as svc
from bot.services.commands import PUBLIC, commands_for
from handlers import keyboards as kb
from handlers.menu import refresh_menu
from storage.uow import Repos


async def cancel(message: Message, state: FSMContext, t: Translator) -> None:
    current = await state.get_state()
    await state.clear()
    await message.answer(t("common.cancelled" if current else "common.nothing_to_cancel"))


async def help_(message: Message, t: Translator, me: ParticipantDTO | None) -> None:
    names = commands_for(me.roles) if me and me.status != Status.WITHDRAWN else list(PUBLIC)
    lines = [f"/{c} — {t(f'commands.{c}')}" for c in names]
    await message.answer(t("help.header") + "\n\n" + "\n".join(lines))


async def language(message: Message, t: Translator) -> None:
    await message.answer(t("language.choose"), reply_markup=kb.languages())


async def set_language(
    cb: CallbackQuery,
    callback_data: LangCb,
    state: FSMContext,
    repos: Repos,
    bot: Bot,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
) -> None:
    t = Translator(callback_data.lang)
    if me is not None:
        fresh = await svc.set_language(repos, me.id, callback_data.lang, clock())
        if fresh is not None and fresh.full_name:
            await refresh_menu(bot, repos, fresh, clock(), settings)
    elif await state.get_state() is not None:
        await state.update_data(lang=callback_data.lang)
    await cb.answer()
    if isinstance(cb.message, Message):
        try:
            await cb.message.edit_text(t("language.set"))
        except TelegramBadRequest:  # already says so (a second press), or too old to edit: say it anew
            await cb.message.answer(t("language.set"))


async def consent_status(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
) -> None:
    if me is None or me.status == Status.WITHDRAWN:
        await message.answer(t("consent.none"))
        return
    seen = await svc.consents_of(repos, me)
    if seen.own is not None:
        tz = settings.tz
        date = format_date(t, seen.own.decided_at.astimezone(tz).date(), today=clock().astimezone(tz).date())
        await message.answer(
            t("consent.status_self", version=seen.own.version, date=date),
            reply_markup=kb.withdraw_ask(t, me.id),
        )
    if seen.parent_needed:
        await message.answer(
            t("consent.status_parent_given" if seen.parent_given else "consent.status_parent_missing")
        )
    for child in seen.children:
        await message.answer(
            t("consent.status_child", name=child.full_name or "—"), reply_markup=kb.withdraw_ask(t, child.id)
        )


async def withdraw_ask(
    cb: CallbackQuery, callback_data: WithdrawCb, repos: Repos, t: Translator, me: ParticipantDTO | None
) -> None:
    subject = await svc.withdrawal_subject(repos, me, callback_data.subject_id)
    if subject is None or me is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    key = "consent.withdraw_ask_self" if subject.id == me.id else "consent.withdraw_ask_child"
    await cb.message.edit_text(t(key), reply_markup=kb.withdraw_confirm(t, subject.id))
    await cb.answer()


async def withdraw_cancel(
    cb: CallbackQuery, callback_data: WithdrawCb, repos: Repos, t: Translator, me: ParticipantDTO | None
) -> None:
    subject = await svc.withdrawal_subject(repos, me, callback_data.subject_id)
    if subject is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.message.edit_text(t("consent.withdraw_cancelled"))
    await cb.answer()


async def withdraw_confirm(
    cb: CallbackQuery,
    callback_data: WithdrawCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    clock: Clock,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    outcome = await svc.withdraw_consent(repos, me, callback_data.subject_id, clock())
    if outcome is svc.Withdrawal.STALE:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if outcome is svc.Withdrawal.SELF:
        await state.clear()
    await cb.message.edit_text(t(WITHDRAWN_TEXT[outcome]))
    await cb.answer()


WITHDRAWN_TEXT = {
    svc.Withdrawal.SELF: "consent.withdrawn_self",
    svc.Withdrawal.CHILD_ENDED: "consent.withdrawn_child",
    svc.Withdrawal.CHILD_KEPT: "consent.withdrawn_child_kept",
}


def routers() -> list[Router]:
    r = Router(name=__name__)
    anywhere = StateFilter("*")
    r.message.register(cancel, Command("cancel"), anywhere)
    r.message.register(help_, Command("help"), anywhere)
    r.message.register(language, Command("language"), anywhere)
    r.callback_query.register(set_language, LangCb.filter(F.lang.in_({"ru", "en"})), anywhere)
    r.message.register(consent_status, Command("consent"), anywhere)
    r.callback_query.register(withdraw_ask, WithdrawCb.filter(F.action == WithdrawAction.ASK), anywhere)
    r.callback_query.register(withdraw_cancel, WithdrawCb.filter(F.action == WithdrawAction.CANCEL), anywhere)
    r.callback_query.register(
        withdraw_confirm, WithdrawCb.filter(F.action == WithdrawAction.CONFIRM), anywhere
    )
    return [r]
