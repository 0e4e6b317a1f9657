"""Curator's matching: /match (proposals with reasons, approve/reject, page by page), /pair (by hand),
/pairs (pairs and groups with their stage; dissolve with a reason). Use cases are in
bot/services/matching.py."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, ReplyKeyboardRemove

from bot.callbacks.dashboard import NudgePairCb, OpenPairCb
from bot.callbacks.matching import (
    ManualCb,
    ManualStep,
    MatchAction,
    MatchCb,
    PairAction,
    PairCb,
)
from bot.callbacks.picks import Pick, PickRequest, Shared, picker
from bot.clock import Clock
from bot.config import Settings
from bot.domain import matching as m
from bot.domain.entities import PairDTO, ParticipantDTO, Role
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.middlewares.access import curators_only
from bot.services import matching as svc
from bot.services import picks
from bot.services.questionnaires import Engine
from bot.text import MESSAGE_LIMIT, clip, paginate, units
from handlers.menu import with_desk
from handlers.programmes import for_change, refusal
from handlers.states import Dissolve
from storage.uow import Repos

PAIRS_PAGE = 10
SHOWN = 40  # people offered as buttons in /pair


def reason_text(reason: dict, engine: Engine, t: Translator) -> str:
    """An optimiser reason in words; area and slot codes become the mentor form's option texts."""
    params = dict(reason.get("params") or {})
    form = engine.forms.get("mentor")
    for key in ("areas", "slots"):
        if key in params and form is not None and key in form.keys:
            q = form.question(key)
            params[key] = ", ".join(
                (o.text.get(t.lang) if (o := q.option(code)) else code)
                for code in str(params[key]).split(", ")
            )
    return t(reason["code"], **params)


# ------------------------------------------------------------------------------------------ /match
def _proposals_view(
    page: svc.ProposalsPage, run: str, engine: Engine, t: Translator
) -> tuple[str, InlineKeyboardMarkup]:
    decided = page.total - page.open
    header = t(
        "matching.page_header",
        total=page.total,
        open=page.open,
        decided=decided,
        page=page.page + 1,
        pages=page.pages,
    )
    lines = [header]
    kb = InlineKeyboardBuilder()
    for n, p in enumerate(page.proposals, page.first):
        reasons = "; ".join(reason_text(r, engine, t) for r in p.reasons)
        names = {"mentee": page.names[p.mentee_id], "mentor": page.names[p.mentor_id]}
        lines += ["", t("matching.proposal", n=n, score=round(p.score * 100), reasons=reasons, **names)]
        kb.button(
            text=t("matching.approve_n", n=n), callback_data=MatchCb(a=MatchAction.APPROVE, run=run, n=p.id)
        )
        kb.button(
            text=t("matching.reject_n", n=n), callback_data=MatchCb(a=MatchAction.REJECT, run=run, n=p.id)
        )
    sizes = [2] * len(page.proposals)
    nav = [(page.page > 0, "«", page.page - 1), (page.page < page.pages - 1, "»", page.page + 1)]
    for shown, arrow, target in nav:
        if shown:
            kb.button(text=arrow, callback_data=MatchCb(a=MatchAction.PAGE, run=run, n=target))
    if any(shown for shown, _, _ in nav):
        sizes.append(sum(shown for shown, _, _ in nav))
    if page.open:
        all_cb = MatchCb(a=MatchAction.APPROVE_ALL, run=run, n=0)
        kb.button(text=t("matching.approve_all", count=page.open), callback_data=all_cb)
        sizes.append(1)
    else:
        lines += ["", t("matching.nothing_open")]
    return "\n".join(lines), kb.adjust(*sizes).as_markup()


async def match(
    message: Message,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    settings: Settings,
    clock: Clock,
    engine: Engine,
) -> None:
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    run, assignment = await svc.propose(repos, programme, clock())
    if assignment.proposals:
        text, markup = _proposals_view(await svc.proposals_page(repos, run, 0), run, engine, t)
        await message.answer(text, reply_markup=with_desk(markup, me, settings, t, "matching"))
    else:
        await message.answer(t("matching.no_proposals"))
    if assignment.unmatched:
        names = await svc.names_of(repos, {u.mentee_id for u in assignment.unmatched})
        lines = [t("matching.unmatched_header", count=len(assignment.unmatched))]
        lines += [f"• {names[u.mentee_id]} — {t(u.reason)}" for u in assignment.unmatched[:50]]
        lines += ["", t("matching.unmatched_hint")]
        await message.answer("\n".join(lines))


async def _show_run(
    cb: CallbackQuery, repos: Repos, run: str, page: int, engine: Engine, t: Translator
) -> None:
    if isinstance(cb.message, Message):
        text, markup = _proposals_view(await svc.proposals_page(repos, run, page), run, engine, t)
        await cb.message.edit_text(text, reply_markup=markup)


