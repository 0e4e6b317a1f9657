"""The curator's desk (the Mini App): what its pages read, each a use case over the same services the chat
commands use. Its actions are the chat's own use cases (matching.decide / pair_by_hand, roadmap.finish /
reschedule / import_items / add_item, dashboard.nudge / set_unreachable), called from bot/webapp/api.py: there
is no second implementation of approving a pair or closing a roadmap item. No Telegram and no HTTP here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain import forms as f
from bot.domain.entities import MeetingDTO, PairDTO, ParticipantDTO, ProgrammeDTO, ProposalDTO
from bot.domain.stages import STAGE_ORDER
from bot.services import dashboard, matching, programmes
from bot.services.meetings import PairState, pair_states
from storage.repositories.desk import PeopleFilter, PersonRow
from storage.repositories.roadmap import RoadmapItemDTO
from storage.uow import Repos

PAGE_MAX = 200


@dataclass(frozen=True)
class People:
    rows: list[PersonRow]
    total: int
    page: int
    size: int
    groups: list[str]
    programmes: list[ProgrammeDTO]

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.size - 1) // self.size)


async def people(repos: Repos, filt: PeopleFilter, page: int, size: int) -> People:
    """One page of the institution's participants, filtered and sorted, and what the filters offer."""
    size = min(max(size, 1), PAGE_MAX)
    page = max(page, 0)
    rows, total = await repos.desk.people(filt, page * size, size)
    return People(rows, total, page, size, await repos.desk.groups(), await programmes.listing(repos))


async def programme_filter(repos: Repos, programme_id: int | None) -> PeopleFilter | None:
    """The programme filter's scope (None: no such programme in the institution)."""
    if programme_id is None:
        return PeopleFilter()
    programme = await repos.programmes.get(programme_id)
    if programme is None:
        return None
    return PeopleFilter(programme=await programmes.scope(repos, programme))


@dataclass(frozen=True)
class PersonCard:
    card: dashboard.Card
    pairs: list[PairDTO]
    meetings: list[MeetingDTO]
    feedback: dict[int, set[int]]
    names: dict[int, str]


async def person(
    repos: Repos, curator_id: int, person_id: int, forms: dict[str, f.Form], now: datetime
) -> PersonCard | None:
    """A person's card as the chat's card has it (the view audited there), with their meetings."""
    found = await repos.participants.get(person_id)
    if found is None or not found.full_name:
        return None
    card = await dashboard.card(repos, curator_id, found, forms, now)
    pairs = [p for x in card.pairs if (p := await repos.pairs.get(x.id)) is not None]
    meetings = [m for p in pairs for m in await repos.meetings.for_pair(p.id)]
    feedback = await repos.meetings.feedback_from([m.id for m in meetings])
    names = await matching.names_of(
        repos, {p.mentor_id for p in pairs} | {x for p in pairs for x in p.mentee_ids}
    )
    return PersonCard(card, pairs, sorted(meetings, key=lambda m: m.starts_at), feedback, names)


@dataclass(frozen=True)
class Board:
    """The programme's active pairs by stage, with what is overdue."""

    by_stage: dict[str, list[PairState]]
    names: dict[int, str]

    @property
    def total(self) -> int:
        return sum(len(x) for x in self.by_stage.values())

    @property
    def overdue(self) -> int:
        return sum(s.progress.overdue for x in self.by_stage.values() for s in x)


async def board(repos: Repos, curator_id: int, now: datetime, tz: str) -> Board:
    programme = await programmes.current(repos, curator_id)
    active = await repos.pairs.active(scope=await programmes.scope(repos, programme))
    states = await pair_states(repos, active, now, tz)
    by_stage: dict[str, list[PairState]] = {s.value: [] for s in STAGE_ORDER}
    for state in states:
        stage = state.progress.current_stage
        by_stage.setdefault(stage.value if stage else state.pair.stage, []).append(state)
    for states_of in by_stage.values():  # the overdue first, then the longest overdue
        states_of.sort(key=lambda s: (-s.progress.overdue_days, s.pair.id))
    ids = {p.mentor_id for p in active} | {x for p in active for x in p.mentee_ids}
    return Board(by_stage, await matching.names_of(repos, ids))


@dataclass(frozen=True)
class Proposals:
    programme: ProgrammeDTO | None
    run: str | None
    proposals: list[ProposalDTO]
    people: dict[int, ParticipantDTO]
    unmatched: list[tuple[int, str]]  # mentee, the reason's text key (only right after a run)

    @property
    def open(self) -> int:
        return sum(p.status == "proposed" for p in self.proposals)


async def proposals(
    repos: Repos, curator_id: int, run: str | None = None, unmatched: list[tuple[int, str]] | None = None
) -> Proposals:
    """The proposals of a matching run: the given one, else the programme's latest."""
    programme = await programmes.current(repos, curator_id)
    if run is None:
        run = await repos.desk.latest_run(await programmes.scope(repos, programme))
    props = await repos.pairs.proposals(run) if run else []
    ids = {p.mentee_id for p in props} | {p.mentor_id for p in props} | {m for m, _ in unmatched or []}
    people = await repos.participants.get_many(ids) if ids else {}
    return Proposals(programme, run, props, people, list(unmatched or []))


async def run_matching(repos: Repos, curator_id: int, now: datetime) -> Proposals | ProgrammeDTO | None:
    """/match from the desk: a new run for the curator's programme. The programme when it is archived
    (read-only), None when there is none."""
    programme = await programmes.current(repos, curator_id)
    if programme is None or programme.archived:
        return programme
    run, assignment = await matching.propose(repos, programme, now)
    return await proposals(repos, curator_id, run, [(u.mentee_id, u.reason) for u in assignment.unmatched])


@dataclass(frozen=True)
class Decisions:
    results: list[tuple[int, matching.Decided]]

    def count(self, decision: matching.Decision) -> int:
        return sum(d.decision == decision for _, d in self.results)


async def decide_many(
    repos: Repos,
    run: str,
    approve: list[int],
    reject: list[int],
    curator: ParticipantDTO,
    now: datetime,
    forms: dict[str, f.Form],
) -> Decisions:
    """Approve and reject several proposals of a run at once: each is the chat's own decision (the pair made
    and announced through the outbox, the round ended by the last one)."""
    results = []
    for ids, yes in ((approve, True), (reject, False)):
        for proposal_id in dict.fromkeys(ids):
            results.append(
                (proposal_id, await matching.decide(repos, run, proposal_id, yes, curator, now, forms))
            )
    return Decisions(results)


@dataclass(frozen=True)
class Roadmap:
    programme: ProgrammeDTO | None
    items: list[RoadmapItemDTO]


async def roadmap(repos: Repos, curator_id: int) -> Roadmap:
    """Every item of the curator's programme's roadmap, open and done, by deadline."""
    programme = await programmes.current(repos, curator_id)
    if programme is None:
        return Roadmap(None, [])
    return Roadmap(programme, await repos.roadmap.list(programme.id, status=None))
