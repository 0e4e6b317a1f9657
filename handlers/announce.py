"""The curator's announcements: /announce → compose (text, or one photo or document with a caption) →
audience → preview → confirm. Delivery goes through the outbox; a progress message is edited in place until
the batch is finished, then a report follows (delivered, unreachable, failed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks.announce import AnnounceAction as A
from bot.callbacks.announce import AnnounceCb
from bot.clock import Clock
from bot.domain.entities import ParticipantDTO, ProgrammeDTO
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.numbers import parse_int
from bot.services import announce as svc
from handlers.programmes import refusal
from storage.uow import Repos, unit_of_work

log = logging.getLogger("nastavnik.announce")
PROGRESS_EVERY = 2.0  # seconds between progress edits
MAX_BUTTONS = 60

# Delivery watchers by batch id, so they are not garbage-collected mid-run and tests can await them.
progress_tasks: dict[str, asyncio.Task[None]] = {}


class Announce(StatesGroup):
    compose = State()
    audience = State()
    confirm = State()


def _add(kb: InlineKeyboardBuilder, text: str, a: A, v: str = "") -> None:
    kb.button(text=text, callback_data=AnnounceCb(a=a, v=v))


def audience_menu(t: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for k in svc.ROLE_AUDIENCES:
        _add(kb, t(f"announce.audience_btn.{k}"), A.AUDIENCE, k)
    for k in ("programme", "stage", "class"):
        _add(kb, t(f"announce.audience_btn.{k}"), A.MENU, k)
    _add(kb, t("announce.cancel_btn"), A.CANCEL)
    kb.adjust(2, 2, 1, 1, 1, 1)
    return kb.as_markup()


def submenu(t: Translator, choices: list[tuple[str, A, str]], per_row: int = 1) -> InlineKeyboardMarkup:
    """A list of choices (text, action, value), at most MAX_BUTTONS, then Back and Cancel."""
    kb = InlineKeyboardBuilder()
    for text, a, v in choices[:MAX_BUTTONS]:
        _add(kb, text, a, v)
    kb.adjust(per_row)
    back = InlineKeyboardBuilder()
    _add(back, t("announce.back"), A.MENU)
    _add(back, t("announce.cancel_btn"), A.CANCEL)
    kb.attach(back)
    return kb.as_markup()


def preview_keyboard(t: Translator, p: svc.Preview) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if p.count:
        _add(kb, t("announce.send_btn", count=p.count), A.SEND, p.batch_id)
    _add(kb, t("announce.change_btn"), A.CHANGE)
    _add(kb, t("announce.cancel_btn"), A.CANCEL)
    kb.adjust(*([1] if p.count else []), 2)
    return kb.as_markup()


def audience_label(t: Translator, p: svc.Preview) -> str:
    audience = p.audience
    if audience.kind in svc.ROLE_AUDIENCES:
        return t(f"announce.audience.{audience.kind}")
    if audience.kind == "programme":
        return t("announce.audience.programme", name=p.programme.title if p.programme else "—")
    if audience.kind == "stage":
        return t("announce.audience.stage", name=t(f"meetings.stage.{audience.value}"))
    return t(f"announce.audience.class_{audience.who}", name=audience.value)


async def show_preview(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    audience: svc.Audience,
) -> None:
    """The announcement as recipients will see it, then whom it goes to and the Send button."""
    data = await state.get_data()
    content = svc.Content.from_dict(data["content"])
    preview = await svc.preview(repos, audience, me.id)
    label = audience_label(t, preview)
    await state.set_state(Announce.confirm)
    await state.update_data(audience=audience.to_dict(), batch=preview.batch_id, label=label)
    caption = content.text or None
    if content.media == "photo" and content.file_id:
        await message.answer_photo(content.file_id, caption=caption, parse_mode="HTML")
    elif content.media == "document" and content.file_id:
        await message.answer_document(content.file_id, caption=caption, parse_mode="HTML")
    else:
        await message.answer(content.text, parse_mode="HTML")
    key = "announce.summary" if preview.count else "announce.nobody"
    await message.answer(
        t(key, audience=label, count=preview.count), reply_markup=preview_keyboard(t, preview)
    )


def progress_text(t: Translator, r: svc.Report) -> str:
    if r.done:
        return t("announce.progress_done", total=r.total)
    percent = r.finished * 100 // r.total if r.total else 0
    return t(
        "announce.progress",
        done=r.finished,
        total=r.total,
        percent=percent,
        delivered=r.delivered,
        unreachable=r.unreachable,
        failed=r.failed + r.uncertain,
    )


def report_text(t: Translator, r: svc.Report, label: str) -> str:
    lines = [
        t(
            "announce.report",
            audience=label,
            delivered=r.delivered,
            unreachable=r.unreachable,
            failed=r.failed,
        )
    ]
    if r.uncertain:
        lines.append(t("announce.report_uncertain", n=r.uncertain))
    if r.skipped:
        lines.append(t("announce.report_skipped", n=r.skipped))
    return "\n".join(lines)


async def watch_delivery(
    bot: Bot,
    factory: async_sessionmaker[AsyncSession],
    chat_id: int,
    message_id: int,
    batch_id: str,
    lang: str,
    label: str,
) -> None:
    """Edit the progress message until no row of the batch is pending or being sent, then report."""
    t = Translator(lang)
    shown = ""
    empty = 0
    try:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            async with unit_of_work(factory) as repos:
                r = svc.report(await repos.outbox.batch_counts(batch_id))
            if not r.total:
                empty += 1  # not committed yet; a batch that never appears is given up after a minute
                if empty * PROGRESS_EVERY > 60:
                    log.warning("announce %s: no rows found; the progress watcher stops", batch_id)
                    return
                continue
            text = progress_text(t, r)
            if text != shown:
                try:
                    await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id)
                except TelegramRetryAfter as exc:
                    await asyncio.sleep(exc.retry_after)
                    continue  # shown again on the next round
                except TelegramBadRequest:
                    pass  # the curator deleted the message; the report still follows
                shown = text
            if r.done:
                break
        for _ in range(3):
            try:
                await bot.send_message(chat_id, report_text(t, r, label))
                return
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
    except TelegramAPIError as exc:
        log.warning("announce %s: progress could not be shown (%s)", batch_id, type(exc).__name__)
    except Exception:
        log.exception("announce %s: the delivery watcher failed", batch_id)


def start_watch(
    bot: Bot,
    factory: async_sessionmaker[AsyncSession],
    background: set[asyncio.Task[None]] | None = None,
    **kw: Any,
) -> asyncio.Task[None]:
    """The delivery watcher runs beside the updates; `background` is the app's set of such tasks, which the
    app stops before it closes the database (a watcher left running would open a connection after it)."""
    batch_id = kw["batch_id"]
    task = asyncio.create_task(watch_delivery(bot, factory, **kw), name=f"announce:{batch_id}")
    progress_tasks[batch_id] = task
    task.add_done_callback(lambda _: progress_tasks.pop(batch_id, None))
    if background is not None:
        background.add(task)
        task.add_done_callback(background.discard)
    return task


# ------------------------------------------------------------------------------- handlers
async def announce(message: Message, state: FSMContext, t: Translator) -> None:
    await state.set_state(Announce.compose)
    await state.set_data({})
    await message.answer(t("announce.compose"))


async def album(message: Message, state: FSMContext, t: Translator) -> None:
    # An album arrives as one update per item: refuse it once, not once per photo.
    data = await state.get_data()
    if data.get("album") != message.media_group_id:
        await state.update_data(album=message.media_group_id)
        await message.answer(t("announce.album"))


def _content(message: Message) -> svc.Content:
    if message.photo:
        return svc.Content(text=message.html_text, media="photo", file_id=message.photo[-1].file_id)
    if message.document:
        return svc.Content(text=message.html_text, media="document", file_id=message.document.file_id)
    return svc.Content(text=message.html_text)


async def content(message: Message, state: FSMContext, t: Translator) -> None:
    await state.set_state(Announce.audience)
    await state.set_data({"content": _content(message).to_dict()})
    await message.answer(t("announce.choose_audience"), reply_markup=audience_menu(t))


async def unsupported(message: Message, t: Translator) -> None:
    await message.answer(t("announce.unsupported"))


async def use_buttons(message: Message, t: Translator) -> None:
    await message.answer(t("announce.use_buttons"))


async def send(
    cb: CallbackQuery,
    callback_data: AnnounceCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    bot: Bot,
    clock: Clock,
    after_commit: list[Callable[[], Awaitable[object]]],
    factory: async_sessionmaker[AsyncSession],
    background: set[asyncio.Task[None]] | None = None,
) -> None:
    batch = callback_data.v
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if await svc.already_sent(repos, batch):
        await cb.answer(t("announce.already_sent"), show_alert=True)
        return
    data = await state.get_data()
    if data.get("batch") != batch or "content" not in data or "audience" not in data:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    audience = svc.Audience.from_dict(data["audience"])
    sent = await svc.send(repos, audience, svc.Content.from_dict(data["content"]), batch, me, clock())
    if sent.result is svc.SendResult.ALREADY_SENT:
        await cb.answer(t("announce.already_sent"), show_alert=True)
        return
    if sent.result is svc.SendResult.NOBODY:
        await cb.answer(t("announce.nobody_now"), show_alert=True)
        return
    await state.clear()
    await cb.answer(t("announce.queued"))
    await cb.message.edit_reply_markup(reply_markup=None)
    progress = await cb.message.answer(progress_text(t, svc.Report(sent.count, 0, 0, 0, 0, 0, sent.count)))
    watch = dict(chat_id=progress.chat.id, message_id=progress.message_id, batch_id=batch, lang=t.lang)

    async def after() -> None:
        # After the commit, so the watcher's first look already sees the queued rows.
        start_watch(bot, factory, background, **watch, label=str(data.get("label") or ""))

    after_commit.append(after)


async def _composed(cb: CallbackQuery, state: FSMContext, t: Translator) -> tuple[Message, dict] | None:
    """The menu's message and the conversation's data, or None (answered as stale) when there is nothing
    composed any more (the conversation was cancelled or finished)."""
    data = await state.get_data()
    if not isinstance(cb.message, Message) or "content" not in data:
        await cb.answer(t("common.stale"), show_alert=True)
        return None
    await cb.answer()
    return cb.message, data


async def cancel(cb: CallbackQuery, state: FSMContext, t: Translator) -> None:
    data = await state.get_data()
    if not isinstance(cb.message, Message) or "content" not in data:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.clear()
    await cb.answer()
    await cb.message.edit_text(t("announce.cancelled"))


async def change(cb: CallbackQuery, state: FSMContext, t: Translator) -> None:
    if (found := await _composed(cb, state, t)) is None:
        return
    # Under a preview: the preview stays as it was, a fresh menu goes below it.
    await state.set_state(Announce.audience)
    await found[0].edit_reply_markup(reply_markup=None)
    await found[0].answer(t("announce.choose_audience"), reply_markup=audience_menu(t))


async def menu(
    cb: CallbackQuery, callback_data: AnnounceCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    if (found := await _composed(cb, state, t)) is None:
        return
    msg = found[0]
    await state.set_state(Announce.audience)
    if callback_data.v == "programme":
        choices = [(p.title, A.PROGRAMME, str(p.id)) for p in await repos.programmes.active()]
        await msg.edit_text(t("announce.choose_programme"), reply_markup=submenu(t, choices))
    elif callback_data.v == "stage":
        choices = [(t(f"meetings.stage.{s}"), A.STAGE, s) for s in svc.STAGES]
        await msg.edit_text(t("announce.choose_stage"), reply_markup=submenu(t, choices))
    elif callback_data.v == "class":
        classes = (await svc.classes(repos))[:MAX_BUTTONS]
        await state.update_data(classes=classes)
        if not classes:
            await msg.edit_text(t("announce.no_classes"), reply_markup=submenu(t, []))
            return
        choices = [(name, A.CLASS, str(i)) for i, name in enumerate(classes)]
        await msg.edit_text(t("announce.choose_class"), reply_markup=submenu(t, choices, 4))
    else:
        await msg.edit_text(t("announce.choose_audience"), reply_markup=audience_menu(t))


async def one_class(cb: CallbackQuery, callback_data: AnnounceCb, state: FSMContext, t: Translator) -> None:
    if (found := await _composed(cb, state, t)) is None:
        return
    msg, data = found
    classes = data.get("classes") or []
    index = parse_int(callback_data.v)
    if index is None or index >= len(classes):
        await msg.edit_text(t("common.stale"))
        return
    name = classes[index]
    await state.update_data(class_name=name)
    choices = [(t(f"announce.who.{w}"), A.WHO, w) for w in svc.CLASS_WHO]
    await msg.edit_text(t("announce.choose_who", name=name), reply_markup=submenu(t, choices))


async def _audience(d: AnnounceCb, data: dict, repos: Repos) -> svc.Audience | ProgrammeDTO | None:
    if d.a is A.AUDIENCE and d.v in svc.ROLE_AUDIENCES:
        return svc.Audience(kind=d.v)
    if d.a is A.PROGRAMME and (pid := parse_int(d.v)) is not None:
        return await svc.programme_audience(repos, pid)
    if d.a is A.STAGE and d.v in svc.STAGES:
        return svc.Audience(kind="stage", value=d.v)
    if d.a is A.WHO and d.v in svc.CLASS_WHO and data.get("class_name"):
        return svc.Audience(kind="class", value=str(data["class_name"]), who=d.v)
    return None


async def audience(
    cb: CallbackQuery,
    callback_data: AnnounceCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
) -> None:
    if (found := await _composed(cb, state, t)) is None:
        return
    msg, data = found
    chosen = await _audience(callback_data, data, repos)
    if isinstance(chosen, ProgrammeDTO):
        await msg.edit_text(refusal(t, chosen))
        return
    if chosen is None:
        await msg.edit_text(t("common.stale"))
        return
    await msg.edit_reply_markup(reply_markup=None)
    await show_preview(msg, state, repos, t, me, chosen)


def routers() -> list[Router]:
    """Everything here is the curator's: one guarded router."""
    r = curators_only(__name__)
    r.message.register(announce, Command("announce"))
    r.message.register(album, Announce.compose, F.media_group_id)
    r.message.register(content, Announce.compose, F.photo | F.document | (F.text & ~F.text.startswith("/")))
    r.message.register(unsupported, Announce.compose)
    r.message.register(use_buttons, Announce.audience)
    r.message.register(use_buttons, Announce.confirm)
    r.callback_query.register(send, AnnounceCb.filter(F.a == A.SEND))
    r.callback_query.register(cancel, AnnounceCb.filter(F.a == A.CANCEL))
    r.callback_query.register(change, AnnounceCb.filter(F.a == A.CHANGE))
    r.callback_query.register(menu, AnnounceCb.filter(F.a == A.MENU))
    r.callback_query.register(one_class, AnnounceCb.filter(F.a == A.CLASS))
    r.callback_query.register(audience, AnnounceCb.filter(F.a.in_({A.AUDIENCE, A.PROGRAMME, A.STAGE, A.WHO})))
    return [r]
