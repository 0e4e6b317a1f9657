"""Curator's /export (the programme as an XLSX workbook or a zip of CSVs, with progress) and /report (PNG
charts: stage funnel, satisfaction, KPIs against targets)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import Callback
from bot.clock import Clock
from bot.domain.entities import ParticipantDTO, ProgrammeDTO, Role
from bot.domain.forms import Audience
from bot.domain.kpi import KpiReport
from bot.domain.programme_templates import calendar_label_key, load_templates
from bot.domain.roadmap import RoadmapRow
from bot.domain.stages import StagePlan, StagePlanError
from bot.filenames import file_name
from bot.i18n import Translator
from bot.services import charts, completion, programmes
from bot.services import export as ex
from bot.services.questionnaires import Engine
from storage.repositories.reports import ReportRepo
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
FORMATS = ("xlsx", "csv")
DEFAULT_TZ = "Europe/Moscow"
# Telegram allows about one edit a second in a chat; the progress line changes no more often than this.
PROGRESS_INTERVAL = 1.0
log = logging.getLogger("nastavnik.reports")


class ExportCb(Callback, prefix="ce"):
    f: str  # xlsx | csv


def _number(n: int, lang: str) -> str:
    return f"{n:,}".replace(",", "\u00a0" if lang == "ru" else ",")


class _Progress:
    """Written by the worker thread, read by the event loop: two ints, a stale read only delays a redraw."""

    def __init__(self) -> None:
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total


async def _edit(message: Message, text: str) -> None:
    try:
        await message.edit_text(text)
    except TelegramBadRequest:
        log.debug("progress message not edited message_id=%s", message.message_id)


def _programme_context(
    programme: ProgrammeDTO | None, t: Translator
) -> tuple[str, dict, StagePlan, list[RoadmapRow]]:
    """Time zone, KPI targets, stage plan and roadmap items of the programme (its template's, if any)."""
    tz = programme.timezone if programme else DEFAULT_TZ
    template = load_templates().get(programme.template) if programme and programme.template else None
    try:
        plan = StagePlan.from_mapping((programme.settings if programme else {}).get("stage_plan"))
    except StagePlanError:
        plan = StagePlan()
    # There is no roadmap table yet: the template's calendar is the only roadmap the bot knows.
    roadmap = [
        RoadmapRow(activity=t(calendar_label_key(event)), responsible=None, deadline=deadline, result=None)
        for event, deadline in (template.calendar.items() if template else ())
    ]
    # The programme's own targets (filled from its template when it was created), else the template's.
    stored = (programme.settings if programme else {}).get("kpi_targets")
    if isinstance(stored, dict):
        targets: dict = {
            code: {int(y): float(v) for y, v in by_year.items()} for code, by_year in stored.items()
        }
    else:
        targets = dict(template.kpi_targets) if template else {}
    return tz, targets, plan, roadmap


async def collect(
    repos: Repos,
    reports: ReportRepo,
    engine: Engine,
    t: Translator,
    now: datetime,
    *,
    answers: bool = True,
    programme: ProgrammeDTO | None = None,
) -> ex.ExportData:
    """Everything the export and the charts need, in a handful of queries, with the KPIs computed: of one
    programme (an archived one too), or without one, of everyone (the first active programme's settings)."""
    scope = await repos.programmes.scope(programme.id) if programme is not None else None
    if programme is None:
        programmes = await repos.programmes.active()
        programme = programmes[0] if programmes else None
    tz, targets, plan, roadmap = _programme_context(programme, t)
    intake = [f.id for f in engine.forms.values() if f.audience in (Audience.MENTEE, Audience.MENTOR)]
    people = await reports.people(scope)
    pairs = await reports.pairs(scope)
    meetings = await reports.meetings()
    feedback = await reports.feedback(ex.SCORE_KEYS)
    answer_rows = await reports.answers(intake) if answers else []
    if scope is not None:
        # Meetings of the programme's pairs; feedback on them, and surveys by its people.
        pair_ids = {p.id for p in pairs}
        meetings = [m for m in meetings if m.pair_id in pair_ids]
        meeting_ids = {m.id for m in meetings}
        person_ids = {p.id for p in people}
        feedback = [
            f
            for f in feedback
            if f.meeting_id in meeting_ids or (f.meeting_id is None and f.participant_id in person_ids)
        ]
        answer_rows = [a for a in answer_rows if a.participant_id in person_ids]
    kpis: list[KpiReport] = ex.kpi_reports(
        people,
        pairs,
        meetings,
        feedback,
        targets=targets,
        plan=plan,
        timezone=tz,
        today=now.astimezone(ZoneInfo(tz)).date(),
        programme_id=str(programme.id) if programme else "",
    )
    return ex.ExportData(
        people=people,
        answers=answer_rows,
        pairs=pairs,
        meetings=meetings,
        feedback=feedback,
        forms=engine.forms,
        intake_forms=intake,
        kpis=kpis,
        roadmap=roadmap,
        timezone=tz,
        cases=await completion.published_cases(repos),
    )


def _charts(data: ex.ExportData, t: Translator) -> list[tuple[str, bytes]]:
    # The final survey is the programme's verdict; before anyone has taken it, the intermediate one is news.
    survey = "final"
    mentees, mentors = ex.survey_scores(data.feedback, data.pairs, survey)
    if not mentees and not mentors:
        interim = ex.survey_scores(data.feedback, data.pairs, "intermediate")
        if any(interim):
            survey, (mentees, mentors) = "intermediate", interim
    form = data.forms.get(survey)
    scale = form.question("satisfaction").scale if form and "satisfaction" in form.keys else None
    low, high = (scale.min, scale.max) if scale else (1, 10)
    return [
        ("funnel", charts.funnel_chart(ex.stage_funnel(data.pairs), t)),
        ("satisfaction", charts.satisfaction_chart(mentees, mentors, t, survey=survey, low=low, high=high)),
        ("kpi", charts.kpi_chart(data.kpis[-6:], t)),
    ]


def router(engine: Engine) -> Router:
    r = Router(name=__name__)

    @r.message(Command("export"), flags=CURATOR)
    async def export(message: Message, t: Translator) -> None:
        buttons = [
            InlineKeyboardButton(text=t(f"reports.export.{f}"), callback_data=ExportCb(f=f).pack())
            for f in FORMATS
        ]
        await message.answer(
            t("reports.export.choose"), reply_markup=InlineKeyboardMarkup(inline_keyboard=[buttons])
        )

    @r.callback_query(ExportCb.filter(), flags=CURATOR)
    async def export_format(
        cb: CallbackQuery,
        callback_data: ExportCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
        bot: Bot,
    ) -> None:
        fmt = callback_data.f
        if fmt not in FORMATS or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await cb.answer()
        status = cb.message
        await _edit(status, t("reports.export.loading"))
        now = clock()
        # An archived programme exports as it ended: read-only is not out of reach.
        programme = await programmes.current(repos, me.id)
        data = await collect(repos, repos.reports, engine, t, now, programme=programme)
        progress = _Progress()
        build = ex.build_workbook if fmt == "xlsx" else ex.build_csv
        # Building is CPU work of seconds for a big programme: off the event loop, so other people's updates
        # keep flowing, while this loop redraws the progress line.
        task = asyncio.ensure_future(asyncio.to_thread(build, data, t, progress))
        shown = None
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_INTERVAL)
            if task.done():
                break
            if progress.total and progress.done < progress.total:
                text = t(
                    "reports.export.progress",
                    percent=progress.done * 100 // progress.total,
                    done=_number(progress.done, t.lang),
                    total=_number(progress.total, t.lang),
                )
            else:
                text = t("reports.export.saving")
            if text != shown:
                await _edit(status, text)
                shown = text
        content = task.result()
        day = now.astimezone(ZoneInfo(data.timezone)).date()
        await _edit(
            status,
            t(
                "reports.export.done",
                people=_number(len(data.people), t.lang),
                pairs=_number(len(data.pairs), t.lang),
                meetings=_number(len(data.meetings), t.lang),
            ),
        )
        await bot.send_document(
            status.chat.id,
            BufferedInputFile(
                content, filename=file_name(t, "export", "xlsx" if fmt == "xlsx" else "zip", day=day)
            ),
            caption=t("reports.export.caption", date=f"{day:%d.%m.%Y}"),
        )
        await repos.audit.log(
            "export",
            clock(),
            actor_id=me.id,
            format=fmt,
            participants=len(data.people),
            pairs=len(data.pairs),
            bytes=len(content),
        )

    @r.message(Command("report"), flags=CURATOR)
    async def report(message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock) -> None:
        status = await message.answer(t("reports.report.loading"))
        programme = await programmes.current(repos, me.id)
        data = await collect(repos, repos.reports, engine, t, clock(), answers=False, programme=programme)
        images = await asyncio.to_thread(_charts, data, t)
        for name, png in images:
            await message.answer_photo(
                BufferedInputFile(png, filename=file_name(t, f"chart.{name}", "png")),
                caption=t(f"reports.report.{name}_caption"),
            )
        try:
            await status.delete()
        except TelegramBadRequest:
            log.debug("report status message not deleted message_id=%s", status.message_id)

    return r
