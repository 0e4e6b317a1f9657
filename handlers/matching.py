"""Curator's matching: /match (proposals with reasons, approve/reject, page by page), /pair (by hand),
/pairs (pairs and groups with their stage; dissolve with a reason)."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.callbacks import Callback
from bot.callbacks.dashboard import NudgePairCb, OpenPairCb
from bot.clock import Clock
from bot.domain import matching as m
from bot.domain.entities import NewMessage, ParticipantDTO, ProposalDTO, Role
from bot.i18n import Translator
from bot.services import matching as svc
from bot.services import programmes
from bot.services.questionnaires import Engine
from bot.text import MESSAGE_LIMIT, clip, paginate, units
from handlers.programmes import for_change, is_archived, refusal
from handlers.states import Dissolve
from storage.uow import Repos

CURATOR = {"roles": {Role.CURATOR}}
PAGE = 5
PAIRS_PAGE = 10


class MatchCb(Callback, prefix="cm"):
    a: str  # ok | no | all | pg
    run: str
    n: int  # proposal id, or page number


class ManualCb(Callback, prefix="cx"):
    a: str  # mentee | mentor | force
    mentee: int = 0
    mentor: int = 0


class PairCb(Callback, prefix="cp"):
    a: str  # dis (ask whom) | who (chosen mentee) | pg (page; `pair` holds the page number)
    pair: int
    mentee: int = 0


def _b(text: str, cb: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


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


async def _names(repos: Repos, ids: set[int]) -> dict[int, str]:
    out = {}
    for pid in ids:
        p = await repos.participants.get(pid)
        out[pid] = (p.full_name if p else None) or "—"
    return out


async def render_page(
    repos: Repos, engine: Engine, run: str, page: int, t: Translator
) -> tuple[str, InlineKeyboardMarkup]:
    props = await repos.pairs.proposals(run)
    open_props = [p for p in props if p.status == "proposed"]
    pages = max(1, (len(open_props) + PAGE - 1) // PAGE)
    page = min(max(page, 0), pages - 1)
    chunk = open_props[page * PAGE : (page + 1) * PAGE]
    names = await _names(repos, {p.mentee_id for p in chunk} | {p.mentor_id for p in chunk})
    decided = len(props) - len(open_props)
    lines = [
        t(
            "matching.page_header",
            total=len(props),
            open=len(open_props),
            decided=decided,
            page=page + 1,
            pages=pages,
        )
    ]
    rows: list[list[InlineKeyboardButton]] = []
    for n, p in enumerate(chunk, page * PAGE + 1):
        reasons = "; ".join(reason_text(r, engine, t) for r in p.reasons)
        lines += [
            "",
            t(
                "matching.proposal",
                n=n,
                mentee=names[p.mentee_id],
                mentor=names[p.mentor_id],
                score=round(p.score * 100),
                reasons=reasons,
            ),
        ]
        rows.append(
            [
                _b(t("matching.approve_n", n=n), MatchCb(a="ok", run=run, n=p.id)),
                _b(t("matching.reject_n", n=n), MatchCb(a="no", run=run, n=p.id)),
            ]
        )
    nav = []
    if page > 0:
        nav.append(_b("«", MatchCb(a="pg", run=run, n=page - 1)))
    if page < pages - 1:
        nav.append(_b("»", MatchCb(a="pg", run=run, n=page + 1)))
    if nav:
        rows.append(nav)
    if open_props:
        rows.append([_b(t("matching.approve_all", count=len(open_props)), MatchCb(a="all", run=run, n=0))])
    else:
        lines += ["", t("matching.nothing_open")]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def forget_pair_conversations(
    state: FSMContext, repos: Repos, pair_id: int, participant_ids: list[int], now: datetime
) -> None:
    """Clear these people's conversation state when it is about this pair (a /meeting or /goals step, a
    meeting's cancellation or feedback form); any other conversation of theirs is left alone. Through the
    dispatcher's storage (SQL or Redis), so the next step finds no state, whichever storage is configured.
    Each step re-checks membership anyway; this spares them a question that can no longer be answered, and
    tells them so."""
    ended: list[NewMessage] = []
    meetings = {mt.id for mt in await repos.meetings.for_pair(pair_id)}
    contexts = {f"meeting:{mid}" for mid in meetings}
    for pid in participant_ids:
        person = await repos.participants.get(pid)
        if person is None or person.telegram_id is None:
            continue
        key = StorageKey(bot_id=state.key.bot_id, chat_id=person.telegram_id, user_id=person.telegram_id)
        data = await state.storage.get_data(key)
        about = data.get("pair") == pair_id or data.get("meeting") in meetings
        if not about and data.get("rid"):
            response = await repos.forms.get(int(data["rid"]))
            about = response is not None and response.status != "submitted" and response.context in contexts
        if about:
            await state.storage.set_state(key, None)
            await state.storage.set_data(key, {})
            ended.append(
                NewMessage(
                    chat_id=person.telegram_id,
                    participant_id=person.id,
                    kind="pair",
                    priority=2,  # right after the notice that the pair changed
                    text=Translator(person.language)("timebound.conversation_ended"),
                    dedup_key=f"pair-conversation-ended:{pair_id}:{person.id}:{now.isoformat()}",
                )
            )
    await repos.outbox.enqueue(ended, now)


def router(engine: Engine) -> Router:
    r = Router(name=__name__)

    @r.message(Command("match"), flags=CURATOR)
    async def match(message: Message, repos: Repos, t: Translator, me: ParticipantDTO, clock: Clock) -> None:
        programme = await for_change(repos, me, t, message)
        if programme is None:
            return
        run, assignment = await svc.propose(repos, programme, clock())
        if assignment.proposals:
            text, markup = await render_page(repos, engine, run, 0, t)
            await message.answer(text, reply_markup=markup)
        else:
            await message.answer(t("matching.no_proposals"))
        if assignment.unmatched:
            names = await _names(repos, {u.mentee_id for u in assignment.unmatched})
            lines = [t("matching.unmatched_header", count=len(assignment.unmatched))]
            lines += [f"• {names[u.mentee_id]} — {t(u.reason)}" for u in assignment.unmatched[:50]]
            lines += ["", t("matching.unmatched_hint")]
            await message.answer("\n".join(lines))

    async def _approve(repos: Repos, p: ProposalDTO, me: ParticipantDTO, clock: Clock) -> svc.Approval:
        # The pair belongs to the programme the proposal was made in, whichever one the curator is on now.
        return await svc.approve(repos, p, me.id, p.programme_id, clock(), engine.forms)

    @r.callback_query(MatchCb.filter(), flags=CURATOR)
    async def match_button(
        cb: CallbackQuery,
        callback_data: MatchCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        d = callback_data
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        page = 0
        if d.a == "pg":
            page = d.n
            await cb.answer()
        elif d.a in ("ok", "no"):
            p = await repos.pairs.proposal(d.n)
            if p is None or p.run_id != d.run:
                await cb.answer(t("common.stale"), show_alert=True)
                return
            if await is_archived(repos, p.programme_id):
                await cb.answer(refusal(t, await repos.programmes.get(p.programme_id or 0)), show_alert=True)
                return
            if d.a == "no":
                done = await repos.pairs.decide(p.id, "rejected", clock())
                await cb.answer(t("matching.rejected" if done else "matching.already_decided"))
            else:
                result = await _approve(repos, p, me, clock)
                key = (
                    "matching.approved"
                    if result.created
                    else f"matching.problem.{result.problem}"
                    if result.problem
                    else "matching.already_decided"
                )
                await cb.answer(t(key), show_alert=not result.created)
        elif d.a == "all":
            created = 0
            for p in await repos.pairs.proposals(d.run, status="proposed"):
                if not await is_archived(repos, p.programme_id):
                    created += (await _approve(repos, p, me, clock)).created
            await cb.answer(t("matching.approved_count", count=created), show_alert=True)
        if d.a != "pg":
            # The last decision of the run ends the round: the mentees left without a pair are told.
            await svc.finish_round(repos, d.run, me, clock())
        text, markup = await render_page(repos, engine, d.run, page, t)
        await cb.message.edit_text(text, reply_markup=markup)

    # ------------------------------------------------------------------------------- by hand
    @r.message(Command("pair"), flags=CURATOR)
    async def pair_by_hand(message: Message, repos: Repos, t: Translator, me: ParticipantDTO) -> None:
        programme = await for_change(repos, me, t, message)
        if programme is None:
            return
        pool = await svc.build_pool(repos, programme)
        if not pool.mentees or not pool.mentors:
            await message.answer(t("matching.manual_nobody"))
            return
        rows = [
            [_b(pool.people[x.id].full_name or "—", ManualCb(a="mentee", mentee=x.id))]
            for x in pool.mentees[:40]
        ]
        await message.answer(
            t("matching.manual_choose_mentee"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )

    @r.callback_query(ManualCb.filter(), flags=CURATOR)
    async def manual(
        cb: CallbackQuery,
        callback_data: ManualCb,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
        clock: Clock,
    ) -> None:
        d = callback_data
        if not isinstance(cb.message, Message):
            await cb.answer()
            return
        programme = await for_change(repos, me, t, cb)
        if programme is None:
            return
        if d.a == "mentee":
            pool = await svc.build_pool(repos, programme)
            rows = [
                [
                    _b(
                        t(
                            "matching.mentor_load",
                            name=pool.people[x.id].full_name or "—",
                            load=x.load,
                            capacity=x.capacity,
                        ),
                        ManualCb(a="mentor", mentee=d.mentee, mentor=x.id),
                    )
                ]
                for x in pool.mentors[:40]
            ]
            await cb.message.edit_text(
                t("matching.manual_choose_mentor"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
            await cb.answer()
            return
        violations = await svc.manual_violations(repos, programme, d.mentee, d.mentor)
        in_programme = await repos.programmes.scope(programme.id)
        if violations is None or await repos.pairs.active_of_mentee(d.mentee, in_programme) is not None:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        if violations and d.a != "force":
            lines = [t("matching.manual_warning")] + [f"• {t(m.violation_key(v))}" for v in violations]
            rows = [[_b(t("matching.manual_force"), ManualCb(a="force", mentee=d.mentee, mentor=d.mentor))]]
            await cb.message.edit_text(
                "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
            await cb.answer()
            return
        now = clock()
        pair = await svc.create_pairing(repos, programme.id, d.mentee, d.mentor, me.id, now)
        if violations:
            await repos.audit.log(
                "pair.force",
                now,
                actor_id=me.id,
                object_type="pair",
                object_id=pair.id,
                violations=",".join(violations),
            )
        await svc.announce(repos, pair, d.mentee, now, engine.forms)
        await cb.message.edit_text(t("matching.manual_done"))
        await cb.answer()

    # ------------------------------------------------------------------------------- pairs
    async def _pairs_page(
        repos: Repos, t: Translator, me: ParticipantDTO, query: str, page: int
    ) -> tuple[str, InlineKeyboardMarkup] | None:
        programme = await programmes.current(repos, me.id)
        active = await repos.pairs.active(scope=await programmes.scope(repos, programme))
        if not active:
            return None
        ids = {p.mentor_id for p in active} | {x for p in active for x in p.mentee_ids}
        names = await _names(repos, ids)
        if query:
            q = query.casefold()
            active = [
                p
                for p in active
                if any(q in names[x].casefold() for x in (p.mentor_id, *p.mentee_ids))
                or q == t(f"meetings.stage.{p.stage}").casefold()
            ]
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
        pages = len(bounds)
        page = min(max(page, 0), pages - 1)
        start, end = bounds[page]
        lines = [header, t("matching.pairs_page", page=page + 1, pages=pages)]
        lines += [clip(line, budget) for line in entries[start:end]]
        rows = [
            [
                _b(t("meeting.btn.open_pair", id=p.id), OpenPairCb(pair=p.id)),
                _b(t("meeting.btn.nudge_pair", id=p.id), NudgePairCb(pair=p.id)),
                _b(t("matching.dissolve_n", id=p.id), PairCb(a="dis", pair=p.id)),
            ]
            for p in active[start:end]
        ]
        nav = []
        if page > 0:
            nav.append(_b("«", PairCb(a="pg", pair=page - 1)))
        if page < pages - 1:
            nav.append(_b("»", PairCb(a="pg", pair=page + 1)))
        if nav:
            rows.append(nav)
        return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)

    @r.message(Command("pairs"), flags=CURATOR)
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

    @r.callback_query(PairCb.filter(), flags=CURATOR)
    async def pair_button(
        cb: CallbackQuery,
        callback_data: PairCb,
        state: FSMContext,
        repos: Repos,
        t: Translator,
        me: ParticipantDTO,
    ) -> None:
        if callback_data.a == "pg" and isinstance(cb.message, Message):
            page = await _pairs_page(
                repos, t, me, (await state.get_data()).get("pairs_query", ""), callback_data.pair
            )
            if page is not None:
                await cb.message.edit_text(page[0], reply_markup=page[1])
            await cb.answer()
            return
        pair = await repos.pairs.get(callback_data.pair)
        if pair is None or pair.status != "active" or not isinstance(cb.message, Message):
            await cb.answer(t("common.stale"), show_alert=True)
            return
        if callback_data.a == "dis" and len(pair.mentee_ids) > 1:
            names = await _names(repos, set(pair.mentee_ids))
            rows = [[_b(names[x], PairCb(a="who", pair=pair.id, mentee=x))] for x in pair.mentee_ids]
            await cb.message.answer(
                t("matching.dissolve_whom"), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
            )
            await cb.answer()
            return
        mentee = callback_data.mentee if callback_data.a == "who" else pair.mentee_ids[0]
        if mentee not in pair.mentee_ids:
            await cb.answer(t("common.stale"), show_alert=True)
            return
        await state.set_state(Dissolve.reason)
        await state.set_data({"pair": pair.id, "mentee": mentee})
        await cb.message.answer(t("matching.dissolve_reason"))
        await cb.answer()

    @r.message(Dissolve.reason, F.text, ~F.text.startswith("/"), flags=CURATOR)
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
        pair = await repos.pairs.get(int(data.get("pair", 0)))
        mentee = int(data.get("mentee", 0))
        if pair is None or not await svc.dissolve(repos, pair, mentee, reason, me.id, clock()):
            await message.answer(t("common.stale"))
            return
        # The removed mentee (and the mentor, when the pair itself ended) may be midway through /meeting,
        # /goals or a meeting's feedback: that conversation is over.
        gone = [mentee] + ([pair.mentor_id] if pair.mentee_ids == (mentee,) else [])
        await forget_pair_conversations(state, repos, pair.id, gone, clock())
        await message.answer(t("matching.dissolved_done"))

    return r
