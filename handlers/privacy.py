"""Personal-data rights: /privacy (the policy: who, what, why, how long, the rights — for anyone, before
joining too), /mydata (a file with everything stored about me or my child, and a summary), /forget (erase it
now, after a confirmation) and the curator's /forget_participant on a person's request."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BotCommandScopeChat, BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks.privacy import ForgetPersonAction, ForgetPersonCb, PrivacyAction, PrivacyCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.services import privacy as svc
from bot.services.questionnaires import Engine
from handlers.long_text import answer_long
from handlers.states import ForgetSearch
from storage.conversations import forget_conversations
from storage.db import truncate_wal
from storage.uow import Repos

log = logging.getLogger("nastavnik.privacy")
AfterCommit = list[Callable[[], Awaitable[Any]]]


def _confirm_kb(t: Translator, subject_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("privacy.forget.confirm"), callback_data=PrivacyCb(a=PrivacyAction.GO, s=subject_id))
    kb.button(text=t("common.cancel"), callback_data=PrivacyCb(a=PrivacyAction.NO, s=0))
    return kb.adjust(1).as_markup()


async def _after_erasure(
    after_commit: AfterCommit, bot: Bot, state: FSMContext, repos: Repos, telegram_id: int | None
) -> None:
    """The person's chat menu goes now; once the erasure is committed, their conversation state in every
    chat, wherever it lives (the SQL rows went with the erasure; Redis needs this), and the -wal file is cut
    back so the old rows leave the disk."""
    engine = repos.session.bind

    async def run() -> None:
        if telegram_id is not None:
            await forget_conversations(state.storage, bot.id, telegram_id)
        if engine is not None:
            await truncate_wal(engine)

    after_commit.append(run)
    if telegram_id is None:
        return
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=telegram_id))
    except TelegramAPIError:
        log.info("chat menu not reset after forgetting (chat unreachable)")


async def _send_data(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    subject: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    data = await svc.export(repos, subject.id, actor_id=me.id, now=clock())
    if data is None:
        await message.answer(t("privacy.nothing"))
        return
    child = subject.id != me.id
    which = "child_data" if child else "my_data"
    day = clock().astimezone(settings.tz).date()
    summary = svc.render_summary(data, t, settings.tz, engine.forms, child=child)
    await answer_long(message, summary, t, file_key=which, day=day)
    await message.answer_document(
        BufferedInputFile(data.to_json(), filename=file_name(t, which, "json", day=day)),
        caption=t("privacy.file_caption_child" if child else "privacy.file_caption"),
    )


async def policy(message: Message, t: Translator, settings: Settings) -> None:
    await message.answer(svc.policy_text(t, svc.operator(settings)))


async def mydata(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    if me is None or me.telegram_id is None:
        await message.answer(t("privacy.nothing"))
        return
    await _send_data(message, repos, t, me, me, settings, clock, engine)
    children = await svc.minor_children(repos, me)
    if children:
        kb = InlineKeyboardBuilder()
        for c in children:
            data = PrivacyCb(a=PrivacyAction.DATA, s=c.id)
            kb.button(text=t("privacy.child_button", name=c.full_name or "—"), callback_data=data)
        await message.answer(t("privacy.children_data"), reply_markup=kb.adjust(1).as_markup())


async def forget(message: Message, repos: Repos, t: Translator, me: ParticipantDTO | None) -> None:
    if me is None or me.telegram_id is None:
        await message.answer(t("privacy.nothing"))
        return
    children = await svc.minor_children(repos, me)
    if not children:
        await message.answer(t("privacy.forget.ask_self"), reply_markup=_confirm_kb(t, me.id))
        return
    kb = InlineKeyboardBuilder()
    kb.button(text=t("privacy.forget.me_button"), callback_data=PrivacyCb(a=PrivacyAction.ASK, s=me.id))
    for c in children:
        text = t("privacy.forget.child_button", name=c.full_name or "—")
        kb.button(text=text, callback_data=PrivacyCb(a=PrivacyAction.ASK, s=c.id))
    kb.button(text=t("common.cancel"), callback_data=PrivacyCb(a=PrivacyAction.NO, s=0))
    await message.answer(t("privacy.forget.choose"), reply_markup=kb.adjust(1).as_markup())


async def forget_cancelled(cb: CallbackQuery, t: Translator) -> None:
    if isinstance(cb.message, Message):
        await cb.message.edit_text(t("privacy.forget.cancelled"))
    await cb.answer()


async def data_button(
    cb: CallbackQuery,
    callback_data: PrivacyCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    subject = await svc.data_subject(repos, me, callback_data.s)
    if not isinstance(cb.message, Message):
        await cb.answer()
    elif subject is None or me is None:
        await cb.answer(t("common.stale"), show_alert=True)
    else:
        await cb.answer()
        await _send_data(cb.message, repos, t, me, subject, settings, clock, engine)


async def forget_ask(
    cb: CallbackQuery, callback_data: PrivacyCb, repos: Repos, t: Translator, me: ParticipantDTO | None
) -> None:
    subject = await svc.data_subject(repos, me, callback_data.s)
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    if subject is None or me is None:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    own = subject.id == me.id
    parent_note = "\n\n" + t("privacy.forget.parent_note") if own and me.has(Role.PARENT) else ""
    text = t("privacy.forget.ask_self" if own else "privacy.forget.ask_child") + parent_note
    await cb.message.edit_text(text, reply_markup=_confirm_kb(t, subject.id))
    await cb.answer()


async def forget_go(
    cb: CallbackQuery,
    callback_data: PrivacyCb,
    state: FSMContext,
    bot: Bot,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    clock: Clock,
    after_commit: AfterCommit,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    done = await svc.forget_on_request(repos, me, callback_data.s, now=clock(), key=svc.ledger_key(bot.token))
    if done is None:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    own = me is not None and done.participant_id == me.id
    if own:
        await state.clear()
    await _after_erasure(after_commit, bot, state, repos, done.former_telegram_id)
    await cb.message.edit_text(t("privacy.forget.done_self" if own else "privacy.forget.done_child"))
    await cb.answer()


# -- the curator, on a person's (or their parent's) request --------------------------------------------


async def _show_matches(message: Message, repos: Repos, t: Translator, query: str) -> None:
    people, total = await svc.find_people(repos, query)
    if not people:
        await message.answer(t("privacy.curator.not_found", query=query))
        return
    kb = InlineKeyboardBuilder()
    for p in people:
        text = f"{p.full_name} ({p.group_name or p.position or '—'})"
        kb.button(text=text, callback_data=ForgetPersonCb(a=ForgetPersonAction.PICK, p=p.id))
    kb.button(text=t("common.cancel"), callback_data=ForgetPersonCb(a=ForgetPersonAction.NO, p=0))
    await message.answer(
        t("privacy.curator.found", n=total, shown=len(people)), reply_markup=kb.adjust(1).as_markup()
    )


async def forget_participant(
    message: Message, command: CommandObject, state: FSMContext, repos: Repos, t: Translator
) -> None:
    query = " ".join((command.args or "").split())[:40]
    if not query:
        await state.set_state(ForgetSearch.query)
        await message.answer(t("privacy.curator.ask_query"))
        return
    await state.clear()
    await _show_matches(message, repos, t, query)


async def search_text(message: Message, state: FSMContext, repos: Repos, t: Translator) -> None:
    query = " ".join((message.text or "").split())[:40]
    await _show_matches(message, repos, t, query)
    # The search text is not kept: the chosen person travels in the button, by id.
    await state.clear()


async def curator_cancelled(cb: CallbackQuery, t: Translator) -> None:
    if isinstance(cb.message, Message):
        await cb.message.edit_text(t("privacy.curator.cancelled"))
    await cb.answer()


async def curator_pick(cb: CallbackQuery, callback_data: ForgetPersonCb, repos: Repos, t: Translator) -> None:
    person = await svc.forgettable(repos, callback_data.p)
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    if person is None:
        await cb.message.edit_text(t("privacy.curator.gone"))
        await cb.answer()
        return
    roles = ", ".join(t(f"roles.{x.value}") for x in sorted(person.roles, key=lambda x: x.value)) or "—"
    where = person.group_name or person.position or "—"
    status = t(f"status.{person.status}")
    text = t("privacy.curator.card", name=person.full_name or "—", where=where, roles=roles, status=status)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("privacy.curator.confirm"), callback_data=ForgetPersonCb(a=ForgetPersonAction.GO, p=person.id)
    )
    kb.button(text=t("common.cancel"), callback_data=ForgetPersonCb(a=ForgetPersonAction.NO, p=0))
    await cb.message.edit_text(text, reply_markup=kb.adjust(1).as_markup())
    await cb.answer()


async def curator_go(
    cb: CallbackQuery,
    callback_data: ForgetPersonCb,
    state: FSMContext,
    bot: Bot,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    after_commit: AfterCommit,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    key = svc.ledger_key(bot.token)
    done = await svc.forget_by_curator(repos, callback_data.p, actor_id=me.id, now=clock(), key=key)
    if done is None:
        await cb.message.edit_text(t("privacy.curator.gone"))
        await cb.answer()
        return
    if done.participant_id == me.id:
        await state.clear()
    await _after_erasure(after_commit, bot, state, repos, done.former_telegram_id)
    await cb.message.edit_text(t("privacy.curator.done", id=done.participant_id))
    await cb.answer()


def routers() -> list[Router]:
    anywhere = StateFilter("*")
    r = Router(name=__name__)
    r.message.register(policy, Command("privacy"), anywhere)
    r.message.register(mydata, Command("mydata"), anywhere)
    r.message.register(forget, Command("forget"), anywhere)
    r.callback_query.register(forget_cancelled, PrivacyCb.filter(F.a == PrivacyAction.NO), anywhere)
    r.callback_query.register(data_button, PrivacyCb.filter(F.a == PrivacyAction.DATA), anywhere)
    r.callback_query.register(forget_ask, PrivacyCb.filter(F.a == PrivacyAction.ASK), anywhere)
    r.callback_query.register(forget_go, PrivacyCb.filter(F.a == PrivacyAction.GO), anywhere)
    curator = curators_only(__name__ + ".curator")
    curator.message.register(forget_participant, Command("forget_participant"), anywhere)
    curator.message.register(search_text, ForgetSearch.query, F.text, ~F.text.startswith("/"))
    curator.callback_query.register(
        curator_cancelled, ForgetPersonCb.filter(F.a == ForgetPersonAction.NO), anywhere
    )
    curator.callback_query.register(
        curator_pick, ForgetPersonCb.filter(F.a == ForgetPersonAction.PICK), anywhere
    )
    curator.callback_query.register(curator_go, ForgetPersonCb.filter(F.a == ForgetPersonAction.GO), anywhere)
    return [r, curator]
