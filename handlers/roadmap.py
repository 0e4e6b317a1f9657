"""The curator's roadmap: /roadmap (overdue and due soon, done with a note, moved), the CSV / XLSX template,
import from a file sent to the bot, items added one at a time."""

from __future__ import annotations

import logging
from datetime import date

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import ClientError

from bot.callbacks.roadmap import ItemAction, ItemCb, RoadmapAction, RoadmapCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain import roadmap as rm
from bot.domain.entities import ParticipantDTO, ProgrammeDTO
from bot.domain.grammar import format_date
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.services import programmes
from bot.services import roadmap as svc
from handlers.menu import with_desk
from handlers.programmes import for_change, refusal
from storage.uow import Repos

log = logging.getLogger(__name__)

LIST_LIMIT = 10
ERROR_LIMIT = 15
TEXT_BUDGET = 3500  # below Telegram's 4096 characters, with room for the closing line
MAX_FILE_BYTES = 5 * 1024 * 1024  # a real roadmap is a few dozen kilobytes
CAPTION_COMMAND = r"^/roadmap(?:@\w+)?(?:\s|$)"


class RoadmapFlow(StatesGroup):
    file = State()
    item = State()
    note = State()
    move = State()


async def download(bot: Bot, document: Document) -> bytes:
    """The file's bytes from Telegram; one small function so tests can stand in for the file server."""
    buffer = await bot.download(document)
    return buffer.getvalue() if buffer is not None else b""


