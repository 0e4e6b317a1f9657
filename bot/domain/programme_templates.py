"""Programme templates: the five seed roadmaps as ready-made programme settings.

One YAML file per template in ``bot/programmes/`` (``<id>.yaml``). Loading is strict — unknown or
missing keys, unknown form ids, unreadable calendar deadlines all fail — because a template is
copied into every programme created from it, and a typo there would quietly become many
programmes' behaviour. Each error is one line that names the file and the key path.

KPI targets are written as percents (as the roadmaps write them) and stored as fractions in
[0, 1], the scale ``bot.domain.kpi`` works in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from bot.domain.kpi import KPI_CODES, KPI_COVERAGE, target_for_year
from bot.domain.roadmap import Deadline, DeadlineKind, Invalid, parse_deadline
from bot.domain.stages import STAGE_ORDER, StagePlan, StagePlanError

TEMPLATES_PACKAGE = "bot.programmes"
LANGUAGES: tuple[str, ...] = ("ru", "en")
MENTORING_FORMS: tuple[str, ...] = (
    "pupil_pupil",
    "teacher_teacher",
    "student_student",
    "employer_student",
    "student_pupil",
    "teacher_student",
)
MENTEE_FORMS: tuple[str, ...] = ("mentee_needs", "young_specialist_needs")
MENTOR_FORMS: tuple[str, ...] = ("mentor",)
INSTITUTION_KINDS: tuple[str, ...] = ("school", "college", "kindergarten", "additional_education")
MENTEE_GROUPS: tuple[str, ...] = ("pupils", "students", "teachers", "young_specialists", "staff")
CALENDAR_EVENTS: tuple[str, ...] = (
    "mentee_base",
    "mentor_base",
    "mentor_training",
    "pairs",
    "completion",
    "report",
    "case_base",
)
CALENDAR_LABEL_PREFIX = "roadmap.calendar."
# Mentee groups who answer the educators' questionnaire (young_specialist_needs).
_ADULT_STAFF = frozenset({"young_specialists", "teachers", "staff"})
# Mentees in these forms are school pupils, so they are minors and need a parent's consent.
_PUPIL_FORMS = frozenset({"pupil_pupil", "student_pupil"})

_KEYS_REQUIRED = (
    "id",
    "seed",
    "title",
    "institution_kind",
    "period",
    "mentee_groups",
    "mentoring_forms",
    "mentee_form",
    "mentor_form",
    "minors_present",
    "stages",
    "reminders",
    "monitoring_months",
    "coverage_of",
    "kpi_targets",
    "calendar",
)
_MAX_MEETING_REMINDER_HOURS = 7 * 24
_MAX_LEAD_DAYS = 60


class TemplateError(ValueError):
    """A broken template file; the message is one line starting with the file name."""


@dataclass(frozen=True)
class ProgrammeTemplate:
    id: str
    seed: str
    title: Mapping[str, str]
    institution_kind: str
    period_from: int
    period_to: int | None
    mentee_groups: tuple[str, ...]
    mentoring_forms: tuple[str, ...]
    mentee_form: str
    mentor_form: str
    minors_present: bool
    stage_plan: StagePlan
    meeting_reminder_offsets: tuple[timedelta, ...]
    stage_deadline_lead_days: int
    monitoring_months: tuple[int, ...]
    coverage_of: str | None
    # code -> year -> fraction in [0, 1]
    kpi_targets: Mapping[str, Mapping[int, float]] = field(default_factory=dict)
    # event -> a yearly (or open) deadline, e.g. "pairs" -> "до 30 октября ежегодно"
    calendar: Mapping[str, Deadline] = field(default_factory=dict)

    def title_for(self, language: str) -> str:
        return self.title.get(language) or self.title["ru"]

    def target(self, code: str, year: int) -> float | None:
        return target_for_year(self.kpi_targets.get(code, {}), year)


def calendar_label_key(event: str) -> str:
    return CALENDAR_LABEL_PREFIX + event


# The programme settings the bot reads, and where: mentoring_forms (matching pools, a former mentee's
# mentor questionnaire), mentee_form (the intake questionnaire), stage_plan and reminder_offsets_hours
# (meetings), stage_deadline_lead_days (the hourly scan's stage-deadline nudges), monitoring_months and
# kpi_targets (dashboard, monitoring campaigns). Settings a curator sets later (population,
# immediate_alerts, weights) are not the template's.
SETTINGS_FROM_TEMPLATE: tuple[str, ...] = (
    "mentoring_forms",
    "mentee_form",
    "stage_plan",
    "reminder_offsets_hours",
    "stage_deadline_lead_days",
    "monitoring_months",
    "kpi_targets",
)


def programme_settings(template: ProgrammeTemplate) -> dict[str, Any]:
    """A new programme's settings from its template: JSON-safe, exactly the keys of SETTINGS_FROM_TEMPLATE."""
    return {
        "mentoring_forms": list(template.mentoring_forms),
        "mentee_form": template.mentee_form,
        "stage_plan": template.stage_plan.to_mapping(),
        "reminder_offsets_hours": [
            round(offset.total_seconds() / 3600) for offset in template.meeting_reminder_offsets
        ],
        "stage_deadline_lead_days": template.stage_deadline_lead_days,
        "monitoring_months": list(template.monitoring_months),
        # JSON object keys are text: years are stored as "2024" and read back with int().
        "kpi_targets": {
            code: {str(year): fraction for year, fraction in by_year.items()}
            for code, by_year in template.kpi_targets.items()
        },
    }


