"""Overdue pairs: the curators' daily digest, optional immediate alerts, and the nudges to late pairs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton

from bot.callbacks.dashboard import NudgePairCb, OpenPairCb
from bot.domain import reminders as rem
from bot.domain.entities import NewMessage, PairDTO, Role
from bot.domain.stages import OverdueItem, overdue_digest, overdue_item
from bot.i18n import Translator
from bot.keyboards import InlineKeyboardBuilder
from bot.services import roadmap
from bot.services.meetings import PairState, pair_states, reminder_rows
from bot.services.notify import Localized, compose, reachable
from storage.uow import Repos

MAX_BUTTON_ROWS = 40  # a pair per row; a long digest names the rest without buttons


async def scan(repos: Repos, now: datetime, default_tz: str) -> list[tuple[PairState, OverdueItem | None]]:
    """Every active programme's active pairs (an archived programme is at rest: nobody is nudged there)."""
    states = await pair_states(repos, await _live_pairs(repos), now, default_tz)
    return [(state, overdue_item(state.pair.id, state.progress)) for state in states]


async def _live_pairs(repos: Repos) -> list[PairDTO]:
    if not await repos.programmes.all():
        return await repos.pairs.active()
    pairs: dict[int, PairDTO] = {}
    for programme in await repos.programmes.active():
        scope = await repos.programmes.scope(programme.id)
        pairs.update({p.id: p for p in await repos.pairs.active(scope=scope)})
    return [pairs[k] for k in sorted(pairs)]


async def pair_nudges(
    repos: Repos, states: list[tuple[PairState, OverdueItem | None]], now: datetime
) -> list[NewMessage]:
    """A late pair is told once per stage (the dedup key), kindly."""
    late = [(state, item) for state, item in states if item is not None]
    people = await repos.participants.get_many({pid for state, _ in late for pid in state.members})
    out = []
    for state, item in late:
        for pid in state.members:
            message = compose(
                people.get(pid),
                "meeting.overdue_pair",
                kind="overdue",
                priority=4,
                params={"stage": Localized(f"meetings.stage.{item.stage.value}"), "days": item.days_late},
                dedup=f"overdue:{item.pair_id}:{item.stage.value}",
            )
            if message is not None:
                out.append(message)
    return out


async def digest_messages(
    repos: Repos,
    states: list[tuple[PairState, OverdueItem | None]],
    now: datetime,
    tz: ZoneInfo,
    *,
    only_new: bool = False,
) -> list[NewMessage]:
    items = [i for _, i in states if i is not None]
    if only_new:
        # Immediate alerts: a pair that became overdue today (its first late day).
        items = [i for i in items if i.days_late == 1]
    if not items and only_new:
        return []
    grouped = overdue_digest(items)
    day = now.astimezone(tz).date()
    today = day.isoformat()
    out = []
    names = await _pair_names(repos, [i.pair_id for i in items])
    # A mentor with several mentees leads a group: its buttons say so.
    word = {st.pair.id: "group" if len(st.pair.mentee_ids) > 1 else "pair" for st, _ in states}
    for curator in await repos.participants.with_role(Role.CURATOR):
        if not reachable(curator):
            continue
        if only_new and not (await _alerts_on(repos, curator.id)):
            continue
        t = Translator(curator.language)
        # Overdue roadmap items join the daily digest; the immediate alerts stay about pairs.
        roadmap_lines = [] if only_new else await roadmap.digest_lines(repos, t, day)
        if not items and not roadmap_lines:
            continue
        lines = (
            [t("meeting.digest_header" if not only_new else "meeting.alert_header", count=len(items))]
            if items
            else []
        )
        buttons = InlineKeyboardBuilder()
        for stage, group in grouped.items():
            lines.append("")
            lines.append(
                t("meeting.digest_stage", stage=t(f"meetings.stage.{stage.value}"), count=len(group))
            )
            for item in group:
                lines.append(
                    t("meeting.digest_item", id=item.pair_id, names=names[item.pair_id], days=item.days_late)
                )
                if len(buttons.export()) < MAX_BUTTON_ROWS:
                    buttons.row(
                        InlineKeyboardButton(
                            text=t(f"meeting.btn.nudge_{word.get(item.pair_id, 'pair')}", id=item.pair_id),
                            callback_data=NudgePairCb(pair=item.pair_id).pack(),
                        ),
                        InlineKeyboardButton(
                            text=t(f"meeting.btn.open_{word.get(item.pair_id, 'pair')}", id=item.pair_id),
                            callback_data=OpenPairCb(pair=item.pair_id).pack(),
                        ),
                    )
        if roadmap_lines:
            lines += ["", *roadmap_lines] if lines else roadmap_lines
        kind = "alert" if only_new else "digest"
        key = f"{kind}:{curator.id}:{today}" + (
            ":" + ",".join(str(i.pair_id) for i in items) if only_new else ""
        )
        markup = buttons.as_markup().model_dump(exclude_none=True) if buttons.export() else None
        # One text of many locale keys, assembled per curator: notify's one key per message cannot say it,
        # so the digest is composed here (its reachability rule is notify's).
        assert curator.telegram_id is not None
        out.append(
            NewMessage(
                chat_id=curator.telegram_id,
                participant_id=curator.id,
                kind=kind,
                priority=3,
                text="\n".join(lines),
                dedup_key=key,
                reply_markup=markup,
            )
        )
    return out


async def _alerts_on(repos: Repos, curator_id: int) -> bool:
    for programme in await repos.programmes.active():
        if curator_id in (programme.settings.get("immediate_alerts") or []):
            return True
    return False


async def _pair_names(repos: Repos, pair_ids: list[int]) -> dict[int, str]:
    """ "Mentor — mentee, mentee" of each pair, in one query for the people."""
    pairs = {pid: await repos.pairs.get(pid) for pid in dict.fromkeys(pair_ids)}
    people = await repos.participants.get_many(
        {x for pair in pairs.values() if pair for x in (pair.mentor_id, *pair.mentee_ids)}
    )
    out = {}
    for pid, pair in pairs.items():
        if pair is None:
            out[pid] = "—"
            continue
        names = [
            (p.full_name if (p := people.get(x)) else None) or "—" for x in (pair.mentor_id, *pair.mentee_ids)
        ]
        out[pid] = f"{names[0]} — {', '.join(names[1:])}"
    return out


async def stage_deadline_reminders(
    repos: Repos, states: list[tuple[PairState, OverdueItem | None]], now: datetime
) -> list[int]:
    """A stage whose deadline nears with no meeting scheduled: plan a nudge for the pair, as many days ahead
    as its programme says (stage_deadline_lead_days, from the programme's template)."""
    rows = []
    lead: dict[int | None, int] = {}
    for state, _ in states:
        stage = state.progress.current_stage
        if stage is None or state.progress.deadline is None:
            continue
        pid = state.pair.programme_id
        if pid not in lead:
            programme = await repos.programmes.get(pid) if pid is not None else None
            days = (programme.settings if programme else {}).get("stage_deadline_lead_days")
            lead[pid] = (
                days if isinstance(days, int) and not isinstance(days, bool) else rem.DEADLINE_LEAD_DAYS
            )
        planned = rem.plan_stage_deadline_nudge(
            state.pair.id,
            stage.value,
            state.progress.deadline,
            now=now,
            tz=state.tz,
            has_scheduled_meeting=bool(state.progress.open_meetings),
            lead_days=lead[pid],
        )
        if planned is not None:
            rows += reminder_rows([planned], state.members, now, state.pair.id)
    return await repos.reminders.add(rows)
