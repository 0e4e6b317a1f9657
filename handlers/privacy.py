"""Personal-data rights: /mydata (a file with everything stored about me or my child, and a summary),
/forget (erase it now, after a confirmation) and the curator's /forget_participant on a person's request."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.callbacks import Callback
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO, Role
from bot.filenames import file_name
from bot.i18n import Translator
from bot.services import privacy as svc
from bot.services.questionnaires import Engine
from handlers.long_text import answer_long
from storage.conversations import forget_conversations
from storage.db import truncate_wal
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
SEARCH_LIMIT = 10
log = logging.getLogger("nastavnik.privacy")


class PrivacyCb(Callback, prefix="pv"):
    a: str  # data (send the file) | ask (confirm forgetting) | go (forget) | no (cancel)
    s: int  # subject: oneself or one's child


class ForgetPersonCb(Callback, prefix="cu"):
    a: str  # pick | go | no
    p: int


class ForgetSearch(StatesGroup):
    query = State()


def _b(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _kb(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=list(rows))


def _confirm_kb(t: Translator, subject_id: int) -> InlineKeyboardMarkup:
    return _kb(
        [_b(t("privacy.forget.confirm"), PrivacyCb(a="go", s=subject_id))],
        [_b(t("common.cancel"), PrivacyCb(a="no", s=0))],
    )


async def _minor_children(repos: Repos, me: ParticipantDTO) -> list[ParticipantDTO]:
    """Children a parent may act for: a legal representative speaks for a minor, not for an adult."""
    if not me.has(Role.PARENT):
        return []
    return [
        c
        for c in await repos.participants.children_of(me.id)
        if c.is_minor is not False and c.telegram_id is not None
    ]


async def _subject(repos: Repos, me: ParticipantDTO | None, subject_id: int) -> ParticipantDTO | None:
    """Only oneself, or one's own minor child, may be the subject of /mydata and /forget."""
    if me is None or me.telegram_id is None:
        return None
    if subject_id == me.id:
        return me
    return next((c for c in await _minor_children(repos, me) if c.id == subject_id), None)


async def _clear_traces(bot: Bot, state: FSMContext, telegram_id: int | None) -> None:
    """The person's chat menu (their conversation state goes after the commit, see _after_erasure)."""
    if telegram_id is None:
        return
    try:
        await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=telegram_id))
    except TelegramAPIError:
        log.info("chat menu not reset after forgetting (chat unreachable)")


def _after_erasure(
    after_commit: list[Callable[[], Awaitable[Any]]],
    bot: Bot,
    state: FSMContext,
    engine: AsyncEngine | None,
    telegram_id: int | None,
) -> None:
    """Once the erasure is committed: the conversation state in every chat, wherever it lives (the SQL rows
    went with the erasure; Redis needs this), and the -wal file cut back so the old rows leave the disk."""

    async def run() -> None:
        if telegram_id is not None:
            await forget_conversations(state.storage, bot.id, telegram_id)
        if engine is not None:
            await truncate_wal(engine)

    after_commit.append(run)


