"""The curator's overview: /dashboard (people, pairs, KPIs, monitoring), /participants (search, pages, a card
per person with actions), /population; and the monitoring survey button for participants."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import Callback
from bot.callbacks import people as cbs
from bot.clock import Clock
from bot.config import Settings
from bot.domain import forms as f
from bot.domain.entities import ParticipantDTO, Role
from bot.i18n import Translator
from bot.numbers import parse_int
from bot.services import dashboard as svc
from bot.services import programmes
from bot.services import questionnaires as qs
from bot.services.questionnaires import Engine
from bot.text import MESSAGE_LIMIT, clip, units
from handlers.long_text import answer_long
from handlers.programmes import for_change
from handlers.questionnaire import show
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
PAIRED = {"roles": {Role.MENTEE, Role.MENTOR}}
PAGE = 10
WHERE_SHOWN = 40  # UTF-16 units of a class or position in a list line


class PeopleCb(Callback, prefix="cy"):
    a: str  # pg (page) | card | nudge | unreach
    n: int
    q: str = ""


class SurveyCb(Callback, prefix="sv"):
    c: int  # campaign id


def _b(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _where(p: ParticipantDTO) -> str:
    """The class or position as a list line shows it: a long one shortened."""
    return clip(p.group_name or p.position or "—", WHERE_SHOWN)


def router(engine: Engine) -> Router:
    r = Router(name=__name__)

    @r.message(Command("dashboard"), flags=CURATOR)
    async def dashboard(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings, clock: Clock
    ) -> None:
        now = clock()
        # An archived programme's dashboard still shows: its year as it ended.
        programme = await programmes.current(repos, me.id)
        d = await svc.build(repos, now, settings.timezone, now.astimezone(settings.tz).date(), programme)
        await message.answer(svc.render(d, t))

    @r.message(Command("population"), flags=CURATOR)
    async def population(
        message: Message,
        command: CommandObject,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        population = parse_int(command.args, low=1, high=1_000_000)
        if population is None:
            await message.answer(t("dashboard.population_usage"))
            return
        programme = await for_change(repos, me, t, message)
        if programme is None:
            return
        await repos.programmes.update_settings(programme.id, {**programme.settings, "population": population})
        await repos.audit.log(
            "programme.population",
            clock(),
            actor_id=me.id,
            object_type="programme",
            object_id=programme.id,
            value=population,
        )
        await message.answer(t("dashboard.population_set", n=population))

    async def _page(repos: Repos, t: Translator, query: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
        ids, total = await repos.dashboard.search_participants(query or None, page * PAGE, PAGE)
        lines = [
            t(
                "dashboard.people_header",
                total=total,
                page=page + 1,
                pages=max(1, (total + PAGE - 1) // PAGE),
                query=query or "—",
            )
        ]
        # Ten lines and the search hint always fit one message (paging edits it in place): a long class or
        # position is shortened here (the card shows it whole), and no line takes more than its share.
        share = (MESSAGE_LIMIT - units(lines[0]) - units(t("dashboard.search_hint")) - 2) // PAGE - 1
        rows = []
        for pid in ids:
            p = await repos.participants.get(pid)
            if p is None:
                continue
            roles = ", ".join(t(f"roles.{x.value}") for x in sorted(p.roles, key=lambda x: x.value))
            lines.append(
                clip(
                    f"• {p.full_name} ({_where(p)}) — {roles}; {t(f'status.{p.status}')}"
                    + (f" · {t('dashboard.bucket.unreachable')}" if p.unreachable else ""),
                    share,
                )
            )
            rows.append([_b(p.full_name or "—", PeopleCb(a="card", n=p.id, q=query[:20]))])
        nav = []
        if page > 0:
            nav.append(_b("«", PeopleCb(a="pg", n=page - 1, q=query[:20])))
        if (page + 1) * PAGE < total:
            nav.append(_b("»", PeopleCb(a="pg", n=page + 1, q=query[:20])))
        if nav:
            rows.append(nav)
        return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)

    @r.message(Command("participants"), flags=CURATOR)
    async def participants(message: Message, command: CommandObject, repos: Repos, t: Translator) -> None:
        query = " ".join((command.args or "").split())[:40]
        text, markup = await _page(repos, t, query, 0)
        await message.answer(text + "\n\n" + t("dashboard.search_hint"), reply_markup=markup)
        awaiting = [
            p
            for p in {
                x.id: x for r in (Role.MENTEE, Role.MENTOR) for x in await repos.participants.with_role(r)
            }.values()
            if p.status == "awaiting_parent_consent"
        ]
        if awaiting and not query:
            # Its own message after the page (the page is edited in place when paging), split if long.
            await answer_long(
                message,
                "\n".join(
                    [t("participants.awaiting_parent")]
                    + [f"• {p.full_name} ({_where(p)})" for p in awaiting[:30]]
                ),
                t,
            )

    @r.callback_query(PeopleCb.filter(), flags=CURATOR)
    async def people_button(
        cb: CallbackQuery,
        callback_data: PeopleCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        d = callback_data
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        if d.a == "pg":
            text, markup = await _page(repos, t, d.q, max(0, d.n))
            await cb.message.edit_text(text, reply_markup=markup)
            await cb.answer()
            return
        p = await repos.participants.get(d.n)
        if p is None or not p.full_name:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        now = clock()
        if d.a == "nudge" and p.telegram_id:
            added = await repos.outbox.enqueue(
                [qs.nudge_message(p, Translator(p.language)("dashboard.nudge_text"), now)], now
            )
            await repos.audit.log(
                "participant.nudge", now, actor_id=me.id, object_type="participant", object_id=p.id
            )
            await cb.answer(
                t("questionnaire.nudged" if added else "questionnaire.nudged_already"), show_alert=True
            )
            return
        if d.a == "unreach":
            await repos.participants.update(p.id, now, unreachable=not p.unreachable)
            await repos.audit.log(
                "participant.unreachable",
                now,
                actor_id=me.id,
                object_type="participant",
                object_id=p.id,
                value=not p.unreachable,
            )
            await cb.answer(
                t("dashboard.marked_unreachable" if not p.unreachable else "dashboard.marked_reachable"),
                show_alert=True,
            )
            return
        # the card
        lines = [
            t(
                "dashboard.card",
                name=p.full_name,
                group=p.group_name or p.position or "—",
                roles=", ".join(t(f"roles.{x.value}") for x in sorted(p.roles, key=lambda x: x.value)),
                status=t(f"status.{p.status}"),
            )
        ]
        if p.parent_declined_at is not None:
            lines.append(
                t(
                    "onboarding.card_parent_declined",
                    date=p.parent_declined_at.astimezone(settings.tz).strftime("%d.%m.%Y"),
                )
            )
        for form_id in qs.INTAKE_FORMS:
            last = await repos.forms.latest_submitted(p.id, form_id)
            if last and form_id in engine.forms:
                form = engine.forms[form_id]
                lines += ["", form.title.get(t.lang) + ":"]
                lines += [f"• {q} — {a}" for q, a in f.summarize(form, last.answers, t.lang, t)][:12]
        pair = await repos.pairs.active_of_mentee(p.id)
        pairs = [pair] if pair else await repos.pairs.led_by(p.id)
        for x in pairs:
            meetings = await repos.meetings.for_pair(x.id)
            fb = await repos.meetings.feedback_from([m.id for m in meetings])
            lines += [
                "",
                t(
                    "dashboard.card_pair",
                    id=x.id,
                    stage=t(f"meetings.stage.{x.stage}"),
                    meetings=len(meetings),
                    held=sum(m.status == "held" for m in meetings),
                    feedback=sum(p.id in fb.get(m.id, set()) for m in meetings),
                ),
            ]
        rows = [
            [
                _b(t("dashboard.btn.nudge"), PeopleCb(a="nudge", n=p.id)),
                _b(t("dashboard.btn.unreachable"), PeopleCb(a="unreach", n=p.id)),
            ],
            [_b(t("onboarding.btn_roles"), cbs.RolesCb(a="v", p=p.id))],
        ]
        await repos.audit.log(
            "participant.view", now, actor_id=me.id, object_type="participant", object_id=p.id
        )
        markup = InlineKeyboardMarkup(inline_keyboard=rows)
        await answer_long(
            cb.message,
            "\n".join(lines),
            t,
            reply_markup=markup,
            file_key="long.card",
            day=now.astimezone(settings.tz).date(),
        )
        await cb.answer()

    # ---------------------------------------------------------------- monitoring survey, participant side
    @r.callback_query(SurveyCb.filter(), flags=PAIRED)
    async def survey(
        cb: CallbackQuery,
        callback_data: SurveyCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        campaign = await repos.campaigns.get(callback_data.c)
        if (
            campaign is None
            or campaign[3] != "open"
            or campaign[1] not in engine.forms
            or not isinstance(cb.message, Message)
        ):
            await cb.answer(t("dashboard.survey_closed"), show_alert=True)
            return
        if not await svc.in_audience(repos, campaign[0], me.id):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        ctx = f"campaign:{campaign[0]}"
        if await repos.forms.latest_submitted(me.id, campaign[1], ctx) is not None:
            await cb.answer(t("dashboard.survey_done"), show_alert=True)
            return
        await cb.answer()
        response = await engine.begin(repos, me.id, campaign[1], clock(), context=ctx)
        await show(cb.message, engine, response, t, state)

    return r
