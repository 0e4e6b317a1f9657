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
# The methodology's satisfaction target where a programme sets none (a share of those who answered).
METHODOLOGY_TARGETS: dict[str, float] = {KPI_MENTEE_SATISFACTION: 0.70, KPI_MENTOR_SATISFACTION: 0.70}
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


# The school year: a programme year runs from September to August and is named by both calendar years
# ("2026/27"). Figures are counted per programme year, never split at New Year.
YEAR_STARTS_IN = 9


def programme_year(day: date) -> int:
    """The programme year ``day`` falls in, named by the calendar year it starts in (Sept 2026 → 2026)."""
    return day.year if day.month >= YEAR_STARTS_IN else day.year - 1


def year_bounds(year: int) -> tuple[date, date]:
    """The first day of the programme year and the first day of the next one."""
    return date(year, YEAR_STARTS_IN, 1), date(year + 1, YEAR_STARTS_IN, 1)


def year_label(year: int) -> str:
    """ "2026/27"."""
    return f"{year}/{(year + 1) % 100:02d}"


def roll_forward(targets: Mapping[str, Mapping[int, float]], first_year: int) -> dict[str, dict[int, float]]:
    """A template's milestones moved so that its first one falls in the programme's first year.

    The seeds wrote their targets for their own cycle ("70 % к концу 2024 года"); a programme that starts
    in 2026/27 from such a template runs the same cycle later, so judging it against 2024 would read every
    milestone as already due. Milestones that start in or after the programme's first year stay as set.
    """
    years = [year for by_year in targets.values() for year in by_year]
    shift = max(0, first_year - min(years)) if years else 0
    return {
        code: {year + shift: value for year, value in by_year.items()} for code, by_year in targets.items()
    }


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

    @property
    def state_key(self) -> str:
        """What a reader is told beside the value: its light, or that nothing is measured yet, or that the
        value is measured but the programme set no target for it (not "no data")."""
        if self.value is None:
            return "roadmap.light.grey"
        if self.target is None:
            return "roadmap.light.no_target"
        return self.light.label_key


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