def router(engine: Engine | None = None) -> Router:
    r = Router(name=__name__)

    async def send_data(
        message: Message,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        subject: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        data = await svc.export(repos, subject.id, actor_id=me.id, now=clock())
        if data is None:
            await message.answer(t("privacy.nothing"))
            return
        child = subject.id != me.id
        forms = engine.forms if engine is not None else {}
        await answer_long(
            message,
            svc.render_summary(data, t, settings.tz, forms, child=child),
            t,
            file_key="child_data" if child else "my_data",
            day=clock().astimezone(settings.tz).date(),
        )
        await message.answer_document(
            BufferedInputFile(
                data.to_json(),
                filename=file_name(
                    t,
                    "child_data" if child else "my_data",
                    "json",
                    day=clock().astimezone(settings.tz).date(),
                ),
            ),
            caption=t("privacy.file_caption_child" if child else "privacy.file_caption"),
        )

    @r.message(Command("mydata"), StateFilter("*"))
    async def mydata(
        message: Message,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
    ) -> None:
        if me is None or me.telegram_id is None:
            await message.answer(t("privacy.nothing"))
            return
        await send_data(message, repos, t, me, me, settings, clock)
        children = await _minor_children(repos, me)
        if children:
            await message.answer(
                t("privacy.children_data"),
                reply_markup=_kb(
                    *[
                        [_b(t("privacy.child_button", name=c.full_name or "—"), PrivacyCb(a="data", s=c.id))]
                        for c in children
                    ]
                ),
            )

    @r.message(Command("forget"), StateFilter("*"))
    async def forget(message: Message, repos: Repos, t: Translator, me: ParticipantDTO | None) -> None:
        if me is None or me.telegram_id is None:
            await message.answer(t("privacy.nothing"))
            return
        children = await _minor_children(repos, me)
        if not children:
            await message.answer(t("privacy.forget.ask_self"), reply_markup=_confirm_kb(t, me.id))
            return
        await message.answer(
            t("privacy.forget.choose"),
            reply_markup=_kb(
                [_b(t("privacy.forget.me_button"), PrivacyCb(a="ask", s=me.id))],
                *[
                    [
                        _b(
                            t("privacy.forget.child_button", name=c.full_name or "—"),
                            PrivacyCb(a="ask", s=c.id),
                        )
                    ]
                    for c in children
                ],
                [_b(t("common.cancel"), PrivacyCb(a="no", s=0))],
            ),
        )

    @r.callback_query(PrivacyCb.filter(), StateFilter("*"))
    async def privacy_button(
        cb: CallbackQuery,
        callback_data: PrivacyCb,
        state: FSMContext,
        bot: Bot,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
        after_commit: list[Callable[[], Awaitable[Any]]],
    ) -> None:
        d = callback_data
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        if d.a == "no":
            await cb.message.edit_text(t("privacy.forget.cancelled"))
            await cb.answer()
            return
        subject = await _subject(repos, me, d.s)
        if subject is None or me is None:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        own = subject.id == me.id
        if d.a == "data":
            await cb.answer()
            await send_data(cb.message, repos, t, me, subject, settings, clock)
        elif d.a == "ask":
            parent_note = "\n\n" + t("privacy.forget.parent_note") if own and me.has(Role.PARENT) else ""
            await cb.message.edit_text(
                t("privacy.forget.ask_self" if own else "privacy.forget.ask_child") + parent_note,
                reply_markup=_confirm_kb(t, subject.id),
            )
            await cb.answer()
        elif d.a == "go":
            done = await svc.forget(
                repos,
                subject,
                actor_id=me.id,
                by="self" if own else "parent",
                now=clock(),
                key=svc.ledger_key(bot.token),
            )
            if own:
                await state.clear()
            _after_erasure(after_commit, bot, state, repos.session.bind, done.former_telegram_id)
            await _clear_traces(bot, state, done.former_telegram_id)
            await cb.message.edit_text(t("privacy.forget.done_self" if own else "privacy.forget.done_child"))
            await cb.answer()
        else:
            await cb.answer(t("common.stale"), show_alert=True)

    # -- the curator, on a person's (or their parent's) request --------------------------------------------

    async def show_matches(message: Message, repos: Repos, t: Translator, query: str) -> None:
        ids, total = await repos.dashboard.search_participants(query, 0, SEARCH_LIMIT)
        people = [p for pid in ids if (p := await repos.participants.get(pid)) is not None]
        if not people:
            await message.answer(t("privacy.curator.not_found", query=query))
            return
        await message.answer(
            t("privacy.curator.found", n=total, shown=len(people)),
            reply_markup=_kb(
                *[
                    [
                        _b(
                            f"{p.full_name} ({p.group_name or p.position or '—'})",
                            ForgetPersonCb(a="pick", p=p.id),
                        )
                    ]
                    for p in people
                ],
                [_b(t("common.cancel"), ForgetPersonCb(a="no", p=0))],
            ),
        )

    @r.message(Command("forget_participant"), StateFilter("*"), flags=CURATOR)
    async def forget_participant(
        message: Message, command: CommandObject, state: FSMContext, repos: Repos, t: Translator
    ) -> None:
        query = " ".join((command.args or "").split())[:40]
        if not query:
            await state.set_state(ForgetSearch.query)
            await message.answer(t("privacy.curator.ask_query"))
            return
        await state.clear()
        await show_matches(message, repos, t, query)

    @r.message(ForgetSearch.query, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def search_text(message: Message, state: FSMContext, repos: Repos, t: Translator) -> None:
        query = " ".join((message.text or "").split())[:40]
        await show_matches(message, repos, t, query)
        # The search text is not kept: the chosen person travels in the button, by id.
        await state.clear()

    @r.callback_query(ForgetPersonCb.filter(), StateFilter("*"), flags=CURATOR)
    async def curator_button(
        cb: CallbackQuery,
        callback_data: ForgetPersonCb,
        state: FSMContext,
        bot: Bot,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
        after_commit: list[Callable[[], Awaitable[Any]]],
    ) -> None:
        d = callback_data
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        if d.a == "no":
            await cb.message.edit_text(t("privacy.curator.cancelled"))
            await cb.answer()
            return
        person = await repos.participants.get(d.p)
        if person is None or (person.telegram_id is None and person.full_name is None):
            await cb.message.edit_text(t("privacy.curator.gone"))
            await cb.answer()
            return
        if d.a == "pick":
            roles = (
                ", ".join(t(f"roles.{x.value}") for x in sorted(person.roles, key=lambda x: x.value)) or "—"
            )
            await cb.message.edit_text(
                t(
                    "privacy.curator.card",
                    name=person.full_name or "—",
                    where=person.group_name or person.position or "—",
                    roles=roles,
                    status=t(f"status.{person.status}"),
                ),
                reply_markup=_kb(
                    [_b(t("privacy.curator.confirm"), ForgetPersonCb(a="go", p=person.id))],
                    [_b(t("common.cancel"), ForgetPersonCb(a="no", p=0))],
                ),
            )
            await cb.answer()
        elif d.a == "go":
            done = await svc.forget(
                repos, person, actor_id=me.id, by="curator", now=clock(), key=svc.ledger_key(bot.token)
            )
            if person.id == me.id:
                await state.clear()
            _after_erasure(after_commit, bot, state, repos.session.bind, done.former_telegram_id)
            await _clear_traces(bot, state, done.former_telegram_id)
            await cb.message.edit_text(t("privacy.curator.done", id=person.id))
            await cb.answer()
        else:
            await cb.answer(t("common.stale"), show_alert=True)

    return r
