"""The five seed programmes as templates (bot/programmes/*.yaml) and their strict loader."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path

import pytest
import yaml

from bot.domain.kpi import KPI_COVERAGE, KPI_MENTEE_SATISFACTION, KPI_MENTOR_SATISFACTION
from bot.domain.programme_templates import (
    CALENDAR_EVENTS,
    ProgrammeTemplate,
    TemplateError,
    calendar_label_key,
    load_templates,
    parse_template,
)
from bot.domain.roadmap import DeadlineKind, next_due
from bot.domain.stages import Stage

ROOT = Path(__file__).resolve().parents[1]
SEED_IDS = {
    "000": "children_centre",
    "001": "school",
    "002": "young_specialists",
    "003": "college",
    "004": "kindergarten",
}


@pytest.fixture(scope="module")
def templates() -> dict[str, ProgrammeTemplate]:
    return load_templates()


def test_all_five_seeds_load(templates: dict[str, ProgrammeTemplate]) -> None:
    assert {template.seed: template.id for template in templates.values()} == SEED_IDS
    for template in templates.values():
        assert template.title_for("ru") and template.title_for("en")
        assert template.title_for("de") == template.title["ru"]


def test_young_specialists_targets_match_seed_002(templates: dict[str, ProgrammeTemplate]) -> None:
    template = templates["young_specialists"]
    for code in (KPI_MENTEE_SATISFACTION, KPI_MENTOR_SATISFACTION):
        assert [template.target(code, year) for year in (2022, 2023, 2024)] == [0.60, 0.70, 0.85]
    assert [template.target(KPI_COVERAGE, year) for year in (2022, 2023, 2024)] == [1.0, 1.0, 1.0]
    assert template.coverage_of == "young_specialists"
    assert template.target(KPI_COVERAGE, 2021) is None


def test_college_targets_match_seed_003(templates: dict[str, ProgrammeTemplate]) -> None:
    template = templates["college"]
    assert dict(template.kpi_targets[KPI_COVERAGE]) == {2020: 0.10, 2024: 0.70}
    assert template.target(KPI_COVERAGE, 2022) == 0.10
    assert template.coverage_of == "students"


@pytest.mark.parametrize("template_id", ["children_centre", "school", "kindergarten"])
def test_seeds_without_numeric_targets_invent_none(
    templates: dict[str, ProgrammeTemplate], template_id: str
) -> None:
    assert templates[template_id].kpi_targets == {}


@pytest.mark.parametrize(
    ("template_id", "forms", "mentee_form", "minors", "months"),
    [
        ("children_centre", ("pupil_pupil", "teacher_teacher"), "mentee_needs", True, (5,)),
        ("school", ("pupil_pupil", "teacher_teacher"), "mentee_needs", True, (11,)),
        ("young_specialists", ("teacher_teacher",), "young_specialist_needs", False, (12, 6)),
        ("college", ("student_student", "teacher_student", "employer_student"), "mentee_needs", True, (5,)),
        ("kindergarten", ("teacher_teacher",), "young_specialist_needs", False, (5,)),
    ],
)
def test_forms_minors_and_monitoring(
    templates: dict[str, ProgrammeTemplate],
    template_id: str,
    forms: tuple[str, ...],
    mentee_form: str,
    minors: bool,
    months: tuple[int, ...],
) -> None:
    template = templates[template_id]
    assert template.mentoring_forms == forms
    assert (template.mentee_form, template.mentor_form) == (mentee_form, "mentor")
    assert template.minors_present is minors
    assert template.monitoring_months == months


def test_stage_plans_are_offsets_in_order(templates: dict[str, ProgrammeTemplate]) -> None:
    for template in templates.values():
        offsets = [template.stage_plan.deadlines[stage] for stage in Stage]
        assert all(isinstance(offset, int) for offset in offsets)
        assert offsets == sorted(offsets)
        assert template.stage_plan.joint_work_meetings >= 1
        assert template.meeting_reminder_offsets == (timedelta(hours=24), timedelta(hours=1))


def test_young_specialists_calendar_follows_seed_002(templates: dict[str, ProgrammeTemplate]) -> None:
    calendar = templates["young_specialists"].calendar
    today = date(2025, 8, 20)
    assert next_due(calendar["mentee_base"], today) == date(2025, 9, 15)
    assert calendar["mentee_base"].recurrence_start_day == 1
    assert next_due(calendar["mentor_base"], today) == date(2025, 9, 30)
    assert calendar["mentor_base"].recurrence_start_day == 16
    assert next_due(calendar["pairs"], today) == date(2025, 10, 30)
    assert calendar["mentor_training"].kind is DeadlineKind.OPEN


def test_calendars_never_expire(templates: dict[str, ProgrammeTemplate]) -> None:
    far = date(2040, 1, 1)
    for template in templates.values():
        for event, deadline in template.calendar.items():
            if deadline.kind is DeadlineKind.RECURRING:
                assert next_due(deadline, far) is not None, (template.id, event)


def test_calendar_events_have_labels_in_both_languages() -> None:
    for language in ("ru", "en"):
        tree = yaml.safe_load((ROOT / "locales" / language / "roadmap.yaml").read_text("utf-8"))
        for event in CALENDAR_EVENTS:
            section, _, name = calendar_label_key(event).removeprefix("roadmap.").partition(".")
            assert name in tree["roadmap"][section], (language, event)


def _seed_002_text() -> str:
    return resources.files("bot.programmes").joinpath("young_specialists.yaml").read_text("utf-8")


def _edited(old: str, new: str) -> str:
    text = _seed_002_text()
    assert old in text, old
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("minors_present: false\n", "minors_present: false\ncolour: blue\n", "(top): unknown key 'colour'"),
        ("mentor_form: mentor\n", "", "(top): missing key 'mentor_form'"),
        ("id: young_specialists", "id: young", "id: 'young' does not match the file name"),
        ('seed: "002"', "seed: 2", "seed:"),
        (
            "  en: Mentoring young specialists (out-of-school education centre)\n",
            "",
            "title: missing key 'en'",
        ),
        ("mentoring_forms: [teacher_teacher]", "mentoring_forms: [teacher_parent]", "mentoring_forms[0]:"),
        (
            "mentoring_forms: [teacher_teacher]",
            "mentoring_forms: []",
            "mentoring_forms: expected a non-empty list",
        ),
        ("mentee_form: young_specialist_needs", "mentee_form: needs", "mentee_form: 'needs' is not one of"),
        ("mentee_groups: [young_specialists]", "mentee_groups: [pupils]", "young_specialist_needs needs"),
        (
            "mentoring_forms: [teacher_teacher]",
            "mentoring_forms: [pupil_pupil]",
            "minors_present: must be true",
        ),
        ("minors_present: false", "minors_present: no-ish", "minors_present: expected true or false"),
        (
            "mentee_satisfaction: {2022: 60,",
            "mentee_satisfaction: {2022: 160,",
            "kpi_targets.mentee_satisfaction.2022",
        ),
        (
            "mentee_satisfaction: {2022: 60,",
            "mentee_satisfaction: {22: 60,",
            "kpi_targets.mentee_satisfaction.22",
        ),
        ("  coverage: {2022: 100,", "  reach: {2022: 100,", "kpi_targets: unknown key 'reach'"),
        ("coverage_of: young_specialists", "coverage_of: null", "coverage_of: a coverage target needs"),
        ("monitoring_months: [12, 6]", "monitoring_months: [13]", "monitoring_months[0]"),
        ("monitoring_months: [12, 6]", "monitoring_months: [6, 6]", "monitoring_months: has duplicates"),
        (
            "joint_work: 190, final: 210",
            "joint_work: 190, final: 100",
            "stages: meetings.error.plan_deadline_order",
        ),
        ("joint_work: 190, final: 210", "joint_work: 190", "stages.deadlines: missing key 'final'"),
        ("introduction: 7,", 'introduction: "2025-09-01",', "stages.deadlines.introduction"),
        ("joint_work_meetings: 8", "joint_work_meetings: 0", "stages: meetings.error.plan_joint_work_count"),
        ("before_meeting_hours: [24, 1]", "before_meeting_hours: [0]", "reminders.before_meeting_hours[0]"),
        (
            'pairs: "до 30 октября ежегодно"',
            'pairs: "когда-нибудь"',
            "calendar.pairs: roadmap.deadline.unreadable",
        ),
        (
            'pairs: "до 30 октября ежегодно"',
            'pairs: "до 30.10.2022"',
            "calendar.pairs: expected a yearly deadline",
        ),
        (
            'pairs: "до 30 октября ежегодно"',
            'pairs: "до 30 октября ежегодно (в период с 2022 по 2024 г.г.)"',
            "calendar.pairs: expected a yearly deadline",
        ),
        ("  pairs:", "  meetings:", "calendar: unknown key 'meetings'"),
        ("period: {from: 2022, to: 2024}", "period: {from: 2022, to: 2021}", "period.to"),
        ("title:\n", "title: [\n", "young_specialists.yaml: line"),
    ],
)
def test_broken_templates_fail_with_one_line_naming_the_file(old: str, new: str, fragment: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template("young_specialists.yaml", _edited(old, new))
    message = str(caught.value)
    assert message.startswith("young_specialists.yaml: ")
    assert "\n" not in message
    assert fragment in message


def test_unedited_text_parses() -> None:
    # Guards the test above: each failure comes from its edit, not from the base text.
    assert parse_template("young_specialists.yaml", _seed_002_text()).id == "young_specialists"
