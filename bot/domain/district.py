"""The district's figures (pure): each institution's aggregate, the totals, the traffic lights, and small
numbers kept from identifying anyone. Counts only: nothing here can hold a name, an answer or an id of a
person."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date

from bot.domain import kpi

SMALL_DEFAULT = 5  # an aggregate over fewer people than this is shown as "< 5"
MENTEE_KINDS = ("pupil", "student", "teacher")
# The methodology's targets for satisfaction when a programme sets none (share of those who answered).
DEFAULT_TARGETS: dict[str, float | None] = {kpi.KPI_COVERAGE: None, **kpi.METHODOLOGY_TARGETS}


@dataclass(frozen=True)
class Period:
    """A monitoring campaign: December (the first half of the programme year) or June (the year's end)."""

    year: int
    month: int  # 12 or 6

    @property
    def key(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def ends_on(self) -> date:
        return date(self.year, 12, 31) if self.month == 12 else date(self.year, 6, 30)

    @staticmethod
    def of_campaign(key: str) -> Period | None:
        """The monitoring a survey campaign counts for: one opened from July to December (a programme may
        hold it in November) for December, one opened from January to June (May, say) for June."""
        try:
            year, month = (int(x) for x in key.split("-"))
        except ValueError:
            return None
        return Period(year, 12) if 7 <= month <= 12 else Period(year, 6) if 1 <= month <= 6 else None

    @staticmethod
    def parse(key: str) -> Period | None:
        try:
            year, month = (int(x) for x in key.split("-"))
        except ValueError:
            return None
        return Period(year, month) if month in (6, 12) and 2000 <= year <= 2100 else None


def periods_around(today: date, count: int = 4) -> list[Period]:
    """The latest monitoring campaigns, newest first: the current one (December from September on, June
    from January on) and those before it."""
    period = Period(today.year, 12) if today.month >= 9 else Period(today.year, 6)
    out = []
    for _ in range(count):
        out.append(period)
        period = Period(period.year, 6) if period.month == 12 else Period(period.year - 1, 12)
    return out


@dataclass(frozen=True)
class Figures:
    """One institution's aggregate (or the district's total)."""

    mentors: int = 0
    mentees: int = 0
    mentees_by_kind: Mapping[str, int] = field(default_factory=dict)
    # Mentees in active pairs and groups by form of mentoring ("unknown": the mentor named none that fits).
    paired_by_form: Mapping[str, int] = field(default_factory=dict)
    pairs_by_stage: Mapping[str, int] = field(default_factory=dict)
    pairs: int = 0
    overdue_pairs: int = 0
    engaged: int = 0
    population: int = 0
    mentee_satisfied: int = 0
    mentee_rated: int = 0
    mentor_satisfied: int = 0
    mentor_rated: int = 0
    survey_answered: int = 0
    survey_invited: int = 0
    roadmap_overdue: int = 0
    roadmap_items: int = 0
    # Every monitoring campaign's answers and invitations, by period ("2026-12"): the survey figures of
    # any period come from these.
    answered_by_period: Mapping[str, int] = field(default_factory=dict)
    invited_by_period: Mapping[str, int] = field(default_factory=dict)
    # Growth from the entry and exit self-assessments: the people it rests on, how many improved, and the
    # sum of their personal mean changes (scale points), so that the district's mean is a true mean.
    growth_people: int = 0
    growth_improved: int = 0
    growth_change_sum: float = 0.0
    # Programmes with the curator's SWOT for the school year, of all programmes counted.
    swot_done: int = 0
    programmes: int = 0

    def for_period(self, period: Period | None) -> Figures:
        """These figures with the monitoring response of ``period`` (every campaign's when None)."""
        if period is None:
            answered, invited = sum(self.answered_by_period.values()), sum(self.invited_by_period.values())
        else:
            answered = self.answered_by_period.get(period.key, 0)
            invited = self.invited_by_period.get(period.key, 0)
        return replace(self, survey_answered=answered, survey_invited=invited)

    def to_json(self) -> dict[str, object]:
        return {
            f.name: (dict(v) if isinstance(v := getattr(self, f.name), Mapping) else v) for f in fields(self)
        }

    @staticmethod
    def from_json(data: Mapping[str, object]) -> Figures:
        known = {f.name for f in fields(Figures)}
        return Figures(**{k: v for k, v in data.items() if k in known})  # type: ignore[arg-type]

    def __add__(self, other: Figures) -> Figures:
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, Mapping):
                values[f.name] = {k: a.get(k, 0) + b.get(k, 0) for k in sorted({*a, *b})}
            else:
                values[f.name] = a + b
        return Figures(**values)

    # Shares are fractions (0–1), as in bot/domain/kpi.py and the templates' targets; shown as percentages.
    @property
    def coverage(self) -> float | None:
        """None also when more are engaged than the declared population (a stale figure, not 130 %)."""
        if self.engaged > self.population:
            return None
        return kpi.coverage(self.engaged, self.population)

    @property
    def mentee_satisfaction(self) -> float | None:
        return _share(self.mentee_satisfied, self.mentee_rated)

    @property
    def mentor_satisfaction(self) -> float | None:
        return _share(self.mentor_satisfied, self.mentor_rated)

    @property
    def growth_improved_share(self) -> float | None:
        return _share(self.growth_improved, self.growth_people)

    @property
    def growth_mean_change(self) -> float | None:
        return self.growth_change_sum / self.growth_people if self.growth_people else None

    @property
    def response_rate(self) -> float | None:
        return _share(self.survey_answered, self.survey_invited)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percent(value: float) -> str:
    return f"{round(value * 100)} %"


def pair_form(
    mentor_forms: Iterable[str], mentee_kind: str, serves: Mapping[str, str], allowed: Iterable[str]
) -> str:
    """The form of mentoring a pair practises: the first form (in ``serves`` order) the programme allows and
    the mentor offers that serves this mentee's kind; "unknown" when none does."""
    offered, permitted = set(mentor_forms), set(allowed)
    for form, kind in serves.items():
        if form in offered and form in permitted and kind == mentee_kind:
            return form
    return "unknown"


def total(rows: Iterable[Figures]) -> Figures:
    out = Figures()
    for row in rows:
        out = out + row
    return out


def shown_count(n: int, small: int = SMALL_DEFAULT) -> str:
    """A count as the coordinator sees it: 1–4 people (by default) is "< 5"; none is 0."""
    return f"< {small}" if 0 < n < small else str(n)


def shown_share(value: float | None, base: int, small: int = SMALL_DEFAULT) -> str | None:
    """A percentage over ``base`` people: None when there is no base (no data) or it is under ``small``
    (too few people: the caller shows "< 5")."""
    if value is None or base < small:
        return None
    return percent(value)


@dataclass(frozen=True)
class Light:
    code: str
    value: float | None
    target: float | None
    light: kpi.Light


def lights(f: Figures, targets: Mapping[str, float | None], small: int = SMALL_DEFAULT) -> list[Light]:
    """Coverage, mentees' and mentors' satisfaction against their targets; grey when there are too few
    people to say (fewer than ``small`` answered, or no population declared)."""
    out = []
    for code, value, base in (
        (kpi.KPI_COVERAGE, f.coverage, f.population and f.engaged),
        (kpi.KPI_MENTEE_SATISFACTION, f.mentee_satisfaction, f.mentee_rated),
        (kpi.KPI_MENTOR_SATISFACTION, f.mentor_satisfaction, f.mentor_rated),
    ):
        # An institution's own targets (its programmes'); the methodology's satisfaction floor otherwise.
        target = targets.get(code, DEFAULT_TARGETS.get(code))
        enough = value is not None and (code == kpi.KPI_COVERAGE or base >= small)
        light = kpi.traffic_light(value, target) if enough else kpi.Light.GREY
        out.append(Light(code, value if enough else None, target, light))
    return out


def behind(f: Figures, targets: Mapping[str, float | None], small: int = SMALL_DEFAULT) -> list[str]:
    """Why an institution falls behind (for the weekly digest): KPI codes in red, overdue pairs and
    roadmap items."""
    out = [x.code for x in lights(f, targets, small) if x.light == kpi.Light.RED]
    if f.overdue_pairs:
        out.append("overdue_pairs")
    if f.roadmap_overdue:
        out.append("roadmap_overdue")
    return out
