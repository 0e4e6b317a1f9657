"""The desk's JSON: what each endpoint takes and answers. The OpenAPI document (/api/docs) is generated from
these models and the routes that name them (bot/webapp/routes.py), so it cannot drift from the code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(Model):
    error: str = Field(
        description="A stable code: unauthorized, forbidden, not_found, invalid, conflict, ..."
    )
    message: str = Field(description="What to tell the user, in their language")
    errors: list[str] = Field(default_factory=list, description="Row by row, for a refused import")


# -- who is asking -------------------------------------------------------------------------------------
class User(Model):
    id: int
    name: str
    lang: str


class Can(Model):
    institution: bool = Field(description="Curator: the institution's pages")
    district: bool = Field(description="Coordinator: the district's aggregates")
    docs: bool = Field(description="May read this API's documentation")


class Institution(Model):
    id: int
    title: str


class Programme(Model):
    id: int
    title: str
    archived: bool = False


class Me(Model):
    user: User
    roles: list[str]
    can: Can
    institution: Institution | None
    programme: Programme | None
    texts: dict[str, str] = Field(
        description="The page's texts in the user's language (locales/*/webapp.yaml)"
    )


# -- participants --------------------------------------------------------------------------------------
class PeopleQuery(Model):
    model_config = ConfigDict(extra="ignore")  # a cache-buster or a future parameter is not an error

    q: str = Field("", max_length=60)
    role: str | None = Field(None, max_length=20, description="mentee, mentor, parent or curator")
    status: str | None = Field(
        None, max_length=40, description="onboarding, awaiting_parent_consent, active or withdrawn"
    )
    group: str | None = Field(None, max_length=100)
    programme: int | None = Field(None, ge=1)
    sort: Literal["name", "group", "status"] = "name"
    dir: Literal["asc", "desc"] = "asc"
    page: int = Field(0, ge=0, le=100_000)
    size: int = Field(50, ge=1, le=200)


class PersonRow(Model):
    id: int
    name: str
    group: str | None
    roles: list[str]
    role_names: list[str]
    status: str
    status_name: str
    unreachable: bool
    paired: bool


class Option(Model):
    value: str
    name: str


class Facets(Model):
    roles: list[Option]
    statuses: list[Option]
    groups: list[str]
    programmes: list[Programme]


class People(Model):
    total: int
    page: int
    pages: int
    size: int
    items: list[PersonRow]
    facets: Facets


class Answer(Model):
    q: str
    a: str


class Intake(Model):
    form: str
    title: str
    answers: list[Answer]


class PairLine(Model):
    id: int
    stage: str
    stage_name: str
    group: bool
    mentor: str
    mentees: list[str]
    meetings: int
    held: int
    feedback: int


class MeetingLine(Model):
    id: int
    pair_id: int
    kind_name: str
    status: str
    status_name: str
    at: datetime | None
    feedback: int


class Card(Model):
    id: int
    name: str
    group: str | None
    roles: list[str]
    role_names: list[str]
    status: str
    status_name: str
    unreachable: bool
    intake: list[Intake]
    pairs: list[PairLine]
    meetings: list[MeetingLine]


class Nudged(Model):
    sent: bool = Field(description="False: the person was already reminded today (one reminder a day)")
    message: str


class ReachBody(Model):
    unreachable: bool = Field(description="True: mark «no contact»; false: take the mark off")


class Reach(Model):
    unreachable: bool
    message: str


# -- pairs ---------------------------------------------------------------------------------------------
class BoardPair(Model):
    id: int
    mentor: str
    mentees: list[str]
    group: bool
    overdue: bool
    overdue_days: int
    last_meeting: date | None
    next_meeting: date | None


class Stage(Model):
    stage: str
    name: str
    pairs: list[BoardPair]


class Board(Model):
    total: int
    overdue: int
    stages: list[Stage]


# -- matching ------------------------------------------------------------------------------------------
class Someone(Model):
    id: int
    name: str
    group: str | None = None


class Proposal(Model):
    id: int
    status: str
    score: int = Field(description="0-100")
    mentee: Someone
    mentor: Someone
    reasons: list[str]


class Unmatched(Model):
    id: int
    name: str
    reason: str


class Result(Model):
    id: int
    decision: str
    message: str


class Matching(Model):
    run: str | None
    archived: bool
    open: int
    total: int
    proposals: list[Proposal]
    unmatched: list[Unmatched] = Field(default_factory=list)
    results: list[Result] = Field(default_factory=list)
    approved: int = 0
    rejected: int = 0


class Choice(Model):
    id: int
    name: str
    group: str | None = None
    ready: bool | None = Field(None, description="Mentee: questionnaire submitted and every consent in place")
    load: int | None = Field(None, description="Mentor: mentees now")
    capacity: int | None = Field(None, description="Mentor: mentees at most")


class Choices(Model):
    mentees: list[Choice]
    mentors: list[Choice]


class ManualBody(Model):
    mentee: int
    mentor: int
    force: bool = Field(
        False, description="Pair although hard constraints are broken (recorded in the audit log)"
    )


class ManualDone(Model):
    paired: bool
    pair_id: int | None
    violations: list[str] = Field(description="The hard constraints the pairing breaks, in words")
    message: str


class Decide(Model):
    run: str = Field(min_length=1, max_length=32)
    approve: list[int] = Field(default_factory=list, max_length=500)
    reject: list[int] = Field(default_factory=list, max_length=500)


# -- roadmap -------------------------------------------------------------------------------------------
class Item(Model):
    id: int
    activity: str
    responsible: str | None
    status: str
    overdue: bool
    due_on: date | None
    when: str
    recurring: bool
    done_at: datetime | None


class Roadmap(Model):
    programme: Programme | None
    open: int
    done: int
    overdue: int
    items: list[Item]


class DoneBody(Model):
    note: str = Field("", max_length=500)


class Done(Model):
    item: Item
    next_due: date | None


class MoveBody(Model):
    deadline: str = Field(min_length=1, max_length=200)


class Moved(Model):
    item: Item


class AddBody(Model):
    activity: str = Field(min_length=1, max_length=2000)
    responsible: str = Field("", max_length=2000)
    deadline: str = Field(
        min_length=1, max_length=200, description="25.12.2026, «декабрь 2026», «ежегодно до 30.11», …"
    )
    result: str = Field("", max_length=2000)


class Added(Model):
    item: Item
    message: str


class Imported(Model):
    imported: int
    skipped: int
    message: str


# -- KPIs ----------------------------------------------------------------------------------------------
class Indicator(Model):
    code: str
    name: str
    value: float | None = Field(description="A share, 0-1")
    target: float | None
    light: Literal["green", "yellow", "red", "grey"]


class Bucket(Model):
    name: str
    count: int


class RolePeople(Model):
    role: str
    name: str
    buckets: list[Bucket]


class StageCount(Model):
    stage: str
    name: str
    count: int


class PairCounts(Model):
    active: int
    overdue: int
    finished: int
    dissolved: int


class Kpis(Model):
    year: str
    programme: Programme | None
    indicators: list[Indicator]
    people: list[RolePeople]
    pairs_by_stage: list[StageCount]
    pairs: PairCounts
    notes: list[str]


# -- the district --------------------------------------------------------------------------------------
class DistrictRow(Model):
    institution: str
    cells: list[str] = Field(description="As the coordinator reads them: small numbers shown as '< N'")


class District(Model):
    period: str
    as_of: datetime | None
    headers: list[str]
    rows: list[DistrictRow]
    total: list[str]
