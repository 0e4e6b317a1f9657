"""/programme (curator): the current programme and every other one; switch, create one from a seed template,
close a programme year into the next cohort (choosing which mentors stay). Also the guard other curator
commands use (for_change, refusal): an archived programme is read-only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks.programmes import ProgrammeAction as A
from bot.callbacks.programmes import ProgrammeCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain import cohorts
from bot.domain.entities import ParticipantDTO, ProgrammeDTO
from bot.domain.grammar import format_months, join_and
from bot.domain.kpi import kpi_label_key
from bot.domain.programme_templates import ProgrammeTemplate
from bot.domain.stages import Stage
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.services import programmes as svc
from handlers.states import ProgrammeFlow
from storage.uow import Repos

LISTED = 20  # programmes with a switch button
MENTORS_PAGE = 20
TITLE_MIN = 3


def _b(text: str, cb: ProgrammeCb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _rows(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for row in rows:
        kb.row(*row)
    return kb.as_markup()


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
        [_b(t("programmes.btn.switch", title=_short(p.title)), ProgrammeCb(a=A.SWITCH, n=p.id))]
        for p in every[:LISTED]
        if current is None or p.id != current.id
    ]
    rows.append([_b(t("programmes.btn.new"), ProgrammeCb(a=A.NEW))])
    if current is not None and not current.archived:
        rows.append([_b(t("programmes.btn.close"), ProgrammeCb(a=A.CLOSE, n=current.id))])
    return "\n".join(lines), _rows(*rows)


def template_menu(templates: Mapping[str, ProgrammeTemplate], t: Translator) -> InlineKeyboardMarkup:
    rows = [
        [_b(x.title_for(t.lang), ProgrammeCb(a=A.TEMPLATE, v=x.id))]
        for x in sorted(templates.values(), key=lambda x: x.seed)
    ]
    rows.append([_b(t("programmes.btn.back"), ProgrammeCb(a=A.LIST))])
    return _rows(*rows)


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
        hours=join_and(
            t,
            [
                t.plural("count.hours_before", round(x.total_seconds() / 3600))
                for x in template.meeting_reminder_offsets
            ],
        ),
        months=format_months(t, template.monitoring_months),
        targets="; ".join(targets) or t("programmes.no_targets"),
    )


def create_markup(template_id: str, t: Translator) -> InlineKeyboardMarkup:
    return _rows(
        [_b(t("programmes.btn.create"), ProgrammeCb(a=A.MAKE, v=template_id))],
        [_b(t("programmes.btn.cancel"), ProgrammeCb(a=A.CANCEL))],
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
        rows.append([_b(t(mark, name=m.full_name or "—"), ProgrammeCb(a=A.TOGGLE, n=m.id))])
    nav = []
    if page > 0:
        nav.append(_b("«", ProgrammeCb(a=A.PAGE, n=page - 1)))
    if page < pages - 1:
        nav.append(_b("»", ProgrammeCb(a=A.PAGE, n=page + 1)))
    if nav:
        rows.append(nav)
    rows.append([_b(t("programmes.btn.close_confirm", count=kept), ProgrammeCb(a=A.SHUT, n=programme.id))])
    rows.append([_b(t("programmes.btn.cancel"), ProgrammeCb(a=A.CANCEL))])
    return text, _rows(*rows)


# ------------------------------------------------------------------------------- the handlers
async def _overview(repos: Repos, me: ParticipantDTO, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    return overview(await svc.current(repos, me.id), await svc.listing(repos), svc.templates(), t)


async def _leave_flow(state: FSMContext) -> None:
    if await state.get_state() in (ProgrammeFlow.title.state, ProgrammeFlow.keep.state):
        await state.clear()


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
    title = current.title if current else programme.title
    await cb.answer(t("programmes.already_closed", title=title), show_alert=True)


async def programme(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO
) -> None:
    await _leave_flow(state)
    text, markup = await _overview(repos, me, t)
    await message.answer(text, reply_markup=markup)


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


async def show_list(
    cb: CallbackQuery, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO
) -> None:
    await _leave_flow(state)
    if isinstance(cb.message, Message):
        await _edit(cb.message, *await _overview(repos, me, t))
    await cb.answer()


async def switch(
    cb: CallbackQuery,
    callback_data: ProgrammeCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
) -> None:
    switched = await svc.switch(repos, me.id, callback_data.n, clock())
    if switched is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await _leave_flow(state)
    await _edit(cb.message, *await _overview(repos, me, t))
    await cb.answer(t("programmes.switched", title=switched.title), show_alert=True)


async def new(cb: CallbackQuery, t: Translator) -> None:
    if isinstance(cb.message, Message):
        await _edit(cb.message, t("programmes.choose_template"), template_menu(svc.templates(), t))
    await cb.answer()


async def template_chosen(
    cb: CallbackQuery,
    callback_data: ProgrammeCb,
    state: FSMContext,
    t: Translator,
    settings: Settings,
    clock: Clock,
) -> None:
    template = svc.templates().get(callback_data.v)
    if template is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    name = svc.default_title(template, t.lang, clock().astimezone(settings.tz).date())
    await state.set_state(ProgrammeFlow.title)
    await state.set_data({"create": {"template": template.id, "title": name}})
    await _edit(cb.message, create_text(template, name, t), create_markup(template.id, t))
    await cb.answer()


async def make(
    cb: CallbackQuery,
    callback_data: ProgrammeCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    create = (await state.get_data()).get("create") or {}
    # The choice lives in the conversation: a second press (or an old button) finds it gone.
    chosen = (
        await state.get_state() == ProgrammeFlow.title.state and create.get("template") == callback_data.v
    )
    if not chosen or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.clear()
    name = str(create.get("title") or "")
    try:
        created = await svc.create_from_template(
            repos, callback_data.v, name, clock(), settings.timezone, curator_id=me.id
        )
    except svc.UnknownTemplate:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await _edit(cb.message, t("programmes.created", title=created.title))
    await cb.answer()


async def close(
    cb: CallbackQuery,
    callback_data: ProgrammeCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    closing = await svc.closing_preview(repos, callback_data.n)
    if closing is None or not isinstance(cb.message, Message):
        await _already_closed(cb, repos, me, t, await repos.programmes.get(callback_data.n))
        return
    today = clock().astimezone(settings.tz).date()
    title = closing.programme.title
    nxt = cohorts.next_title(title, today)
    text = t("programmes.confirm_close", title=title, pairs=closing.active_pairs, next=nxt)
    markup = _rows(
        [_b(t("programmes.btn.next"), ProgrammeCb(a=A.KEEP, n=closing.programme.id))],
        [_b(t("programmes.btn.cancel"), ProgrammeCb(a=A.CANCEL))],
    )
    await _edit(cb.message, text, markup)
    await cb.answer()


async def keep(
    cb: CallbackQuery,
    callback_data: ProgrammeCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
) -> None:
    closing = await svc.closing_preview(repos, callback_data.n)
    if closing is None or not isinstance(cb.message, Message):
        await _already_closed(cb, repos, me, t, await repos.programmes.get(callback_data.n))
        return
    mentors = await svc.mentors_of(repos, closing.programme)
    stay = {m.id for m in mentors}  # everyone stays unless the curator says otherwise
    await state.set_state(ProgrammeFlow.keep)
    await state.set_data({"close": closing.programme.id, "keep": sorted(stay), "page": 0})
    await _edit(cb.message, *mentors_page(closing.programme, mentors, stay, 0, t))
    await cb.answer()


async def toggle_or_page(
    cb: CallbackQuery, callback_data: ProgrammeCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    programme = await _closing(state, repos)
    if programme is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    data = await state.get_data()
    mentors = await svc.mentors_of(repos, programme)
    stay = {int(x) for x in data.get("keep") or []}
    page = int(data.get("page") or 0)
    if callback_data.a == A.TOGGLE:
        if callback_data.n not in {m.id for m in mentors}:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        stay ^= {callback_data.n}
    else:
        page = callback_data.n
    await state.update_data(keep=sorted(stay), page=page)
    await _edit(cb.message, *mentors_page(programme, mentors, stay, page, t))
    await cb.answer()


async def shut(
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
    programme = await _closing(state, repos)
    if programme is None or programme.id != callback_data.n or not isinstance(cb.message, Message):
        closed = await repos.programmes.get(callback_data.n)
        await _already_closed(cb, repos, me, t, closed if closed is not None and closed.archived else None)
        return
    stay = [int(x) for x in (await state.get_data()).get("keep") or []]
    await state.clear()
    now = clock()
    result = await svc.close_year(
        repos,
        programme.id,
        now,
        stay,
        curator_id=me.id,
        pair_close_reason=t("programmes.pair_close_reason"),
        today=now.astimezone(settings.tz).date(),
        reminders=reminders,
    )
    if result is None or not result.created:
        await _already_closed(cb, repos, me, t, programme)
        return
    old, new_title = result.old.title, result.new.title
    mentors, pairs = len(result.kept_mentors), len(result.closed_pairs)
    await _edit(cb.message, t("programmes.closed", old=old, new=new_title, mentors=mentors, pairs=pairs))
    await cb.answer()


async def cancel(cb: CallbackQuery, state: FSMContext, t: Translator) -> None:
    await _leave_flow(state)
    if isinstance(cb.message, Message):
        await _edit(cb.message, t("programmes.cancelled"))
    await cb.answer()


def routers() -> list[Router]:
    r = curators_only(__name__)
    r.message.register(programme, Command("programme"))
    r.message.register(title, ProgrammeFlow.title, F.text, ~F.text.startswith("/"))
    button = ProgrammeCb.filter
    r.callback_query.register(show_list, button(F.a == A.LIST))
    r.callback_query.register(switch, button(F.a == A.SWITCH))
    r.callback_query.register(new, button(F.a == A.NEW))
    r.callback_query.register(template_chosen, button(F.a == A.TEMPLATE))
    r.callback_query.register(make, button(F.a == A.MAKE))
    r.callback_query.register(close, button(F.a == A.CLOSE))
    r.callback_query.register(keep, button(F.a == A.KEEP))
    r.callback_query.register(toggle_or_page, button(F.a.in_({A.TOGGLE, A.PAGE})))
    r.callback_query.register(shut, button(F.a == A.SHUT))
    r.callback_query.register(cancel, button(F.a == A.CANCEL))
    return [r]
