"""The meeting sequence in chat: /meeting (propose, confirm, another time, reschedule, cancel),
"did it happen?", feedback, /meetings, /goals (the individual development plan)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks.dashboard import NudgePairCb, OpenPairCb
from bot.callbacks.meetings import MeetingCb, MeetingDateCb, MeetingFormatCb, MeetingPairCb
from bot.clock import Clock
from bot.config import Settings
from bot.domain import meeting_time as mt
from bot.domain import reminders as rem
from bot.domain.entities import MeetingDTO, NewMessage, PairDTO, ParticipantDTO, Role
from bot.domain.stages import Stage, can_propose
from bot.i18n import Translator
from bot.services import completion as completion_svc
from bot.services import meetings as svc
from bot.services.questionnaires import Engine
from handlers.questionnaire import show
from handlers.states import Goals, MeetingCancel, MeetingNew
from storage.uow import Repos

PAIRED = {"roles": {Role.MENTEE, Role.MENTOR}}
CURATOR = {"roles": {Role.CURATOR}}
GOAL_RE = re.compile(r"^(?P<text>.{3,300}?)\s*[—–-]\s*(?P<date>\d{1,2}\.\d{1,2}\.\d{2,4})\s*$", re.S)


def _b(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def _when(m: MeetingDTO, tz: Any) -> str:
    return m.starts_at.astimezone(tz).strftime("%d.%m.%Y %H:%M")


async def _names(repos: Repos, ids: tuple[int, ...] | list[int], skip: int | None = None) -> str:
    out = []
    for pid in ids:
        if pid == skip:
            continue
        p = await repos.participants.get(pid)
        out.append((p.full_name if p else None) or "—")
    return ", ".join(out)


def card(m: MeetingDTO, me: ParticipantDTO, t: Translator, tz: Any) -> tuple[str, InlineKeyboardMarkup]:
    text = t(
        "meeting.card",
        stage=t(f"meetings.stage.{m.stage}"),
        when=_when(m, tz),
        fmt=t(f"meeting.format.{m.format}"),
        place=m.place or "—",
        status=t(f"meetings.status.{m.status}"),
    )
    rows = []
    if m.status == "proposed" and m.proposed_by != me.id:
        rows.append([_b(t("meeting.btn.confirm"), MeetingCb(a="ok", m=m.id).pack())])
        rows.append([_b(t("meeting.btn.another_time"), MeetingCb(a="alt", m=m.id).pack())])
    if m.status == "confirmed":
        rows.append([_b(t("meeting.btn.reschedule"), MeetingCb(a="resch", m=m.id).pack())])
    if m.status in ("proposed", "confirmed"):
        rows.append([_b(t("meeting.btn.cancel"), MeetingCb(a="cancel", m=m.id).pack())])
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def router(engine: Engine, hooks: dict[str, Any]) -> Router:
    r = Router(name=__name__)

    async def _meeting_of(
        repos: Repos, me: ParticipantDTO, meeting_id: int, settings: Settings, now: datetime
    ) -> tuple[MeetingDTO, svc.PairState] | None:
        meeting = await repos.meetings.get(meeting_id)
        if meeting is None:
            return None
        pair = await svc.pair_of_member(repos, me, meeting.pair_id)
        if pair is None:
            return None
        return meeting, await svc.pair_state(repos, pair, now, settings.timezone)

    async def _still_in_pair(
        repos: Repos, me: ParticipantDTO | None, state: FSMContext, t: Translator, pair_id: Any
    ) -> tuple[PairDTO | None, str | None]:
        """Every step of a conversation about a pair looks again: the curator may have dissolved the pair or
        removed this person from it since the previous step. Returns the pair, or (None, the refusal) with the
        conversation cleared."""
        pair = await svc.pair_of_member(repos, me, int(pair_id or 0)) if me is not None else None
        if pair is not None:
            return pair, None
        await state.clear()
        return None, t("timebound.not_in_pair")

    async def _ask_when(
        message: Message,
        state: FSMContext,
        t: Translator,
        st: svc.PairState,
        now: datetime,
        resched: int | None,
    ) -> None:
        await state.set_state(MeetingNew.when)
        await state.set_data({"pair": st.pair.id, "resched": resched})
        days = mt.quick_choices(now, st.tz)[:7]
        rows = [
            [
                _b(
                    t("meetings.quick.today")
                    if i == 0
                    else t("meetings.quick.tomorrow")
                    if i == 1
                    else d.strftime("%d.%m"),
                    MeetingDateCb(d=d.isoformat()).pack(),
                )
                for i, d in enumerate(days[:4])
            ]
        ]
        if len(days) > 4:
            rows.append([_b(d.strftime("%d.%m"), MeetingDateCb(d=d.isoformat()).pack()) for d in days[4:]])
        stage = st.progress.current_stage
        deadline = st.progress.deadline.strftime("%d.%m.%Y") if st.progress.deadline else "—"
        await message.answer(
            t(
                "meeting.ask_when",
                stage=t(f"meetings.stage.{stage.value}") if stage else "",
                deadline=deadline,
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )

    async def _notify(
        repos: Repos,
        ids: tuple[int, ...],
        skip: int,
        key: str,
        dedup: str,
        now: datetime,
        markup_for: Any = None,
        about: MeetingDTO | None = None,
        **params: Any,
    ) -> None:
        """``about``: the message concerns this upcoming meeting and goes only while it is still so (the
        sender re-checks: not moved, cancelled or begun; the person still in the pair)."""
        bound = svc.timebound(about, rem.KIND_SCENARIO) if about is not None else {}
        out = []
        for pid in ids:
            p = await repos.participants.get(pid)
            if pid == skip or p is None or p.telegram_id is None:
                continue
            pt = Translator(p.language)
            values = {
                k: (pt(v[1:]) if isinstance(v, str) and v.startswith("@") else v) for k, v in params.items()
            }
            out.append(
                NewMessage(
                    chat_id=p.telegram_id,
                    participant_id=p.id,
                    kind="meeting",
                    priority=1,
                    text=pt(key, **values),
                    dedup_key=f"{dedup}:{pid}",
                    reply_markup=markup_for(pt) if markup_for else None,
                    **bound,
                )
            )
        await repos.outbox.enqueue(out, now)

    async def _pick_pair(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, action: str
    ) -> PairDTO | None:
        """The person's pair; someone in several (in two programmes, or a mentor of two groups) chooses."""
        pairs = await svc.pairs_of(repos, me)
        if not pairs:
            await message.answer(t("meeting.no_pair"))
            return None
        if len(pairs) == 1:
            return pairs[0]
        rows = []
        for pair in pairs:
            programme = await repos.programmes.get(pair.programme_id) if pair.programme_id else None
            names = await _names(repos, (pair.mentor_id, *pair.mentee_ids), skip=me.id)
            label = f"{names} · {programme.title}" if programme else names
            rows.append([_b(label[:60], MeetingPairCb(a=action, p=pair.id).pack())])
        await message.answer(t("meeting.pick_pair"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        return None

    @r.callback_query(MeetingPairCb.filter(), flags=PAIRED)
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
        pair = await repos.pairs.get(callback_data.p)
        if (
            pair is None
            or pair.status != "active"
            or me.id not in (pair.mentor_id, *pair.mentee_ids)
            or not isinstance(cb.message, Message)
        ):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await cb.answer()
        if callback_data.a == "goals":
            await _goals_for(cb.message, state, repos, t, me, pair)
        else:
            now = clock()
            st = await svc.pair_state(repos, pair, now, settings.timezone)
            await _meeting_for(cb.message, state, t, me, st, now)

    @r.message(Command("meeting"), flags=PAIRED)
    async def meeting(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
    ) -> None:
        pair = await _pick_pair(message, repos, t, me, "meeting")
        if pair is None:
            return
        now = clock()
        await _meeting_for(
            message, state, t, me, await svc.pair_state(repos, pair, now, settings.timezone), now
        )

    async def _meeting_for(
        message: Message,
        state: FSMContext,
        t: Translator,
        me: ParticipantDTO,
        st: svc.PairState,
        now: datetime,
    ) -> None:
        if st.progress.open_meetings:  # the soonest open meeting: its card with what can be done
            m = next(x for x in st.meetings if x.id == st.progress.open_meetings[0])
            text, markup = card(m, me, t, st.tz)
            await message.answer(text, reply_markup=markup)
            return
        refusal = can_propose(st.progress)
        if refusal is not None:
            await message.answer(t(refusal.code, **refusal.params))
            return
        await _ask_when(message, state, t, st, now, None)

    @r.callback_query(MeetingDateCb.filter(), MeetingNew.when)
    async def picked_day(
        cb: CallbackQuery,
        callback_data: MeetingDateCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
    ) -> None:
        _, refusal = await _still_in_pair(repos, me, state, t, (await state.get_data()).get("pair"))
        if refusal is not None:
            await cb.answer(refusal, show_alert=True)
            return
        try:
            day = date.fromisoformat(callback_data.d)
        except ValueError:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await state.update_data(day=day.isoformat())
        await cb.answer()
        if isinstance(cb.message, Message):
            await cb.message.answer(t("meeting.ask_time", day=day.strftime("%d.%m.%Y")))

    @r.message(MeetingNew.when, F.text, ~F.text.startswith("/"))
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
        now = clock()
        pair, refusal = await _still_in_pair(repos, me, state, t, data.get("pair"))
        if pair is None:
            await message.answer(refusal or t("common.stale"))
            return
        st = await svc.pair_state(repos, pair, now, settings.timezone)
        text = message.text or ""
        if data.get("day") and re.fullmatch(r"\s*\d{1,2}[:.]\d{2}\s*", text):
            text = f"{date.fromisoformat(data['day']).strftime('%d.%m.%Y')} {text.strip()}"
        result = mt.parse_meeting_time(text, now, st.tz)
        if isinstance(result, mt.Invalid):
            await message.answer(t(result.code, **result.params))
            await message.answer(t("meeting.ask_time_again"))
            return
        warning = (
            mt.check_against_deadline(result.value, st.progress.deadline, st.tz)
            if st.progress.deadline
            else None
        )
        if warning is not None:
            await message.answer(t(warning.code, **warning.params))
        await state.update_data(starts_at=result.value.isoformat())
        rows = [
            [
                _b(t("meeting.format.online"), MeetingFormatCb(f="online").pack()),
                _b(t("meeting.format.offline"), MeetingFormatCb(f="offline").pack()),
            ]
        ]
        await message.answer(t("meeting.ask_format"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @r.callback_query(MeetingFormatCb.filter(F.f.in_({"online", "offline"})), MeetingNew.when)
    async def picked_format(
        cb: CallbackQuery,
        callback_data: MeetingFormatCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
    ) -> None:
        _, refusal = await _still_in_pair(repos, me, state, t, (await state.get_data()).get("pair"))
        if refusal is not None:
            await cb.answer(refusal, show_alert=True)
            return
        if "starts_at" not in await state.get_data():
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await state.update_data(fmt=callback_data.f)
        await state.set_state(MeetingNew.place)
        await cb.answer()
        if isinstance(cb.message, Message):
            await cb.message.edit_reply_markup(reply_markup=None)
            await cb.message.answer(t(f"meeting.ask_place_{callback_data.f}"))

    @r.message(MeetingNew.place, F.text, ~F.text.startswith("/"))
    async def typed_place(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
        reminders: Any,
    ) -> None:
        place = " ".join((message.text or "").split())
        if not 2 <= len(place) <= 300:
            await message.answer(t("meeting.bad_place"))
            return
        data = await state.get_data()
        now = clock()
        pair, refusal = await _still_in_pair(repos, me, state, t, data.get("pair"))
        if pair is None:
            # Removed from the pair (or the pair dissolved) since /meeting began: nobody is told anything.
            await message.answer(refusal or t("common.stale"))
            return
        starts_at = datetime.fromisoformat(data["starts_at"]) if data.get("starts_at") else None
        if starts_at is None or starts_at <= now:
            await state.clear()
            await message.answer(t("meeting.expired_proposal"))
            return
        st = await svc.pair_state(repos, pair, now, settings.timezone)
        resched = await repos.meetings.get(int(data["resched"])) if data.get("resched") else None
        if resched is None and can_propose(st.progress) is not None:
            await state.clear()
            await message.answer(t("common.stale"))
            return
        meeting, cancelled = await svc.propose(
            repos, me, st, starts_at, data.get("fmt", "online"), place, now, reschedule_of=resched
        )
        await state.clear()
        if cancelled and reminders is not None:
            reminders.disarm(cancelled)
        await _notify(
            repos,
            st.members,
            me.id,
            "meeting.proposed_to_you",
            f"proposal:{meeting.id}:{meeting.sequence}",
            now,
            about=meeting,
            markup_for=lambda pt: {
                "inline_keyboard": [
                    [
                        {
                            "text": pt("meeting.btn.confirm"),
                            "callback_data": MeetingCb(a="ok", m=meeting.id).pack(),
                        }
                    ],
                    [
                        {
                            "text": pt("meeting.btn.another_time"),
                            "callback_data": MeetingCb(a="alt", m=meeting.id).pack(),
                        }
                    ],
                ]
            },
            who=me.full_name or "—",
            stage=f"@meetings.stage.{meeting.stage}",
            when=_when(meeting, st.tz),
            fmt=f"@meeting.format.{meeting.format}",
            place=meeting.place or "—",
        )
        await message.answer(t("meeting.proposal_sent", who=await _names(repos, st.members, skip=me.id)))

    @r.callback_query(MeetingCb.filter(), flags=PAIRED)
    async def meeting_button(
        cb: CallbackQuery,
        callback_data: MeetingCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        settings: Settings,
        clock: Clock,
        after_commit: list,
        reminders: Any,
    ) -> None:
        now = clock()
        found = await _meeting_of(repos, me, callback_data.m, settings, now)
        if found is None or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        m, st = found
        a = callback_data.a
        if a == "ok":
            ids = await svc.confirm(repos, me, m, st, now)
            if ids is None:
                await cb.answer(t("meeting.already_handled"), show_alert=True)
                return
            if reminders is not None:
                after_commit.append(lambda: reminders.arm_ids(ids))
            fresh = await repos.meetings.get(m.id)
            assert fresh is not None
            out = []
            for pid in st.members:
                p = await repos.participants.get(pid)
                if p and p.telegram_id:
                    out.append(
                        svc.ics_message(fresh, p, await _names(repos, st.members, skip=pid), now, st.tz)
                    )
                    scenario = svc.scenario_message(
                        fresh,
                        p,
                        pid == st.pair.mentor_id,
                        _when(fresh, st.tz),
                        f"scenario:{fresh.id}:{fresh.sequence}:{pid}:confirmed",
                    )
                    if scenario is not None:
                        out.append(scenario)
            await repos.outbox.enqueue(out, now)
            await cb.message.edit_reply_markup(reply_markup=None)
            await cb.answer(t("meeting.confirmed"))
        elif a in ("alt", "resch"):
            if m.status not in ("proposed", "confirmed"):
                await cb.answer(t("meeting.already_handled"), show_alert=True)
                return
            await cb.answer()
            await _ask_when(cb.message, state, t, st, now, m.id)
        elif a == "cancel":
            if m.status not in ("proposed", "confirmed"):
                await cb.answer(t("meeting.already_handled"), show_alert=True)
                return
            await state.set_state(MeetingCancel.reason)
            await state.set_data({"meeting": m.id})
            await cb.answer()
            await cb.message.answer(t("meeting.ask_cancel_reason"))
        elif a == "yes":
            if m.status == "confirmed":
                ids = await svc.mark_held(repos, me, m, st, now)
                if ids and reminders is not None:
                    after_commit.append(lambda: reminders.arm_ids(ids))
            elif m.status != "held":
                await cb.answer(t("meeting.already_handled"), show_alert=True)
                return
            await cb.answer()
            await cb.message.edit_reply_markup(reply_markup=None)
            await _start_feedback(cb.message, repos, state, t, me, m, now)
        elif a == "no":
            cancelled = await svc.mark_missed(repos, me, m, now)
            if cancelled is None:
                await cb.answer(t("meeting.already_handled"), show_alert=True)
                return
            if reminders is not None:
                reminders.disarm(cancelled)
            await cb.answer()
            await cb.message.edit_reply_markup(reply_markup=None)
            await cb.message.answer(t("meeting.missed"))
            fresh_state = await svc.pair_state(repos, st.pair, now, settings.timezone)
            await _ask_when(cb.message, state, t, fresh_state, now, None)
        elif a == "fb":
            if m.status != "held":
                await cb.answer(t("meeting.already_handled"), show_alert=True)
                return
            await cb.answer()
            await _start_feedback(cb.message, repos, state, t, me, m, now)
        else:
            await cb.answer(t("common.stale"), show_alert=True)

    async def _start_feedback(
        message: Message,
        repos: Repos,
        state: FSMContext,
        t: Translator,
        me: ParticipantDTO,
        m: MeetingDTO,
        now: datetime,
    ) -> None:
        ctx = svc.feedback_context(m.id)
        if await repos.forms.latest_submitted(me.id, svc.FEEDBACK_FORM, ctx) is not None:
            await message.answer(t("meeting.feedback_already"))
            return
        goals = await repos.meetings.goals(m.pair_id)
        if goals and m.stage == Stage.JOINT_WORK.value:
            await message.answer(
                t("meeting.goals_reminder")
                + "\n"
                + "\n".join(f"• {g.text} — {g.target_date.strftime('%d.%m.%Y')}" for g in goals)
            )
        response = await engine.begin(repos, me.id, svc.FEEDBACK_FORM, now, context=ctx)
        await show(message, engine, response, t, state)

    @r.message(MeetingCancel.reason, F.text, ~F.text.startswith("/"))
    async def cancel_reason(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
        reminders: Any,
    ) -> None:
        reason = " ".join((message.text or "").split())
        if me is None or not 3 <= len(reason) <= 300:
            await message.answer(t("meeting.bad_reason"))
            return
        now = clock()
        found = await _meeting_of(repos, me, int((await state.get_data()).get("meeting", 0)), settings, now)
        await state.clear()
        if found is None:
            await message.answer(t("common.stale"))
            return
        m, st = found
        cancelled = await svc.cancel(repos, me, m, reason, now)
        if reminders is not None:
            reminders.disarm(cancelled)
        await _notify(
            repos,
            st.members,
            me.id,
            "meeting.cancelled_to_you",
            f"cancel:{m.id}",
            now,
            who=me.full_name or "—",
            stage=f"@meetings.stage.{m.stage}",
            when=_when(m, st.tz),
            reason=reason,
        )
        await message.answer(t("meeting.cancelled"))

    @r.message(Command("meetings"), flags=PAIRED)
    async def meetings_list(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings, clock: Clock
    ) -> None:
        now = clock()
        pairs = await svc.pairs_of(repos, me)
        if not pairs:
            await message.answer(t("meeting.no_pair"))
            return
        for pair in pairs:  # someone in several programmes sees each of their pairs
            await _overview(
                message, repos, t, me, await svc.pair_state(repos, pair, now, settings.timezone), now
            )

    async def _overview(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, st: svc.PairState, now: datetime
    ) -> None:
        p = st.progress
        lines = [t("meeting.overview", names=await _names(repos, st.members, skip=me.id))]
        if p.current_stage is None:
            lines.append(t("meetings.progress.finished"))
        else:
            lines.append(t("meetings.progress.current", stage=t(f"meetings.stage.{p.current_stage.value}")))
            if p.current_stage == Stage.JOINT_WORK:
                lines.append(
                    t("meetings.progress.joint_work", done=p.joint_work_done, required=p.joint_work_required)
                )
            if p.deadline:
                lines.append(t("meetings.progress.deadline", deadline=p.deadline.strftime("%d.%m.%Y")))
            if p.overdue:
                lines.append(t("meetings.progress.overdue", days=p.overdue_days))
        upcoming = [m for m in st.meetings if m.status in ("proposed", "confirmed") and m.starts_at >= now]
        lines.append("")
        lines.append(t("meeting.upcoming") if upcoming else t("meeting.none_upcoming"))
        lines += [
            f"• {_when(m, st.tz)} · {t(f'meetings.stage.{m.stage}')} · {t(f'meetings.status.{m.status}')}"
            for m in upcoming
        ]
        owed = p.owes_feedback(me.id)
        rows = []
        if owed:
            lines += ["", t("meeting.feedback_due", count=len(owed))]
            rows = [[_b(t("meeting.btn.feedback"), MeetingCb(a="fb", m=mid).pack())] for mid in owed]
        elif not upcoming and p.current_stage is not None:
            lines += ["", t("meeting.schedule_next")]
        await message.answer("\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    # -- the individual development plan ---------------------------------------------------------------
    @r.message(Command("goals"), flags=PAIRED)
    async def goals(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO
    ) -> None:
        pair = await _pick_pair(message, repos, t, me, "goals")
        if pair is not None:
            await _goals_for(message, state, repos, t, me, pair)

    async def _goals_for(
        message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, pair: PairDTO
    ) -> None:
        items = await repos.meetings.goals(pair.id)
        lines = [t("meeting.goals_header")]
        lines += [f"• {g.text} — {g.target_date.strftime('%d.%m.%Y')}" for g in items] or [
            t("meeting.goals_none")
        ]
        if pair.mentor_id == me.id:
            await state.set_state(Goals.adding)
            await state.set_data({"pair": pair.id})
            lines += ["", t("meeting.goals_how")]
        await message.answer("\n".join(lines))

    @r.message(Goals.adding, F.text, ~F.text.startswith("/"))
    async def add_goal(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        settings: Settings,
        clock: Clock,
    ) -> None:
        match = GOAL_RE.match((message.text or "").strip())
        pair, refusal = await _still_in_pair(repos, me, state, t, (await state.get_data()).get("pair"))
        if pair is None or me is None or pair.mentor_id != me.id:
            await state.clear()
            await message.answer(refusal or t("common.stale"))
            return
        target = None
        if match:
            for fmt in ("%d.%m.%Y", "%d.%m.%y"):
                try:
                    target = datetime.strptime(match["date"], fmt).date()
                    break
                except ValueError:
                    continue
        if match is None or target is None or target < clock().astimezone(settings.tz).date():
            await message.answer(t("meeting.goal_bad"))
            return
        await repos.meetings.add_goal(pair.id, " ".join(match["text"].split()), target, clock())
        await message.answer(t("meeting.goal_added"))

    # -- after a feedback form is submitted (called by the questionnaire handler) ---------------------------
    async def on_feedback(
        message: Message,
        repos: Repos,
        response: Any,
        me: ParticipantDTO,
        t: Translator,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        if not (response.context or "").startswith("meeting:"):
            await message.answer(t("timebound.feedback_thanks"))
            return
        now = clock()
        meeting_id = int(response.context.split(":")[1])
        result = await svc.after_feedback(repos, me.id, meeting_id, now, settings.timezone)
        if result is None:  # the pair ended or the person left it while filling in the form
            await message.answer(t("timebound.feedback_not_in_pair"))
            return
        st, completed = result
        # One message answers the submission; the stage news goes to every member on its own.
        if completed is None and st.progress.blocked_on_feedback_from:
            await message.answer(t("timebound.feedback_waiting"))
        else:
            await message.answer(t("timebound.feedback_thanks"))
        if completed is not None:
            nxt = st.progress.current_stage
            key = "meeting.stage_done_next" if nxt else "meeting.all_stages_done"
            await _notify(
                repos,
                st.members,
                -1,
                key,
                f"stage-done:{st.pair.id}:{completed.value}",
                now,
                stage=f"@meetings.stage.{completed.value}",
                next=f"@meetings.stage.{nxt.value}" if nxt else "",
            )
            if completed == Stage.FINAL:
                await completion_svc.pair_finished(repos, st.pair.id, now)
        meeting = await repos.meetings.get(meeting_id)
        if (
            meeting
            and meeting.stage == Stage.PLANNING.value
            and st.pair.mentor_id == me.id
            and not await repos.meetings.goals(st.pair.id)
        ):
            await state.set_state(Goals.adding)
            await state.set_data({"pair": st.pair.id})
            await message.answer(t("meeting.goals_prompt"))

    hooks["meeting_feedback"] = on_feedback

    # -- curator: nudge a late pair from the digest -------------------------------------------------------
    @r.callback_query(NudgePairCb.filter(), flags=CURATOR)
    async def nudge_pair(
        cb: CallbackQuery,
        callback_data: NudgePairCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        pair = await repos.pairs.get(callback_data.pair)
        if pair is None or pair.status != "active":
            await cb.answer(t("common.stale"), show_alert=True)
            return
        now = clock()
        await _notify(
            repos,
            (pair.mentor_id, *pair.mentee_ids),
            -1,
            "meeting.curator_nudge",
            f"curator-nudge:{pair.id}:{now.date().isoformat()}",
            now,
            stage=f"@meetings.stage.{pair.stage}",
        )
        await repos.audit.log("pair.nudge", now, actor_id=me.id, object_type="pair", object_id=pair.id)
        await cb.answer(t("meeting.nudged"), show_alert=True)

    @r.callback_query(OpenPairCb.filter(), flags=CURATOR)
    async def open_pair(
        cb: CallbackQuery,
        callback_data: OpenPairCb,
        repos: Repos,
        t: Translator,
        settings: Settings,
        clock: Clock,
    ) -> None:
        pair = await repos.pairs.get(callback_data.pair)
        if pair is None or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        st = await svc.pair_state(repos, pair, clock(), settings.timezone)
        p = st.progress
        lines = [
            t(
                "meeting.pair_card",
                id=pair.id,
                names=await _names(repos, st.members),
                stage=t(f"meetings.stage.{pair.stage}"),
                deadline=p.deadline.strftime("%d.%m.%Y") if p.deadline else "—",
                days=p.overdue_days,
            )
        ]
        lines += [
            f"• {_when(m, st.tz)} · {t(f'meetings.stage.{m.stage}')} · {t(f'meetings.status.{m.status}')}"
            for m in st.meetings[-10:]
        ]
        if p.blocked_on_feedback_from:
            lines.append(
                t("meeting.pair_card_feedback", names=await _names(repos, list(p.blocked_on_feedback_from)))
            )
        await cb.message.answer("\n".join(lines))
        await cb.answer()

    @r.message(Command("alerts"), flags=CURATOR)
    async def alerts(message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock) -> None:
        """Toggle immediate alerts when a pair becomes overdue (the daily digest comes either way)."""
        active = await repos.programmes.active()
        # One switch for every programme: on when it was off in all of them (a new programme starts off).
        on = not any(me.id in (p.settings.get("immediate_alerts") or []) for p in active)
        for programme in active:
            chosen = set(programme.settings.get("immediate_alerts") or [])
            chosen = chosen | {me.id} if on else chosen - {me.id}
            await repos.programmes.update_settings(
                programme.id, {**programme.settings, "immediate_alerts": sorted(chosen)}
            )
        await repos.audit.log("curator.alerts", clock(), actor_id=me.id, on=on)
        await message.answer(t("meeting.alerts_on" if on else "meeting.alerts_off"))

    return r