async def match_page(
    cb: CallbackQuery, callback_data: MatchCb, repos: Repos, t: Translator, engine: Engine
) -> None:
    await cb.answer()
    await _show_run(cb, repos, callback_data.run, callback_data.n, engine, t)


async def match_decide(
    cb: CallbackQuery,
    callback_data: MatchCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    approve = callback_data.a == MatchAction.APPROVE
    outcome = await svc.decide(repos, callback_data.run, callback_data.n, approve, me, clock(), engine.forms)
    d = svc.Decision
    if outcome.decision == d.STALE:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if outcome.decision == d.ARCHIVED:
        await cb.answer(refusal(t, outcome.programme), show_alert=True)
        return
    if outcome.decision in (d.ALREADY_PAIRED, d.CAPACITY):
        await cb.answer(t(f"matching.problem.{outcome.decision}"), show_alert=True)
    elif outcome.decision == d.REJECTED:
        await cb.answer(t("matching.rejected"))
    elif outcome.decision == d.APPROVED:
        await cb.answer(t("matching.approved"))
    else:  # a rejection of a decided proposal is said quietly, a failed approval aloud
        await cb.answer(t("matching.already_decided"), show_alert=approve)
    await _show_run(cb, repos, callback_data.run, 0, engine, t)


async def match_all(
    cb: CallbackQuery,
    callback_data: MatchCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    if not isinstance(cb.message, Message):
        await cb.answer()
        return
    created = await svc.approve_all(repos, callback_data.run, me, clock(), engine.forms)
    await cb.answer(t("matching.approved_count", count=created), show_alert=True)
    await _show_run(cb, repos, callback_data.run, 0, engine, t)


# ------------------------------------------------------------------------------------------ /pair
async def pair_by_hand(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    pool = await svc.build_pool(repos, programme)
    if not pool.mentees or not pool.mentors:
        await message.answer(t("matching.manual_nobody"))
        return
    kb = InlineKeyboardBuilder()
    for x in pool.mentees[:SHOWN]:
        kb.button(
            text=pool.people[x.id].full_name or "—", callback_data=ManualCb(a=ManualStep.MENTEE, mentee=x.id)
        )
    await message.answer(t("matching.manual_choose_mentee"), reply_markup=kb.adjust(1).as_markup())
    # Past the first SHOWN, or quicker than a long list: the mentee chosen in Telegram's list of chats.
    button = picker(t("conventions.pick.pair_mentee_button"), PickRequest(Pick.PAIR_MENTEE))
    await message.answer(t("conventions.pick.pair_mentee_hint"), reply_markup=button)


def _mentor_choice(pool: svc.Pool, mentee_id: int, t: Translator) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for x in pool.mentors[:SHOWN]:
        name = pool.people[x.id].full_name or "—"
        kb.button(
            text=t("matching.mentor_load", name=name, load=x.load, capacity=x.capacity),
            callback_data=ManualCb(a=ManualStep.MENTOR, mentee=mentee_id, mentor=x.id),
        )
    return kb.adjust(1).as_markup()


async def manual_mentor(
    cb: CallbackQuery, callback_data: ManualCb, repos: Repos, t: Translator, me: ParticipantDTO
) -> None:
    """The mentee is chosen: the mentors, with their load."""
    programme = await for_change(repos, me, t, cb)
    if programme is None or not isinstance(cb.message, Message):
        return
    pool = await svc.build_pool(repos, programme)
    markup = _mentor_choice(pool, callback_data.mentee, t)
    await cb.message.edit_text(t("matching.manual_choose_mentor"), reply_markup=markup)
    await cb.answer()


async def mentee_chosen(
    message: Message, shared_id: int, repos: Repos, t: Translator, me: ParticipantDTO
) -> None:
    """The mentee chosen in Telegram: the mentors to choose from, by button or in Telegram again."""
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    mentee = await picks.pair_side(repos, programme, shared_id, Role.MENTEE)
    if isinstance(mentee, picks.Problem):
        await message.answer(t(mentee.value), reply_markup=ReplyKeyboardRemove())
        return
    button = picker(t("conventions.pick.pair_mentor_button"), PickRequest(Pick.PAIR_MENTOR, mentee.id))
    await message.answer(t("conventions.pick.pair_mentor_hint", name=mentee.full_name), reply_markup=button)
    pool = await svc.build_pool(repos, programme)
    await message.answer(t("matching.manual_choose_mentor"), reply_markup=_mentor_choice(pool, mentee.id, t))


def _manual_outcome(
    done: svc.Manual, mentee: int, mentor: int, t: Translator
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A pairing by hand made, or the constraints it breaks with «create anyway»."""
    if done.pair is not None:
        return t("matching.manual_done"), None
    lines = [t("matching.manual_warning")] + [f"• {t(m.violation_key(v))}" for v in done.violations]
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("matching.manual_force"),
        callback_data=ManualCb(a=ManualStep.FORCE, mentee=mentee, mentor=mentor),
    )
    return "\n".join(lines), kb.as_markup()


async def mentor_chosen(
    message: Message,
    pick: PickRequest,
    shared_id: int,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    """The mentor chosen in Telegram for the mentee the button named (checked again by the pairing)."""
    programme = await for_change(repos, me, t, message)
    if programme is None:
        return
    mentor = await picks.pair_side(repos, programme, shared_id, Role.MENTOR)
    if isinstance(mentor, picks.Problem):
        await message.answer(t(mentor.value), reply_markup=ReplyKeyboardRemove())
        return
    done = await svc.pair_by_hand(repos, programme, pick.n, mentor.id, False, me.id, clock(), engine.forms)
    if done.stale:
        await message.answer(t("common.stale"), reply_markup=ReplyKeyboardRemove())
        return
    text, markup = _manual_outcome(done, pick.n, mentor.id, t)
    await message.answer(text, reply_markup=markup or ReplyKeyboardRemove())


async def manual_pair(
    cb: CallbackQuery,
    callback_data: ManualCb,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
    clock: Clock,
    engine: Engine,
) -> None:
    """Both are chosen: pair them, or warn what the pairing breaks (and pair on «create anyway»)."""
    d = callback_data
    programme = await for_change(repos, me, t, cb)
    if programme is None or not isinstance(cb.message, Message):
        return
    force = d.a == ManualStep.FORCE
    done = await svc.pair_by_hand(repos, programme, d.mentee, d.mentor, force, me.id, clock(), engine.forms)
    if done.stale:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    text, markup = _manual_outcome(done, d.mentee, d.mentor, t)
    await cb.message.edit_text(text, reply_markup=markup)
    await cb.answer()


# ------------------------------------------------------------------------------------------ /pairs
def _pairs_view(
    active: list[PairDTO], names: dict[int, str], page: int, t: Translator
) -> tuple[str, InlineKeyboardMarkup]:
    # A page holds up to PAIRS_PAGE pairs and, with its header, what one message takes: a group with long
    # names fills a message sooner. Paging edits the message in place, so every page is one message.
    entries = [
        t(
            "matching.pair_line",
            id=p.id,
            mentor=names[p.mentor_id],
            mentees=", ".join(names[x] for x in p.mentee_ids),
            stage=t(f"meetings.stage.{p.stage}"),
        )
        for p in active
    ]
    header = t("matching.pairs_header", count=len(active))
    widest = t("matching.pairs_page", page=len(active), pages=len(active))
    budget = MESSAGE_LIMIT - units(f"{header}\n{widest}\n")
    bounds = paginate(entries, per_page=PAIRS_PAGE, budget=budget)
    page = min(max(page, 0), len(bounds) - 1)
    start, end = bounds[page]
    lines = [header, t("matching.pairs_page", page=page + 1, pages=len(bounds))]
    lines += [clip(line, budget) for line in entries[start:end]]
    kb = InlineKeyboardBuilder()
    for p in active[start:end]:
        group = "group" if len(p.mentee_ids) > 1 else "pair"  # a mentor with several mentees leads a group
        kb.button(text=t(f"meeting.btn.open_{group}", id=p.id), callback_data=OpenPairCb(pair=p.id))
        kb.button(text=t(f"meeting.btn.nudge_{group}", id=p.id), callback_data=NudgePairCb(pair=p.id))
        kb.button(
            text=t("matching.dissolve_n", id=p.id), callback_data=PairCb(a=PairAction.DISSOLVE, pair=p.id)
        )
    sizes = [3] * (end - start)
    if page > 0:
        kb.button(text="«", callback_data=PairCb(a=PairAction.PAGE, pair=page - 1))
    if page < len(bounds) - 1:
        kb.button(text="»", callback_data=PairCb(a=PairAction.PAGE, pair=page + 1))
    sizes.append(2)
    return "\n".join(lines), kb.adjust(*sizes).as_markup()


async def _pairs_page(
    repos: Repos, t: Translator, me: ParticipantDTO, query: str, page: int
) -> tuple[str, InlineKeyboardMarkup] | None:
    active, names = await svc.active_pairs(repos, me.id, query, lambda stage: t(f"meetings.stage.{stage}"))
    return _pairs_view(active, names, page, t) if active else None


async def pairs(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
) -> None:
    query = " ".join((command.args or "").split())[:40]
    page = await _pairs_page(repos, t, me, query, 0)
    if page is None:
        await message.answer(t("matching.no_pairs"))
        return
    await state.update_data(pairs_query=query)
    await message.answer(page[0], reply_markup=page[1])


async def pairs_turn_page(
    cb: CallbackQuery,
    callback_data: PairCb,
    state: FSMContext,
    repos: Repos,
    t: Translator,
    me: ParticipantDTO,
) -> None:
    if isinstance(cb.message, Message):
        query = (await state.get_data()).get("pairs_query", "")
        page = await _pairs_page(repos, t, me, query, callback_data.pair)
        if page is not None:
            await cb.message.edit_text(page[0], reply_markup=page[1])
    await cb.answer()


async def dissolve_ask(
    cb: CallbackQuery, callback_data: PairCb, state: FSMContext, repos: Repos, t: Translator
) -> None:
    """Whom to take out of a group (a pair has one mentee), then the reason."""
    pair = await svc.active_pair(repos, callback_data.pair)
    if pair is None or not isinstance(cb.message, Message):
        await cb.answer(t("common.stale"), show_alert=True)
        return
    if callback_data.a == PairAction.DISSOLVE and len(pair.mentee_ids) > 1:
        names = await svc.names_of(repos, set(pair.mentee_ids))
        kb = InlineKeyboardBuilder()
        for x in pair.mentee_ids:
            kb.button(text=names[x], callback_data=PairCb(a=PairAction.WHO, pair=pair.id, mentee=x))
        await cb.message.answer(t("matching.dissolve_whom"), reply_markup=kb.adjust(1).as_markup())
        await cb.answer()
        return
    mentee = callback_data.mentee if callback_data.a == PairAction.WHO else pair.mentee_ids[0]
    if mentee not in pair.mentee_ids:
        await cb.answer(t("common.stale"), show_alert=True)
        return
    await state.set_state(Dissolve.reason)
    await state.set_data({"pair": pair.id, "mentee": mentee})
    await cb.message.answer(t("matching.dissolve_reason"))
    await cb.answer()


class _Conversations:
    """The dispatcher's FSM storage (SQL or Redis) as bot/services/matching.py sees it: by private chat."""

    def __init__(self, state: FSMContext) -> None:
        self.state = state

    def _key(self, chat_id: int) -> StorageKey:
        return StorageKey(bot_id=self.state.key.bot_id, chat_id=chat_id, user_id=chat_id)

    async def data(self, chat_id: int) -> dict[str, Any]:
        return await self.state.storage.get_data(self._key(chat_id))

    async def end(self, chat_id: int) -> None:
        await self.state.storage.set_state(self._key(chat_id), None)
        await self.state.storage.set_data(self._key(chat_id), {})


async def dissolve_reason(
    message: Message, state: FSMContext, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock
) -> None:
    reason = " ".join((message.text or "").split())
    if not 5 <= len(reason) <= 300:
        await message.answer(t("matching.dissolve_reason_bad"))
        await message.answer(t("matching.dissolve_reason"))
        return
    data = await state.get_data()
    await state.clear()
    pair_id, mentee = int(data.get("pair", 0)), int(data.get("mentee", 0))
    if not await svc.dissolve(repos, pair_id, mentee, reason, me.id, clock(), _Conversations(state)):
        await message.answer(t("common.stale"))
        return
    await message.answer(t("matching.dissolved_done"))


# ------------------------------------------------------------------------------------------ wiring
def routers() -> list[Router]:
    """Every command, button and state here is the curators'. Built fresh per dispatcher."""
    r = curators_only(f"{__name__}.curators")
    r.message.register(match, Command("match"))
    r.callback_query.register(match_page, MatchCb.filter(F.a == MatchAction.PAGE))
    r.callback_query.register(
        match_decide, MatchCb.filter(F.a.in_({MatchAction.APPROVE, MatchAction.REJECT}))
    )
    r.callback_query.register(match_all, MatchCb.filter(F.a == MatchAction.APPROVE_ALL))
    r.message.register(pair_by_hand, Command("pair"))
    r.callback_query.register(manual_mentor, ManualCb.filter(F.a == ManualStep.MENTEE))
    r.callback_query.register(manual_pair, ManualCb.filter(F.a.in_({ManualStep.MENTOR, ManualStep.FORCE})))
    r.message.register(mentee_chosen, Shared(Pick.PAIR_MENTEE))
    r.message.register(mentor_chosen, Shared(Pick.PAIR_MENTOR))
    r.message.register(pairs, Command("pairs"))
    r.callback_query.register(pairs_turn_page, PairCb.filter(F.a == PairAction.PAGE))
    r.callback_query.register(dissolve_ask, PairCb.filter(F.a.in_({PairAction.DISSOLVE, PairAction.WHO})))
    r.message.register(dissolve_reason, Dissolve.reason, F.text, ~F.text.startswith("/"))
    return [r]
