"""The curator's announcements: /announce → compose (text, or one photo or document with a caption) →
audience → preview → confirm. Delivery goes through the outbox; a progress message is edited in place until
the batch is finished, then a report follows (delivered, unreachable, failed)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramRetryAfter
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import Callback
from bot.clock import Clock
from bot.domain.entities import ParticipantDTO, Role
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.services import announce as svc
from handlers.programmes import refusal
from storage.db import create_session_factory
from storage.uow import Repos, unit_of_work

log = logging.getLogger("nastavnik.announce")
CURATOR = {"roles": {Role.CURATOR}}
PROGRESS_EVERY = 2.0  # seconds between progress edits
MAX_BUTTONS = 60

# Delivery watchers by batch id, so they are not garbage-collected mid-run and tests can await them.
progress_tasks: dict[str, asyncio.Task[None]] = {}


class Announce(StatesGroup):
    compose = State()
    audience = State()
    confirm = State()


class AnnounceCb(Callback, prefix="ca"):
    a: str  # aud (a role audience) | menu (programme/stage/class list, "" = top) | prog | stage | cls | who
    #         | send (v = batch id) | chg (another audience after a preview) | cancel
    v: str = ""


def _b(text: str, a: str, v: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AnnounceCb(a=a, v=v).pack())


def _rows(buttons: list[InlineKeyboardButton], per_row: int) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


def audience_menu(t: Translator) -> InlineKeyboardMarkup:
    roles = [_b(t(f"announce.audience_btn.{k}"), "aud", k) for k in svc.ROLE_AUDIENCES]
    rows = _rows(roles, 2)
    rows += [[_b(t(f"announce.audience_btn.{k}"), "menu", k)] for k in ("programme", "stage", "class")]
    rows.append([_b(t("announce.cancel_btn"), "cancel")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def submenu(t: Translator, buttons: list[InlineKeyboardButton], per_row: int = 1) -> InlineKeyboardMarkup:
    rows = _rows(buttons[:MAX_BUTTONS], per_row)
    rows.append([_b(t("announce.back"), "menu"), _b(t("announce.cancel_btn"), "cancel")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def audience_label(repos: Repos, audience: svc.Audience, t: Translator) -> str:
    if audience.kind in svc.ROLE_AUDIENCES:
        return t(f"announce.audience.{audience.kind}")
    if audience.kind == "programme":
        pid = parse_int(audience.value)
        programme = await repos.programmes.get(pid) if pid is not None else None
        return t("announce.audience.programme", name=programme.title if programme else "—")
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
    count = len(await svc.recipients(repos, audience, exclude=me.id))
    label = await audience_label(repos, audience, t)
    batch = svc.new_batch_id()  # a fresh preview is a fresh announcement; a repeated Send reuses this id
    await state.set_state(Announce.confirm)
    await state.update_data(audience=audience.to_dict(), batch=batch, label=label)
    caption = content.text or None
    if content.media == "photo" and content.file_id:
        await message.answer_photo(content.file_id, caption=caption, parse_mode="HTML")
    elif content.media == "document" and content.file_id:
        await message.answer_document(content.file_id, caption=caption, parse_mode="HTML")
    else:
        await message.answer(content.text, parse_mode="HTML")
    rows = []
    if count:
        rows.append([_b(t("announce.send_btn", count=count), "send", batch)])
    rows.append([_b(t("announce.change_btn"), "chg"), _b(t("announce.cancel_btn"), "cancel")])
    key = "announce.summary" if count else "announce.nobody"
    await message.answer(
        t(key, audience=label, count=count), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
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


def router() -> Router:
    r = Router(name=__name__)

    @r.message(Command("announce"), flags=CURATOR)
    async def announce(message: Message, state: FSMContext, t: Translator) -> None:
        await state.set_state(Announce.compose)
        await state.set_data({})
        await message.answer(t("announce.compose"))

    @r.message(Announce.compose, F.media_group_id, flags=CURATOR)
    async def album(message: Message, state: FSMContext, t: Translator) -> None:
        # An album arrives as one update per item: refuse it once, not once per photo.
        data = await state.get_data()
        if data.get("album") != message.media_group_id:
            await state.update_data(album=message.media_group_id)
            await message.answer(t("announce.album"))

    @r.message(Announce.compose, F.photo | F.document | (F.text & ~F.text.startswith("/")), flags=CURATOR)
    async def content(message: Message, state: FSMContext, t: Translator) -> None:
        if message.photo:
            c = svc.Content(text=message.html_text, media="photo", file_id=message.photo[-1].file_id)
        elif message.document:
            c = svc.Content(text=message.html_text, media="document", file_id=message.document.file_id)
        else:
            c = svc.Content(text=message.html_text)
        await state.set_state(Announce.audience)
        await state.set_data({"content": c.to_dict()})
        await message.answer(t("announce.choose_audience"), reply_markup=audience_menu(t))

    @r.message(Announce.compose, flags=CURATOR)
    async def unsupported(message: Message, t: Translator) -> None:
        await message.answer(t("announce.unsupported"))

    @r.message(Announce.audience, flags=CURATOR)
    @r.message(Announce.confirm, flags=CURATOR)
    async def use_buttons(message: Message, t: Translator) -> None:
        await message.answer(t("announce.use_buttons"))

    @r.callback_query(AnnounceCb.filter(F.a == "send"), flags=CURATOR)
    async def send(
        cb: CallbackQuery,
        callback_data: AnnounceCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        bot: Bot,
        clock: Clock,
        after_commit: list,
        factory: async_sessionmaker[AsyncSession] | None = None,
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
        content = svc.Content.from_dict(data["content"])
        added = await svc.send(repos, audience, content, batch, me, clock())
        if added is None:
            await cb.answer(t("announce.already_sent"), show_alert=True)
            return
        if added == 0:
            await cb.answer(t("announce.nobody_now"), show_alert=True)
            return
        await state.clear()
        await cb.answer(t("announce.queued"))
        await cb.message.edit_reply_markup(reply_markup=None)
        progress = await cb.message.answer(progress_text(t, svc.Report(added, 0, 0, 0, 0, 0, pending=added)))
        sessions = factory or create_session_factory(repos.session.bind)  # type: ignore[arg-type]

        async def watch() -> None:
            # After the commit, so the watcher's first look already sees the queued rows.
            start_watch(
                bot,
                sessions,
                background,
                chat_id=progress.chat.id,
                message_id=progress.message_id,
                batch_id=batch,
                lang=t.lang,
                label=str(data.get("label") or ""),
            )

        after_commit.append(watch)

    @r.callback_query(AnnounceCb.filter(), flags=CURATOR)
    async def choose(
        cb: CallbackQuery,
        callback_data: AnnounceCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
    ) -> None:
        d = callback_data
        data = await state.get_data()
        if not isinstance(cb.message, Message) or "content" not in data:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        msg = cb.message
        if d.a == "cancel":
            await state.clear()
            await cb.answer()
            await msg.edit_text(t("announce.cancelled"))
            return
        await cb.answer()
        if d.a == "chg":
            # Under a preview: the preview stays as it was, a fresh menu goes below it.
            await state.set_state(Announce.audience)
            await msg.edit_reply_markup(reply_markup=None)
            await msg.answer(t("announce.choose_audience"), reply_markup=audience_menu(t))
            return
        if d.a == "menu":
            await state.set_state(Announce.audience)
            if d.v == "programme":
                programmes = await repos.programmes.active()
                buttons = [_b(p.title, "prog", str(p.id)) for p in programmes]
                await msg.edit_text(t("announce.choose_programme"), reply_markup=submenu(t, buttons))
            elif d.v == "stage":
                buttons = [_b(t(f"meetings.stage.{s}"), "stage", s) for s in svc.STAGES]
                await msg.edit_text(t("announce.choose_stage"), reply_markup=submenu(t, buttons))
            elif d.v == "class":
                classes = (await svc.classes(repos))[:MAX_BUTTONS]
                await state.update_data(classes=classes)
                if not classes:
                    await msg.edit_text(t("announce.no_classes"), reply_markup=submenu(t, []))
                    return
                buttons = [_b(name, "cls", str(i)) for i, name in enumerate(classes)]
                await msg.edit_text(t("announce.choose_class"), reply_markup=submenu(t, buttons, 4))
            else:
                await msg.edit_text(t("announce.choose_audience"), reply_markup=audience_menu(t))
            return
        if d.a == "cls":
            classes = data.get("classes") or []
            index = parse_int(d.v)
            if index is None or index >= len(classes):
                await msg.edit_text(t("common.stale"))
                return
            name = classes[index]
            await state.update_data(class_name=name)
            buttons = [_b(t(f"announce.who.{w}"), "who", w) for w in svc.CLASS_WHO]
            await msg.edit_text(t("announce.choose_who", name=name), reply_markup=submenu(t, buttons))
            return
        if d.a == "aud" and d.v in svc.ROLE_AUDIENCES:
            audience = svc.Audience(kind=d.v)
        elif d.a == "prog" and (pid := parse_int(d.v)) is not None:
            programme = await repos.programmes.get(pid)
            if programme is None or programme.archived:
                # Its year is closed: an archived programme is read-only, announcements included.
                await msg.edit_text(refusal(t, programme) if programme else t("common.stale"))
                return
            audience = svc.Audience(kind="programme", value=d.v)
        elif d.a == "stage" and d.v in svc.STAGES:
            audience = svc.Audience(kind="stage", value=d.v)
        elif d.a == "who" and d.v in svc.CLASS_WHO and data.get("class_name"):
            audience = svc.Audience(kind="class", value=str(data["class_name"]), who=d.v)
        else:
            await msg.edit_text(t("common.stale"))
            return
        await msg.edit_reply_markup(reply_markup=None)
        await show_preview(msg, state, repos, t, me, audience)

    return r
