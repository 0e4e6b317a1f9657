"""Growth figures from the entry and exit self-assessments (one form per audience — selfcheck_mentee,
selfcheck_teacher, selfcheck_mentor — asked at both moments, so that entry and exit items compare; the
moment is the response's context, see bot/services/selfcheck.py).

A self-assessment gives, per person, a score for each item (1–5, say). A person's growth is the mean of
their item changes (exit − entry) over the items they answered both times; a figure over a group of people
is the mean of those personal means, the share of people whose mean rose, and per item the means before,
after and of the change. A figure rests only on people with at least one item answered both times: with
nobody to rest on there is no figure (None), never a growth of 0 made from nothing.

Pure domain code: the caller reads the answers and says who is who (role, form of mentoring, pair).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

Answers = Mapping[str, float] | None  # one self-assessment; None: not filled in
K = TypeVar("K", bound=Hashable)
Span = Literal["mid", "exit"]  # what the growth is measured up to: the half-way or the exit self-assessment

# Changes are float differences: a person whose +0.3 and −0.1 −0.2 cancel out must not count as improved
# because the sum came out as 2e-16.
_EPSILON = 1e-9


def _scores(answers: Mapping[str, object] | None, name: str) -> dict[str, float]:
    """The numeric answers of one self-assessment; a skipped item (None) is left out."""
    if answers is None:
        return {}
    if not isinstance(answers, Mapping):
        raise ValueError(f"{name} must be a mapping of item -> score, got {type(answers).__name__}")
    out: dict[str, float] = {}
    for key, value in answers.items():
        if not isinstance(key, str):
            raise ValueError(f"{name}: an item key must be a string, got {key!r}")
        if value is None:
            continue
        # bool is an int subclass; a yes/no answer stored under a scale's key is a caller bug, not a 1.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name}[{key!r}] must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name}[{key!r}] must be a finite number, got {value!r}")
        out[key] = float(value)
    return out


def _mean(values: list[float]) -> float:
    # fsum is exactly rounded: the same figure whatever order the answers came in.
    return math.fsum(values) / len(values)


def item_changes(entry: Answers, exit: Answers) -> dict[str, float]:
    """exit − entry for every item answered (a number, not None) both times."""
    before, after = _scores(entry, "entry"), _scores(exit, "exit")
    return {key: after[key] - before[key] for key in sorted(before.keys() & after.keys())}


@dataclass(frozen=True)
class ItemGrowth:
    """One item across the people who answered it both times."""

    people: int
    mean_before: float
    mean_after: float
    mean_change: float


@dataclass(frozen=True)
class GrowthFigure:
    people: int  # people with at least one item answered both times
    mean_change: float  # mean over those people of each one's mean item change
    improved_share: float  # fraction (0..1) of them whose mean item change is above zero
    items: dict[str, ItemGrowth]


def summarise(records: Iterable[tuple[Answers, Answers]]) -> GrowthFigure | None:
    """The figure over (entry, exit) pairs, one per person; None when nobody answered an item both times."""
    personal: list[float] = []
    before: dict[str, list[float]] = {}
    after: dict[str, list[float]] = {}
    change: dict[str, list[float]] = {}
    for entry, exit in records:
        first, last = _scores(entry, "entry"), _scores(exit, "exit")
        common = first.keys() & last.keys()
        if not common:
            continue
        personal.append(_mean([last[key] - first[key] for key in common]))
        for key in common:
            before.setdefault(key, []).append(first[key])
            after.setdefault(key, []).append(last[key])
            change.setdefault(key, []).append(last[key] - first[key])
    if not personal:
        return None
    items = {
        key: ItemGrowth(len(change[key]), _mean(before[key]), _mean(after[key]), _mean(change[key]))
        for key in sorted(change)
    }
    improved = sum(1 for value in personal if value > _EPSILON)
    return GrowthFigure(len(personal), _mean(personal), improved / len(personal), items)


@dataclass(frozen=True)
class Measurement:
    """One person's self-assessments in one programme cycle. `form` is the form of mentoring
    ("teacher_teacher"), `pair_id` their pair (None: not paired); `mid` is the optional measurement half-way,
    which the entry → exit figures do not use (``to="mid"`` measures up to it instead)."""

    participant_id: int
    role: str
    form: str
    pair_id: int | None
    entry: Answers
    exit: Answers
    mid: Answers = None

    def __post_init__(self) -> None:
        if not isinstance(self.participant_id, int) or isinstance(self.participant_id, bool):
            raise ValueError(f"participant_id must be an int, got {self.participant_id!r}")
        if self.pair_id is not None and (not isinstance(self.pair_id, int) or isinstance(self.pair_id, bool)):
            raise ValueError(f"pair_id must be an int or None, got {self.pair_id!r}")
        for name in ("role", "form"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, got {getattr(self, name)!r}")
        for name in ("entry", "mid", "exit"):
            _scores(getattr(self, name), name)  # refuse bad answers here, where the caller can see whose

    def span(self, to: Span = "exit") -> tuple[Answers, Answers]:
        """The (before, after) answers the growth is measured between."""
        if to not in ("mid", "exit"):
            raise ValueError(f"growth is measured to 'mid' or 'exit', not {to!r}")
        return self.entry, self.mid if to == "mid" else self.exit


def by(
    records: Iterable[Measurement], key: Callable[[Measurement], K], *, to: Span = "exit"
) -> dict[K, GrowthFigure]:
    """A figure per group; a group in which nobody answered an item both times has none and is left out. The
    people of the groups add up to the people of the whole: each measurement is in exactly one group."""
    groups: dict[K, list[Measurement]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    out: dict[K, GrowthFigure] = {}
    for group, members in groups.items():
        figure = summarise(m.span(to) for m in members)
        if figure is not None:
            out[group] = figure
    return out


def programme(records: Iterable[Measurement], *, to: Span = "exit") -> GrowthFigure | None:
    """The whole programme's figure (a person measured twice, in two cycles, counts twice)."""
    return summarise(m.span(to) for m in records)


def per_participant(records: Iterable[Measurement], *, to: Span = "exit") -> dict[int, GrowthFigure]:
    return by(records, lambda m: m.participant_id, to=to)


def per_pair(records: Iterable[Measurement], *, to: Span = "exit") -> dict[int | None, GrowthFigure]:
    """By pair; the unpaired together under None."""
    return by(records, lambda m: m.pair_id, to=to)


def per_form(records: Iterable[Measurement], *, to: Span = "exit") -> dict[str, GrowthFigure]:
    return by(records, lambda m: m.form, to=to)


def per_role(records: Iterable[Measurement], *, to: Span = "exit") -> dict[str, GrowthFigure]:
    return by(records, lambda m: m.role, to=to)