def load_templates() -> dict[str, ProgrammeTemplate]:
    """Every ``*.yaml`` in ``bot/programmes``, keyed by id. Raises ``TemplateError``."""
    templates: dict[str, ProgrammeTemplate] = {}
    for entry in sorted(resources.files(TEMPLATES_PACKAGE).iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".yaml"):
            continue
        template = parse_template(entry.name, entry.read_text(encoding="utf-8"))
        templates[template.id] = template
    return templates


def parse_template(filename: str, text: str) -> ProgrammeTemplate:
    """One template from its YAML text; ``filename`` names it in errors and must be ``<id>.yaml``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise TemplateError(f"{filename}: {where}: {problem}") from None
    return _Checker(filename).template(data)


class _Checker:
    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, path: str, message: str) -> NoReturn:
        raise TemplateError(f"{self.filename}: {path}: {message}")

    def mapping(
        self, value: object, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict:
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in required and key not in optional:
                self.fail(path, f"unknown key {key!r}")
        for key in required:
            if key not in value:
                self.fail(path, f"missing key {key!r}")
        return value

    def text(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(path, f"expected non-empty text, got {value!r}")
        return value.strip()

    def choice(self, value: object, path: str, options: tuple[str, ...]) -> str:
        if value not in options:
            self.fail(path, f"{value!r} is not one of {', '.join(options)}")
        return value  # type: ignore[return-value]

    def choices(self, value: object, path: str, options: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.fail(path, "expected a non-empty list")
        if len(set(map(str, value))) != len(value):
            self.fail(path, "has duplicates")
        return tuple(self.choice(item, f"{path}[{index}]", options) for index, item in enumerate(value))

    def integer(self, value: object, path: str, low: int, high: int) -> int:
        # bool is an int subclass; "yes" in YAML is never a count.
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.fail(path, f"expected a whole number {low}..{high}, got {value!r}")
        return value

    def integers(self, value: object, path: str, low: int, high: int) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            self.fail(path, "expected a non-empty list")
        numbers = tuple(self.integer(item, f"{path}[{index}]", low, high) for index, item in enumerate(value))
        if len(set(numbers)) != len(numbers):
            self.fail(path, "has duplicates")
        return numbers

    def template(self, data: object) -> ProgrammeTemplate:
        root = self.mapping(data, "(top)", _KEYS_REQUIRED)
        template_id = self.text(root["id"], "id")
        if self.filename != f"{template_id}.yaml":
            self.fail("id", f"{template_id!r} does not match the file name")
        seed = root["seed"]
        if not isinstance(seed, str) or not (len(seed) == 3 and seed.isdigit()):
            self.fail("seed", f'expected a quoted three-digit string like "002", got {seed!r}')
        title_map = self.mapping(root["title"], "title", LANGUAGES)
        title = {language: self.text(title_map[language], f"title.{language}") for language in LANGUAGES}
        period = self.mapping(root["period"], "period", ("from", "to"))
        period_from = self.integer(period["from"], "period.from", 2019, 2099)
        period_to = (
            None if period["to"] is None else self.integer(period["to"], "period.to", period_from, 2099)
        )
        mentee_groups = self.choices(root["mentee_groups"], "mentee_groups", MENTEE_GROUPS)
        forms = self.choices(root["mentoring_forms"], "mentoring_forms", MENTORING_FORMS)
        mentee_form = self.choice(root["mentee_form"], "mentee_form", MENTEE_FORMS)
        if mentee_form == "young_specialist_needs" and not _ADULT_STAFF.intersection(mentee_groups):
            self.fail(
                "mentee_form",
                "young_specialist_needs needs young_specialists, teachers or staff in mentee_groups",
            )
        minors = root["minors_present"]
        if not isinstance(minors, bool):
            self.fail("minors_present", f"expected true or false, got {minors!r}")
        if not minors and _PUPIL_FORMS.intersection(forms):
            self.fail("minors_present", "must be true when pupils are mentees (pupil_pupil, student_pupil)")
        coverage_of = root["coverage_of"]
        if coverage_of is not None:
            coverage_of = self.choice(coverage_of, "coverage_of", MENTEE_GROUPS)
        kpi_targets = self.kpi_targets(root["kpi_targets"])
        if KPI_COVERAGE in kpi_targets and coverage_of is None:
            self.fail("coverage_of", "a coverage target needs the group it covers")
        reminders = self.mapping(
            root["reminders"], "reminders", ("before_meeting_hours", "stage_deadline_lead_days")
        )
        hours = self.integers(
            reminders["before_meeting_hours"],
            "reminders.before_meeting_hours",
            1,
            _MAX_MEETING_REMINDER_HOURS,
        )
        return ProgrammeTemplate(
            id=template_id,
            seed=seed,
            title=MappingProxyType(title),
            institution_kind=self.choice(root["institution_kind"], "institution_kind", INSTITUTION_KINDS),
            period_from=period_from,
            period_to=period_to,
            mentee_groups=mentee_groups,
            mentoring_forms=forms,
            mentee_form=mentee_form,
            mentor_form=self.choice(root["mentor_form"], "mentor_form", MENTOR_FORMS),
            minors_present=minors,
            stage_plan=self.stage_plan(root["stages"]),
            meeting_reminder_offsets=tuple(timedelta(hours=h) for h in sorted(hours, reverse=True)),
            stage_deadline_lead_days=self.integer(
                reminders["stage_deadline_lead_days"], "reminders.stage_deadline_lead_days", 0, _MAX_LEAD_DAYS
            ),
            monitoring_months=self.integers(root["monitoring_months"], "monitoring_months", 1, 12),
            coverage_of=coverage_of,
            kpi_targets=kpi_targets,
            calendar=self.calendar(root["calendar"]),
        )

    def stage_plan(self, value: object) -> StagePlan:
        stages = self.mapping(value, "stages", ("joint_work_meetings", "deadlines"))
        deadlines = self.mapping(
            stages["deadlines"], "stages.deadlines", tuple(stage.value for stage in STAGE_ORDER)
        )
        # A template pins every stage as an offset; fixed dates belong to a concrete programme's year.
        for stage, offset in deadlines.items():
            self.integer(offset, f"stages.deadlines.{stage}", 0, 3 * 366)
        try:
            return StagePlan.from_mapping(stages)
        except StagePlanError as exc:
            params = ", ".join(f"{key}={value}" for key, value in exc.params.items())
            self.fail("stages", f"{exc.code} ({params})" if params else exc.code)

    def kpi_targets(self, value: object) -> Mapping[str, Mapping[int, float]]:
        targets = self.mapping(value, "kpi_targets", (), KPI_CODES)
        result: dict[str, Mapping[int, float]] = {}
        for code, by_year in targets.items():
            path = f"kpi_targets.{code}"
            if not isinstance(by_year, dict) or not by_year:
                self.fail(path, "expected a non-empty mapping year: percent")
            fractions: dict[int, float] = {}
            for year, percent in by_year.items():
                self.integer(year, f"{path}.{year}", 2019, 2099)
                if (
                    isinstance(percent, bool)
                    or not isinstance(percent, int | float)
                    or not 0 <= percent <= 100
                ):
                    self.fail(f"{path}.{year}", f"expected a percent 0..100, got {percent!r}")
                fractions[year] = percent / 100
            result[code] = MappingProxyType(dict(sorted(fractions.items())))
        return MappingProxyType(result)

    def calendar(self, value: object) -> Mapping[str, Deadline]:
        events = self.mapping(value, "calendar", (), CALENDAR_EVENTS)
        result: dict[str, Deadline] = {}
        for event, text in events.items():
            path = f"calendar.{event}"
            deadline = parse_deadline(self.text(text, path))
            if isinstance(deadline, Invalid):
                self.fail(path, f"{deadline.code}: {text!r}")
            # A template is reused year after year, so its calendar may only hold yearly or open deadlines.
            if (
                deadline.kind not in (DeadlineKind.RECURRING, DeadlineKind.OPEN)
                or deadline.until_year is not None
            ):
                self.fail(path, f"expected a yearly deadline without an end year, got {text!r}")
            result[event] = deadline
        return MappingProxyType(result)
