"""The district: the coordinator's /institutions, /district, /district_report and /district_announce, and a
curator's /institution (which of their institutions they work in). The coordinator's router shows
aggregates only: nothing rendered here names a participant."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.chat_action import ChatActionSender

from bot.callbacks.district import (
    AnnounceSendCb,
    AnnounceToCb,
    InstitutionAction,
    InstitutionCb,
    ReportPeriodCb,
    WorkInCb,
)
from bot.callbacks.picks import Pick, PickRequest, Shared, picker
from bot.clock import Clock
from bot.config import Settings
from bot.domain import district as dd
from bot.domain.entities import ParticipantDTO, Role
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.services import district as svc
from bot.services import district_report as report
from bot.services import institutions, picks
from bot.services.announce import new_batch_id
from handlers.invitations import answer_granted
from handlers.long_text import answer_long
from handlers.states import District
from storage.uow import Repos


def _link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username}?start={token}"


def _today(settings: Settings, now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.timezone)).date()


def render_district(d: svc.District, t: Translator, small: int, tz: ZoneInfo) -> str:
    as_of = (d.as_of or datetime.now(tz)).astimezone(tz)
    lines = [
        t("district.header", period=report.period_name(t, d.period), as_of=f"{as_of:%d.%m.%Y %H:%M}"),
        "",
    ]
    if not d.rows:
        return "\n".join([*lines, t("district.empty")])
    for row in [*d.rows, None]:
        title = row.institution.title if row else t("district.total")
        f = row.figures if row else d.total
        targets = row.targets if row else d.targets
        values = dict(zip(report.headers(t), report.cells(f, targets, t, small), strict=True))
        lines.append(f"▪️ {title}")
        c = lambda n: dd.shown_count(n, small)  # noqa: E731
        lines.append(
            t("district.line_people", mentors=c(f.mentors), mentees=c(f.mentees))
            + " · "
            + t(
                "district.line_kinds",
                pupil=c(f.mentees_by_kind.get("pupil", 0)),
                student=c(f.mentees_by_kind.get("student", 0)),
                teacher=c(f.mentees_by_kind.get("teacher", 0)),
            )
        )
        forms = ", ".join(
            f"{t(f'district.form.{form}')}: {c(n)}" for form, n in sorted(f.paired_by_form.items()) if n
        )
        lines.append(t("district.line_forms", forms=forms or "—"))
        stages = ", ".join(f"{t(f'meetings.stage.{s}')}: {c(n)}" for s, n in f.pairs_by_stage.items() if n)
        lines.append(
            t("district.line_pairs", pairs=c(f.pairs), overdue=c(f.overdue_pairs), stages=stages or "—")
        )
        lines.append(
            t(
                "district.line_kpi",
                coverage=values[t("district.col.coverage")],
                mentees=values[t("district.col.mentee_satisfaction")],
                mentors=values[t("district.col.mentor_satisfaction")],
            )
        )
        lines.append(
            t(
                "district.line_monitoring",
                response=values[t("district.col.response")],
                roadmap=values[t("district.col.roadmap_overdue")],
            )
        )
        lines.append("")
    lines.append(t("district.small_note", small=small))
    return "\n".join(lines)


# -- the coordinator ----------------------------------------------------------------------------------------
PAGE = 10  # institutions per page: Telegram takes at most 100 buttons under a message


def _pages(n: int) -> int:
    return max(1, -(-n // PAGE))


def _nav(kb: InlineKeyboardBuilder, page: int, pages: int, make) -> int:  # type: ignore[no-untyped-def]
    """◀ / ▶ buttons between pages; returns how many it added."""
    added = 0
    if page > 0:
        kb.button(text="◀", callback_data=make(page - 1))
        added += 1
    if page + 1 < pages:
        kb.button(text="▶", callback_data=make(page + 1))
        added += 1
    return added


def render_institutions(d: svc.District, t: Translator, small: int, page: int):  # type: ignore[no-untyped-def]
    pages = _pages(len(d.rows))
    page = min(max(page, 0), pages - 1)
    shown = d.rows[page * PAGE : (page + 1) * PAGE]
    header = t("institutions.header")
    if pages > 1:
        header += " · " + t("institutions.page", page=page + 1, pages=pages, total=len(d.rows))
    lines = [header, ""]
    kb = InlineKeyboardBuilder()
    for row in shown:
        lines.append(
            t(
                "institutions.item",
                id=row.institution.id,
                title=row.institution.title,
                curators=row.curators,
                programmes=row.programmes,
                mentees=dd.shown_count(row.figures.mentees, small),
                pairs=dd.shown_count(row.figures.pairs, small),
            )
        )
        kb.button(
            text=t("institutions.btn.invite", id=row.institution.id),
            callback_data=InstitutionCb(a=InstitutionAction.INVITE, n=row.institution.id),
        )
        kb.button(
            text=t("institutions.btn.rename", id=row.institution.id),
            callback_data=InstitutionCb(a=InstitutionAction.RENAME, n=row.institution.id),
        )
    if not d.rows:
        lines.append(t("institutions.none"))
    nav = _nav(kb, page, pages, lambda n: InstitutionCb(a=InstitutionAction.PAGE, n=n))
    kb.button(text=t("institutions.btn.add"), callback_data=InstitutionCb(a=InstitutionAction.ADD))
    kb.button(
        text=t("institutions.btn.coordinator"), callback_data=InstitutionCb(a=InstitutionAction.COORDINATOR)
    )
    kb.adjust(*([2] * len(shown)), *([nav] if nav else []), 1, 1)
    return "\n".join(lines), kb.as_markup()


async def _district_now(repos: Repos, settings: Settings, clock: Clock) -> svc.District:
    now = clock()
    today = _today(settings, now)
    return await svc.build(repos, now, settings.timezone, today, dd.periods_around(today, 1)[0])


async def institutions_list(
    message: Message, repos: Repos, t: Translator, settings: Settings, clock: Clock
) -> None:
    d = await _district_now(repos, settings, clock)
    text, markup = render_institutions(d, t, settings.small_numbers, 0)
    await message.answer(text, reply_markup=markup)


async def institutions_page(
    cb: CallbackQuery,
    callback_data: InstitutionCb,
    repos: Repos,
    t: Translator,
    settings: Settings,
    clock: Clock,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    d = await _district_now(repos, settings, clock)
    text, markup = render_institutions(d, t, settings.small_numbers, callback_data.n)
    await cb.answer()
    await cb.message.edit_text(text, reply_markup=markup)


async def institution_add(cb: CallbackQuery, state: FSMContext, t: Translator) -> None:
    await state.set_state(District.title)
    await cb.answer()
    if isinstance(cb.message, Message):
        await cb.message.answer(t("institutions.ask_title"))


async def institution_title(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    title = institutions.clean_title(message.text)
    if title is None:
        await message.answer(t("institutions.bad_title", max=institutions.TITLE_MAX))
        return
    created = await institutions.create(repos, me.id, title, clock())
    await state.clear()
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("institutions.btn.invite", id=created.id),
        callback_data=InstitutionCb(a=InstitutionAction.INVITE, n=created.id),
    )
    await message.answer(
        t("institutions.created", id=created.id, title=created.title),
        reply_markup=kb.as_markup(),
    )


async def institution_rename(
    cb: CallbackQuery, callback_data: InstitutionCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    found = await repos.institutions.get(callback_data.n)
    if found is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.set_state(District.rename)
    await state.update_data(institution=found.id)
    await cb.answer()
    await cb.message.answer(t("institutions.ask_new_title", title=found.title))


async def institution_new_title(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    title = institutions.clean_title(message.text)
    if title is None:
        await message.answer(t("institutions.bad_title", max=institutions.TITLE_MAX))
        return
    renamed = await institutions.rename(
        repos, me.id, int((await state.get_data())["institution"]), title, clock()
    )
    await state.clear()
    await message.answer(t("institutions.renamed", title=title) if renamed else t("common.stale"))


async def coordinator_invite(
    cb: CallbackQuery, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock, bot: Bot
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    token, _ = await institutions.invite_coordinator(repos, me.id, clock())
    me_bot = await bot.me()
    await cb.answer()
    button = picker(t("conventions.pick.coordinator_button"), PickRequest(Pick.COORDINATOR))
    await cb.message.answer(t("conventions.pick.coordinator_hint"), reply_markup=button)
    await cb.message.answer(
        t(
            "institutions.coordinator_link",
            link=_link(me_bot.username or "", token),
            hours=institutions.CURATOR_LINK_HOURS,
        )
    )


async def institution_invite(
    cb: CallbackQuery,
    callback_data: InstitutionCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    bot: Bot,
) -> None:
    link = await institutions.invite_curator(repos, me.id, callback_data.n, clock())
    if link is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    me_bot = await bot.me()
    await cb.answer()
    button = picker(
        t("conventions.pick.curator_button"), PickRequest(Pick.INSTITUTION_CURATOR, link.institution.id)
    )
    await cb.message.answer(
        t("conventions.pick.institution_curator_hint", title=link.institution.title), reply_markup=button
    )
    await cb.message.answer(
        t(
            "institutions.curator_link",
            title=link.institution.title,
            link=_link(me_bot.username or "", link.token),
            hours=institutions.CURATOR_LINK_HOURS,
        ),
    )


async def curator_chosen(
    message: Message,
    pick: PickRequest,
    shared_id: int,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    """The institution's curator chosen in Telegram: the role on that account, at once."""
    institution = await repos.institutions.get(pick.n)
    if institution is None:
        await answer_granted(message, repos, t, bot, picks.Problem.STALE, Role.CURATOR, clock(), settings)
        return
    now = clock()
    granted = await picks.grant(
        repos,
        me.id,
        shared_id,
        Role.CURATOR,
        now,
        language=settings.default_language,
        institution_id=institution.id,
    )
    await answer_granted(message, repos, t, bot, granted, Role.CURATOR, now, settings)