def _b(text: str, cb: RoadmapCb | ItemCb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _menu(kb: InlineKeyboardBuilder, t: Translator) -> None:
    menu = InlineKeyboardBuilder()
    menu.button(
        text=t("roadmap_chat.btn.template_csv"), callback_data=RoadmapCb(a=RoadmapAction.TEMPLATE_CSV)
    )
    menu.button(
        text=t("roadmap_chat.btn.template_xlsx"), callback_data=RoadmapCb(a=RoadmapAction.TEMPLATE_XLSX)
    )
    menu.button(text=t("roadmap_chat.btn.file"), callback_data=RoadmapCb(a=RoadmapAction.FILE))
    menu.button(text=t("roadmap_chat.btn.add"), callback_data=RoadmapCb(a=RoadmapAction.ADD))
    menu.adjust(2)
    kb.attach(menu)


def render(view: svc.Overview, t: Translator, today: date) -> tuple[str, InlineKeyboardMarkup]:
    """The /roadmap message: overdue first, then due soon, numbered, with Done / Move buttons per item."""
    if view.total == 0:
        kb = InlineKeyboardBuilder()
        _menu(kb, t)
        return t("roadmap_chat.empty"), kb.as_markup()
    lines = [
        t(
            "roadmap_chat.header",
            total=view.total,
            open=view.open,
            done=view.done,
            today=format_date(t, today, today=today),
        )
    ]
    kb = InlineKeyboardBuilder()
    shown = 0
    for title, items in (
        (t("roadmap_chat.overdue_header", count=len(view.overdue)), view.overdue),
        (t("roadmap_chat.soon_header", days=svc.SOON_DAYS, count=len(view.soon)), view.soon),
    ):
        if not items:
            continue
        lines += ["", title]
        for item in items:
            if shown >= LIST_LIMIT:
                break
            shown += 1
            responsible = (
                t("roadmap_chat.responsible", name=svc.short(item.responsible, 60))
                if item.responsible
                else ""
            )
            lines.append(
                t(
                    "roadmap_chat.item",
                    n=shown,
                    activity=svc.short(item.activity),
                    when=svc.when(item, t, today),
                    responsible=responsible,
                )
            )
            kb.row(
                _b(t("roadmap_chat.btn.done", n=shown), ItemCb(a=ItemAction.DONE, i=item.id)),
                _b(t("roadmap_chat.btn.move", n=shown), ItemCb(a=ItemAction.MOVE, i=item.id)),
            )
    hidden = len(view.overdue) + len(view.soon) - shown
    if hidden > 0:
        lines.append(t("roadmap_chat.more", count=hidden))
    if not view.overdue and not view.soon:
        lines += ["", t("roadmap_chat.nothing_due", days=svc.SOON_DAYS)]
    if view.undated:
        lines.append(t("roadmap_chat.undated", count=view.undated))
    if shown:
        lines += ["", t("roadmap_chat.buttons_hint")]
    _menu(kb, t)
    return "\n".join(lines), kb.as_markup()


def import_report(outcome: svc.ImportOutcome, t: Translator) -> str:
    if outcome.refused:
        return svc.error_text(t, outcome.errors[0])
    if not outcome.ok:
        lines = [t("roadmap.import.failed", count=len(outcome.errors))]
        size = len(lines[0])
        for n, error in enumerate(outcome.errors):
            line = svc.error_text(t, error)
            if n >= ERROR_LIMIT or size + len(line) > TEXT_BUDGET:
                lines.append(t("roadmap_chat.more_errors", count=len(outcome.errors) - n))
                break
            lines.append(line)
            size += len(line) + 1
        return "\n".join(lines)
    if outcome.imported == 0:
        return t("roadmap_chat.nothing_new", count=outcome.skipped)
    lines = [t("roadmap_chat.imported", count=outcome.imported)]
    if outcome.skipped:
        lines.append(t("roadmap_chat.skipped", count=outcome.skipped))
    if outcome.linked:
        lines.append(t("roadmap_chat.linked", count=outcome.linked, days=svc.REMIND_DAYS))
    lines.append(t("roadmap_chat.see_list"))
    return "\n".join(lines)


# ------------------------------------------------------------------------------- handlers
async def _import(
    message: Message,
    bot: Bot,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> bool:
    document = message.document
    assert document is not None
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return False
    if document.file_size is not None and document.file_size > MAX_FILE_BYTES:
        await message.answer(t("roadmap_chat.file_too_big", limit=MAX_FILE_BYTES // (1024 * 1024)))
        return False
    try:
        data = await download(bot, document)
    except (TelegramAPIError, ClientError, OSError, TimeoutError) as exc:
        log.warning("roadmap file download failed: %s", type(exc).__name__)
        await message.answer(t("roadmap_chat.download_failed"))
        return False
    now = clock()
    today = now.astimezone(settings.tz).date()
    outcome = await svc.import_items(repos, me.id, programme.id, document.file_name or "", data, today, now)
    await message.answer(import_report(outcome, t))
    return outcome.ok


async def import_with_caption(
    message: Message,
    bot: Bot,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    ok = await _import(message, bot, repos, t, me, clock, settings)
    if ok and await state.get_state() == RoadmapFlow.file.state:
        await state.clear()


async def import_awaited(
    message: Message,
    bot: Bot,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    # After a failed import the curator is still asked for the corrected file.
    if await _import(message, bot, repos, t, me, clock, settings):
        await state.clear()


async def not_a_file(message: Message, t: Translator) -> None:
    await message.answer(t("roadmap_chat.not_a_file"))


async def roadmap(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    if (await state.get_state() or "").startswith(f"{RoadmapFlow.__name__}:"):
        await state.clear()
    today = clock().astimezone(settings.tz).date()
    programme = await programmes.current(repos, me.id)
    view = await svc.overview(repos, today, programme=programme.id if programme else None)
    text, markup = render(view, t, today)
    await message.answer(text, reply_markup=with_desk(markup, me, settings, t, "roadmap"))


async def template(cb: CallbackQuery, callback_data: RoadmapCb, t: Translator) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    csv = callback_data.a is RoadmapAction.TEMPLATE_CSV
    data = rm.roadmap_template_csv() if csv else rm.roadmap_template_xlsx()
    await cb.message.answer_document(
        BufferedInputFile(data, filename=file_name(t, "roadmap_template", "csv" if csv else "xlsx")),
        caption=t("roadmap_chat.template_caption"),
    )
    await cb.answer()


async def ask(
    cb: CallbackQuery,
    callback_data: RoadmapCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    if await for_change(repos, me, t, cb) is None:
        return
    if callback_data.a is RoadmapAction.FILE:
        await state.set_state(RoadmapFlow.file)
        await cb.message.answer(t("roadmap_chat.ask_file"))
    else:
        await state.set_state(RoadmapFlow.item)
        await cb.message.answer(t("roadmap_chat.ask_item"))
    await cb.answer()


async def add_item(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    programme = await for_change(repos, me, t, message)
    if programme is None:
        await state.clear()
        return
    now = clock()
    today = now.astimezone(settings.tz).date()
    item = await svc.add_item(repos, me.id, programme.id, message.text or "", today, now)
    if isinstance(item, rm.Invalid):
        await message.answer(svc.error_text(t, item))
        return
    await state.clear()
    await message.answer(
        t("roadmap_chat.added", activity=svc.short(item.activity), when=svc.when(item, t, today))
    )


async def item_action(
    cb: CallbackQuery,
    callback_data: ItemCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    found = await svc.open_item(repos, callback_data.i)
    if found.archived is not None:
        await cb.answer(refusal(t, found.archived), show_alert=True)
        return
    item = found.item
    if item is None or not isinstance(cb.message, Message):
        await cb.answer(t("roadmap_chat.already"), show_alert=True)
        return
    activity = svc.short(item.activity)
    if callback_data.a is ItemAction.DONE:
        await state.set_state(RoadmapFlow.note)
        await state.set_data({"i": item.id})
        kb = InlineKeyboardBuilder()
        kb.button(text=t("roadmap_chat.btn.no_note"), callback_data=ItemCb(a=ItemAction.BARE, i=item.id))
        await cb.message.answer(t("roadmap_chat.ask_note", activity=activity), reply_markup=kb.as_markup())
    elif callback_data.a is ItemAction.BARE:
        await state.clear()
        await cb.message.answer(await _done(repos, item.id, None, t, me, clock, settings))
    else:
        await state.set_state(RoadmapFlow.move)
        await state.set_data({"i": item.id})
        await cb.message.answer(t("roadmap_chat.ask_move", activity=activity, deadline=item.deadline_text))
    await cb.answer()


async def _done(
    repos: Repos,
    item_id: int,
    note: str | None,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> str:
    now = clock()
    done = await svc.finish(repos, me.id, item_id, note, now.astimezone(settings.tz).date(), now)
    if done.archived is not None:
        return refusal(t, done.archived)
    if done.item is None:
        return t("roadmap_chat.already")
    activity = svc.short(done.item.activity)
    if done.next_due is not None:
        shown = format_date(t, done.next_due, today=now.astimezone(settings.tz).date())
        return t("roadmap_chat.done_next", activity=activity, date=shown)
    return t("roadmap_chat.done", activity=activity)


async def done_note(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    note = " ".join((message.text or "").split())
    if not 2 <= len(note) <= 500:
        await message.answer(t("roadmap_chat.bad_note"))
        return
    data = await state.get_data()
    await state.clear()
    await message.answer(await _done(repos, int(data["i"]), note, t, me, clock, settings))


async def move_to(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    now = clock()
    today = now.astimezone(settings.tz).date()
    data = await state.get_data()
    item = await svc.reschedule(repos, me.id, int(data["i"]), message.text or "", today, now)
    if isinstance(item, ProgrammeDTO):
        await state.clear()
        await message.answer(refusal(t, item))
        return
    if isinstance(item, rm.Invalid):
        if item.code == "roadmap_chat.already":
            await state.clear()
        await message.answer(svc.error_text(t, item))
        return
    await state.clear()
    await message.answer(
        t("roadmap_chat.moved", activity=svc.short(item.activity), when=svc.when(item, t, today))
    )


def routers() -> list[Router]:
    r = curators_only(__name__)
    # A document captioned /roadmap is an import wherever the curator is (any conversation they are in is
    # left as it was); registered before the command, whose filter also reads captions.
    r.message.register(import_with_caption, F.document, F.caption.regexp(CAPTION_COMMAND))
    r.message.register(import_awaited, RoadmapFlow.file, F.document)
    r.message.register(not_a_file, RoadmapFlow.file, ~F.text.startswith("/"))
    r.message.register(roadmap, Command("roadmap"))
    r.callback_query.register(
        template, RoadmapCb.filter(F.a.in_({RoadmapAction.TEMPLATE_CSV, RoadmapAction.TEMPLATE_XLSX}))
    )
    r.callback_query.register(ask, RoadmapCb.filter(F.a.in_({RoadmapAction.FILE, RoadmapAction.ADD})))
    r.message.register(add_item, RoadmapFlow.item, F.text, ~F.text.startswith("/"))
    r.callback_query.register(item_action, ItemCb.filter())
    r.message.register(done_note, RoadmapFlow.note, F.text, ~F.text.startswith("/"))
    r.message.register(move_to, RoadmapFlow.move, F.text, ~F.text.startswith("/"))
    return [r]
