"""Completion in chat: the final survey button, the invitation of a finished mentee into the mentor base,
/close_pair (curator), /cases (the case base; the curator proposes a best practice, members consent),
/honour and /honour_optout (the mentors' honour board), /certificate (PNG or PDF). Each handler parses, calls
one function of bot/services/completion.py and renders its outcome."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks.completion import (
    Answer,
    BecomeMentorCb,
    CaseAction,
    CaseCb,
    CaseConsentCb,
    CertificateCb,
    CertificateFormat,
    ClosePairCb,
    FinalSurveyCb,
)
from bot.clock import Clock
from bot.config import Settings
from bot.domain.entities import PairDTO, ParticipantDTO, Role
from bot.domain.grammar import format_date
from bot.filenames import file_name
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only, only_for
from bot.services import certificate as cert
from bot.services import completion as svc
from bot.services.questionnaires import Engine
from bot.services.register import person_register, ty_key
from handlers.menu import refresh_menu
from handlers.programmes import for_change
from handlers.questionnaire import show
from storage.uow import Repos

CASES_SHOWN = 10
PAIRS_SHOWN = 40
CERTIFICATE_PAIRS_SHOWN = 20
HONOUR_SHOWN = 30
# A consent answer that changed nothing: the case was decided or withdrawn, or they had answered.
CONSENT_REFUSED = {"stale": "completion.case.consent_closed", "already": "completion.case.consent_already"}


class ClosePair(StatesGroup):
    reason = State()


class CaseStoryInput(StatesGroup):
    story = State()


def _d(t: Translator, dt: Any, tz: Any, today: date) -> str:
    return format_date(t, dt.astimezone(tz).date(), today=today) if dt else "…"


def _pair_buttons(pairs: list[tuple[PairDTO, str]], cb: Any) -> Any:
    """One button a row, "#id Mentor → Mentees", whose data is cb(pair)."""
    builder = InlineKeyboardBuilder()
    for pair, label in pairs:
        builder.button(text=f"#{pair.id} {label}", callback_data=cb(pair))
    return builder.adjust(1).as_markup()


# ---------------------------------------------------------------------- the final survey, the mentor offer
async def final_survey(
    cb: CallbackQuery,
    callback_data: FinalSurveyCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    response = await svc.open_final_survey(repos, engine, me, callback_data.pair, clock())
    if isinstance(response, svc.Refusal):
        await cb.answer(t(response), show_alert=True)
        return
    await cb.answer()
    await show(cb.message, engine, response, t, state)


async def become_mentor(
    cb: CallbackQuery,
    callback_data: BecomeMentorCb,
    state: FSMContext,
    repos: Repos,
    bot: Bot,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    now, accept = clock(), callback_data.a == Answer.YES
    outcome = await svc.answer_mentor_offer(repos, engine, me, callback_data.pair, accept, now)
    if isinstance(outcome, svc.Refusal):
        await cb.answer(t(outcome), show_alert=True)
        return
    await cb.answer()
    await cb.message.edit_reply_markup(reply_markup=None)
    if not outcome.joined:
        register = await person_register(repos, me)  # the pupil who said "not now" is told «ты»
        await cb.message.answer(t(ty_key("completion.mentor_offer_later", register)))
        return
    fresh = await repos.participants.get(me.id)
    if fresh is not None:
        await refresh_menu(bot, repos, fresh, now, settings)
    if outcome.form is None:
        await cb.message.answer(t("completion.mentor_joined"))
        return
    await cb.message.answer(t("completion.mentor_form_intro"))
    await show(cb.message, engine, outcome.form, t, state)


# ---------------------------------------------------------------------- curator: close a pair early
async def close_pair(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    pairs = await svc.closable_pairs(repos, programme.id)
    if not pairs:
        await message.answer(t("completion.close.none"))
        return
    markup = _pair_buttons(pairs[:PAIRS_SHOWN], lambda p: ClosePairCb(pair=p.id))
    await message.answer(t("completion.close.choose"), reply_markup=markup)


async def close_pick(
    cb: CallbackQuery, callback_data: ClosePairCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    found = await svc.active_pair(repos, callback_data.pair)
    if found is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    pair, label = found
    await state.set_state(ClosePair.reason)
    await state.set_data({"pair": pair.id})
    await cb.answer()
    await cb.message.answer(t("completion.close.ask_reason", pair=label))


async def close_reason(
    message: Message,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    reminders: Any,
) -> None:
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


# ---------------------------------------------------------------------- the case base
async def cases(
    message: Message, repos: Repos, t: Translator, me: ParticipantDTO, settings: Settings, clock: Clock
) -> None:
    base = await svc.case_base(repos, me)
    views, tz = base.published, settings.tz
    today = clock().astimezone(tz).date()
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
                date_from=_d(t, v.date_from, tz, today),
                date_to=_d(t, v.date_to, tz, today),
                story=v.case.story,
            )
        )
    if len(views) > CASES_SHOWN:
        await message.answer(t("completion.case.more", count=len(views) - CASES_SHOWN))
    if base.waiting is not None:
        await _waiting_cases(message, t, base.waiting)


async def _waiting_cases(message: Message, t: Translator, waiting: list[svc.CaseView]) -> None:
    """The curator's part of /cases: stories waiting for consent, and the button to propose one."""
    lines = [t("completion.case.waiting_header")] if waiting else []
    for v in waiting:
        lines.append(
            t(
                "completion.case.waiting_item",
                id=v.case.id,
                mentor=v.mentor,
                mentees=", ".join(v.mentees),
                agreed=sum(1 for a in v.case.consents.values() if a),
                total=len(v.case.consents),
            )
        )
    lines.append(t("completion.case.curator_hint"))
    markup = InlineKeyboardBuilder().button(
        text=t("completion.btn.add_case"), callback_data=CaseCb(a=CaseAction.NEW)
    )
    await message.answer("\n".join(lines), reply_markup=markup.as_markup())


