"""The institution boundary, kept in one place: while a unit of work is scoped to an institution (a curator's
update, see bot/middlewares/access.py), every ORM statement it runs sees only that institution's rows.

How a row belongs to an institution:
- its own ``institution_id`` (programmes, roles, invitations, materials, trainings, the audit log);
- its programme (pairs, proposals, the waiting list, roadmap items, campaigns);
- its pair (members, meetings, goals, cases);
- its person (people themselves, answers, consents, mentor profiles, attendance, case consents): a person
  belongs to every institution in which they hold a role.
A row whose institution (or programme) is NULL was written before the bot told institutions apart: it
belongs to the first institution.

A statement that looks one row up by its primary key (a button's or a command's id) and finds it only
outside the scope raises ``OutsideInstitution``: the access guard refuses the action, logs it and tells the
curator. Everything else is simply not there."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Table, event, false, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList
from sqlalchemy.sql.operators import and_ as and_op
from sqlalchemy.sql.operators import eq

from storage import models as m

SCOPE_KEY = "institution_scope"
_SKIP = "tenancy_skip"
# A statement with these execution options sees every institution (the boundary's own lookups).
UNSCOPED = {_SKIP: True}
_WROTE = "tenancy_wrote"


class OutsideInstitution(Exception):
    """A row named by its id belongs to another institution."""

    def __init__(self, kind: str, object_id: Any) -> None:
        super().__init__(f"{kind} #{object_id} is outside the institution")
        self.kind = kind
        self.object_id = object_id


@dataclass(frozen=True)
class InstitutionScope:
    institution_id: int
    # The first institution also holds the rows written before institutions existed (NULL).
    first: bool
    programme_ids: tuple[int, ...]
    # Each scoped model's loader criteria, applied to a statement only for the models it reads: every one on
    # every statement made SQLAlchemy build a cache key of 25 options each time (half of a /dashboard).
    options: dict[type, Any] = field(default_factory=dict, compare=False, repr=False)


_roles = m.ParticipantRole.__table__
_pairs = m.Pair.__table__


def _own(column: Any, scope: InstitutionScope) -> ColumnElement[bool]:
    mine = column == scope.institution_id
    return or_(mine, column.is_(None)) if scope.first else mine


def _in_programmes(column: Any, scope: InstitutionScope) -> ColumnElement[bool]:
    mine = column.in_(scope.programme_ids) if scope.programme_ids else false()
    return or_(mine, column.is_(None)) if scope.first else mine


def _people(scope: InstitutionScope) -> Any:
    # The district's coordinator holds no institution's role: a role with no institution is the first
    # institution's, except theirs.
    return select(_roles.c.participant_id).where(
        _own(_roles.c.institution_id, scope), _roles.c.role != "coordinator"
    )


def _pair_ids(scope: InstitutionScope) -> Any:
    return select(_pairs.c.id).where(_in_programmes(_pairs.c.programme_id, scope))


# Each scoped model, and the condition on its rows. Tables a curator never reads (the outbox, reminders,
# conversation states, processed updates, the erasure ledger) are written by the workers for everyone.
RULES: dict[type[m.Base], Callable[[Any, InstitutionScope], ColumnElement[bool]]] = {
    m.Institution: lambda c, s: c.id == s.institution_id,
    m.Programme: lambda c, s: _own(c.institution_id, s),
    m.ParticipantRole: lambda c, s: _own(c.institution_id, s),
    m.Invitation: lambda c, s: _own(c.institution_id, s),
    m.TrainingSession: lambda c, s: _own(c.institution_id, s),
    m.Material: lambda c, s: _own(c.institution_id, s),
    m.AuditEntry: lambda c, s: _own(c.institution_id, s),
    m.Pair: lambda c, s: _in_programmes(c.programme_id, s),
    m.MatchProposal: lambda c, s: _in_programmes(c.programme_id, s),
    m.WaitingMentee: lambda c, s: _in_programmes(c.programme_id, s),
    m.RoadmapItem: lambda c, s: _in_programmes(c.programme_id, s),
    m.Campaign: lambda c, s: _in_programmes(c.programme_id, s),
    m.ProgrammeClosure: lambda c, s: c.programme_id.in_(s.programme_ids) if s.programme_ids else false(),
    m.PairMember: lambda c, s: c.pair_id.in_(_pair_ids(s)),
    m.Meeting: lambda c, s: c.pair_id.in_(_pair_ids(s)),
    m.DevelopmentGoal: lambda c, s: c.pair_id.in_(_pair_ids(s)),
    m.CaseStory: lambda c, s: c.pair_id.in_(_pair_ids(s)),
    m.Participant: lambda c, s: c.id.in_(_people(s)),
    m.FormResponse: lambda c, s: c.participant_id.in_(_people(s)),
    m.MentorProfile: lambda c, s: c.participant_id.in_(_people(s)),
    m.TrainingAttendance: lambda c, s: c.participant_id.in_(_people(s)),
    m.CaseConsent: lambda c, s: c.participant_id.in_(_people(s)),
    m.HonourOptOut: lambda c, s: c.participant_id.in_(_people(s)),
    m.ParentLink: lambda c, s: c.child_id.in_(_people(s)),
    m.Consent: lambda c, s: or_(c.subject_id.in_(_people(s)), c.participant_id.in_(_people(s))),
}


@lru_cache(maxsize=1024)
def make_scope(institution_id: int, first: bool, programme_ids: tuple[int, ...]) -> InstitutionScope:
    """The scope and its criteria, built once per institution and programme list (a few ms each)."""
    bare = InstitutionScope(institution_id, first, programme_ids)
    options = {
        model: with_loader_criteria(model, rule(model, bare), include_aliases=True)
        for model, rule in RULES.items()
    }
    return InstitutionScope(institution_id, first, programme_ids, options)


_MODEL_OF = {model.__table__: model for model in RULES}  # type: ignore[attr-defined]


def _models_in(state: ORMExecuteState) -> set[type]:
    """The scoped models a statement reads or changes: its entities and every table it names, in joins and
    subqueries too (a walk of the statement, some 50 µs; asking SQLAlchemy for the final FROMs compiled it,
    ~800 µs, a third of a /dashboard)."""
    found = {m.class_ for m in state.all_mappers}
    tables = (t for t in visitors.iterate(state.statement) if isinstance(t, Table))
    found |= {_MODEL_OF[t] for t in tables if t in _MODEL_OF}
    return {model for model in found if model in RULES}


def scope_of(session: Any) -> InstitutionScope | None:
    """The scope of a (sync or async) session's unit, or None when it sees every institution."""
    return session.info.get(SCOPE_KEY)


