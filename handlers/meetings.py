"""The meeting sequence in chat: /meeting (propose, confirm, another time, reschedule, cancel),
"did it happen?", feedback, /meetings, /goals (the individual development plan); for curators the digest's
🔔 and "open pair" buttons and /alerts. Each handler parses, calls one use case of bot.services.meetings and
renders its outcome. The feedback form's submission continues in bot.services.meetings.feedback_submitted
(bot.services.submissions)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks.dashboard import NudgePairCb, OpenPairCb
from bot.callbacks.meetings import (
    MeetingAction,
    MeetingCb,
    MeetingDateCb,
    MeetingFormat,
    MeetingFormatCb,
    MeetingPairCb,
    PairPurpose,
)
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import GoalDTO, MeetingDTO, PairDTO, ParticipantDTO, Role
from bot.domain.grammar import format_date
from bot.domain.stages import OPEN_STATUSES, MeetingStatus, Stage
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.services import meetings as svc
from bot.services.questionnaires import Engine
from bot.services.submissions import Say
from handlers.questionnaire import show
from handlers.states import Goals, MeetingCancel, MeetingNew
from storage.uow import Repos

TYPED = (F.text, ~F.text.startswith("/"))  # a typed answer, not a command


def _say(t: Translator, say: Say) -> str:
    return t(say.key, **say.params)


def _line(m: MeetingDTO, t: Translator, tz: ZoneInfo, today: date | None = None) -> str:
    when = svc.when(m, tz, today=today)(t)
    return f"• {when} · {t(f'meetings.stage.{m.stage}')} · {t(f'meetings.status.{m.status}')}"


def _today(clock: Clock, settings: Settings) -> date:
    """Today in the programme's zone: this year's dates are shown without the year."""
    return clock().astimezone(settings.tz).date()


def _goal_lines(goals: Iterable[GoalDTO], t: Translator, today: date) -> list[str]:
    return [f"• {g.text} — {format_date(t, g.target_date, today=today)}" for g in goals]


def _scheduling(reminders: Any, after_commit: list) -> svc.Scheduling:
    return svc.Scheduling(reminders, after_commit)


def card(
    m: MeetingDTO, me: ParticipantDTO, t: Translator, tz: ZoneInfo, now: datetime | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    text = t(
        "meeting.card",
        stage=t(f"meetings.stage.{m.stage}"),
        when=svc.when(m, tz, now)(t),
        fmt=t(f"meeting.format.{m.format}"),
        place=m.place or "—",
        status=t(f"meetings.status.{m.status}"),
    )
    kb = InlineKeyboardBuilder()
    if m.status == MeetingStatus.PROPOSED and m.proposed_by != me.id:
        kb.button(text=t("meeting.btn.confirm"), callback_data=MeetingCb(a=MeetingAction.OK, m=m.id))
        kb.button(text=t("meeting.btn.another_time"), callback_data=MeetingCb(a=MeetingAction.ALT, m=m.id))
    if m.status == MeetingStatus.CONFIRMED:
        kb.button(text=t("meeting.btn.reschedule"), callback_data=MeetingCb(a=MeetingAction.RESCH, m=m.id))
    if m.status in OPEN_STATUSES:
        kb.button(text=t("meeting.btn.cancel"), callback_data=MeetingCb(a=MeetingAction.CANCEL, m=m.id))
    return text, kb.adjust(1).as_markup()


async def ask_when(message: Message, state: FSMContext, t: Translator, ask: svc.AskWhen, today: date) -> None:
    """ "When?" with the next days as buttons (today, tomorrow, then dates)."""
    await state.set_state(MeetingNew.when)
    await state.set_data({"pair": ask.pair_id, "resched": ask.resched})
    labels = [t("meetings.quick.today"), t("meetings.quick.tomorrow")]
    kb = InlineKeyboardBuilder()
    for i, d in enumerate(ask.days):
        kb.button(
            text=labels[i] if i < 2 else d.strftime("%d.%m"), callback_data=MeetingDateCb(d=d.isoformat())
        )
    kb.adjust(4)
    stage = t(f"meetings.stage.{ask.stage.value}") if ask.stage else ""
    deadline = format_date(t, ask.deadline, today=today) if ask.deadline else "—"
    await message.answer(t("meeting.ask_when", stage=stage, deadline=deadline), reply_markup=kb.as_markup())


async def _not_in_pair(state: FSMContext, t: Translator) -> str:
    await state.clear()
    return t("timebound.not_in_pair")


# ------------------------------------------------------------------------------ /meeting and /goals
async def _pick_pair(
    message: Message, repos: Repos, t: Translator, me: ParticipantDTO, purpose: PairPurpose
) -> PairDTO | None:
    """The person's pair; someone in several (in two programmes, or a mentor of two groups) chooses."""
    choices = await svc.choose_pair(repos, me)
    if not choices:
        await message.answer(t("meeting.no_pair"))
        return None
    if len(choices) == 1:
        return choices[0].pair
    kb = InlineKeyboardBuilder()
    for c in choices:
        kb.button(text=c.label[:60], callback_data=MeetingPairCb(a=purpose, p=c.pair.id))
    await message.answer(t("meeting.pick_pair"), reply_markup=kb.adjust(1).as_markup())
    return None


