"""Curator's /export (the programme as an XLSX workbook or a zip of CSVs, with progress), /report (PNG
charts: stage funnel, satisfaction, KPIs against targets) and /report_doc (the analytic report for a school
year, DOCX and PDF; bot/services/analytic_report.py). The use cases are in bot/services/reports.py; here
the format is asked, the progress line redrawn and the files sent."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender

from bot.callbacks.reports import ExportCb, ExportFormat, ReportDocCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import ParticipantDTO
from bot.domain.kpi import year_label
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.services import analytic_report as doc_svc
from bot.services import export as ex
from bot.services import reports as svc
from bot.services.questionnaires import Engine
from storage.uow import Repos

# Telegram allows about one edit a second in a chat; the progress line changes no more often than this.
PROGRESS_INTERVAL = 1.0
log = logging.getLogger("nastavnik.reports")


def _number(n: int, lang: str) -> str:
    return f"{n:,}".replace(",", "\u00a0" if lang == "ru" else ",")


class _Progress:
    """Written by the worker thread, read by the event loop: two ints, a stale read only delays a redraw."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def text(self, t: Translator) -> str:
        if self.total and self.done < self.total:
            return t(
                "reports.export.progress",
                percent=self.done * 100 // self.total,
                done=_number(self.done, t.lang),
                total=_number(self.total, t.lang),
            )
        return t("reports.export.saving")


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramBadRequest:
        log.debug("progress message not edited message_id=%s", message.message_id)


async def _build(status: Message, t: Translator, data: ex.ExportData, fmt: ExportFormat) -> bytes:
    """Building is CPU work of seconds for a big programme: off the event loop, so other people's updates
    keep flowing, while this loop redraws the progress line."""
    progress = _Progress()
    task = asyncio.ensure_future(asyncio.to_thread(svc.build_file, data, fmt, t, progress))
    shown = None
    while not task.done():
        await asyncio.wait({task}, timeout=PROGRESS_INTERVAL)
        if task.done():
            break
        text = progress.text(t)
        if text != shown:
            await _edit(status, text)
            shown = text
    return task.result()


async def export(message: Message, t: Translator) -> None:
    kb = InlineKeyboardBuilder()
    for fmt in ExportFormat:
        kb.button(text=t(f"reports.export.{fmt.value}"), callback_data=ExportCb(f=fmt))
    await message.answer(t("reports.export.choose"), reply_markup=kb.as_markup())


async def export_format(
    cb: CallbackQuery,
    callback_data: ExportCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    bot: Bot,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer()
    status, fmt, now = cb.message, callback_data.f, clock()
    await _edit(status, t("reports.export.loading"))
    # "sending a file…" in the chat while the workbook is made, besides the progress line
    async with ChatActionSender.upload_document(bot=bot, chat_id=status.chat.id):
        data = await svc.curator_data(repos, engine, t, now, me.id)
        content = await _build(status, t, data, fmt)
    day = now.astimezone(ZoneInfo(data.timezone)).date()
    people, pairs, meetings = (_number(len(x), t.lang) for x in (data.people, data.pairs, data.meetings))
    await _edit(status, t("reports.export.done", people=people, pairs=pairs, meetings=meetings))
    await bot.send_document(
        status.chat.id,
        BufferedInputFile(content, filename=file_name(t, "export", svc.EXTENSIONS[fmt], day=day)),
        caption=t("reports.export.caption", date=f"{day:%d.%m.%Y}"),
    )
    await svc.record_export(repos, clock(), me.id, fmt, data, len(content))


async def report(
    message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock, engine: Engine, bot: Bot
) -> None:
    status = await message.answer(t("reports.report.loading"))
    async with ChatActionSender.upload_photo(bot=bot, chat_id=message.chat.id):
        data = await svc.curator_data(repos, engine, t, clock(), me.id, answers=False)
        charts = await asyncio.to_thread(svc.chart_images, data, t)
    for name, png in charts:
        await message.answer_photo(
            BufferedInputFile(png, filename=file_name(t, f"chart.{name}", "png")),
            caption=t(f"reports.report.{name}_caption"),
        )
    try:
        await status.delete()
    except TelegramBadRequest:
        log.debug("report status message not deleted message_id=%s", status.message_id)


async def report_doc(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
    settings: Settings,
    bot: Bot,
) -> None:
    """/report_doc: the analytic report; with several school years behind the programme, which one first."""
    now = clock()
    _, years = await doc_svc.years(repos, me.id, now.astimezone(settings.tz).date())
    if len(years) == 1:
        await _send_report_doc(message, repos, t, me, now, engine, settings, bot, years[0])
        return
    kb = InlineKeyboardBuilder()
    for year in reversed(years):
        kb.button(text=t("analytic.year_button", year=year_label(year)), callback_data=ReportDocCb(y=year))
    kb.adjust(1)
    await message.answer(t("analytic.choose_year"), reply_markup=kb.as_markup())


async def report_doc_year(
    cb: CallbackQuery,
    callback_data: ReportDocCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
    settings: Settings,
    bot: Bot,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer()
    await _send_report_doc(cb.message, repos, t, me, clock(), engine, settings, bot, callback_data.y)


async def _send_report_doc(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    now: datetime,
    engine: Engine,
    settings: Settings,
    bot: Bot,
    year: int,
) -> None:
    data = await doc_svc.collect(repos, engine, now, me.id, year, settings.timezone)
    if data is None:
        await message.answer(t("analytic.stale"))
        return
    label = year_label(year)
    status = await message.answer(t("analytic.loading", year=label))
    async with ChatActionSender.upload_document(bot=bot, chat_id=message.chat.id):
        docx_bytes, pdf_bytes = await asyncio.to_thread(doc_svc.files, data, t, now)
    day = data.made_on
    await bot.send_document(
        message.chat.id,
        BufferedInputFile(docx_bytes, filename=file_name(t, "analytic_report", "docx", day=day)),
        caption=t("analytic.caption", year=label),
    )
    await bot.send_document(
        message.chat.id,
        BufferedInputFile(pdf_bytes, filename=file_name(t, "analytic_report", "pdf", day=day)),
    )
    await doc_svc.record(repos, now, me.id, year, len(docx_bytes) + len(pdf_bytes))
    try:
        await status.delete()
    except TelegramBadRequest:
        log.debug("report status message not deleted message_id=%s", status.message_id)


def routers() -> list[Router]:
    r = curators_only(__name__)
    r.message.register(export, Command("export"))
    r.callback_query.register(export_format, ExportCb.filter())
    r.message.register(report, Command("report"))
    r.message.register(report_doc, Command("report_doc"))
    r.callback_query.register(report_doc_year, ReportDocCb.filter())
    return [r]
