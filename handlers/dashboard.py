"""The curator's overview: /dashboard (people, pairs, KPIs, monitoring), /participants (search, pages, a card
per person with actions), /population; and the monitoring survey button for paired participants."""

from __future__ import annotations

from datetime import date

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import people as cbs
from bot.callbacks.dashboard import PeopleAction, PeopleCb, SurveyCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain import district as dd
from bot.domain import forms as f
from bot.domain.entities import ParticipantDTO, Role
from bot.domain.grammar import format_date
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.numbers import parse_int
from bot.services import dashboard as svc
from bot.services import district, programmes
from bot.services.district_report import cells, headers
from bot.services.questionnaires import Engine
from bot.text import MESSAGE_LIMIT, clip, units
from handlers.long_text import answer_long
from handlers.menu import with_desk
from handlers.programmes import for_change
from handlers.questionnaire import show
from storage.uow import Repos

WHERE_SHOWN = 40  # UTF-16 units of a class or position in a list line


def _where(p: ParticipantDTO) -> str:
    """The class or position as a list line shows it: a long one shortened."""
    return clip(p.group_name or p.position or "—", WHERE_SHOWN)


def _roles(p: ParticipantDTO, t: Translator) -> str:
    return ", ".join(t(f"roles.{x.value}") for x in sorted(p.roles, key=lambda x: x.value))


async def dashboard(
    message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings, clock: Clock
) -> None:
    now = clock()
    # An archived programme's dashboard still shows: its year as it ended.
    programme = await programmes.current(repos, me.id)
    today = now.astimezone(settings.tz).date()
    d = await svc.build(repos, now, settings.timezone, today, programme)
    # What the municipal centre sees of this institution: its row of the district's summary, as kept.
    institution = await repos.institutions.get(repos.institution_id or 0)
    text = svc.render(d, t)
    if institution is not None:
        row = await district.kept_row(
            repos, institution, now, settings.timezone, today, dd.periods_around(today, 1)[0]
        )
        at = (row.computed_at or now).astimezone(settings.tz)
        text += "\n\n" + render_centre(row.figures, row.targets, t, settings.small_numbers, f"{at:%H:%M}")
    await message.answer(text, reply_markup=with_desk(None, me, settings, t, "kpis"))


def render_centre(
    f: dd.Figures, targets: dict[str, float | None], t: Translator, small: int, as_of: str
) -> str:
    """The line the curator reads to know what their institution reports upward (small numbers as the
    coordinator gets them)."""
    values = dict(zip(headers(t), cells(f, targets, t, small), strict=True))
    return t(
        "dashboard.centre_sees",
        mentors=values[t("district.col.mentors")],
        mentees=values[t("district.col.mentees")],
        pairs=values[t("district.col.pairs")],
        coverage=values[t("district.col.coverage")],
        mentee_sat=values[t("district.col.mentee_satisfaction")],
        mentor_sat=values[t("district.col.mentor_satisfaction")],
        as_of=as_of,
    )