async def _meeting_for(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    pair: PairDTO,
    now: datetime,
    settings: Settings,
) -> None:
    outcome = await svc.begin(repos, pair, now, settings.timezone)
    if isinstance(outcome, svc.Card):
        text, markup = card(outcome.meeting, me, t, outcome.tz, now)
        await message.answer(text, reply_markup=markup)
    elif isinstance(outcome, Say):
        await message.answer(_say(t, outcome))
    else:
        await ask_when(message, state, t, outcome, now.astimezone(settings.tz).date())


async def _goals_for(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    pair: PairDTO,
    today: date,
) -> None:
    goals = await svc.goals_of(repos, me, pair)
    lines = [t("meeting.goals_header")]
    lines += _goal_lines(goals.items, t, today) or [t("meeting.goals_none")]
    if goals.can_add:
        await state.set_state(Goals.adding)
        await state.set_data({"pair": pair.id})
        lines += ["", t("meeting.goals_how")]
    await message.answer("\n".join(lines))


async def meeting(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    pair = await _pick_pair(message, repos, t, me, PairPurpose.MEETING)
    if pair is not None:
        await _meeting_for(message, state, repos, t, me, pair, clock(), settings)


async def goals(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    pair = await _pick_pair(message, repos, t, me, PairPurpose.GOALS)
    if pair is not None:
        await _goals_for(message, state, repos, t, me, pair, _today(clock, settings))


async def picked_pair(
    cb: CallbackQuery,
    callback_data: MeetingPairCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    pair = await svc.pair_of_member(repos, me, callback_data.p)
    if pair is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer()
    if callback_data.a == PairPurpose.GOALS:
        await _goals_for(cb.message, state, repos, t, me, pair, _today(clock, settings))
    else:
        await _meeting_for(cb.message, state, repos, t, me, pair, clock(), settings)


# ---------------------------------------------------------------------- the conversation of /meeting
async def picked_day(
    cb: CallbackQuery,
    callback_data: MeetingDateCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
) -> None:
    if await svc.pair_of_member(repos, me, (await state.get_data()).get("pair")) is None:
        await cb.answer(await _not_in_pair(state, t), show_alert=True)
        return
    try:
        day = date.fromisoformat(callback_data.d)
    except ValueError:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.update_data(day=day.isoformat())
    await cb.answer()
    if isinstance(cb.message, Message):
        await cb.message.answer(t("meeting.ask_time", day=format_date(t, day, today=_today(clock, settings))))


async def typed_when(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    data = await state.get_data()
    answer = await svc.typed_time(
        repos, me, data.get("pair"), message.text or "", data.get("day"), clock(), settings.timezone
    )
    if answer is None:
        await message.answer(await _not_in_pair(state, t))
        return
    for say in answer.say:
        await message.answer(_say(t, say))
    if answer.starts_at is None:
        return
    await state.update_data(starts_at=answer.starts_at.isoformat())
    kb = InlineKeyboardBuilder()
    for f in (MeetingFormat.ONLINE, MeetingFormat.OFFLINE):
        kb.button(text=t(f"meeting.format.{f.value}"), callback_data=MeetingFormatCb(f=f))
    await message.answer(t("meeting.ask_format"), reply_markup=kb.as_markup())


async def picked_format(
    cb: CallbackQuery,
    callback_data: MeetingFormatCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
) -> None:
    data = await state.get_data()
    if await svc.pair_of_member(repos, me, data.get("pair")) is None:
        await cb.answer(await _not_in_pair(state, t), show_alert=True)
        return
    if "starts_at" not in data:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.update_data(fmt=callback_data.f.value)
    await state.set_state(MeetingNew.place)
    await cb.answer()
    if isinstance(cb.message, Message):
        await cb.message.edit_reply_markup(reply_markup=None)
        await cb.message.answer(t(f"meeting.ask_place_{callback_data.f.value}"))


async def typed_place(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    reminders: Any,
    after_commit: list,
) -> None:
    place = " ".join((message.text or "").split())
    if not 2 <= len(place) <= 300:
        await message.answer(t("meeting.bad_place"))
        return
    data = await state.get_data()
    starts_at = datetime.fromisoformat(data["starts_at"]) if data.get("starts_at") else None
    resched = int(data["resched"]) if data.get("resched") else None
    await state.clear()
    outcome = await svc.propose_meeting(
        repos,
        me,
        data.get("pair") or 0,
        starts_at,
        data.get("fmt", MeetingFormat.ONLINE.value),
        place,
        resched,
        clock(),
        settings.timezone,
        _scheduling(reminders, after_commit),
    )
    await message.answer(_say(t, outcome))


async def cancel_reason(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
    reminders: Any,
    after_commit: list,
) -> None:
    reason = " ".join((message.text or "").split())
    if me is None or not 3 <= len(reason) <= 300:
        await message.answer(t("meeting.bad_reason"))
        return
    meeting_id = int((await state.get_data()).get("meeting", 0))
    await state.clear()
    outcome = await svc.cancel_meeting(
        repos, me, meeting_id, reason, clock(), settings.timezone, _scheduling(reminders, after_commit)
    )
    await message.answer(_say(t, outcome))


async def add_goal(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO | None,
    settings: Settings,
    clock: Clock,
) -> None:
    pair_id = (await state.get_data()).get("pair") or 0
    outcome = await svc.add_goal(repos, me, pair_id, message.text or "", clock(), settings.tz)
    if outcome in (svc.GoalAdded.NOT_IN_PAIR, svc.GoalAdded.NOT_MENTOR):
        await state.clear()
    await message.answer(t(outcome.value))


# --------------------------------------------------------------------------- the buttons of a meeting
async def _gone(cb: CallbackQuery, t: Translator) -> bool:
    """The button's message is no longer accessible: nothing can be shown under it."""
    if isinstance(cb.message, Message):
        return False
    await cb.answer(t("common.stale"), show_alert=True)
    return True


async def _refused(cb: CallbackQuery, t: Translator, outcome: object) -> bool:
    """Answer a press that does nothing (the meeting changed meanwhile). True if refused."""
    if isinstance(outcome, svc.Refused):
        await cb.answer(t(outcome.value), show_alert=True)
        return True
    return False


async def confirm(
    cb: CallbackQuery,
    callback_data: MeetingCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    reminders: Any,
    after_commit: list,
) -> None:
    if await _gone(cb, t):
        return
    scheduling = _scheduling(reminders, after_commit)
    refused = await svc.confirm_meeting(repos, me, callback_data.m, clock(), settings.timezone, scheduling)
    if await _refused(cb, t, refused):
        return
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.answer(t("meeting.confirmed"))


async def new_time(
    cb: CallbackQuery,
    callback_data: MeetingCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    if await _gone(cb, t):
        return
    outcome = await svc.new_time(repos, me, callback_data.m, clock(), settings.timezone)
    if await _refused(cb, t, outcome):
        return
    assert isinstance(outcome, svc.AskWhen) and isinstance(cb.message, Message)
    await cb.answer()
    await ask_when(cb.message, state, t, outcome, _today(clock, settings))


async def ask_cancel(
    cb: CallbackQuery,
    callback_data: MeetingCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    if await _gone(cb, t):
        return
    found = await svc.open_meeting(repos, me, callback_data.m, clock(), settings.timezone)
    if await _refused(cb, t, found):
        return
    assert isinstance(cb.message, Message)
    await state.set_state(MeetingCancel.reason)
    await state.set_data({"meeting": callback_data.m})
    await cb.answer()
    await cb.message.answer(t("meeting.ask_cancel_reason"))


async def _feedback(
    message: Message, engine: Engine, state: FSMContext, t: Translator, form: svc.FeedbackForm, today: date
) -> None:
    if form.response is None:
        await message.answer(t("meeting.feedback_already"))
        return
    if form.goals:
        plan = "\n".join(_goal_lines(form.goals, t, today))
        await message.answer(t("meeting.goals_reminder") + "\n" + plan)
    await show(message, engine, form.response, t, state)


async def held(
    cb: CallbackQuery,
    callback_data: MeetingCb,
    state: FSMContext,
    repos: Repos,
    engine: Engine,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    reminders: Any,
    after_commit: list,
) -> None:
    if await _gone(cb, t):
        return
    scheduling = _scheduling(reminders, after_commit)
    form = await svc.held(repos, engine, me, callback_data.m, clock(), settings.timezone, scheduling)
    if await _refused(cb, t, form):
        return
    assert isinstance(form, svc.FeedbackForm)
    await cb.answer()
    await cb.message.edit_reply_markup(reply_markup=None)
    await _feedback(cb.message, engine, state, t, form, _today(clock, settings))


async def missed(
    cb: CallbackQuery,
    callback_data: MeetingCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    reminders: Any,
    after_commit: list,
) -> None:
    if await _gone(cb, t):
        return
    scheduling = _scheduling(reminders, after_commit)
    outcome = await svc.missed(repos, me, callback_data.m, clock(), settings.timezone, scheduling)
    if await _refused(cb, t, outcome):
        return
    assert isinstance(outcome, svc.AskWhen)
    await cb.answer()
    await cb.message.edit_reply_markup(reply_markup=None)
    await cb.message.answer(t("meeting.missed"))
    await ask_when(cb.message, state, t, outcome, _today(clock, settings))


async def feedback(
    cb: CallbackQuery,
    callback_data: MeetingCb,
    state: FSMContext,
    repos: Repos,
    engine: Engine,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
) -> None:
    if await _gone(cb, t):
        return
    form = await svc.feedback(repos, engine, me, callback_data.m, clock(), settings.timezone)
    if await _refused(cb, t, form):
        return
    assert isinstance(form, svc.FeedbackForm) and isinstance(cb.message, Message)
    await cb.answer()
    await _feedback(cb.message, engine, state, t, form, _today(clock, settings))


# ---------------------------------------------------------------------------------------- /meetings
def _overview_text(o: svc.Overview, t: Translator, today: date) -> str:
    p = o.state.progress
    lines = [t("meeting.overview", names=o.names)]
    if p.current_stage is None:
        lines.append(t("meetings.progress.finished"))
    else:
        lines.append(t("meetings.progress.current", stage=t(f"meetings.stage.{p.current_stage.value}")))
        if p.current_stage == Stage.JOINT_WORK:
            lines.append(
                t("meetings.progress.joint_work", done=p.joint_work_done, required=p.joint_work_required)
            )
        if p.deadline:
            lines.append(t("meetings.progress.deadline", deadline=format_date(t, p.deadline, today=today)))
        if p.overdue:
            lines.append(t("meetings.progress.overdue", days=p.overdue_days))
    lines += ["", t("meeting.upcoming") if o.upcoming else t("meeting.none_upcoming")]
    lines += [_line(m, t, o.state.tz, today) for m in o.upcoming]
    if o.owed:
        lines += ["", t("meeting.feedback_due", count=len(o.owed))]
    elif not o.upcoming and p.current_stage is not None:
        lines += ["", t("meeting.schedule_next")]
    return "\n".join(lines)


async def meetings_list(
    message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings, clock: Clock
) -> None:
    now = clock()
    found = await svc.overviews(repos, me, now, settings.timezone)
    if not found:
        await message.answer(t("meeting.no_pair"))
        return
    for o in found:
        kb = InlineKeyboardBuilder()
        for mid in o.owed:
            kb.button(text=t("meeting.btn.feedback"), callback_data=MeetingCb(a=MeetingAction.FB, m=mid))
        await message.answer(
            _overview_text(o, t, now.astimezone(settings.tz).date()), reply_markup=kb.adjust(1).as_markup()
        )


# ------------------------------------------------------------------------------------------- curators
async def nudge_pair(
    cb: CallbackQuery,
    callback_data: NudgePairCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
) -> None:
    """🔔 from the digest: the late pair is reminded of its stage."""
    if not await svc.nudge_pair(repos, me, callback_data.pair, clock()):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer(t("meeting.nudged"), show_alert=True)


async def open_pair(
    cb: CallbackQuery,
    callback_data: OpenPairCb,
    repos: Repos,
    t: Translator,
    settings: Settings,
    clock: Clock,
) -> None:
    now = clock()
    found = await svc.pair_card(repos, callback_data.pair, now, settings.timezone)
    if found is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    pair, p = found.state.pair, found.state.progress
    lines = [
        t(
            "meeting.pair_card" if len(pair.mentee_ids) <= 1 else "meeting.group_card",
            id=pair.id,
            names=found.names,
            stage=t(f"meetings.stage.{pair.stage}"),
            deadline=format_date(t, p.deadline, today=now.astimezone(settings.tz).date())
            if p.deadline
            else "—",
            # "просрочка 0 дней" is not a delay: said only when there is one
            late=t("meeting.card_late", days=p.overdue_days) if p.overdue_days else "",
        )
    ]
    held = [
        _line(m, t, found.state.tz, now.astimezone(found.state.tz).date()) for m in found.state.meetings[-10:]
    ]
    lines += held or [t("meeting.card_no_meetings")]
    if found.waiting_for:
        lines.append(t("meeting.pair_card_feedback", names=found.waiting_for))
    await cb.message.answer("\n".join(lines))
    await cb.answer()


async def alerts(message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock) -> None:
    """Toggle immediate alerts when a pair becomes overdue (the daily digest comes either way)."""
    on = await svc.toggle_alerts(repos, me, clock())
    await message.answer(t("meeting.alerts_on" if on else "meeting.alerts_off"))


def routers() -> list[Router]:
    """The members' commands and buttons (mentor or mentee), the steps of a conversation (any state of it,
    each step checking the pair again), the curator's buttons and /alerts."""
    paired = only_for(Router(name=f"{__name__}.paired"), Role.MENTEE, Role.MENTOR)
    paired.callback_query.register(picked_pair, MeetingPairCb.filter())
    paired.message.register(meeting, Command("meeting"))
    paired.callback_query.register(confirm, MeetingCb.filter(F.a == MeetingAction.OK))
    paired.callback_query.register(
        new_time, MeetingCb.filter(F.a.in_({MeetingAction.ALT, MeetingAction.RESCH}))
    )
    paired.callback_query.register(ask_cancel, MeetingCb.filter(F.a == MeetingAction.CANCEL))
    paired.callback_query.register(held, MeetingCb.filter(F.a == MeetingAction.YES))
    paired.callback_query.register(missed, MeetingCb.filter(F.a == MeetingAction.NO))
    paired.callback_query.register(feedback, MeetingCb.filter(F.a == MeetingAction.FB))
    paired.message.register(meetings_list, Command("meetings"))
    paired.message.register(goals, Command("goals"))

    steps = Router(name=f"{__name__}.steps")
    steps.callback_query.register(picked_day, MeetingDateCb.filter(), MeetingNew.when)
    steps.message.register(typed_when, MeetingNew.when, *TYPED)
    steps.callback_query.register(picked_format, MeetingFormatCb.filter(), MeetingNew.when)
    steps.message.register(typed_place, MeetingNew.place, *TYPED)
    steps.message.register(cancel_reason, MeetingCancel.reason, *TYPED)
    steps.message.register(add_goal, Goals.adding, *TYPED)

    curators = curators_only(f"{__name__}.curators")
    curators.callback_query.register(nudge_pair, NudgePairCb.filter())
    curators.callback_query.register(open_pair, OpenPairCb.filter())
    curators.message.register(alerts, Command("alerts"))
    return [paired, steps, curators]
