"""Completion in chat: the final survey button, the invitation of a finished mentee into the mentor base,
/close_pair (curator), /cases (the case base; the curator proposes a best practice, members consent),
/honour and /honour_optout (the mentors' honour board), /certificate (PNG or PDF)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.callbacks import Callback
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import FormResponseDTO, PairDTO, ParticipantDTO, Role
from bot.filenames import file_name
from bot.i18n import Translator
from bot.services import certificate as cert
from bot.services import completion as svc
from bot.services.questionnaires import Engine
from handlers.menu import refresh_menu
from handlers.programmes import for_change
from handlers.questionnaire import show, start_intake
from storage.repositories.completion import CASE_PROPOSED
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
PAIRED = {"roles": {Role.MENTEE, Role.MENTOR}}
MENTOR = {"roles": {Role.MENTOR}}
ANYONE = {"roles": {Role.MENTEE, Role.MENTOR, Role.CURATOR, Role.PARENT}}
CASES_SHOWN = 10
PAIRS_SHOWN = 40
HONOUR_SHOWN = 30


# Participant buttons (never "c…": those are curator-only).
class FinalSurveyCb(Callback, prefix="fs"):
    pair: int


class BecomeMentorCb(Callback, prefix="bm"):
    pair: int
    a: str  # y | n


class CaseConsentCb(Callback, prefix="sp"):
    case: int
    a: str  # y | n


class CertificateCb(Callback, prefix="gc"):
    pair: int
    f: str  # png | pdf


# Curator buttons.
class ClosePairCb(Callback, prefix="cz"):
    pair: int


class CaseCb(Callback, prefix="cv"):
    a: str  # new | pick
    pair: int = 0


CURATOR_PREFIXES = ("cz", "cv")


class ClosePair(StatesGroup):
    reason = State()


class CaseStoryInput(StatesGroup):
    story = State()


def _b(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _d(dt: Any, tz: Any) -> str:
    return dt.astimezone(tz).strftime("%d.%m.%Y") if dt else "…"


async def _names(repos: Repos, ids: tuple[int, ...] | list[int]) -> str:
    return ", ".join(await svc.names(repos, list(ids)))


async def _pair_label(repos: Repos, pair: PairDTO) -> str:
    mentor = await _names(repos, [pair.mentor_id])
    return f"{mentor} → {await _names(repos, pair.mentee_ids) or '—'}"


def router(engine: Engine, hooks: dict[str, Any]) -> Router:
    r = Router(name=__name__)

    # ------------------------------------------------------------------ the final survey
    @r.callback_query(FinalSurveyCb.filter(), flags=PAIRED)
    async def final_survey(
        cb: CallbackQuery,
        callback_data: FinalSurveyCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        pair = await svc.survey_pair(repos, me, callback_data.pair)
        if pair is None or svc.FINAL_FORM not in engine.forms or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        response = await svc.start_final_survey(repos, engine, me, pair, clock())
        if response is None:
            await cb.answer(t("completion.final_already"), show_alert=True)
            return
        await cb.answer()
        await show(cb.message, engine, response, t, state)

    async def on_final(
        message: Message,
        repos: Repos,
        response: FormResponseDTO,
        me: ParticipantDTO,
        t: Translator,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        """Called by the questionnaire handler once a final survey is submitted."""
        if svc.pair_of_context(response.context) is None:
            # A monitoring campaign's final survey: carry on as the questionnaire handler does without a hook.
            await message.answer(t("questionnaire.submitted.default"))
            fresh = await repos.participants.get(me.id)
            if fresh is not None:
                await start_intake(message, repos, engine, fresh, t, state, clock)
            return
        await message.answer(t("completion.final_thanks"))
        pair = await svc.mentor_invitation_pair(repos, me, response)
        if pair is not None:
            markup = InlineKeyboardMarkup(
                inline_keyboard=[
                    [_b(t("completion.btn.become_mentor"), BecomeMentorCb(pair=pair.id, a="y"))],
                    [_b(t("completion.btn.not_now"), BecomeMentorCb(pair=pair.id, a="n"))],
                ]
            )
            await message.answer(t("completion.mentor_offer"), reply_markup=markup)

    hooks[svc.FINAL_FORM] = on_final

    @r.callback_query(BecomeMentorCb.filter(), flags=PAIRED)
    async def become_mentor(
        cb: CallbackQuery,
        callback_data: BecomeMentorCb,
        state: FSMContext,
        repos: Repos,
        bot: Bot,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        pair = await svc.survey_pair(repos, me, callback_data.pair)
        if pair is None or svc.role_in(pair, me.id) != "mentee" or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await cb.answer()
        await cb.message.edit_reply_markup(reply_markup=None)
        if callback_data.a != "y":
            await cb.message.answer(t("completion.mentor_offer_later"))
            return
        now = clock()
        response = await svc.become_mentor(repos, engine, me, pair, now)
        fresh = await repos.participants.get(me.id)
        if fresh is not None:
            await refresh_menu(bot, repos, fresh, now)
        if response is None:
            await cb.message.answer(t("completion.mentor_joined"))
            return
        await cb.message.answer(t("completion.mentor_form_intro"))
        await show(cb.message, engine, response, t, state)

    # ------------------------------------------------------------------ curator: close a pair early
    @r.message(Command("close_pair"), flags=CURATOR)
    async def close_pair(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
        programme = await for_change(repos, me, t, message)
        if programme is None:
            return
        pairs = await repos.pairs.active(scope=await repos.programmes.scope(programme.id))
        if not pairs:
            await message.answer(t("completion.close.none"))
            return
        rows = [
            [_b(f"#{p.id} {await _pair_label(repos, p)}", ClosePairCb(pair=p.id))]
            for p in pairs[:PAIRS_SHOWN]
        ]
        await message.answer(
            t("completion.close.choose"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(ClosePairCb.filter(), flags=CURATOR)
    async def close_pick(
        cb: CallbackQuery, callback_data: ClosePairCb, state: FSMContext, repos: Repos, t: Translator
    ) -> None:
        pair = await repos.pairs.get(callback_data.pair)
        if pair is None or pair.status != "active" or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await state.set_state(ClosePair.reason)
        await state.set_data({"pair": pair.id})
        await cb.answer()
        await cb.message.answer(t("completion.close.ask_reason", pair=await _pair_label(repos, pair)))

    @r.message(ClosePair.reason, F.text, ~F.text.startswith("/"))
    async def close_reason(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        clock: Clock,
        reminders: Any,
    ) -> None:
        if me is None or not me.is_curator:
            await state.clear()
            await message.answer(t("access.denied"))
            return
        reason = " ".join((message.text or "").split())
        if not svc.REASON_MIN <= len(reason) <= svc.REASON_MAX:
            await message.answer(t("completion.close.bad_reason", max=svc.REASON_MAX))
            return
        pair_id = int((await state.get_data()).get("pair", 0))
        await state.clear()
        ok, cancelled = await svc.close_pair(repos, pair_id, reason, me.id, clock())
        if not ok:
            await message.answer(t("common.stale"))
            return
        if cancelled and reminders is not None:
            reminders.disarm(cancelled)
        await message.answer(t("completion.close.done", id=pair_id))

    # ------------------------------------------------------------------ the case base
    @r.message(Command("cases"), flags=ANYONE)
    async def cases(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings
    ) -> None:
        views = await svc.published_cases(repos)
        tz = settings.tz
        await message.answer(
            t("completion.case.header", count=len(views)) if views else t("completion.case.empty")
        )
        for v in views[:CASES_SHOWN]:
            await message.answer(
                t(
                    "completion.case.item",
                    mentor=v.mentor,
                    mentees=", ".join(v.mentees),
                    programme=v.programme,
                    date_from=_d(v.date_from, tz),
                    date_to=_d(v.date_to, tz),
                    story=v.case.story,
                )
            )
        if len(views) > CASES_SHOWN:
            await message.answer(t("completion.case.more", count=len(views) - CASES_SHOWN))
        if not me.is_curator:
            return
        waiting = await svc.case_views(repos, await svc.repo(repos).cases(CASE_PROPOSED))
        lines = []
        if waiting:
            lines.append(t("completion.case.waiting_header"))
            for v in waiting:
                agreed = sum(1 for a in v.case.consents.values() if a)
                lines.append(
                    t(
                        "completion.case.waiting_item",
                        id=v.case.id,
                        mentor=v.mentor,
                        mentees=", ".join(v.mentees),
                        agreed=agreed,
                        total=len(v.case.consents),
                    )
                )
        lines.append(t("completion.case.curator_hint"))
        await message.answer(
            "\n".join(lines),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[[_b(t("completion.btn.add_case"), CaseCb(a="new"))]]
            ),
        )

    @r.callback_query(CaseCb.filter(), flags=CURATOR)
    async def case_action(
        cb: CallbackQuery, callback_data: CaseCb, state: FSMContext, repos: Repos, t: Translator
    ) -> None:
        if not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        candidates = {p.id: p for p in await svc.case_candidates(repos)}
        if callback_data.a == "new":
            await cb.answer()
            if not candidates:
                await cb.message.answer(t("completion.case.no_candidates"))
                return
            rows = [
                [_b(f"#{p.id} {await _pair_label(repos, p)}", CaseCb(a="pick", pair=p.id))]
                for p in list(candidates.values())[-PAIRS_SHOWN:]
            ]
            await cb.message.answer(
                t("completion.case.choose"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
            return
        pair = candidates.get(callback_data.pair)
        if callback_data.a != "pick" or pair is None:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await state.set_state(CaseStoryInput.story)
        await state.set_data({"pair": pair.id})
        await cb.answer()
        await cb.message.answer(
            t(
                "completion.case.ask_story",
                pair=await _pair_label(repos, pair),
                min=svc.STORY_MIN,
                max=svc.STORY_MAX,
            )
        )

    @r.message(CaseStoryInput.story, F.text, ~F.text.startswith("/"))
    async def case_story(
        message: Message,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO | None,
        clock: Clock,
    ) -> None:
        if me is None or not me.is_curator:
            await state.clear()
            await message.answer(t("access.denied"))
            return
        story = (message.text or "").strip()
        if not svc.STORY_MIN <= len(story) <= svc.STORY_MAX:
            await message.answer(t("completion.case.bad_story", min=svc.STORY_MIN, max=svc.STORY_MAX))
            return
        pair_id = int((await state.get_data()).get("pair", 0))
        await state.clear()
        result = await svc.propose_case(repos, pair_id, story, me, clock())
        if isinstance(result, str):
            await message.answer(t(result))
            return
        await message.answer(t("completion.case.asked", id=result.id, count=len(result.consents)))

    @r.callback_query(CaseConsentCb.filter(F.a.in_({"y", "n"})), flags=PAIRED)
    async def case_consent(
        cb: CallbackQuery,
        callback_data: CaseConsentCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        outcome = await svc.answer_case(repos, callback_data.case, me, callback_data.a == "y", clock())
        if outcome.result == "stale":
            await cb.answer(t("completion.case.consent_closed"), show_alert=True)
            return
        if outcome.result == "already":
            await cb.answer(t("completion.case.consent_already"), show_alert=True)
            return
        await cb.answer()
        if isinstance(cb.message, Message):
            await cb.message.edit_reply_markup(reply_markup=None)
            key = "completion.case.thanks_yes" if callback_data.a == "y" else "completion.case.thanks_no"
            await cb.message.answer(t(key))

    # ------------------------------------------------------------------ the honour board
    @r.message(Command("honour"), flags=ANYONE)
    async def honour(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
        rows = await svc.honour_board(repos)
        lines = [t("completion.honour.header")]
        if not rows:
            lines.append(t("completion.honour.empty"))
        for n, row in enumerate(rows[:HONOUR_SHOWN], 1):
            rating = (
                t("completion.honour.rating", rating=f"{row.rating:.1f}", count=row.ratings)
                if row.rating is not None
                else t("completion.honour.no_rating")
            )
            lines.append(
                t("completion.honour.item", n=n, name=row.name, finished=row.finished, rating=rating)
            )
        if me.has(Role.MENTOR):
            lines += ["", t("completion.honour.optout_hint")]
        await message.answer("\n".join(lines))

    @r.message(Command("honour_optout"), flags=MENTOR)
    async def honour_optout(
        message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
    ) -> None:
        shown = await svc.toggle_honour(repos, me, clock())
        await message.answer(t("completion.honour.shown" if shown else "completion.honour.hidden"))

    # ------------------------------------------------------------------ certificates
    async def _send_certificate(
        message: Message,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        pair: PairDTO,
        fmt: str,
        clock: Clock,
        settings: Settings,
    ) -> bool:
        data = await svc.certificate_data(repos, me, pair, clock(), settings.timezone)
        if data is None:
            return False
        content = await asyncio.to_thread(cert.render, data, t, fmt)
        await message.answer_document(
            BufferedInputFile(content, filename=file_name(t, "certificate", fmt, number=data.number or None)),
            caption=t("completion.certificate.caption", programme=data.programme),
        )
        await repos.audit.log(
            "certificate.issue", clock(), actor_id=me.id, object_type="pair", object_id=pair.id
        )
        return True

    @r.message(Command("certificate"), flags=PAIRED)
    async def certificate(
        message: Message,
        command: CommandObject,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
        settings: Settings,
    ) -> None:
        fmt = (command.args or "png").strip().lower()
        if fmt not in cert.FORMATS:
            await message.answer(t("completion.certificate.usage"))
            return
        pairs = await svc.certificate_pairs(repos, me)
        if not pairs:
            await message.answer(t("completion.certificate.none"))
            return
        if len(pairs) == 1:
            await _send_certificate(message, repos, t, me, pairs[0], fmt, clock, settings)
            return
        rows = [
            [_b(f"#{p.id} {await _pair_label(repos, p)}", CertificateCb(pair=p.id, f=fmt))]
            for p in pairs[:20]
        ]
        await message.answer(
            t("completion.certificate.choose"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(CertificateCb.filter(F.f.in_(set(cert.FORMATS))), flags=PAIRED)
    async def certificate_pick(
        cb: CallbackQuery,
        callback_data: CertificateCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
        settings: Settings,
    ) -> None:
        pair = await repos.pairs.get(callback_data.pair)
        if pair is None or not isinstance(cb.message, Message):
            await cb.answer(t("completion.certificate.not_yours"), show_alert=True)
            return
        if not await _send_certificate(cb.message, repos, t, me, pair, callback_data.f, clock, settings):
            await cb.answer(t("completion.certificate.not_yours"), show_alert=True)
            return
        await cb.answer()

    return r
