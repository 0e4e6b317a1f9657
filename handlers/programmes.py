"""/programme (curator): the current programme and every other one; switch, create one from a seed template,
close a programme year into the next cohort (choosing which mentors stay). Also the guard other curator
commands use: an archived programme is read-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import Callback
from bot.clock import Clock
from bot.config import Settings
from bot.domain import cohorts
from bot.domain.entities import ParticipantDTO, ProgrammeDTO, Role
from bot.domain.kpi import kpi_label_key
from bot.domain.programme_templates import ProgrammeTemplate
from bot.domain.stages import Stage
from bot.i18n import Translator
from bot.services import programmes as svc
from handlers.states import ProgrammeFlow
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
LISTED = 20  # programmes with a switch button
MENTORS_PAGE = 20
TITLE_MIN = 3


class ProgrammeCb(Callback, prefix="cg"):
    # ls (the overview) | sw (switch to n) | new (templates) | tpl (template v chosen) | mk (create it)
    # | cl (close programme n: confirm) | keep (choose mentors) | tg (toggle mentor n) | pg (page n)
    # | shut (close programme n now) | x (cancel)
    a: str
    n: int = 0
    v: str = ""


def _b(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


async def _edit(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edit in place; a second press that would change nothing is not an error (Telegram says "not
    modified")."""
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in str(exc):
            raise


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ------------------------------------------------------------------------------- the guard
def refusal(t: Translator, programme: ProgrammeDTO | None) -> str:
    return t("programmes.archived_refused", title=programme.title) if programme else t("programmes.none")


async def for_change(
    repos: Repos, me: ParticipantDTO, t: Translator, event: Message | CallbackQuery
) -> ProgrammeDTO | None:
    """The curator's current programme, for a command that changes it; None after telling them why not (it
    is archived: read-only)."""
    programme = await svc.current(repos, me.id)
    if programme is not None and not programme.archived:
        return programme
    if isinstance(event, CallbackQuery):
        await event.answer(refusal(t, programme), show_alert=True)
    else:
        await event.answer(refusal(t, programme))
    return None


async def is_archived(repos: Repos, programme_id: int | None) -> bool:
    programme = await repos.programmes.get(programme_id) if programme_id is not None else None
    return programme is not None and programme.archived


# ------------------------------------------------------------------------------- rendering
def _state(programme: ProgrammeDTO, t: Translator) -> str:
    return t("programmes.state.archived" if programme.archived else "programmes.state.active")