async def population(
    message: Message, command: CommandObject, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    n = parse_int(command.args, low=1, high=1_000_000)
    if n is None:
        await message.answer(t("dashboard.population_usage"))
        return
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    await svc.set_population(repos, me.id, programme, n, clock())
    await message.answer(t("dashboard.population_set", n=n))


def render_page(page: svc.PeoplePage, query: str, t: Translator) -> tuple[str, InlineKeyboardMarkup]:
    header = t(
        "dashboard.people_header", total=page.total, page=page.page + 1, pages=page.pages, query=query or "—"
    )
    # Ten lines and the search hint always fit one message (paging edits it in place): a long class or
    # position is shortened here (the card shows it whole), and no line takes more than its share.
    share = (MESSAGE_LIMIT - units(header) - units(t("dashboard.search_hint")) - 2) // svc.PAGE - 1
    lines, kb, q = [header], InlineKeyboardBuilder(), query[:20]
    for p in page.people:
        unreachable = f" · {t('dashboard.bucket.unreachable')}" if p.unreachable else ""
        lines.append(
            clip(
                f"• {p.full_name} ({_where(p)}) — {_roles(p, t)}; {t(f'status.{p.status}')}{unreachable}",
                share,
            )
        )
        kb.button(text=p.full_name or "—", callback_data=PeopleCb(a=PeopleAction.CARD, n=p.id, q=q))
    kb.adjust(1)
    nav = InlineKeyboardBuilder()
    if page.page > 0:
        nav.button(text="«", callback_data=PeopleCb(a=PeopleAction.PAGE, n=page.page - 1, q=q))
    if (page.page + 1) * svc.PAGE < page.total:
        nav.button(text="»", callback_data=PeopleCb(a=PeopleAction.PAGE, n=page.page + 1, q=q))
    kb.attach(nav)
    return "\n".join(lines), kb.as_markup()


async def participants(
    message: Message,
    command: CommandObject,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
) -> None:
    query = " ".join((command.args or "").split())[:40]
    text, markup = render_page(await svc.people_page(repos, query, 0), query, t)
    markup = with_desk(markup, me, settings, t, "participants")
    await message.answer(text + "\n\n" + t("dashboard.search_hint"), reply_markup=markup)
    awaiting = await svc.awaiting_parent(repos) if not query else []
    if awaiting:
        # Its own message after the page (the page is edited in place when paging), split if long.
        lines = [t("participants.awaiting_parent")] + [
            f"• {p.full_name} ({_where(p)})" for p in awaiting[:30]
        ]
        await answer_long(message, "\n".join(lines), t)


async def page(cb: CallbackQuery, callback_data: PeopleCb, repos: Repos, t: Translator) -> None:
    if isinstance(cb.message, Message):
        text, markup = render_page(
            await svc.people_page(repos, callback_data.q, max(0, callback_data.n)), callback_data.q, t
        )
        await cb.message.edit_text(text, reply_markup=markup)
    await cb.answer()


async def _person(cb: CallbackQuery, repos: Repos, t: Translator, pid: int) -> ParticipantDTO | None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return None
    p = await repos.participants.get(pid)
    if p is None or not p.full_name:
        await cb.answer(t("common.stale"), show_alert=True)
        return None
    return p


async def nudge(
    cb: CallbackQuery,
    callback_data: PeopleCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    if (p := await _person(cb, repos, t, callback_data.n)) is None:
        return
    done = await svc.nudge(repos, me.id, p, clock())
    if done is svc.Nudge.UNREACHABLE:  # nobody to write to: the card, as before the button
        await show_card(cb, p, repos, t, me, settings, clock, engine)
        return
    key = "questionnaire.nudged" if done is svc.Nudge.SENT else "questionnaire.nudged_already"
    await cb.answer(t(key), show_alert=True)


async def unreachable(
    cb: CallbackQuery, callback_data: PeopleCb, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    if (p := await _person(cb, repos, t, callback_data.n)) is None:
        return
    marked = await svc.toggle_unreachable(repos, me.id, p, clock())
    await cb.answer(
        t("dashboard.marked_unreachable" if marked else "dashboard.marked_reachable"), show_alert=True
    )


async def card(
    cb: CallbackQuery,
    callback_data: PeopleCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    if (p := await _person(cb, repos, t, callback_data.n)) is not None:
        await show_card(cb, p, repos, t, me, settings, clock, engine)


def render_card(c: svc.Card, t: Translator, settings: Settings, today: date) -> str:
    p = c.person
    where = p.group_name or p.position or "—"
    lines = [
        t("dashboard.card", name=p.full_name, group=where, roles=_roles(p, t), status=t(f"status.{p.status}"))
    ]
    if p.parent_declined_at is not None:
        day = format_date(t, p.parent_declined_at.astimezone(settings.tz).date(), today=today)
        lines.append(t("onboarding.card_parent_declined", date=day))
    for form, response in c.intake:
        lines += ["", form.title.get(t.lang) + ":"]
        answers = f.summarize(form, response.answers, t.lang, t, for_others=True)
        lines += [f"• {q} — {a}" for q, a in answers][:12]
    for x in c.pairs:
        stage = t(f"meetings.stage.{x.stage}")
        line = t(
            "dashboard.card_group" if x.group else "dashboard.card_pair",
            id=x.id,
            stage=stage,
            meetings=x.meetings,
            held=x.held,
            feedback=x.feedback,
        )
        lines += ["", line]
    return "\n".join(lines)


async def show_card(
    cb: CallbackQuery,
    p: ParticipantDTO,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    assert isinstance(cb.message, Message)
    now = clock()
    c = await svc.card(repos, me.id, p, engine.forms, now)
    kb = InlineKeyboardBuilder()
    kb.button(text=t("dashboard.btn.nudge"), callback_data=PeopleCb(a=PeopleAction.NUDGE, n=p.id))
    kb.button(text=t("dashboard.btn.unreachable"), callback_data=PeopleCb(a=PeopleAction.UNREACHABLE, n=p.id))
    kb.button(text=t("onboarding.btn_roles"), callback_data=cbs.RolesCb(a=cbs.RolesAction.VIEW, p=p.id))
    kb.adjust(2, 1)
    day = now.astimezone(settings.tz).date()
    text = render_card(c, t, settings, day)
    await answer_long(cb.message, text, t, reply_markup=kb.as_markup(), file_key="long.card", day=day)
    await cb.answer()


# ---------------------------------------------------------------- monitoring survey, participant side
async def survey(
    cb: CallbackQuery,
    callback_data: SurveyCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("dashboard.survey_closed"), show_alert=True)
        return
    response = await svc.start_survey(repos, engine, callback_data.c, me.id, clock())
    if isinstance(response, svc.Survey):
        key = {
            svc.Survey.CLOSED: "dashboard.survey_closed",
            svc.Survey.NOT_ASKED: "common.stale",
            svc.Survey.DONE: "dashboard.survey_done",
        }[response]
        await cb.answer(t(key), show_alert=True)
        return
    await cb.answer()
    await show(cb.message, engine, response, t, state)


def routers() -> list[Router]:
    curator = curators_only(__name__)
    curator.message.register(dashboard, Command("dashboard"))
    curator.message.register(population, Command("population"))
    curator.message.register(participants, Command("participants"))
    curator.callback_query.register(page, PeopleCb.filter(F.a == PeopleAction.PAGE))
    curator.callback_query.register(nudge, PeopleCb.filter(F.a == PeopleAction.NUDGE))
    curator.callback_query.register(unreachable, PeopleCb.filter(F.a == PeopleAction.UNREACHABLE))
    curator.callback_query.register(card, PeopleCb.filter(F.a == PeopleAction.CARD))
    paired = only_for(Router(name=f"{__name__}.survey"), Role.MENTEE, Role.MENTOR)
    paired.callback_query.register(survey, SurveyCb.filter())
    return [curator, paired]