async def coordinator_chosen(
    message: Message,
    shared_id: int,
    repos: Repos,
    t: Translator,
    bot: Bot,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    now = clock()
    granted = await picks.grant(
        repos, me.id, shared_id, Role.COORDINATOR, now, language=settings.default_language
    )
    await answer_granted(message, repos, t, bot, granted, Role.COORDINATOR, now, settings)


async def district(message: Message, repos: Repos, t: Translator, settings: Settings, clock: Clock) -> None:
    now = clock()
    today = _today(settings, now)
    d = await svc.build(repos, now, settings.timezone, today, dd.periods_around(today, 1)[0])
    text = render_district(d, t, settings.small_numbers, ZoneInfo(settings.timezone))
    await answer_long(message, text, t)


async def district_report(message: Message, t: Translator, settings: Settings, clock: Clock) -> None:
    kb = InlineKeyboardBuilder()
    for period in dd.periods_around(_today(settings, clock()), 4):
        kb.button(
            text=report.period_name(t, period),
            callback_data=ReportPeriodCb(year=period.year, month=period.month),
        )
    kb.adjust(2)
    await message.answer(t("district.report_choose"), reply_markup=kb.as_markup())


async def district_report_period(
    cb: CallbackQuery,
    callback_data: ReportPeriodCb,
    repos: Repos,
    t: Translator,
    settings: Settings,
    clock: Clock,
    bot: Bot,
) -> None:
    period = dd.Period.parse(f"{callback_data.year}-{callback_data.month:02d}")
    if period is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer()
    now = clock()
    today = min(_today(settings, now), period.ends_on)
    chat_id = cb.message.chat.id
    async with ChatActionSender.upload_document(bot=bot, chat_id=chat_id):
        d = await svc.build(repos, now, settings.timezone, today, period)
        small = settings.small_numbers
        workbook = report.render_xlsx(d, t, small, ZoneInfo(settings.timezone))
        chart = report.render_png(d, t, small)
    day = _today(settings, now)
    await bot.send_document(
        chat_id,
        BufferedInputFile(workbook, filename=file_name(t, "district_report", "xlsx", day=day)),
        caption=t("district.report_caption", period=report.period_name(t, period), count=len(d.rows)),
    )
    await bot.send_document(
        chat_id, BufferedInputFile(chart, filename=file_name(t, "district_chart", "png", day=day))
    )


async def announce_start(message: Message, state: FSMContext, t: Translator) -> None:
    await state.set_state(District.announce)
    await message.answer(t("district.announce_ask"))


async def announce_text(message: Message, state: FSMContext, repos: Repos, t: Translator) -> None:
    text = (message.text or "").strip()
    if not text or len(text) > 3500:
        await message.answer(t("district.announce_bad"))
        return
    await state.update_data(text=text, batch=new_batch_id(), chosen=[])
    preview, markup = await _announce_preview(repos, t, set(), 0)
    await message.answer(preview, reply_markup=markup)


async def _announce_preview(  # type: ignore[no-untyped-def]
    repos: Repos, t: Translator, chosen: set[int], page: int
):
    """How many curators get it, Send / Cancel, and a toggle per institution, a page at a time (none ticked:
    every one)."""
    count = len(await svc.curators(repos, chosen or None))
    every = await repos.institutions.all()
    pages = _pages(len(every))
    page = min(max(page, 0), pages - 1)
    shown = every[page * PAGE : (page + 1) * PAGE]
    kb = InlineKeyboardBuilder()
    kb.button(text=t("district.announce_send", count=count), callback_data=AnnounceSendCb(ok=1))
    kb.button(text=t("district.announce_cancel"), callback_data=AnnounceSendCb(ok=0))
    for institution in shown:
        mark = "☑" if institution.id in chosen else "☐"
        kb.button(
            text=f"{mark} {institution.title[:50]}", callback_data=AnnounceToCb(n=institution.id, page=page)
        )
    nav = _nav(kb, page, pages, lambda n: AnnounceToCb(n=0, page=n))
    kb.adjust(2, *([1] * len(shown)), *([nav] if nav else []))
    key = "district.announce_preview_some" if chosen else "district.announce_preview"
    return t(key, count=count, institutions=len(chosen)), kb.as_markup()


async def announce_toggle(
    cb: CallbackQuery, callback_data: AnnounceToCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    data = await state.get_data()
    if "text" not in data or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    chosen = set(data.get("chosen") or [])
    if callback_data.n:  # 0: only another page
        if await repos.institutions.get(callback_data.n) is None:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        chosen ^= {callback_data.n}
        await state.update_data(chosen=sorted(chosen))
    preview, markup = await _announce_preview(repos, t, chosen, callback_data.page)
    await cb.answer()
    await cb.message.edit_text(preview, reply_markup=markup)


async def announce_send(
    cb: CallbackQuery,
    callback_data: AnnounceSendCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
) -> None:
    data = await state.get_data()
    await state.clear()
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if not callback_data.ok or "text" not in data:
        await cb.answer()
        await cb.message.edit_text(t("district.announce_cancelled"))
        return
    chosen = {int(x) for x in data.get("chosen") or []}
    added = await svc.announce(repos, me.id, str(data["text"]), str(data["batch"]), clock(), chosen or None)
    await cb.answer()
    await cb.message.edit_text(
        t("district.announce_already") if added is None else t("district.announce_queued", count=added)
    )


# -- a curator of several institutions --------------------------------------------------------------------
async def institution_choose(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
    own = await institutions.curated_by(repos, me.id)
    kb = InlineKeyboardBuilder()
    for institution in own:
        kb.button(text=institution.title[:60], callback_data=WorkInCb(n=institution.id))
    kb.adjust(1)
    scope_title = next((i.title for i in own if i.id == repos.institution_id), "—")
    await message.answer(
        t("institutions.mine", title=scope_title, count=len(own)),
        reply_markup=kb.as_markup() if len(own) > 1 else None,
    )


async def institution_work_in(
    cb: CallbackQuery, callback_data: WorkInCb, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    chosen = await institutions.switch(repos, me.id, callback_data.n, clock())
    if chosen is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer()
    await cb.message.edit_text(t("institutions.switched", title=chosen.title))


def routers() -> list[Router]:
    coordinator = only_for(Router(name=f"{__name__}.coordinator"), Role.COORDINATOR)
    coordinator.message.register(institutions_list, Command("institutions"))
    coordinator.message.register(district, Command("district"))
    coordinator.message.register(district_report, Command("district_report"))
    coordinator.message.register(announce_start, Command("district_announce"))
    coordinator.message.register(institution_title, StateFilter(District.title), F.text)
    coordinator.message.register(announce_text, StateFilter(District.announce), F.text)
    coordinator.message.register(institution_new_title, StateFilter(District.rename), F.text)
    coordinator.callback_query.register(institution_add, InstitutionCb.filter(F.a == InstitutionAction.ADD))
    coordinator.callback_query.register(
        institution_invite, InstitutionCb.filter(F.a == InstitutionAction.INVITE)
    )
    coordinator.callback_query.register(
        institution_rename, InstitutionCb.filter(F.a == InstitutionAction.RENAME)
    )
    coordinator.callback_query.register(
        coordinator_invite, InstitutionCb.filter(F.a == InstitutionAction.COORDINATOR)
    )
    coordinator.callback_query.register(
        institutions_page, InstitutionCb.filter(F.a == InstitutionAction.PAGE)
    )
    coordinator.callback_query.register(district_report_period, ReportPeriodCb.filter())
    coordinator.message.register(curator_chosen, Shared(Pick.INSTITUTION_CURATOR))
    coordinator.message.register(coordinator_chosen, Shared(Pick.COORDINATOR))
    coordinator.callback_query.register(announce_send, AnnounceSendCb.filter())
    coordinator.callback_query.register(announce_toggle, AnnounceToCb.filter())
    curator = curators_only(f"{__name__}.curator")
    curator.message.register(institution_choose, Command("institution"))
    curator.callback_query.register(institution_work_in, WorkInCb.filter())
    return [coordinator, curator]
