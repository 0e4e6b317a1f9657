"""KPI shares and traffic lights; all values are fractions in [0, 1]."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.domain import kpi
from bot.domain.kpi import (
    KPI_CODES,
    KPI_COVERAGE,
    KPI_MENTEE_SATISFACTION,
    KPI_MENTOR_SATISFACTION,
    KPI_ON_TIME,
    KpiInputs,
    Light,
    StageCompletion,
    build_report,
    coverage,
    kpi_label_key,
    on_time_share,
    satisfaction_share,
    target_for_year,
    traffic_light,
)

ROOT = Path(__file__).resolve().parents[1]


class TestTrafficLight:
    @pytest.mark.parametrize(
        ("value", "target", "light"),
        [
            (0.60, 0.60, Light.GREEN),  # exactly on target
            (0.61, 0.60, Light.GREEN),
            (1.00, 1.00, Light.GREEN),
            (0.5999, 0.60, Light.YELLOW),
            (
                0.50,
                0.60,
                Light.YELLOW,
            ),  # exactly 10 points below: still yellow (0.6 - 0.1 is not 0.5 in floats)
            (0.4999, 0.60, Light.RED),
            (0.75, 0.85, Light.YELLOW),
            (0.7499, 0.85, Light.RED),
            (0.90, 1.00, Light.YELLOW),
            (0.0, 0.10, Light.YELLOW),
            (0.0, 0.11, Light.RED),
            (0.0, 0.0, Light.GREEN),
            (None, 0.60, Light.GREY),
            (0.60, None, Light.GREY),
            (None, None, Light.GREY),
        ],
    )
    def test_boundaries(self, value: float | None, target: float | None, light: Light) -> None:
        assert traffic_light(value, target) == light

    def test_lights_compare_as_plain_strings(self) -> None:
        assert traffic_light(0.9, 0.6) == "green"
        assert Light.GREY.label_key == "roadmap.light.grey"

    def test_computed_shares_on_the_boundary(self) -> None:
        # 7 satisfied of 10 against the 70 % target of 2023 in seed 002, and 6 of 10 one band below.
        assert traffic_light(satisfaction_share([8] * 7 + [5] * 3), 0.70) is Light.GREEN
        assert traffic_light(satisfaction_share([8] * 6 + [5] * 4), 0.70) is Light.YELLOW
        assert traffic_light(satisfaction_share([8] * 5 + [5] * 5), 0.70) is Light.RED


class TestCoverage:
    def test_share(self) -> None:
        assert coverage(7, 70) == pytest.approx(0.10)
        assert coverage(49, 70) == pytest.approx(0.70)
        assert coverage(0, 5) == 0.0
        assert coverage(5, 5) == 1.0

    def test_empty_population_is_no_data(self) -> None:
        assert coverage(0, 0) is None

    @pytest.mark.parametrize(("engaged", "population"), [(-1, 5), (6, 5), (True, 5), (1.5, 5), (1, -5)])
    def test_bad_counts(self, engaged: object, population: object) -> None:
        with pytest.raises(ValueError):
            coverage(engaged, population)  # type: ignore[arg-type]


class TestSatisfaction:
    def test_default_threshold_is_eight_of_ten(self) -> None:
        assert satisfaction_share([10, 9, 8, 7]) == 0.75

    def test_threshold_is_configurable(self) -> None:
        assert satisfaction_share([5, 4, 3, 2], threshold=4) == 0.5
        assert satisfaction_share([7.5, 8.0], threshold=7.5) == 1.0

    def test_nobody_answered_is_no_data(self) -> None:
        assert satisfaction_share([]) is None

    @pytest.mark.parametrize("score", ["8", None, True])
    def test_bad_scores(self, score: object) -> None:
        with pytest.raises(ValueError):
            satisfaction_share([8, score])  # type: ignore[list-item]


class TestOnTime:
    today = date(2025, 3, 1)

    def test_share_of_due_stages(self) -> None:
        completions = [
            StageCompletion(due=date(2025, 1, 10), completed_on=date(2025, 1, 10)),  # on the day: on time
            StageCompletion(due=date(2025, 1, 10), completed_on=date(2025, 1, 11)),  # late
            StageCompletion(due=date(2025, 2, 1), completed_on=None),  # overdue: late
            StageCompletion(due=date(2025, 4, 1), completed_on=date(2025, 2, 20)),  # early: on time
            StageCompletion(due=date(2025, 4, 1), completed_on=None),  # not yet due: not counted
            StageCompletion(due=self.today, completed_on=None),  # due today: not late yet
        ]
        assert on_time_share(completions, self.today) == 0.5

    def test_nothing_due_is_no_data(self) -> None:
        assert on_time_share([StageCompletion(due=date(2025, 4, 1))], self.today) is None
        assert on_time_share([], self.today) is None


class TestTargetForYear:
    college = {2020: 0.10, 2024: 0.70}  # seed 003
    young_specialists = {2022: 0.60, 2023: 0.70, 2024: 0.85}  # seed 002

    @pytest.mark.parametrize(
        ("year", "target"),
        [(2019, None), (2020, 0.10), (2022, 0.10), (2023, 0.10), (2024, 0.70), (2030, 0.70)],
    )
    def test_milestones_hold_until_the_next(self, year: int, target: float | None) -> None:
        assert target_for_year(self.college, year) == target

    def test_yearly_targets(self) -> None:
        assert [target_for_year(self.young_specialists, y) for y in (2022, 2023, 2024)] == [0.60, 0.70, 0.85]

    def test_no_targets(self) -> None:
        assert target_for_year({}, 2024) is None


def test_report_for_seed_002_in_2023() -> None:
    targets = {
        KPI_COVERAGE: {2022: 1.0, 2023: 1.0, 2024: 1.0},
        KPI_MENTEE_SATISFACTION: {2022: 0.60, 2023: 0.70, 2024: 0.85},
        KPI_MENTOR_SATISFACTION: {2022: 0.60, 2023: 0.70, 2024: 0.85},
    }
    inputs = KpiInputs(
        engaged=9,
        population=10,
        mentee_scores=[9, 8, 10, 7, 8, 9, 8, 6, 9, 10],  # 8 of 10 satisfied
        mentor_scores=[8, 6, 7, 9],  # 2 of 4 satisfied
    )
    report = build_report("young_specialists", targets, 2023, inputs, today=date(2023, 12, 20))
    assert [value.code for value in report.values] == list(KPI_CODES)
    assert report.get(KPI_COVERAGE).value == pytest.approx(0.9)
    assert report.get(KPI_COVERAGE).light is Light.YELLOW
    assert report.get(KPI_MENTEE_SATISFACTION).light is Light.GREEN
    assert (report.get(KPI_MENTOR_SATISFACTION).value, report.get(KPI_MENTOR_SATISFACTION).light) == (
        0.5,
        Light.RED,
    )
    on_time = report.get(KPI_ON_TIME)
    assert (on_time.value, on_time.target, on_time.light) == (None, None, Light.GREY)
    with pytest.raises(KeyError):
        report.get("unknown")


def test_satisfaction_threshold_reaches_the_report() -> None:
    inputs = KpiInputs(mentee_scores=[6, 7])
    targets = {KPI_MENTEE_SATISFACTION: {2024: 0.85}}
    strict = build_report("p", targets, 2024, inputs, today=date(2024, 6, 1))
    lenient = build_report("p", targets, 2024, inputs, today=date(2024, 6, 1), satisfied_from=6)
    assert strict.get(KPI_MENTEE_SATISFACTION).light is Light.RED
    assert lenient.get(KPI_MENTEE_SATISFACTION).light is Light.GREEN


def test_every_kpi_and_light_has_a_label_in_both_languages() -> None:
    for language in ("ru", "en"):
        tree = yaml.safe_load((ROOT / "locales" / language / "roadmap.yaml").read_text("utf-8"))["roadmap"]
        for code in KPI_CODES:
            assert kpi_label_key(code).split(".")[-1] in tree["kpi"]
        for light in Light:
            assert light.label_key.split(".")[-1] in tree["light"]


# ------------------------------------------------------------------------------------- programme years
def test_a_programme_year_runs_september_to_august():
    assert kpi.programme_year(date(2026, 9, 1)) == 2026
    assert kpi.programme_year(date(2027, 8, 31)) == 2026
    assert kpi.programme_year(date(2026, 8, 31)) == 2025
    assert kpi.year_bounds(2026) == (date(2026, 9, 1), date(2027, 9, 1))
    assert kpi.year_label(2026) == "2026/27" and kpi.year_label(2099) == "2099/00"


def test_template_targets_roll_forward_to_the_programmes_first_year():
    college = {"coverage": {2020: 0.1, 2024: 0.7}}
    rolled = kpi.roll_forward(college, 2026)
    assert rolled == {"coverage": {2026: 0.1, 2030: 0.7}}
    # 2026/27 is the programme's first year: judged against the first milestone, not the 2024 one
    assert kpi.target_for_year(rolled["coverage"], 2026) == 0.1
    assert kpi.target_for_year(college["coverage"], 2026) == 0.7  # what it was judged against before
    # several KPIs move together, keeping their distance
    two = kpi.roll_forward({"a": {2022: 0.6, 2024: 0.85}, "b": {2023: 1.0}}, 2026)
    assert two == {"a": {2026: 0.6, 2028: 0.85}, "b": {2027: 1.0}}
    # milestones set for the programme's own years stay as set
    assert kpi.roll_forward({"a": {2027: 0.5}}, 2026) == {"a": {2027: 0.5}}
    assert kpi.roll_forward({}, 2026) == {}


def test_a_value_without_a_target_says_so_not_no_data():
    report = kpi.build_report("1", {}, 2026, kpi.KpiInputs(engaged=3, population=10), today=date(2026, 12, 1))
    coverage = report.get(kpi.KPI_COVERAGE)
    assert coverage.value == 0.3 and coverage.state_key == "roadmap.light.no_target"
    assert report.get(kpi.KPI_MENTEE_SATISFACTION).state_key == "roadmap.light.grey"