async def case_new(cb: CallbackQuery, repos: Repos, t: Translator) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await cb.answer()
    candidates = await svc.case_candidates(repos)
    if not candidates:
        await cb.message.answer(t("completion.case.no_candidates"))
        return
    markup = _pair_buttons(candidates[-PAIRS_SHOWN:], lambda p: CaseCb(a=CaseAction.PICK, pair=p.id))
    await cb.message.answer(t("completion.case.choose"), reply_markup=markup)


async def case_pick(
    cb: CallbackQuery, callback_data: CaseCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    found = await svc.case_candidate(repos, callback_data.pair)
    if found is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    pair, label = found
    await state.set_state(CaseStoryInput.story)
    await state.set_data({"pair": pair.id})
    await cb.answer()
    await cb.message.answer(t("completion.case.ask_story", pair=label, min=svc.STORY_MIN, max=svc.STORY_MAX))


async def case_story(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
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


async def case_consent(
    cb: CallbackQuery,
    callback_data: CaseConsentCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
) -> None:
    agreed = callback_data.a == Answer.YES
    outcome = await svc.answer_case(repos, callback_data.case, me, agreed, clock())
    refused = CONSENT_REFUSED.get(outcome.result)
    if refused is not None:
        await cb.answer(t(refused), show_alert=True)
        return
    await cb.answer()
    if isinstance(cb.message, Message):
        await cb.message.edit_reply_markup(reply_markup=None)
        await cb.message.answer(t("completion.case.thanks_yes" if agreed else "completion.case.thanks_no"))


# ---------------------------------------------------------------------- the honour board
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
        lines.append(t("completion.honour.item", n=n, name=row.name, finished=row.finished, rating=rating))
    if me.has(Role.MENTOR):
        lines += ["", t("completion.honour.optout_hint")]
    await message.answer("\n".join(lines))


async def honour_optout(
    message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    shown = await svc.toggle_honour(repos, me, clock())
    await message.answer(t("completion.honour.shown" if shown else "completion.honour.hidden"))


# ---------------------------------------------------------------------- certificates
async def _send_certificate(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    pair_id: int,
    fmt: str,
    clock: Clock,
    settings: Settings,
) -> bool:
    data = await svc.issue_certificate(repos, me, pair_id, clock(), settings.timezone)
    if isinstance(data, svc.Refusal):
        return False
    content = await asyncio.to_thread(cert.render, data, t, fmt)
    await message.answer_document(
        BufferedInputFile(content, filename=file_name(t, "certificate", fmt, number=data.number or None)),
        caption=t("completion.certificate.caption", programme=data.programme),
    )
    return True


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
        await _send_certificate(message, repos, t, me, pairs[0][0].id, fmt, clock, settings)
        return
    markup = _pair_buttons(
        pairs[:CERTIFICATE_PAIRS_SHOWN], lambda p: CertificateCb(pair=p.id, f=CertificateFormat(fmt))
    )
    await message.answer(t("completion.certificate.choose"), reply_markup=markup)


async def certificate_pick(
    cb: CallbackQuery,
    callback_data: CertificateCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    settings: Settings,
) -> None:
    if not isinstance(cb.message, Message) or not await _send_certificate(
        cb.message, repos, t, me, callback_data.pair, callback_data.f, clock, settings
    ):
        await cb.answer(t("completion.certificate.not_yours"), show_alert=True)
        return
    await cb.answer()


def routers() -> list[Router]:
    """Members of a pair (the survey, the offer, consent, certificates), everyone (/cases, /honour), mentors
    (/honour_optout) and curators (closing a pair, proposing a case, their states)."""
    paired = only_for(Router(name=f"{__name__}.paired"), Role.MENTEE, Role.MENTOR)
    paired.callback_query.register(final_survey, FinalSurveyCb.filter())
    paired.callback_query.register(become_mentor, BecomeMentorCb.filter())
    paired.callback_query.register(case_consent, CaseConsentCb.filter())
    paired.message.register(certificate, Command("certificate"))
    paired.callback_query.register(certificate_pick, CertificateCb.filter())
    anyone = only_for(Router(name=f"{__name__}.anyone"), Role.MENTEE, Role.MENTOR, Role.CURATOR, Role.PARENT)
    anyone.message.register(cases, Command("cases"))
    anyone.message.register(honour, Command("honour"))
    mentor = only_for(Router(name=f"{__name__}.mentor"), Role.MENTOR)
    mentor.message.register(honour_optout, Command("honour_optout"))
    curator = curators_only(f"{__name__}.curator")
    curator.message.register(close_pair, Command("close_pair"))
    curator.callback_query.register(close_pick, ClosePairCb.filter())
    curator.message.register(close_reason, ClosePair.reason, F.text, ~F.text.startswith("/"))
    curator.callback_query.register(case_new, CaseCb.filter(F.a == CaseAction.NEW))
    curator.callback_query.register(case_pick, CaseCb.filter(F.a == CaseAction.PICK))
    curator.message.register(case_story, CaseStoryInput.story, F.text, ~F.text.startswith("/"))
    return [paired, anyone, mentor, curator]
