"""Programme indicators of the target model of mentoring and their traffic lights.

Every share and every target here is a fraction in [0, 1] (0.85, not 85). The roadmaps write
percents; the programme template loader divides by 100 once, at the edge, so no comparison here
ever mixes the two scales. A share is None when there is nothing to divide by: "no data" must not
read as 0 %, which would paint a programme red before anyone has answered a survey.

Pure domain code: the caller counts participants and collects survey scores.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

KPI_COVERAGE = "coverage"
KPI_MENTEE_SATISFACTION = "mentee_satisfaction"
KPI_MENTOR_SATISFACTION = "mentor_satisfaction"
KPI_ON_TIME = "on_time"
KPI_CODES: tuple[str, ...] = (KPI_COVERAGE, KPI_MENTEE_SATISFACTION, KPI_MENTOR_SATISFACTION, KPI_ON_TIME)
KPI_LABEL_PREFIX = "roadmap.kpi."

# Surveys ask for a score of 1–10. The seeds count "satisfied" participants without saying where
# satisfaction starts; 8 is this project's default, and a programme may choose another threshold.
DEFAULT_SATISFIED_FROM = 8.0
# How far below its target a value may fall and still be "yellow" (10 percentage points).
YELLOW_BAND = 0.10
# Shares are computed with float division: 0.6 - 0.1 is 0.49999999999999994, and a value sitting
# exactly on a boundary must land on the kinder side of it.
_EPSILON = 1e-9


class Light(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"
    GREY = "grey"

    @property
    def label_key(self) -> str:
        return f"roadmap.light.{self.value}"


def kpi_label_key(code: str) -> str:
    return KPI_LABEL_PREFIX + code


def _count(value: object, name: str) -> int:
    # bool is an int subclass; True as a head count is a caller bug, not 1 person.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def coverage(engaged: int, population: int) -> float | None:
    """Share of the population (e.g. young specialists, students) engaged as mentees.

    None for an empty population. More engaged than the population means the population figure
    is stale; that is reported as an error rather than shown as a coverage above 100 %.
    """
    engaged, population = _count(engaged, "engaged"), _count(population, "population")
    if population == 0:
        return None
    if engaged > population:
        raise ValueError(f"engaged ({engaged}) exceeds population ({population})")
    return engaged / population


def satisfaction_share(scores: Iterable[float], threshold: float = DEFAULT_SATISFIED_FROM) -> float | None:
    """Share of survey answers with ``score >= threshold``; None when nobody answered."""
    answered = list(scores)
    for score in answered:
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise ValueError(f"a score must be a number, got {score!r}")
    if not answered:
        return None
    return sum(1 for score in answered if score >= threshold) / len(answered)


@dataclass(frozen=True)
class StageCompletion:
    """One stage of one pair: when it was due and when it was completed (None: not yet)."""

    due: date
    completed_on: date | None = None


def on_time_share(completions: Iterable[StageCompletion], today: date) -> float | None:
    """Share of due stages completed by their deadline.

    A stage counts once it is completed or its deadline has passed; an open stage that is not yet
    due says nothing about punctuality. None when no stage counts.
    """
    on_time = counted = 0
    for item in completions:
        if item.completed_on is None:
            if item.due >= today:
                continue
            counted += 1
        else:
            counted += 1
            on_time += item.completed_on <= item.due
    return on_time / counted if counted else None


def target_for_year(targets: Mapping[int, float], year: int) -> float | None:
    """The target in force in ``year``: the latest milestone at or before it.

    The roadmaps set milestones ("не менее 10 % к концу 2020 года, не менее 70 % к концу 2024
    года") and say nothing about the years between; the earlier milestone stays the stated
    obligation until the next one, so nothing is interpolated. None before the first milestone.
    """
    earlier = [milestone for milestone in targets if milestone <= year]
    return targets[max(earlier)] if earlier else None


def traffic_light(value: float | None, target: float | None) -> Light:
    """Green at or above target, yellow up to ``YELLOW_BAND`` below, red further down, grey without data."""
    if value is None or target is None:
        return Light.GREY
    if value >= target - _EPSILON:
        return Light.GREEN
    if value >= target - YELLOW_BAND - _EPSILON:
        return Light.YELLOW
    return Light.RED


@dataclass(frozen=True)
class KpiValue:
    code: str
    value: float | None
    target: float | None
    light: Light

    @property
    def label_key(self) -> str:
        return kpi_label_key(self.code)


@dataclass(frozen=True)
class KpiInputs:
    """Plain counts and answers for one programme and one year."""

    engaged: int = 0
    population: int = 0
    mentee_scores: Sequence[float] = ()
    mentor_scores: Sequence[float] = ()
    stage_completions: Sequence[StageCompletion] = ()


@dataclass(frozen=True)
class KpiReport:
    programme_id: str
    year: int
    values: tuple[KpiValue, ...] = field(default_factory=tuple)

    def get(self, code: str) -> KpiValue:
        for value in self.values:
            if value.code == code:
                return value
        raise KeyError(code)


def build_report(
    programme_id: str,
    targets: Mapping[str, Mapping[int, float]],
    year: int,
    inputs: KpiInputs,
    *,
    today: date,
    satisfied_from: float = DEFAULT_SATISFIED_FROM,
) -> KpiReport:
    """Every KPI in ``KPI_CODES`` order; one without a target for ``year`` is grey, not hidden."""
    measured = {
        KPI_COVERAGE: coverage(inputs.engaged, inputs.population),
        KPI_MENTEE_SATISFACTION: satisfaction_share(inputs.mentee_scores, satisfied_from),
        KPI_MENTOR_SATISFACTION: satisfaction_share(inputs.mentor_scores, satisfied_from),
        KPI_ON_TIME: on_time_share(inputs.stage_completions, today),
    }
    values = []
    for code in KPI_CODES:
        target = target_for_year(targets.get(code, {}), year)
        values.append(KpiValue(code, measured[code], target, traffic_light(measured[code], target)))
    return KpiReport(programme_id, year, tuple(values))
