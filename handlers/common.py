"""Commands everyone has: /help, /cancel, /language, /consent."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks.people import LangCb, WithdrawCb
from bot.clock import Clock
from bot.domain.entities import ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.services import onboarding as svc
from bot.services.commands import PUBLIC, commands_for
from handlers import keyboards as kb
from handlers.menu import refresh_menu
from storage.uow import Repos


def router() -> Router:
    r = Router(name=__name__)

    @r.message(Command("cancel"), StateFilter("*"))
    async def cancel(message: Message, state: FSMContext, t: Translator) -> None:
        current = await state.get_state()
        await state.clear()
        await message.answer(t("common.cancelled" if current else "common.nothing_to_cancel"))

    @r.message(Command("help"), StateFilter("*"))
    async def help_(message: Message, t: Translator, me: ParticipantDTO | None) -> None:
        names = commands_for(me.roles) if me and me.status != Status.WITHDRAWN.value else list(PUBLIC)
        lines = [f"/{c} — {t(f'commands.{c}')}" for c in names]
        await message.answer(t("help.header") + "\n\n" + "\n".join(lines))

    @r.message(Command("language"), StateFilter("*"))
    async def language(message: Message, t: Translator) -> None:
        await message.answer(t("language.choose"), reply_markup=kb.languages())

    @r.callback_query(LangCb.filter(F.lang.in_({"ru", "en"})), StateFilter("*"))
    async def set_language(
        cb: CallbackQuery,
        callback_data: LangCb,
        state: FSMContext,
        repos: Repos,
        bot: Bot,
        me: ParticipantDTO | None,
        clock: Clock,
    ) -> None:
        t = Translator(callback_data.lang)
        if me is not None:
            await repos.participants.update(me.id, clock(), language=callback_data.lang)
            fresh = await repos.participants.get(me.id)
            if fresh is not None and fresh.full_name:
                await refresh_menu(bot, repos, fresh, clock())
        elif await state.get_state() is not None:
            await state.update_data(lang=callback_data.lang)
        await cb.answer()
        if isinstance(cb.message, Message):
            await cb.message.edit_text(t("language.set"))

    @r.message(Command("consent"), StateFilter("*"))
    async def consent_status(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO | None
    ) -> None:
        if me is None or me.status == Status.WITHDRAWN.value:
            await message.answer(t("consent.none"))
            return
        own = await repos.consents.active_for_subject(me.id, "self")
        if own is not None:
            await message.answer(
                t("consent.status_self", version=own.version, date=own.decided_at.strftime("%d.%m.%Y")),
                reply_markup=kb.withdraw_ask(t, me.id),
            )
        if (me.has(Role.MENTEE) or me.has(Role.MENTOR)) and me.is_minor:
            parental = await repos.consents.active_for_subject(me.id, "parent")
            await message.answer(
                t("consent.status_parent_given" if parental else "consent.status_parent_missing")
            )
        if me.has(Role.PARENT):
            for child in await repos.participants.children_of(me.id):
                if await repos.consents.active_for_subject(child.id, "parent"):
                    await message.answer(
                        t("consent.status_child", name=child.full_name or "—"),
                        reply_markup=kb.withdraw_ask(t, child.id),
                    )

    async def _subject(repos: Repos, me: ParticipantDTO | None, subject_id: int) -> ParticipantDTO | None:
        """Only oneself, or one's own child, may be the subject of a withdrawal."""
        if me is None:
            return None
        if subject_id == me.id:
            return me
        if any(c.id == subject_id for c in await repos.participants.children_of(me.id)):
            return await repos.participants.get(subject_id)
        return None

    @r.callback_query(WithdrawCb.filter(), StateFilter("*"))
    async def withdraw(
        cb: CallbackQuery,
        callback_data: WithdrawCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        clock: Clock,
    ) -> None:
        subject = await _subject(repos, me, callback_data.subject_id)
        if subject is None or me is None or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        if callback_data.action == "ask":
            key = "consent.withdraw_ask_self" if subject.id == me.id else "consent.withdraw_ask_child"
            await cb.message.edit_text(t(key), reply_markup=kb.withdraw_confirm(t, subject.id))
        elif callback_data.action == "cancel":
            await cb.message.edit_text(t("consent.withdraw_cancelled"))
        elif subject.id == me.id:
            await svc.withdraw(repos, me, actor_id=me.id, now=clock())
            await state.clear()
            await cb.message.edit_text(t("consent.withdrawn_self"))
        else:
            ended = await svc.withdraw_parent_consent(repos, me, subject, clock())
            await cb.message.edit_text(
                t("consent.withdrawn_child" if ended else "consent.withdrawn_child_kept")
            )
        await cb.answer()

    return r
