"""Mentee–mentor compatibility scoring and global assignment under mentor capacities.

Pure domain code: no Telegram, no database. Every human-facing string is a locale key
(``matching.*`` in ``locales/<lang>/matching.yaml``) plus ``str.format`` parameters, so the
caller renders it in the user's language.

Scoring model (all components are in [0, 1], the total is their weighted mean, so
``min_score`` reads as "at least this share of an ideal match"):

* areas  – share of the mentee's requested areas that the mentor covers;
* format – 1 when the formats are compatible (equal, or either side said "any"), else 0;
* slots  – common time slots, saturating at ``SLOTS_ENOUGH`` common slots.

Hard constraints (never relaxed by weights): the mentee is ready, the mentor is approved,
the mentor accepts the mentee's mentoring form, the mentor is not one the mentee was
dissolved from, and the mentor has free capacity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields

import numpy as np
from scipy.optimize import linear_sum_assignment

FORMAT_ONLINE = "online"
FORMAT_OFFLINE = "offline"
FORMAT_ANY = "any"
FORMATS: tuple[str, ...] = (FORMAT_ONLINE, FORMAT_OFFLINE, FORMAT_ANY)

# A pair that can meet in two different slots a week can always reschedule one meeting;
# demanding coverage of every slot a very flexible mentee ticked would punish flexibility.
SLOTS_ENOUGH = 2

MAX_REASONS = 3

# Hard violation codes, in the order they are reported (most fundamental first).
V_NOT_READY = "not_ready"
V_MENTOR_NOT_APPROVED = "mentor_not_approved"
V_FORM_NOT_ALLOWED = "form_not_allowed"
V_EXCLUDED = "excluded"
V_CAPACITY = "capacity"
HARD_VIOLATIONS: tuple[str, ...] = (
    V_NOT_READY,
    V_MENTOR_NOT_APPROVED,
    V_FORM_NOT_ALLOWED,
    V_EXCLUDED,
    V_CAPACITY,
)
VIOLATION_KEY_PREFIX = "matching.violation."

R_AREAS = "matching.reason.areas"
R_AREAS_NONE = "matching.reason.areas_none"
R_FORMAT = {
    FORMAT_ONLINE: "matching.reason.format_online",
    FORMAT_OFFLINE: "matching.reason.format_offline",
    FORMAT_ANY: "matching.reason.format_any",
}
R_FORMAT_MISMATCH = "matching.reason.format_mismatch"
R_SLOTS = "matching.reason.slots"
R_SLOTS_NONE = "matching.reason.slots_none"
REASON_CODES: tuple[str, ...] = (
    R_AREAS,
    R_AREAS_NONE,
    *R_FORMAT.values(),
    R_FORMAT_MISMATCH,
    R_SLOTS,
    R_SLOTS_NONE,
)

U_NOT_READY = "matching.unmatched.not_ready"
U_NO_CAPACITY = "matching.unmatched.no_capacity"
U_NO_OVERLAP = "matching.unmatched.no_overlap"
UNMATCHED_CODES: tuple[str, ...] = (U_NOT_READY, U_NO_CAPACITY, U_NO_OVERLAP)


def violation_key(code: str) -> str:
    """Locale key for a hard violation code, e.g. ``capacity`` -> ``matching.violation.capacity``."""
    return VIOLATION_KEY_PREFIX + code


def _check_format(value: str) -> None:
    if value not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {value!r}")


@dataclass(frozen=True)
class MenteeProfile:
    id: int
    areas: frozenset[str]
    format: str
    slots: frozenset[str]
    mentoring_form: str
    ready: bool
    excluded_mentors: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        _check_format(self.format)


@dataclass(frozen=True)
class MentorProfile:
    id: int
    areas: frozenset[str]
    format: str
    slots: frozenset[str]
    mentoring_forms: frozenset[str]
    capacity: int
    load: int = 0
    approved: bool = True

    def __post_init__(self) -> None:
        _check_format(self.format)
        if self.capacity < 0 or self.load < 0:
            raise ValueError("capacity and load must be non-negative")

    @property
    def free(self) -> int:
        # load may exceed capacity after a curator lowered the capacity; that is "full", not an error.
        return max(0, self.capacity - self.load)


@dataclass(frozen=True)
class Weights:
    areas: float = 0.5
    format: float = 0.2
    slots: float = 0.3
    min_score: float = 0.25

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            # bool is an int subclass; True as a weight is almost certainly a config mistake.
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"weight {f.name!r} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"weight {f.name!r} must be non-negative, got {value!r}")
        if self.min_score > 1:
            raise ValueError(
                f"min_score is a share of an ideal match and must be <= 1, got {self.min_score!r}"
            )
        if self.component_sum <= 0:
            raise ValueError("at least one of areas/format/slots weights must be positive")

    @property
    def component_sum(self) -> float:
        return self.areas + self.format + self.slots

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, float] | None) -> Weights:
        """Defaults overridden by a programme's settings; unknown keys are rejected to catch typos."""
        if not mapping:
            return cls()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(
                f"unknown weight keys: {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        return cls(**dict(mapping))

    def to_mapping(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Reason:
    code: str
    params: dict[str, str | int] = field(default_factory=dict)


@dataclass(frozen=True)
class PairScore:
    total: float
    hard_violations: tuple[str, ...]
    reasons: tuple[Reason, ...]

    @property
    def compatible_ignoring_capacity(self) -> bool:
        return all(v == V_CAPACITY for v in self.hard_violations)


@dataclass(frozen=True)
class Proposal:
    mentee_id: int
    mentor_id: int
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Unmatched:
    mentee_id: int
    reason: str


@dataclass(frozen=True)
class Assignment:
    proposals: list[Proposal]
    unmatched: list[Unmatched]

    @property
    def total(self) -> float:
        return math.fsum(p.score for p in self.proposals)


# --- scoring -------------------------------------------------------------------------------
# The scalar helpers below and _score_matrix() must compute bit-identical floats (same operand
# order), otherwise assign() could accept a pair that score() puts just under min_score.


def _format_fit(mentee_format: str, mentor_format: str) -> float:
    if mentee_format == mentor_format or FORMAT_ANY in (mentee_format, mentor_format):
        return 1.0
    return 0.0


def _combine(weights: Weights, areas: float, fmt: float, slots: float) -> float:
    return (weights.areas * areas + weights.format * fmt + weights.slots * slots) / weights.component_sum


def hard_violations(mentee: MenteeProfile, mentor: MentorProfile) -> tuple[str, ...]:
    found = []
    if not mentee.ready:
        found.append(V_NOT_READY)
    if not mentor.approved:
        found.append(V_MENTOR_NOT_APPROVED)
    if mentee.mentoring_form not in mentor.mentoring_forms:
        found.append(V_FORM_NOT_ALLOWED)
    if mentor.id in mentee.excluded_mentors:
        found.append(V_EXCLUDED)
    if mentor.free <= 0:
        found.append(V_CAPACITY)
    return tuple(found)


def score(mentee: MenteeProfile, mentor: MentorProfile, weights: Weights | None = None) -> PairScore:
    """Compatibility of one pair: weighted total in [0, 1], hard violations, and 1–3 reasons."""
    weights = weights or Weights()
    shared_areas = mentee.areas & mentor.areas
    shared_slots = mentee.slots & mentor.slots
    areas = len(shared_areas) / len(mentee.areas) if mentee.areas else 0.0
    slots = min(1.0, len(shared_slots) / min(len(mentee.slots), SLOTS_ENOUGH)) if mentee.slots else 0.0
    fmt = _format_fit(mentee.format, mentor.format)
    total = _combine(weights, areas, fmt, slots)

    # Each candidate carries its "impact": how much it added to the total, or, for a missing
    # component, how much it cost. The biggest impacts are what a curator needs to see.
    norm = weights.component_sum
    candidates: list[tuple[float, Reason]] = []
    if shared_areas:
        candidates.append(
            (weights.areas * areas / norm, Reason(R_AREAS, {"areas": ", ".join(sorted(shared_areas))}))
        )
    else:
        candidates.append((weights.areas / norm, Reason(R_AREAS_NONE)))
    if fmt > 0:
        agreed = mentor.format if mentee.format == FORMAT_ANY else mentee.format
        candidates.append((weights.format / norm, Reason(R_FORMAT[agreed])))
    else:
        candidates.append((weights.format / norm, Reason(R_FORMAT_MISMATCH)))
    if shared_slots:
        candidates.append(
            (weights.slots * slots / norm, Reason(R_SLOTS, {"slots": ", ".join(sorted(shared_slots))}))
        )
    else:
        candidates.append((weights.slots / norm, Reason(R_SLOTS_NONE)))
    # Stable sort keeps the areas > format > slots order among equal impacts.
    ranked = sorted((c for c in candidates if c[0] > 0), key=lambda c: -c[0])
    reasons = tuple(r for _, r in ranked[:MAX_REASONS])
    return PairScore(total=total, hard_violations=hard_violations(mentee, mentor), reasons=reasons)


def manual_check(mentee: MenteeProfile, mentor: MentorProfile, weights: Weights | None = None) -> list[str]:
    """Hard violations for a pair a curator is creating by hand (a low score is their call, not a block)."""
    return list(score(mentee, mentor, weights).hard_violations)


# --- assignment ----------------------------------------------------------------------------


def _check_unique(ids: Iterable[int], what: str) -> None:
    seen: set[int] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {what} id {i}")
        seen.add(i)


def _membership(sets: Sequence[frozenset[str]], vocab: dict[str, int]) -> np.ndarray:
    out = np.zeros((len(sets), len(vocab)), dtype=np.float64)
    for row, items in enumerate(sets):
        for item in items:
            col = vocab.get(item)
            if col is not None:
                out[row, col] = 1.0
    return out


def _score_matrix(
    mentees: Sequence[MenteeProfile], mentors: Sequence[MentorProfile], weights: Weights
) -> tuple[np.ndarray, np.ndarray]:
    """Totals and "compatible ignoring capacity" masks for all pairs, vectorised.

    Per-pair score() calls would take seconds at 1000 × 300; matrix products over 0/1
    membership matrices give the same overlap counts exactly (small integers in float64).
    """
    area_vocab = {a: i for i, a in enumerate(sorted({a for m in mentees for a in m.areas}))}
    slot_vocab = {s: i for i, s in enumerate(sorted({s for m in mentees for s in m.slots}))}

    shared_areas = (
        _membership([m.areas for m in mentees], area_vocab)
        @ _membership([m.areas for m in mentors], area_vocab).T
    )
    shared_slots = (
        _membership([m.slots for m in mentees], slot_vocab)
        @ _membership([m.slots for m in mentors], slot_vocab).T
    )

    n_areas = np.array([len(m.areas) for m in mentees], dtype=np.float64)[:, None]
    areas = np.divide(shared_areas, n_areas, out=np.zeros_like(shared_areas), where=n_areas > 0)
    slot_den = np.array([min(len(m.slots), SLOTS_ENOUGH) for m in mentees], dtype=np.float64)[:, None]
    slots = np.minimum(
        1.0, np.divide(shared_slots, slot_den, out=np.zeros_like(shared_slots), where=slot_den > 0)
    )

    fmt_code = {f: i for i, f in enumerate(FORMATS)}
    fit_table = np.array([[_format_fit(a, b) for b in FORMATS] for a in FORMATS])
    me_fmt = np.array([fmt_code[m.format] for m in mentees], dtype=np.intp)
    mo_fmt = np.array([fmt_code[m.format] for m in mentors], dtype=np.intp)
    fmt = fit_table[me_fmt[:, None], mo_fmt[None, :]]

    total = (weights.areas * areas + weights.format * fmt + weights.slots * slots) / weights.component_sum

    ready = np.array([m.ready for m in mentees], dtype=bool)
    approved = np.array([m.approved for m in mentors], dtype=bool)
    form_vocab = {f: i for i, f in enumerate(sorted({m.mentoring_form for m in mentees}))}
    mentor_forms = _membership([m.mentoring_forms for m in mentors], form_vocab) > 0
    me_form = np.array([form_vocab[m.mentoring_form] for m in mentees], dtype=np.intp)
    form_ok = mentor_forms[:, me_form].T if len(form_vocab) else np.zeros(total.shape, dtype=bool)

    ok = ready[:, None] & approved[None, :] & form_ok & (total >= weights.min_score)
    mentor_col = {m.id: j for j, m in enumerate(mentors)}
    for i, mentee in enumerate(mentees):
        for mentor_id in mentee.excluded_mentors:
            j = mentor_col.get(mentor_id)
            if j is not None:
                ok[i, j] = False
    return total, ok


def assign(
    mentees: Iterable[MenteeProfile], mentors: Iterable[MentorProfile], weights: Weights | None = None
) -> Assignment:
    """Globally optimal proposals: maximise the summed score over compatible pairs.

    Each mentor is expanded into one column per free seat, which turns "mentor takes at most
    capacity - load mentees" into a plain rectangular assignment problem. Cells of forbidden
    pairs are worth 0 — exactly what leaving the mentee unmatched is worth — so the solver's
    optimum over the full matrix equals the optimum over compatible pairs once those cells are
    filtered out. Inputs are sorted by id, so the result does not depend on input order, and
    ties between equally good assignments are resolved by the solver's deterministic scan order.
    """
    weights = weights or Weights()
    mentees = sorted(mentees, key=lambda m: m.id)
    mentors = sorted(mentors, key=lambda m: m.id)
    _check_unique((m.id for m in mentees), "mentee")
    _check_unique((m.id for m in mentors), "mentor")

    matched: dict[int, int] = {}  # mentee row -> mentor column
    ok = np.zeros((len(mentees), len(mentors)), dtype=bool)
    if mentees and mentors:
        total, ok = _score_matrix(mentees, mentors, weights)
        free = np.array([m.free for m in mentors], dtype=np.int64)
        allowed = ok & (free > 0)[None, :]
        rows = np.flatnonzero(allowed.any(axis=1))
        cols = np.flatnonzero(allowed.any(axis=0))
        if rows.size:
            sub_allowed = allowed[np.ix_(rows, cols)]
            # A mentor can never take more mentees than are compatible with them.
            seats = np.minimum(free[cols], sub_allowed.sum(axis=0))
            seat_col = np.repeat(np.arange(cols.size), seats)
            value = np.where(sub_allowed, total[np.ix_(rows, cols)], 0.0)[:, seat_col]
            r_idx, s_idx = linear_sum_assignment(value, maximize=True)
            for r, s in zip(r_idx.tolist(), s_idx.tolist(), strict=True):
                c = int(seat_col[s])
                if sub_allowed[r, c]:
                    matched[int(rows[r])] = int(cols[c])

            # Zero-score compatible pairs (only possible with min_score == 0) do not change the
            # objective, so the solver may skip them; a match is still better than none.
            left = free.copy()
            for c in matched.values():
                left[c] -= 1
            for i in rows.tolist():
                if i in matched:
                    continue
                for c in np.flatnonzero(allowed[i] & (left > 0)).tolist():
                    matched[i] = c
                    left[c] -= 1
                    break

    proposals: list[Proposal] = []
    unmatched: list[Unmatched] = []
    for i, mentee in enumerate(mentees):
        if i in matched:
            pair = score(mentee, mentors[matched[i]], weights)
            proposals.append(Proposal(mentee.id, mentors[matched[i]].id, pair.total, pair.reasons))
        elif not mentee.ready:
            unmatched.append(Unmatched(mentee.id, U_NOT_READY))
        elif ok[i].any():
            unmatched.append(Unmatched(mentee.id, U_NO_CAPACITY))
        else:
            unmatched.append(Unmatched(mentee.id, U_NO_OVERLAP))
    return Assignment(proposals=proposals, unmatched=unmatched)