def overview(
    current: ProgrammeDTO | None,
    every: list[ProgrammeDTO],
    templates: Mapping[str, ProgrammeTemplate],
    t: Translator,
) -> tuple[str, InlineKeyboardMarkup]:
    lines = []
    if current is not None:
        lines.append(t("programmes.current", title=current.title, state=_state(current, t)))
        template = templates.get(current.template or "")
        if template is not None:
            lines.append(t("programmes.template", template=template.title_for(t.lang)))
    else:
        lines.append(t("programmes.none"))
    if len(every) > 1:
        lines += ["", t("programmes.list_header")]
        for p in every[:LISTED]:
            key = "programmes.item_current" if current and p.id == current.id else "programmes.item"
            lines.append(t(key, title=p.title, state=_state(p, t)))
        if len(every) > LISTED:
            lines.append(t("programmes.more", count=len(every) - LISTED))
    rows = [
        [_b(t("programmes.btn.switch", title=_short(p.title)), ProgrammeCb(a="sw", n=p.id))]
        for p in every[:LISTED]
        if current is None or p.id != current.id
    ]
    rows.append([_b(t("programmes.btn.new"), ProgrammeCb(a="new"))])
    if current is not None and not current.archived:
        rows.append([_b(t("programmes.btn.close"), ProgrammeCb(a="cl", n=current.id))])
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def template_menu(templates: Mapping[str, ProgrammeTemplate], t: Translator) -> InlineKeyboardMarkup:
    rows = [
        [_b(x.title_for(t.lang), ProgrammeCb(a="tpl", v=x.id))]
        for x in sorted(templates.values(), key=lambda x: x.seed)
    ]
    rows.append([_b(t("programmes.btn.back"), ProgrammeCb(a="ls"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def create_text(template: ProgrammeTemplate, title: str, t: Translator) -> str:
    targets = [
        t(
            "programmes.target",
            label=t(kpi_label_key(code)),
            percent=round(fraction * 100),
            year=year,
        )
        for code, by_year in template.kpi_targets.items()
        for year, fraction in list(by_year.items())[-1:]
    ]
    return t(
        "programmes.confirm_create",
        title=title,
        template=template.title_for(t.lang),
        forms=", ".join(t(f"programmes.form.{x}") for x in template.mentoring_forms),
        mentee_form=t(f"programmes.mentee_form.{template.mentee_form}"),
        meetings=template.stage_plan.joint_work_meetings,
        final_days=template.stage_plan.deadlines[Stage.FINAL],
        hours=", ".join(str(round(x.total_seconds() / 3600)) for x in template.meeting_reminder_offsets),
        months=", ".join(str(m) for m in template.monitoring_months),
        targets="; ".join(targets) or t("programmes.no_targets"),
    )


def create_markup(template_id: str, t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_b(t("programmes.btn.create"), ProgrammeCb(a="mk", v=template_id))],
            [_b(t("programmes.btn.cancel"), ProgrammeCb(a="x"))],
        ]
    )


def mentors_page(
    programme: ProgrammeDTO,
    mentors: list[ParticipantDTO],
    keep: set[int],
    page: int,
    t: Translator,
) -> tuple[str, InlineKeyboardMarkup]:
    kept = sum(1 for m in mentors if m.id in keep)
    text = (
        t("programmes.choose_mentors", kept=kept, total=len(mentors))
        if mentors
        else t("programmes.no_mentors")
    )
    pages = max(1, (len(mentors) + MENTORS_PAGE - 1) // MENTORS_PAGE)
    page = min(max(page, 0), pages - 1)
    rows = []
    for m in mentors[page * MENTORS_PAGE : (page + 1) * MENTORS_PAGE]:
        mark = "programmes.kept_mark" if m.id in keep else "programmes.left_mark"
        rows.append([_b(t(mark, name=m.full_name or "—"), ProgrammeCb(a="tg", n=m.id))])
    nav = []
    if page > 0:
        nav.append(_b("«", ProgrammeCb(a="pg", n=page - 1)))
    if page < pages - 1:
        nav.append(_b("»", ProgrammeCb(a="pg", n=page + 1)))
    if nav:
        rows.append(nav)
    rows.append([_b(t("programmes.btn.close_confirm", count=kept), ProgrammeCb(a="shut", n=programme.id))])
    rows.append([_b(t("programmes.btn.cancel"), ProgrammeCb(a="x"))])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


# ------------------------------------------------------------------------------- the router
def router() -> Router:
    r = Router(name=__name__)

    async def _overview(repos: Repos, me: ParticipantDTO, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
        return overview(await svc.current(repos, me.id), await svc.listing(repos), svc.templates(), t)

    async def _leave_flow(state: FSMContext) -> None:
        if await state.get_state() in (ProgrammeFlow.title.state, ProgrammeFlow.keep.state):
            await state.clear()

    @r.message(Command("programme"), flags=CURATOR)
    async def programme(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO
    ) -> None:
        await _leave_flow(state)
        text, markup = await _overview(repos, me, t)
        await message.answer(text, reply_markup=markup)

    @r.message(ProgrammeFlow.title, F.text, ~F.text.startswith("/"), flags=CURATOR)
    async def title(message: Message, state: FSMContext, t: Translator) -> None:
        create = dict((await state.get_data()).get("create") or {})
        template = svc.templates().get(str(create.get("template")))
        if template is None:
            await state.clear()
            await message.answer(t("common.stale"))
            return
        text = " ".join((message.text or "").split())
        if not TITLE_MIN <= len(text) <= cohorts.TITLE_MAX:
            await message.answer(t("programmes.bad_title"))
            return
        await state.update_data(create={**create, "title": text})
        await message.answer(create_text(template, text, t), reply_markup=create_markup(template.id, t))

    @r.callback_query(ProgrammeCb.filter(), flags=CURATOR)
    async def button(
        cb: CallbackQuery,
        callback_data: ProgrammeCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
        reminders: Any = None,
    ) -> None:
        d = callback_data
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        msg = cb.message
        data = await state.get_data()
        now = clock()
        if d.a == "ls":
            await _leave_flow(state)
            text, markup = await _overview(repos, me, t)
            await _edit(msg, text, markup)
            await cb.answer()
        elif d.a == "sw":
            programme = await svc.switch(repos, me.id, d.n, now)
            if programme is None:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            await _leave_flow(state)
            text, markup = await _overview(repos, me, t)
            await _edit(msg, text, markup)
            await cb.answer(t("programmes.switched", title=programme.title), show_alert=True)
        elif d.a == "new":
            markup = template_menu(svc.templates(), t)
            await _edit(msg, t("programmes.choose_template"), markup)
            await cb.answer()
        elif d.a == "tpl":
            template = svc.templates().get(d.v)
            if template is None:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            title = svc.default_title(template, t.lang, now.astimezone(settings.tz).date())
            await state.set_state(ProgrammeFlow.title)
            await state.set_data({"create": {"template": template.id, "title": title}})
            await _edit(msg, create_text(template, title, t), create_markup(template.id, t))
            await cb.answer()
        elif d.a == "mk":
            create = data.get("create") or {}
            # The choice lives in the conversation: a second press (or an old button) finds it gone.
            if await state.get_state() != ProgrammeFlow.title.state or create.get("template") != d.v:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            await state.clear()
            try:
                created = await svc.create_from_template(
                    repos, d.v, str(create.get("title") or ""), now, settings.timezone, curator_id=me.id
                )
            except svc.UnknownTemplate:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            await _edit(msg, t("programmes.created", title=created.title))
            await cb.answer()
        elif d.a == "cl":
            programme = await repos.programmes.get(d.n)
            if programme is None or programme.archived:
                await _already_closed(cb, repos, me, t, programme)
                return
            pairs = await repos.pairs.active(scope=await repos.programmes.scope(programme.id))
            text = t(
                "programmes.confirm_close",
                title=programme.title,
                pairs=len(pairs),
                next=cohorts.next_title(programme.title, now.astimezone(settings.tz).date()),
            )
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [_b(t("programmes.btn.next"), ProgrammeCb(a="keep", n=programme.id))],
                    [_b(t("programmes.btn.cancel"), ProgrammeCb(a="x"))],
                ]
            )
            await _edit(msg, text, markup)
            await cb.answer()
        elif d.a == "keep":
            programme = await repos.programmes.get(d.n)
            if programme is None or programme.archived:
                await _already_closed(cb, repos, me, t, programme)
                return
            mentors = await svc.mentors_of(repos, programme)
            keep = {m.id for m in mentors}  # everyone stays unless the curator says otherwise
            await state.set_state(ProgrammeFlow.keep)
            await state.set_data({"close": programme.id, "keep": sorted(keep), "page": 0})
            text, markup = mentors_page(programme, mentors, keep, 0, t)
            await _edit(msg, text, markup)
            await cb.answer()
        elif d.a in ("tg", "pg"):
            programme = await _closing(state, repos)
            if programme is None:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            mentors = await svc.mentors_of(repos, programme)
            keep = {int(x) for x in data.get("keep") or []}
            page = int(data.get("page") or 0)
            if d.a == "tg":
                if d.n not in {m.id for m in mentors}:
                    await cb.answer(t("common.stale"), show_alert=True)
                    return
                keep ^= {d.n}
            else:
                page = d.n
            await state.update_data(keep=sorted(keep), page=page)
            text, markup = mentors_page(programme, mentors, keep, page, t)
            await _edit(msg, text, markup)
            await cb.answer()
        elif d.a == "shut":
            programme = await _closing(state, repos)
            if programme is None or programme.id != d.n:
                closed = await repos.programmes.get(d.n)
                if closed is not None and closed.archived:
                    await _already_closed(cb, repos, me, t, closed)
                else:
                    await cb.answer(t("common.stale"), show_alert=True)
                return
            await state.clear()
            result = await svc.close_year(
                repos,
                programme.id,
                now,
                [int(x) for x in data.get("keep") or []],
                curator_id=me.id,
                pair_close_reason=t("programmes.pair_close_reason"),
                today=now.astimezone(settings.tz).date(),
            )
            if result is None or not result.created:
                await _already_closed(cb, repos, me, t, programme)
                return
            if result.cancelled_reminders and reminders is not None:
                reminders.disarm(list(result.cancelled_reminders))
            await _edit(
                msg,
                t(
                    "programmes.closed",
                    old=result.old.title,
                    new=result.new.title,
                    mentors=len(result.kept_mentors),
                    pairs=len(result.closed_pairs),
                ),
            )
            await cb.answer()
        elif d.a == "x":
            await _leave_flow(state)
            await _edit(msg, t("programmes.cancelled"))
            await cb.answer()
        else:
            await cb.answer(t("common.stale"), show_alert=True)

    async def _closing(state: FSMContext, repos: Repos) -> ProgrammeDTO | None:
        """The active programme whose year the curator is closing (from the conversation), or None."""
        if await state.get_state() != ProgrammeFlow.keep.state:
            return None
        pid = (await state.get_data()).get("close")
        programme = await repos.programmes.get(int(pid)) if isinstance(pid, int) else None
        return programme if programme is not None and not programme.archived else None

    async def _already_closed(
        cb: CallbackQuery, repos: Repos, me: ParticipantDTO, t: Translator, programme: ProgrammeDTO | None
    ) -> None:
        if programme is None:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        current = await svc.current(repos, me.id)
        await cb.answer(
            t("programmes.already_closed", title=current.title if current else programme.title),
            show_alert=True,
        )

    return r