def set_scope(session: Any, scope: InstitutionScope | None) -> None:
    session.info.pop(_WROTE, None)
    if scope is None:
        session.info.pop(SCOPE_KEY, None)
    else:
        session.info[SCOPE_KEY] = scope


def people_filter(session: Any, column: Any) -> ColumnElement[bool] | None:
    """For a statement on a table (SQLAlchemy Core, which the ORM hook does not see): the condition that
    ``column`` (a participant id) names someone of the unit's institution; None when the unit is unscoped."""
    scope = scope_of(session)
    return column.in_(_people(scope)) if scope is not None else None


@contextmanager
def within(session: Any, scope: InstitutionScope | None) -> Iterator[None]:
    """Work in ``scope`` for a while (a job going institution by institution, a curator's dashboard reading
    its institution's aggregate), then back in the scope the unit had."""
    previous = scope_of(session)
    set_scope(session, scope)
    try:
        yield
    finally:
        set_scope(session, previous)


def institution_for_new_rows(session: Any) -> int | None:
    """The institution a row written in this unit belongs to when nothing else says: the scope's."""
    scope = scope_of(session)
    return scope.institution_id if scope is not None else None


def _lookup(state: ORMExecuteState) -> tuple[type[m.Base], Any] | None:
    """(model, id) when the statement selects one scoped model's rows by its primary key."""
    statement = state.statement
    descriptions = getattr(statement, "column_descriptions", None)
    where = getattr(statement, "whereclause", None)
    if not descriptions or where is None:
        return None
    model = descriptions[0].get("entity")
    if model not in RULES:
        return None
    pk = model.__mapper__.primary_key  # type: ignore[attr-defined]
    if len(pk) != 1:
        return None
    clauses = where.clauses if isinstance(where, BooleanClauseList) and where.operator is and_op else [where]
    for clause in clauses:
        if (
            isinstance(clause, BinaryExpression)
            and clause.operator is eq
            and getattr(clause.left, "key", None) == pk[0].key
            and getattr(clause.left, "table", None) is pk[0].table
            and isinstance(clause.right, BindParameter)
        ):
            value = clause.right.value
            if value is None and state.parameters:
                params = state.parameters if isinstance(state.parameters, dict) else {}
                value = params.get(clause.right.key)
            return model, value
    return None


_ORDER = {model: n for n, model in enumerate(RULES)}


def _order(model: type) -> int:
    return _ORDER[model]


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> Any:
    scope = scope_of(state.session)
    if scope is None or state.execution_options.get(_SKIP):
        return None
    if not (state.is_select or state.is_update or state.is_delete):
        return None
    if state.is_column_load or state.is_relationship_load:
        return None
    if state.is_delete and state.bind_mapper is not None and state.bind_mapper.class_ is m.ParticipantRole:
        state.session.info[_WROTE] = True  # someone may be leaving the institution in this unit
    models = _models_in(state)
    if not models:
        return None
    scoped = state.statement.options(*(scope.options[model] for model in sorted(models, key=_order)))
    lookup = _lookup(state) if state.is_select else None
    if lookup is None:
        state.statement = scoped
        return None
    frozen = state.invoke_statement(statement=scoped).freeze()
    if frozen().all():
        return frozen()
    model, object_id = lookup
    hidden = state.session.execute(state.statement, state.parameters, execution_options={_SKIP: True}).first()
    if hidden is None:
        return frozen()
    if model is m.Participant and state.session.info.get(_WROTE):
        # A person this very action took out of the institution (their last role here removed) is still
        # told so: after the unit deleted a role, a person found only outside is read as they were.
        return state.invoke_statement(statement=state.statement.execution_options(**UNSCOPED))
    raise OutsideInstitution(model.__tablename__, object_id)
