"""`nastavnik demo`: a whole mentoring programme offline — no token, no network.

A curator, five mentors, twelve pupils and three parents go through half a school year against the in-process
fake Telegram (bot/testing) with a simulated clock: invitations, consents, intake questionnaires, the mentor
base, matching, the five stages of the meeting sequence with their reminders and feedback, the overdue digest,
the monitoring survey, an announcement to the parents and the final surveys (when this build of the bot has
them), then the dashboard, the export workbook and the charts.

The people are agents: each reacts to what the bot sends them (confirms a proposed meeting, answers "did it
happen?", fills in a form) after a plausible delay, and the clock jumps from one due moment to the next — a
reminder, someone's action, the daily scan at 10:00. A few things go wrong on purpose: one pair is late with
its first meeting, two people are late with feedback, one meeting does not take place, one pupil leaves the
questionnaire half-done. The transcript has one line per notable event; the counts come at the end.

`--template ID` runs one of the five seed programme templates (bot/programmes/<id>.yaml) instead: the curator
creates the programme from it through /programme, a small cast that fits it (its mentee groups, forms of
mentoring and mentees' questionnaire; parents only where mentees are minors) goes through the same story,
and the meetings follow the template's stage plan (its number of joint-work meetings, its deadlines), so its
reminders, monitoring months and KPI targets are the ones at work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import heapq
import html
import itertools
import logging
import random
import re
import sys
import time as walltime
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TZ_NAME = "Europe/Moscow"
TZ = ZoneInfo(TZ_NAME)
START = datetime(2026, 9, 1, 9, 0, tzinfo=TZ)  # a Tuesday: the school year has just begun
CURATOR_TG = 1000
POPULATION = 60
DEFAULT_OUT = Path("demo-output")
# Days after pairing by which each of the ten meetings is aimed (introduction, trial, planning, six joint-work
# meetings, final); each pair then takes its own next free slot. Stage deadlines: 14, 28, 42, 150, 180 days.
MEETING_OFFSETS = (7, 20, 33, 55, 75, 95, 122, 133, 142, 163)
# No meetings in the New Year break and on public holidays.
HOLIDAYS = (
    *(date(2026, 12, 30) + timedelta(days=i) for i in range(12)),
    date(2026, 11, 4),
    date(2027, 2, 23),
    date(2027, 3, 8),
)
CHART_NAMES = ("funnel", "satisfaction", "kpi")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_LINK_RE = re.compile(r"https://t\.me/\S+\?start=([A-Za-z0-9_-]+)")
_TAG_RE = re.compile(r"<[^>]+>")
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(),
        strict=True,
    )
)


# ------------------------------------------------------------------------------------------- the people
@dataclass(frozen=True)
class Persona:
    key: str
    name: str  # as they type it (surname, name, patronymic), in Russian
    role: str  # curator | mentor | mentee | parent
    group: str = ""  # a pupil's class
    minor: bool = False
    parent: str = ""  # a minor's parent's name
    answers: Mapping[str, Any] = field(default_factory=dict)  # intake questionnaire, by question key
    slots: tuple[tuple[int, str], ...] = ()  # a mentor's meeting slots: (weekday, "HH:MM")
    meet: str = "online"  # how the mentor's pair meets


def _mentor(
    key: str,
    name: str,
    areas: list[str],
    capacity: int,
    fmt: str,
    free: list[str],
    *,
    at: tuple[tuple[int, str], ...],
    meet: str = "online",
    role: str = "student",
    forms: tuple[str, ...] = ("student_pupil",),
    years: int = 2,
) -> Persona:
    answers = {
        "mentor_role": role,
        "mentoring_forms": list(forms),
        "areas": areas,
        "experience_years": years,
        "capacity": capacity,
        "format": fmt,
        "slots": free,
        "about": None,
    }
    return Persona(key, name, "mentor", answers=answers, slots=at, meet=meet)


def _mentee(
    key: str,
    name: str,
    group: str,
    goals: list[str],
    areas: list[str],
    fmt: str,
    slots: list[str],
    *,
    exam: tuple[str, list[str]] | None = None,
    parent: str = "",
) -> Persona:
    grade = int(group[:-1])
    answers: dict[str, Any] = {
        "study_level": "school_8_9" if grade <= 9 else "school_10_11",
        "goals": goals,
        "areas": areas,
        "format": fmt,
        "slots": slots,
        "interests": None,
    }
    if exam:
        answers["exam_kind"], answers["exam_subjects"] = exam
    return Persona(key, name, "mentee", group=group, minor=bool(parent), parent=parent, answers=answers)


MENTORS = (
    _mentor(
        "volkova",
        "Волкова Анна Сергеевна",
        ["math", "physics", "exams", "study_skills"],
        4,
        "any",
        ["weekday_evening", "weekend_morning"],
        years=3,
        at=((1, "17:00"), (3, "17:00")),
        meet="offline",
    ),
    _mentor(
        "orlov",
        "Орлов Дмитрий Игоревич",
        ["informatics", "math", "projects", "career"],
        3,
        "online",
        ["weekday_evening", "weekend_afternoon"],
        at=((2, "19:00"), (5, "14:00")),
    ),
    _mentor(
        "lebedeva",
        "Лебедева Мария Андреевна",
        ["russian", "literature", "exams", "communication"],
        2,
        "offline",
        ["weekday_afternoon", "weekday_evening"],
        years=1,
        at=((0, "15:30"), (3, "15:30")),
        meet="offline",
    ),
    _mentor(
        "sokolov",
        "Соколов Егор Дмитриевич",
        ["chemistry", "biology", "research"],
        1,
        "any",
        ["weekday_afternoon", "weekend_morning"],
        role="pupil",
        forms=("pupil_pupil",),
        at=((2, "15:30"), (5, "11:00")),
        meet="offline",
    ),
    _mentor(
        "kuznetsova",
        "Кузнецова Ольга Викторовна",
        ["foreign_language", "communication", "career", "adaptation"],
        2,
        "any",
        ["weekday_afternoon", "weekend_morning"],
        years=4,
        at=((4, "15:00"),),
    ),
)
MENTEES = (
    _mentee(
        "smirnov",
        "Смирнов Пётр Алексеевич",
        "8Б",
        ["grades"],
        ["math", "study_skills"],
        "any",
        ["weekday_evening"],
        parent="Смирнова Елена Викторовна",
    ),
    _mentee(
        "kozlova",
        "Козлова Дарья Игоревна",
        "9А",
        ["exam_prep"],
        ["russian", "exams"],
        "offline",
        ["weekday_afternoon"],
        exam=("oge", ["russian", "math"]),
        parent="Козлов Игорь Петрович",
    ),
    _mentee(
        "novikov",
        "Новиков Артём Сергеевич",
        "10В",
        ["project", "career"],
        ["informatics", "projects"],
        "online",
        ["weekday_evening", "weekend_afternoon"],
        parent="Новикова Ирина Олеговна",
    ),
    _mentee(
        "morozova",
        "Морозова Софья Дмитриевна",
        "11А",
        ["exam_prep"],
        ["math", "physics", "exams"],
        "any",
        ["weekday_evening"],
        exam=("ege", ["math", "physics"]),
    ),
    _mentee(
        "pavlov",
        "Павлов Кирилл Андреевич",
        "11А",
        ["career", "project"],
        ["informatics", "career"],
        "online",
        ["weekday_evening"],
    ),
    _mentee(
        "fedorova",
        "Фёдорова Алиса Романовна",
        "11Б",
        ["exam_prep", "confidence"],
        ["literature", "russian", "communication"],
        "offline",
        ["weekday_afternoon"],
        exam=("ege", ["russian", "literature"]),
    ),
    _mentee(
        "volkov",
        "Волков Максим Евгеньевич",
        "11Б",
        ["olympiad"],
        ["chemistry", "research"],
        "any",
        ["weekend_morning", "weekday_afternoon"],
    ),
    _mentee(
        "alekseeva",
        "Алексеева Вероника Павловна",
        "11А",
        ["career"],
        ["foreign_language", "career"],
        "any",
        ["weekday_afternoon"],
    ),
    _mentee(
        "egorov",
        "Егоров Тимофей Олегович",
        "11В",
        ["grades", "exam_prep"],
        ["math", "exams", "study_skills"],
        "any",
        ["weekend_morning"],
        exam=("ege", ["math"]),
    ),
    _mentee(
        "nikitina",
        "Никитина Полина Сергеевна",
        "11В",
        ["adaptation", "confidence"],
        ["communication", "adaptation", "foreign_language"],
        "any",
        ["weekday_afternoon", "weekend_morning"],
    ),
    _mentee(
        "zakharov",
        "Захаров Иван Николаевич",
        "11Б",
        ["project"],
        ["informatics", "projects"],
        "online",
        ["weekend_afternoon"],
    ),
    _mentee(
        "belova",
        "Белова Ксения Артёмовна",
        "11А",
        ["exam_prep"],
        ["russian", "exams"],
        "offline",
        ["weekday_evening"],
        exam=("ege", ["russian"]),
    ),
)
# What goes wrong on purpose (keys of MENTORS / MENTEES).
LATE_PAIR = "sokolov"  # schedules its first meeting only after the bot says it is overdue
LATE_FEEDBACK = {("volkova", 1): ("egorov", "feedback_1d"), ("orlov", 4): ("pavlov", "feedback_3d")}
MISSED = ("lebedeva", 5)  # the mentor answers "no, it did not take place" and picks another time
PAUSES_FORM = "zakharov"  # answers three questions, is reminded by the curator, finishes
SURVEY_LATE, SURVEY_NEVER = "zakharov", "pavlov"
ALUMNI = ("morozova", "volkov", "alekseeva")  # would mentor others; the first says yes when the bot asks


@dataclass(frozen=True)
class Cast:
    """Who takes part in one run and what goes wrong on purpose (persona keys; see the constants above)."""

    mentors: tuple[Persona, ...]
    mentees: tuple[Persona, ...]
    late_pair: str
    late_feedback: Mapping[tuple[str, int], tuple[str, str]]
    missed: tuple[str, int]
    pauses_form: str
    survey_late: str
    survey_never: str
    survey_problem: str  # reports a problem in the monitoring survey
    alumni: tuple[str, ...]
    population: int  # the intended population for coverage (/population)
    start: datetime = START


# The hand-made school programme `nastavnik demo` runs without --template (the app's default programme
# settings: six joint-work meetings, stage deadlines 14/28/42/150/180 days).
DEFAULT_CAST = Cast(
    MENTORS,
    MENTEES,
    LATE_PAIR,
    LATE_FEEDBACK,
    MISSED,
    PAUSES_FORM,
    SURVEY_LATE,
    SURVEY_NEVER,
    "nikitina",
    ALUMNI,
    POPULATION,
)


def _needs(key: str, name: str, group: str, answers: dict[str, Any], *, parent: str = "") -> Persona:
    """A mentee whose intake answers are given as they are (any mentee questionnaire)."""
    return Persona(key, name, "mentee", group=group, minor=bool(parent), parent=parent, answers=answers)


def _needs_answers(
    level: str, goals: list[str], areas: list[str], fmt: str, slots: list[str]
) -> dict[str, Any]:
    return {"study_level": level, "goals": goals, "areas": areas, "format": fmt, "slots": slots}


def _young_specialist_answers(
    experience: str, position: str, areas: list[str], fmt: str, slots: list[str]
) -> dict[str, Any]:
    return {"experience": experience, "position": position, "areas": areas, "format": fmt, "slots": slots}


# One small cast per seed programme template (bot/programmes/<id>.yaml), fitted to its mentee groups, forms of
# mentoring and mentees' questionnaire: two mentors, three mentees (one pair is a group of two), parents only
# where the mentees are minors. Kept small so that a template's whole year runs in seconds.
TEMPLATE_CASTS: dict[str, Cast] = {
    # Additional education for children: older pupils of the centre's studios mentor younger ones.
    "children_centre": Cast(
        (
            _mentor(
                "gromova",
                "Громова Вера Андреевна",
                ["arts", "music", "communication"],
                2,
                "offline",
                ["weekday_afternoon", "weekend_morning"],
                role="pupil",
                forms=("pupil_pupil",),
                years=3,
                at=((1, "16:00"), (4, "16:00")),
                meet="offline",
            ),
            _mentor(
                "tikhonov",
                "Тихонов Лев Максимович",
                ["informatics", "projects", "research"],
                1,
                "any",
                ["weekday_evening", "weekend_morning"],
                role="pupil",
                forms=("pupil_pupil",),
                at=((2, "17:30"), (5, "11:00")),
            ),
        ),
        (
            _needs(
                "zaitseva",
                "Зайцева Мила Олеговна",
                "6А",
                _needs_answers("school_5_7", ["hobby"], ["arts", "music"], "offline", ["weekday_afternoon"]),
                parent="Зайцева Ольга Ивановна",
            ),
            _needs(
                "kovalev",
                "Ковалёв Денис Петрович",
                "7Б",
                _needs_answers(
                    "school_5_7", ["project"], ["informatics", "projects"], "any", ["weekday_evening"]
                ),
                parent="Ковалёв Пётр Сергеевич",
            ),
            _needs(
                "sorokina",
                "Сорокина Ева Дмитриевна",
                "8А",
                _needs_answers(
                    "school_8_9",
                    ["confidence", "hobby"],
                    ["arts", "communication"],
                    "any",
                    ["weekday_afternoon", "weekend_morning"],
                ),
                parent="Сорокина Наталья Юрьевна",
            ),
        ),
        late_pair="tikhonov",
        late_feedback={
            ("gromova", 1): ("sorokina", "feedback_1d"),
            ("tikhonov", 6): ("kovalev", "feedback_3d"),
        },
        missed=("gromova", 4),
        pauses_form="kovalev",
        survey_late="zaitseva",
        survey_never="",
        survey_problem="sorokina",
        alumni=("sorokina",),
        population=40,
    ),
    # A secondary school: pupils of grades 10–11 mentor pupils of grades 8–9 (pupil–pupil).
    "school": Cast(
        (
            _mentor(
                "belov",
                "Белов Арсений Игоревич",
                ["math", "physics", "exams", "study_skills"],
                2,
                "any",
                ["weekday_evening", "weekend_morning"],
                role="pupil",
                forms=("pupil_pupil",),
                at=((1, "17:00"), (4, "17:00")),
                meet="offline",
            ),
            _mentor(
                "ershova",
                "Ершова Таисия Романовна",
                ["russian", "literature", "communication", "exams"],
                1,
                "offline",
                ["weekday_afternoon"],
                role="pupil",
                forms=("pupil_pupil",),
                at=((0, "15:30"), (3, "15:30")),
                meet="offline",
            ),
        ),
        (
            _needs(
                "medvedev",
                "Медведев Глеб Антонович",
                "8А",
                _needs_answers(
                    "school_8_9", ["grades"], ["math", "study_skills"], "any", ["weekday_evening"]
                ),
                parent="Медведева Анна Львовна",
            ),
            _needs(
                "karpova",
                "Карпова Злата Сергеевна",
                "9Б",
                _needs_answers(
                    "school_8_9", ["exam_prep"], ["russian", "exams"], "offline", ["weekday_afternoon"]
                )
                | {"exam_kind": "oge", "exam_subjects": ["russian"]},
                parent="Карпов Сергей Иванович",
            ),
            _needs(
                "zhukov",
                "Жуков Роман Ильич",
                "9А",
                _needs_answers(
                    "school_8_9",
                    ["exam_prep"],
                    ["math", "physics", "exams"],
                    "any",
                    ["weekday_evening", "weekend_morning"],
                )
                | {"exam_kind": "oge", "exam_subjects": ["math", "physics"]},
                parent="Жукова Марина Петровна",
            ),
        ),
        late_pair="ershova",
        late_feedback={("belov", 1): ("zhukov", "feedback_1d"), ("ershova", 6): ("karpova", "feedback_3d")},
        missed=("belov", 5),
        pauses_form="medvedev",
        survey_late="karpova",
        survey_never="",
        survey_problem="zhukov",
        alumni=("zhukov",),
        population=60,
    ),
    # Young specialists (0–3 years of work) and experienced teachers of an out-of-school centre; adults only.
    # Mentee and mentor bases are filled in September, pairs are formed in October.
    "young_specialists": Cast(
        (
            _mentor(
                "romanova",
                "Романова Ирина Викторовна",
                ["methodology", "lesson_planning", "parent_communication", "documentation"],
                2,
                "any",
                ["weekday_afternoon", "weekday_evening"],
                role="teacher",
                forms=("teacher_teacher",),
                years=22,
                at=((1, "15:00"), (3, "15:00")),
                meet="offline",
            ),
            _mentor(
                "zakharchenko",
                "Захарченко Олег Николаевич",
                ["digital_tools", "extracurricular", "professional_growth", "assessment"],
                1,
                "online",
                ["weekday_evening"],
                role="teacher",
                forms=("teacher_teacher",),
                years=15,
                at=((0, "18:00"), (3, "18:00")),
            ),
        ),
        (
            _needs(
                "isaeva",
                "Исаева Алина Руслановна",
                "",
                _young_specialist_answers(
                    "first_year",
                    "additional_education",
                    ["lesson_planning", "parent_communication", "methodology"],
                    "any",
                    ["weekday_afternoon"],
                ),
            ),
            _needs(
                "golubev",
                "Голубев Никита Андреевич",
                "",
                _young_specialist_answers(
                    "second_year",
                    "additional_education",
                    ["digital_tools", "professional_growth", "extracurricular"],
                    "online",
                    ["weekday_evening"],
                ),
            ),
            _needs(
                "panova",
                "Панова Дарья Евгеньевна",
                "",
                _young_specialist_answers(
                    "first_year",
                    "psychologist",
                    ["documentation", "methodology", "parent_communication"],
                    "offline",
                    ["weekday_afternoon", "weekday_evening"],
                ),
            ),
        ),
        late_pair="zakharchenko",
        late_feedback={
            ("romanova", 1): ("panova", "feedback_1d"),
            ("zakharchenko", 6): ("golubev", "feedback_3d"),
        },
        missed=("romanova", 5),
        pauses_form="golubev",
        survey_late="isaeva",
        survey_never="",
        survey_problem="panova",
        alumni=("isaeva",),
        population=3,  # every young specialist of the centre: the template's coverage target is 100 %
        start=datetime(2026, 10, 1, 9, 0, tzinfo=TZ),
    ),
    # A music college: an employer (a philharmonic soloist) and a senior student mentor students; a first-year
    # student is 16, so a parent consents.
    "college": Cast(
        (
            _mentor(
                "laptev",
                "Лаптев Сергей Валентинович",
                ["music", "career", "projects"],
                2,
                "any",
                ["weekday_evening", "weekend_afternoon"],
                role="employer",
                forms=("employer_student",),
                years=12,
                at=((2, "18:30"), (5, "13:00")),
                meet="offline",
            ),
            _mentor(
                "osipova",
                "Осипова Ульяна Денисовна",
                ["music", "study_skills", "exams", "adaptation"],
                1,
                "offline",
                ["weekday_afternoon"],
                role="student",
                forms=("student_student",),
                at=((0, "14:00"), (3, "14:00")),
                meet="offline",
            ),
        ),
        (
            _needs(
                "chernov",
                "Чернов Михаил Артурович",
                "ФО-11",
                _needs_answers(
                    "college",
                    ["adaptation"],
                    ["adaptation", "study_skills", "music"],
                    "offline",
                    ["weekday_afternoon"],
                ),
                parent="Чернова Светлана Викторовна",
            ),
            _needs(
                "baranova",
                "Баранова Юлия Игоревна",
                "ВО-31",
                _needs_answers(
                    "college",
                    ["career", "project"],
                    ["career", "music", "projects"],
                    "any",
                    ["weekday_evening", "weekend_afternoon"],
                ),
            ),
            _needs(
                "fomin",
                "Фомин Ярослав Олегович",
                "ДИ-21",
                _needs_answers("college", ["olympiad"], ["music", "projects"], "any", ["weekday_evening"]),
            ),
        ),
        late_pair="osipova",
        late_feedback={("laptev", 1): ("fomin", "feedback_1d"), ("osipova", 6): ("chernov", "feedback_3d")},
        missed=("laptev", 5),
        pauses_form="baranova",
        survey_late="fomin",
        survey_never="",
        survey_problem="chernov",
        alumni=("baranova",),
        population=120,  # the college's students: the template's coverage target is 70 % by 2024
    ),
    # A kindergarten: experienced teachers mentor new staff (teacher–teacher); pairs are formed in October.
    "kindergarten": Cast(
        (
            _mentor(
                "kirillova",
                "Кириллова Галина Петровна",
                ["methodology", "parent_communication", "communication", "adaptation"],
                2,
                "offline",
                ["weekday_afternoon"],
                role="teacher",
                forms=("teacher_teacher",),
                years=25,
                at=((1, "13:30"), (3, "13:30")),
                meet="offline",
            ),
            _mentor(
                "nikolaeva",
                "Николаева Светлана Игоревна",
                ["music", "arts", "extracurricular"],
                1,
                "offline",
                ["weekday_afternoon"],
                role="teacher",
                forms=("teacher_teacher",),
                years=18,
                at=((0, "13:00"), (2, "13:00")),
                meet="offline",
            ),
        ),
        (
            _needs(
                "vasilyeva",
                "Васильева Ксения Андреевна",
                "",
                _young_specialist_answers(
                    "first_year",
                    "preschool_teacher",
                    ["methodology", "parent_communication"],
                    "offline",
                    ["weekday_afternoon"],
                ),
            ),
            _needs(
                "timofeeva",
                "Тимофеева Ольга Сергеевна",
                "",
                _young_specialist_answers(
                    "first_year",
                    "preschool_teacher",
                    ["parent_communication", "documentation"],
                    "offline",
                    ["weekday_afternoon"],
                ),
            ),
            _needs(
                "polyakova",
                "Полякова Анастасия Викторовна",
                "",
                _young_specialist_answers(
                    "second_year", "preschool_teacher", ["extracurricular"], "any", ["weekday_afternoon"]
                ),
            ),
        ),
        late_pair="nikolaeva",
        late_feedback={
            ("kirillova", 1): ("timofeeva", "feedback_1d"),
            ("nikolaeva", 6): ("polyakova", "feedback_3d"),
        },
        missed=("kirillova", 5),
        pauses_form="polyakova",
        survey_late="vasilyeva",
        survey_never="",
        survey_problem="timofeeva",
        alumni=("vasilyeva",),
        population=12,  # the kindergarten's teachers
        start=datetime(2026, 10, 1, 9, 0, tzinfo=TZ),
    ),
}


def translit(text: str) -> str:
    out = []
    for ch in text:
        low = ch.lower()
        if low in _TRANSLIT:
            lat = _TRANSLIT[low].replace("_", "")
            out.append(lat.capitalize() if ch != low else lat)
        else:
            out.append(ch)
    return "".join(out)


def meeting_days(plan: Any, paired_on: date) -> tuple[int, ...]:
    """Days after the pairing each meeting of a programme's sequence is aimed at (each pair then takes its own
    next free slot): the first three a few days before their stage's deadline, the joint-work meetings spread
    evenly up to a few days before that stage's deadline, the final meeting a few days before its own. So a
    template's year is lived as its stage plan says (a school year to 30 November, a May closing, …)."""
    from bot.domain.stages import STAGE_ORDER, Stage

    due = {s: (plan.deadline_for(s, paired_on) - paired_on).days for s in STAGE_ORDER}
    intro = max(2, due[Stage.INTRODUCTION] - 5)
    trial = max(intro + 4, due[Stage.TRIAL] - 5)
    planning = max(trial + 4, due[Stage.PLANNING] - 5)
    count = plan.joint_work_meetings
    step = max(4.0, (due[Stage.JOINT_WORK] - 5 - planning) / count)
    joint = [planning + round(step * (i + 1)) for i in range(count)]
    return (intro, trial, planning, *joint, max(joint[-1] + 4, due[Stage.FINAL] - 5))


def template_ids() -> list[str]:
    """The seed programme templates the demo can run (bot/programmes/*.yaml), in the order of their seeds."""
    from bot.services.programmes import templates

    return [t.id for t in sorted(templates().values(), key=lambda t: t.seed)]


@dataclass
class Person:
    persona: Persona
    client: Any  # bot.demo.harness.Client
    name: str  # full name, in the demo's language
    short: str  # "Anna Volkova"
    pid: int = 0
    survey_messages: int = 0


@dataclass
class PairSim:
    id: int
    mentor: Person
    mentees: list[Person]
    stage: str = "introduction"
    finished: bool = False
    proposing: bool = False  # a proposal is scheduled
    wait_for_nudge: bool = False
    dirty: bool = True
    confirmer: Person | None = None
    meeting_no: dict[int, int] = field(default_factory=dict)  # meeting id → its index in the sequence

    @property
    def members(self) -> list[Person]:
        return [self.mentor, *self.mentees]


@dataclass
class DemoResult:
    out_dir: Path
    transcript: Path
    workbook: Path | None
    charts: list[Path]
    database: Path
    seconds: float
    updates: int
    messages_sent: int
    reminders: dict[str, int]
    pairs: int
    pairs_finished: int
    stages_reached: dict[int, str]
    meetings_held: int
    feedback_forms: int
    monitoring_surveys: int
    final_surveys: int
    announcement_recipients: int | None
    skipped: list[str]
    problems: list[str]
    template: str | None = None  # the seed template the programme was created from (None: the default run)
    programme_title: str = ""
    programme_settings: dict[str, Any] = field(default_factory=dict)
    intake_forms: dict[str, int] = field(default_factory=dict)  # mentees' submitted intake forms, by form id
    held_by_pair: dict[int, dict[str, int]] = field(default_factory=dict)  # held meetings per pair, by stage
    roles: dict[str, int] = field(default_factory=dict)  # people holding each role
    forced_pairs: list[str] = field(default_factory=list)  # hand-made pairs the bot warned about


@dataclass
class _Row:
    id: int
    chat_id: int
    kind: str
    text: str
    buttons: list[tuple[str, str]]
    message_id: int | None
    status: str


class _Problems(logging.Handler):
    """Errors the bot logs while the demo runs become remarks in the transcript."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(f"{record.name}: {record.getMessage()}")


class DemoError(RuntimeError):
    """The simulated programme could not go on (the bot answered something the script did not expect)."""


# ------------------------------------------------------------------------------------------- the run
class Demo:
    def __init__(
        self,
        out_dir: Path,
        lang: str,
        seed: int,
        echo: Callable[[str], None],
        quick: bool = False,
        template: str | None = None,
    ) -> None:
        from bot.i18n import Translator

        self.out_dir = out_dir
        self.quick = quick
        self.template_id = template
        self.cast = TEMPLATE_CASTS[template] if template else DEFAULT_CAST
        self.start_at = self.cast.start
        # Days after the pairing each meeting of the sequence is aimed at (set at the pairing for a template).
        self.offsets: tuple[int, ...] = MEETING_OFFSETS
        self.programme_id: int | None = None
        self.template = None
        if template:
            from bot.services.programmes import templates

            self.template = templates()[template]
        self.forced: list[str] = []
        self.paused: set[str] = set()
        self.db = out_dir / "demo.db"
        for suffix in ("", "-wal", "-shm", "-journal", ".outbox-journal"):
            Path(f"{self.db}{suffix}").unlink(missing_ok=True)  # a fresh programme every run
        self.lang = lang
        self.t = Translator(lang)
        self.rng = random.Random(seed)
        self.echo = echo
        self.lines: list[str] = []
        self.now = self.start_at.astimezone(UTC)
        self.queue: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self._seq = itertools.count()
        self.people: dict[str, Person] = {}
        self.by_chat: dict[int, Person] = {}
        self.pairs: dict[int, PairSim] = {}
        self.problems: list[str] = []
        self.skipped: list[str] = []
        self.next_scan: datetime | None = None
        self.paired_on: date | None = None
        self.ratings: dict[int, list[tuple[str, int]]] = {}
        self.held_told: set[int] = set()
        self.missed_meeting: int | None = None
        self.once_told: set[str] = set()
        self._mark = 0
        self._seen: set[int] = set()
        self._alerts_seen = 0
        self.updates = 0
        self.final_offers = 0
        self.announcement_recipients: int | None = None
        self.workbook: Path | None = None
        self.charts: list[Path] = []

    # -- time and the transcript -----------------------------------------------------------------------------
    def clock(self) -> datetime:
        return self.now

    def local(self) -> datetime:
        return self.now.astimezone(TZ)

    def say(self, key: str, **params: Any) -> None:
        line = f"{self.local():%d.%m %H:%M} {self.t('demo.' + key, **params)}"
        self.lines.append(line)
        self.echo(line)

    def plain(self, text: str) -> None:
        self.lines.append(text)
        self.echo(text)

    def problem(self, text: str) -> None:
        self.problems.append(f"{self.local():%d.%m.%Y %H:%M} {text}")
        self.say("problem", text=text)

    def typed(self, key: str) -> str:
        return self.t(f"demo.say.{key}")

    def _keyed(self, key: str) -> str:
        """The key of what this template's cast types instead of the school demo's text, if it has its own."""
        own = f"by_template.{self.template_id}.{key}"
        return own if self.template_id and self.t.has(f"demo.say.{own}") else key

    def later(self, low: timedelta, high: timedelta) -> datetime:
        """When a person gets round to something: between ``low`` and ``high`` from now, not at night."""
        span = int((high - low).total_seconds() // 60)
        moment = (self.now + low + timedelta(minutes=self.rng.randint(0, span))).astimezone(TZ)
        if moment.hour >= 22 or moment.hour < 8:
            day = moment.date() + timedelta(days=1 if moment.hour >= 22 else 0)
            moment = self.local_at(day, f"08:{self.rng.randint(5, 55):02d}")
        return moment

    def at(self, when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.queue, (when.astimezone(UTC), next(self._seq), action))

    def local_at(self, day: date, hhmm: str) -> datetime:
        h, m = (int(x) for x in hhmm.split(":"))
        return datetime.combine(day, time(h, m), TZ)

    # -- the app ---------------------------------------------------------------------------------------------
    async def start(self) -> None:
        from bot.demo.telegram import FakeTelegram
        from bot.demo.harness import Harness, make_settings

        demo = self

        class _Counting(Harness):
            async def feed(self, update: dict[str, Any]) -> None:
                demo.updates += 1
                await super().feed(update)

        settings = make_settings(
            f"sqlite+aiosqlite:///{self.db}",
            curator_ids=str(CURATOR_TG),
            default_language=self.lang,
            timezone=TZ_NAME,
            redis_url=None,
            forms_dir=None,
            webhook_url=None,
            digest_hour=9,
        )
        self.h = (await _Counting.start(settings, FakeTelegram(), clock=self.clock)).unpaced()
        if "factory" not in self.h.app.dp.workflow_data:
            self.h.app.dp["factory"] = self.h.app.factory  # the announcement's delivery watcher reads it
        self.engine = self.h.app.dp["engine"]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            from handlers import announce

            for task in list(announce.progress_tasks.values()):
                task.cancel()
        await self.h.close()

    def person(self, persona: Persona, tg: int, lang_name: str | None = None) -> Person:
        name = persona.name if self.lang == "ru" else translit(persona.name)
        if lang_name:
            name = lang_name
        parts = name.split()
        short = f"{parts[1]} {parts[0]}" if len(parts) >= 2 else name
        p = Person(persona, self.h.user(tg, parts[1] if len(parts) > 1 else name, self.lang), name, short)
        self.people[persona.key] = p
        self.by_chat[tg] = p
        return p

    async def pid_of(self, p: Person) -> int:
        from storage.uow import unit_of_work

        async with unit_of_work(self.h.app.factory) as repos:
            me = await repos.participants.by_telegram_id(p.client.id)
        if me is None:
            raise DemoError(f"{p.short} did not join")
        p.pid = me.id
        return me.id

    # -- the main loop: jump to the next due moment ----------------------------------------------------------
    async def _next_due(self) -> datetime | None:
        from sqlalchemy import func, select

        from storage.models import OutboxMessage, Reminder
        from storage.uow import unit_of_work

        async with unit_of_work(self.h.app.factory) as repos:
            r = await repos.session.scalar(
                select(func.min(Reminder.due_at)).where(Reminder.status == "pending")
            )
            o = await repos.session.scalar(
                select(func.min(OutboxMessage.not_before)).where(OutboxMessage.status == "pending")
            )
        found = [x if x.tzinfo else x.replace(tzinfo=UTC) for x in (r, o) if x is not None]
        return min(found) if found else None

    async def run_until(self, end: datetime, *, stop_when_done: bool = False) -> None:
        end = end.astimezone(UTC)
        stalled = 0
        while True:
            candidates = [end]
            if self.queue:
                candidates.append(self.queue[0][0])
            due = await self._next_due()
            if due is not None:
                candidates.append(due)
            if self.next_scan is not None:
                candidates.append(self.next_scan)
            nxt = max(min(candidates), self.now)
            stalled = stalled + 1 if nxt == self.now else 0
            if stalled > 50:
                raise DemoError(f"the simulation is stuck at {self.local():%d.%m.%Y %H:%M}")
            self.now = nxt
            if self.next_scan is not None and self.now >= self.next_scan:
                # The scheduler's hourly scan (overdue nudges, stage deadlines, the monitoring survey),
                # once a simulated day: it has nothing new to say more often than that.
                await self.h.app.jobs.hourly_scan()
                self.next_scan += timedelta(days=1)
            if due is not None and due <= self.now:
                await self.h.app.reminders.fire_due()
            await self.pump()
            while self.queue and self.queue[0][0] <= self.now:
                _, _, action = heapq.heappop(self.queue)
                await action()
                await self.pump()
            await self.plan_pairs()
            if self.now >= end:
                return
            if (
                stop_when_done
                and not self.queue
                and self.pairs
                and all(p.finished for p in self.pairs.values())
            ):
                return

    # -- what the bot sent: narrate it and let people react --------------------------------------------------
    async def pump(self) -> None:
        from sqlalchemy import select

        from storage.models import OutboxMessage
        from storage.uow import unit_of_work

        self._check_alerts()
        before = len(self.h.fake.requests)
        await self.h.deliver_outbox()
        if len(self.h.fake.requests) == before:
            return  # nothing went out
        async with unit_of_work(self.h.app.factory) as repos:
            found = (
                await repos.session.scalars(
                    select(OutboxMessage).where(OutboxMessage.id > self._mark).order_by(OutboxMessage.id)
                )
            ).all()
            rows = []
            first_open = None
            for o in found:
                if o.status in ("pending", "sending"):
                    first_open = first_open or o.id
                    continue
                if o.id in self._seen:
                    continue
                self._seen.add(o.id)
                markup = (o.payload or {}).get("reply_markup") or {}
                buttons = [
                    (b.get("text", ""), b.get("callback_data", ""))
                    for line in markup.get("inline_keyboard") or []
                    for b in line
                ]
                rows.append(
                    _Row(
                        o.id,
                        o.chat_id,
                        o.kind,
                        str((o.payload or {}).get("text") or ""),
                        buttons,
                        o.telegram_message_id,
                        o.status,
                    )
                )
            if found:
                self._mark = (first_open - 1) if first_open else found[-1].id
        self._narrate(rows)
        for row in rows:
            if row.status == "sent":
                self._react(row)
            else:
                self.problem(f"outbox row {row.id} ({row.kind}) ended as {row.status}")

    def _check_alerts(self) -> None:
        """A button the bot refused (stale, already handled, an apology for an error) is worth a remark."""
        keys = (
            "common.stale",
            "meeting.already_handled",
            "errors.apology",
            "questionnaire.stale",
            "questionnaire.stale_form",
            "dashboard.survey_closed",
            "dashboard.survey_done",
        )
        refusals = {self.t(k) for k in keys}
        requests = self.h.fake.requests
        for r in requests[self._alerts_seen :]:
            if r.method == "answerCallbackQuery" and r.params.get("text") in refusals:
                self.problem(f"a button was refused: {r.params['text']}")
        self._alerts_seen = len(requests)

    @staticmethod
    def _first_line(text: str, limit: int = 110) -> str:
        line = html.unescape(_TAG_RE.sub("", text)).strip().split("\n")[0]
        return line if len(line) <= limit else line[: limit - 1] + "…"

    def _names(self, names: list[str], limit: int = 3) -> str:
        if len(names) <= limit:
            return ", ".join(names)
        return self.t("demo.bot_to_many", names=", ".join(names[:limit]), n=len(names) - limit)

    def _narrate(self, rows: list[_Row]) -> None:
        hidden = {"meeting"}
        once = {"meeting_ics": "ics_note", "scenario": "scenario_note"}
        told_before = set(self.once_told)
        groups: dict[tuple[str, str], list[_Row]] = {}
        for row in rows:
            if row.status != "sent" or row.kind in hidden:
                continue
            who = self.by_chat.get(row.chat_id)
            if row.kind == "pair" and (who is None or who.persona.role != "parent"):
                continue  # the pairs are told in the transcript by the curator's approval
            if row.kind in once:
                if row.kind in told_before:
                    continue
                self.once_told.add(row.kind)
            groups.setdefault((row.kind, self._first_line(row.text)), []).append(row)
        for (kind, line), group in groups.items():
            names = [
                self.by_chat[r.chat_id].short if r.chat_id in self.by_chat else str(r.chat_id) for r in group
            ]
            suffix = self.t(f"demo.{once[kind]}") if kind in once else ""
            shown = line if kind != "meeting_ics" else f"📅 {line}"
            self.say("bot_to", who=self._names(names), text=shown + suffix)
            if kind in ("digest", "alert"):
                for extra in html.unescape(_TAG_RE.sub("", group[0].text)).split("\n")[1:]:
                    if extra.strip():
                        self.plain(f"             {extra.strip()}")

    def _message(self, row: _Row) -> Any:
        for m in self.h.fake.delivered_to(row.chat_id):
            if m.message_id == row.message_id:
                return m
        return None

    def _button(self, row: _Row, prefix: str) -> str | None:
        return next((data for _, data in row.buttons if data.startswith(prefix)), None)

    def _react(self, row: _Row) -> None:
        p = self.by_chat.get(row.chat_id)
        if p is None:
            return
        kind = row.kind
        if kind == "consent" and p.persona.role == "mentee":
            self.at(
                self.later(timedelta(minutes=10), timedelta(minutes=50)), lambda: self.intake(p, resume=True)
            )
        elif kind == "form_nudge":
            self.at(self.later(timedelta(hours=2), timedelta(hours=6)), lambda: self.intake(p, resume=True))
        elif kind == "meeting" and (data := self._button(row, "mt:ok:")):
            pair = self.pair_of(p)
            if pair is not None and pair.confirmer is p:
                pair.confirmer = None
                self.at(
                    self.later(timedelta(minutes=40), timedelta(hours=3)), lambda: self.confirm(p, row, data)
                )
        elif kind == "reminder:after_check" and (data := self._button(row, "mt:yes:")):
            self._after_check(p, row, data)
        elif kind.startswith("reminder:feedback_") and (data := self._button(row, "mt:fb:")):
            pair = self.pair_of(p)
            meeting_id = int(data.split(":")[-1])
            late = (
                self.cast.late_feedback.get((pair.mentor.persona.key, pair.meeting_no.get(meeting_id, -1)))
                if pair
                else None
            )
            if late and late == (p.persona.key, kind.split(":", 1)[1]):
                self.at(
                    self.later(timedelta(hours=1), timedelta(hours=3)),
                    lambda: self.feedback(p, row, data, meeting_id, late=True),
                )
        elif kind == "overdue":
            pair = self.pair_of(p)
            if pair is not None and pair.wait_for_nudge and p is pair.mentor:
                pair.wait_for_nudge = False
                pair.dirty = True
        elif kind == "campaign" and (data := self._button(row, "sv:")):
            p.survey_messages += 1
            key, cast = p.persona.key, self.cast
            late = key == cast.survey_late and p.survey_messages < 2
            if key == cast.survey_never or late or p.survey_messages > 2:
                return
            self.at(self.later(timedelta(hours=1), timedelta(hours=30)), lambda: self.survey(p, row, data))
        elif kind == "final_survey" and (data := self._button(row, "fs:")):
            self.final_offers += 1
            self.at(
                self.later(timedelta(hours=1), timedelta(hours=20)), lambda: self.final_survey(p, row, data)
            )

    # -- questionnaires, answered through the chat -----------------------------------------------------------
    async def _open_form(self, pid: int) -> Any:
        from storage.uow import unit_of_work

        async with unit_of_work(self.h.app.factory) as repos:
            return await repos.forms.open_for(pid)

    def _default(self, q: Any) -> Any:
        from bot.domain.forms import QuestionType as Q

        if q.type == Q.SINGLE:
            return q.options[0].value
        if q.type == Q.MULTI:
            return [q.options[0].value]
        if q.type == Q.SCALE:
            return q.scale.max
        if q.type == Q.YESNO:
            return False
        if q.type == Q.INTEGER:
            return q.bounds()[0]
        if q.type == Q.DATE and q.required:
            return f"{self.local().date() + timedelta(days=14):%d.%m.%Y}"
        if q.type == Q.TEXT and q.required:
            return self.typed("next_steps")
        return None

    async def fill(
        self, p: Person, answers: Mapping[str, Any], *, stop_after: int | None = None
    ) -> dict | None:
        """Answer the person's open questionnaire question by question, as they would in the chat, and submit
        it. Returns the submitted answers (None if they stopped after ``stop_after`` questions)."""
        from bot.domain.forms import QuestionType as Q

        t, c = self.t, p.client
        asked, last_key, repeats, form_answers = 0, None, 0, None
        for _ in range(80):
            r = await self._open_form(p.pid)
            if r is None:
                return form_answers
            form = self.engine.forms[r.form_id]
            if r.current_key is None:
                form_answers = dict(r.answers)
                await c.click(t("forms.button.confirm"))
                continue
            if stop_after is not None and asked >= stop_after:
                return None
            repeats = repeats + 1 if r.current_key == last_key else 0
            if repeats >= 2:
                raise DemoError(f"{p.short}: the answer to {r.form_id}.{r.current_key} is not accepted")
            last_key = r.current_key
            q = form.question(r.current_key)
            value = answers[q.key] if q.key in answers else self._default(q)
            if value is None and not q.required:
                await c.click(t("forms.button.skip"))
            elif q.type == Q.SINGLE:
                await c.click(q.option(value).text.get(self.lang))
            elif q.type == Q.MULTI:
                picked = set(r.draft if r.draft is not None else (r.answers.get(q.key) or []))
                for v in value:
                    if v not in picked:
                        await c.click("▫️ " + q.option(v).text.get(self.lang))
                await c.click(t("forms.button.done"))
            elif q.type == Q.SCALE:
                await c.click(str(value))
            elif q.type == Q.YESNO:
                await c.click(t("forms.button.yes") if value else t("forms.button.no"))
            else:
                await c.send(str(value))
            asked += 1
        raise DemoError(f"{p.short}: the questionnaire never ended")

    def _summary(self, form_id: str, answers: Mapping[str, Any]) -> str:
        form = self.engine.forms[form_id]
        q = form.question("areas")
        areas = ", ".join(q.option(v).text.get(self.lang) for v in answers.get("areas") or [])
        fmt = form.question("format").option(answers.get("format", "any")).text.get(self.lang).lower()
        extra = f"; {self.t('demo.capacity', n=answers['capacity'])}" if "capacity" in answers else ""
        return f"{areas}; {fmt}{extra}"

    def _intake_answers(self, p: Person) -> dict[str, Any]:
        key, out = p.persona.key, dict(p.persona.answers)
        if p.persona.role == "mentor":
            out["motivation"] = self.typed(f"motivation.{key}")
            if self.t.has(f"demo.say.about.{key}"):
                out["about"] = self.typed(f"about.{key}")
        else:
            out["difficulties"] = self.typed(f"difficulty.{key}")
            for question in ("interests", "expectations"):
                if self.t.has(f"demo.say.{question}.{key}"):
                    out[question] = self.typed(f"{question}.{key}")
        return out

    def intake_form(self, p: Person) -> str:
        if p.persona.role == "mentor":
            return "mentor"
        return self.template.mentee_form if self.template else "mentee_needs"

    async def intake(self, p: Person, *, resume: bool = False) -> None:
        key = p.persona.key
        if resume:
            await p.client.send("/start")
            if key in self.paused:
                self.say("form_resumed", who=p.short)
        # The first time round they put it aside (a minor's first time comes after the parent's consent).
        stop = 3 if key == self.cast.pauses_form and key not in self.paused else None
        answers = await self.fill(p, self._intake_answers(p), stop_after=stop)
        if answers is None:
            self.paused.add(key)
            self.say("form_paused", who=p.short, n=stop)
            return
        form = self.engine.forms[self.intake_form(p)]
        summary = self._summary(form.id, answers)
        self.say("form_done", who=p.short, title=form.title.get(self.lang), summary=summary)

    # -- onboarding ------------------------------------------------------------------------------------------
    async def onboard_curator(self) -> None:
        name = self.typed("curator_name")
        c = self.person(Persona("curator", name, "curator"), CURATOR_TG, lang_name=name)
        self.curator = c
        await c.client.send("/start")
        await c.client.click(self.t("consent.accept"))
        await c.client.send(name)
        await self.pid_of(c)
        self.say("curator_joins", who=c.short)

    async def create_programme(self) -> None:
        """The curator presses through /programme → a new programme → the template → Create; the programme
        made from the template becomes theirs, so the invitations and everything after work on it."""
        from handlers.programmes import ProgrammeCb
        from storage.uow import unit_of_work

        assert self.template is not None
        c, tid = self.curator.client, self.template.id
        overview = (await c.send("/programme"))[-1]
        await c.press(ProgrammeCb(a="new").pack(), overview)
        data = ProgrammeCb(a="tpl", v=tid).pack()
        if data not in [b.get("callback_data") for b in overview.buttons()]:
            raise DemoError(f"/programme offers no template {tid!r}")
        await c.press(data, overview)
        offer = html.unescape(_TAG_RE.sub("", overview.text or ""))
        await c.press(ProgrammeCb(a="mk", v=tid).pack(), overview)
        async with unit_of_work(self.h.app.factory) as repos:
            from bot.services import programmes

            programme = await programmes.current(repos, self.curator.pid)
        if programme is None or programme.template != tid:
            raise DemoError(f"the curator's programme was not created from the template {tid!r}")
        self.programme_id = programme.id
        self.say("programme", title=programme.title, template=self.template.title_for(self.lang), id=tid)
        # The settings the bot filled in from the template, as it showed them before "Create".
        for line in offer.split("\n\n")[0].split("\n")[1:]:
            self.plain(f"             {line.strip()}")

    async def invite(self, role: str) -> str:
        c = self.curator.client
        await c.send("/invite")
        replies = await c.click(self.t(f"roles.{role}"))
        m = _LINK_RE.search(replies[-1].text or "")
        if m is None:
            raise DemoError("the invitation has no link")
        self.say("invite_link", role=self.t(f"roles.{role}"))
        return m.group(1)

    async def join(self, p: Person, token: str) -> None:
        c, t = p.client, self.t
        role = p.persona.role
        await c.send(f"/start {token}")
        await c.click(t("consent.accept"))
        await c.send(p.name)
        if role == "mentor":
            detail = self.typed(f"position.{p.persona.key}")
            await c.send(detail)
            # A mentor is asked their age where mentors may be pupils or students.
            if any(b.get("text") == t("common.yes") for b in c.last().buttons()):
                await c.click(t("common.no") if p.persona.minor else t("common.yes"))
        else:
            # A class like 8Б is written as it is; a working adult names their group or department in words.
            group = p.persona.group
            detail = (group if self.lang == "ru" else translit(group)) or self.typed(f"group.{p.persona.key}")
            await c.send(detail)
            # A programme of staff only (a kindergarten's teachers) asks no age.
            if any(b.get("text") == t("common.yes") for b in c.last().buttons()):
                await c.click(t("common.no") if p.persona.minor else t("common.yes"))
        await self.pid_of(p)
        self.say("joins", who=p.short, role=t(f"roles.{role}"), detail=detail)
        if p.persona.minor:
            m = _LINK_RE.search(c.last().text or "")
            if m is None:
                raise DemoError(f"{p.short}: no link for the parent")
            self.say("minor_waits", who=p.short)
            token = m.group(1)
            parent = self.person(
                Persona(f"parent.{p.persona.key}", p.persona.parent, "parent"), p.client.id + 1000
            )
            self.at(
                self.later(timedelta(hours=1), timedelta(hours=5)),
                lambda: self.parent_joins(parent, p, token),
            )
            return
        await self.intake(p)

    async def parent_joins(self, parent: Person, child: Person, token: str) -> None:
        c = parent.client
        await c.send(f"/start {token}")
        await c.click(self.t("consent.accept"))
        await c.send(parent.name)
        await self.pid_of(parent)
        self.say("parent_joins", who=parent.short, child=child.short)

    async def questionnaires(self) -> None:
        c = self.curator.client
        replies = await c.send("/questionnaires")
        counts = next((line for m in replies for line in (m.text or "").split("\n") if "·" in line), "")
        self.say("questionnaires", counts=counts.strip())
        p = self.people[self.cast.pauses_form]
        await c.click(self.t("questionnaire.nudge", name=p.name))
        self.say("nudge_form", who=p.short)

    async def mentor_base(self) -> None:
        from handlers.mentor_base import MentorCb

        c = self.curator.client
        interviewee = self.people[self.cast.late_pair]
        await c.send("/mentors")
        await c.press(MentorCb(a="iv", p=interviewee.pid).pack(), c.last())
        await c.send(f"{self.local():%d.%m.%Y}")
        note = self.typed(self._keyed("interview_note"))
        await c.send(note)
        self.say("interview", who=interviewee.short, note=note)
        listing = (await c.send("/mentors"))[-1]
        for m in self.cast.mentors:
            p = self.people[m.key]
            data = MentorCb(a="ok", p=p.pid).pack()
            if data not in [b.get("callback_data") for b in listing.buttons()]:
                raise DemoError(f"/mentors lists no approve button for {p.short}")
            await c.press(data, listing)
            self.say("approved", who=p.short)

    async def match(self) -> None:
        from handlers.matching import MatchCb, reason_text
        from storage.uow import unit_of_work

        c, t = self.curator.client, self.t
        replies = await c.send("/match")
        page = next(
            (m for m in replies if any(b["callback_data"].startswith("cm:") for b in m.buttons())), None
        )
        if page is None and self.template is None:
            raise DemoError("/match proposed nothing: " + self._first_line(replies[-1].text or ""))
        if page is None:
            self.say("match_none", text=self._first_line(replies[0].text or ""))
            for m in replies[1:]:
                for line in html.unescape(_TAG_RE.sub("", m.text or "")).split("\n"):
                    if line.startswith("•"):
                        self.plain(f"             {line}")
        else:
            run = MatchCb.unpack(page.buttons()[0]["callback_data"]).run
            names = {p.pid: p.short for p in self.people.values()}
            async with unit_of_work(self.h.app.factory) as repos:
                proposals = await repos.pairs.proposals(run)
            self.say("match", count=len(proposals))
            for pr in proposals:
                reasons = "; ".join(reason_text(r, self.engine, t) for r in pr.reasons)
                self.plain(
                    " " * 12
                    + t(
                        "demo.proposal",
                        mentee=names.get(pr.mentee_id, "?"),
                        mentor=names.get(pr.mentor_id, "?"),
                        score=round(pr.score * 100),
                        reasons=reasons,
                    )
                )
            left = [
                p.short
                for p in self.people.values()
                if p.persona.role == "mentee" and p.pid not in {pr.mentee_id for pr in proposals}
            ]
            if left:
                self.plain(" " * 12 + t("demo.unmatched", names=", ".join(left)))
            approve_all = next(b for b in page.buttons() if MatchCb.unpack(b["callback_data"]).a == "all")
            await c.press(approve_all["callback_data"], page)
            self.say("approve_all")
        if self.template is not None:
            await self.pair_by_hand()
        by_pid = {p.pid: p for p in self.people.values()}
        async with unit_of_work(self.h.app.factory) as repos:
            active = await repos.pairs.active()
        for dto in sorted(active, key=lambda x: x.id):
            mentor = by_pid[dto.mentor_id]
            pair = PairSim(dto.id, mentor, [by_pid[i] for i in dto.mentee_ids])
            pair.wait_for_nudge = mentor.persona.key == self.cast.late_pair
            self.pairs[dto.id] = pair
            self.say("pair", id=dto.id, mentor=mentor.short, mentees=", ".join(m.short for m in pair.mentees))
        if not self.pairs:
            raise DemoError("no pairs were formed")
        self.paired_on = self.local().date()
        if self.template is not None:
            self.offsets = meeting_days(self.template.stage_plan, self.paired_on)
        # Coverage is counted against the intended population: e.g. the pupils of grades 8–11 who could join.
        await c.send(f"/population {self.cast.population}")
        self.say("population", n=self.cast.population)

    async def pair_by_hand(self) -> None:
        """Mentees the matching left without a pair: the curator pairs each by hand (/pair) with the mentor
        who fits best and still has room, and creates the pair anyway when the bot warns that a rule is broken
        (every such warning is kept in the result)."""
        from handlers.matching import ManualCb
        from storage.uow import unit_of_work

        c = self.curator.client
        async with unit_of_work(self.h.app.factory) as repos:
            active = await repos.pairs.active()
        load = {p.mentor_id: len(p.mentee_ids) for p in active}
        paired = {x for p in active for x in p.mentee_ids}
        mentors = [self.people[m.key] for m in self.cast.mentors]
        for p in [self.people[m.key] for m in self.cast.mentees if self.people[m.key].pid not in paired]:
            free = [m for m in mentors if load.get(m.pid, 0) < m.persona.answers["capacity"]]
            if not free:
                break
            areas = set(p.persona.answers.get("areas") or [])
            mentor = max(
                free, key=lambda m: (len(areas & set(m.persona.answers["areas"])), -load.get(m.pid, 0))
            )
            listing = (await c.send("/pair"))[-1]
            data = ManualCb(a="mentee", mentee=p.pid).pack()
            if data not in [b.get("callback_data") for b in listing.buttons()]:
                self.problem(f"/pair does not offer {p.short}: {self._first_line(listing.text or '')}")
                continue
            await c.press(data, listing)
            await c.press(ManualCb(a="mentor", mentee=p.pid, mentor=mentor.pid).pack(), listing)
            self.say("manual", mentee=p.short, mentor=mentor.short)
            force = ManualCb(a="force", mentee=p.pid, mentor=mentor.pid).pack()
            if force in [b.get("callback_data") for b in listing.buttons()]:
                lines = html.unescape(_TAG_RE.sub("", listing.text or "")).split("\n")
                warning = "; ".join(x.lstrip("• ").strip() for x in lines[1:] if x.strip())
                self.forced.append(f"{p.short} → {mentor.short}: {warning}")
                self.say("manual_warning", text=warning, button=self.t("matching.manual_force"))
                await c.press(force, listing)
            if (listing.text or "") != self.t("matching.manual_done"):
                self.problem(f"/pair {p.short} → {mentor.short}: {self._first_line(listing.text or '')}")
                continue
            load[mentor.pid] = load.get(mentor.pid, 0) + 1

    # -- meetings --------------------------------------------------------------------------------------------
    def pair_of(self, p: Person) -> PairSim | None:
        return next((x for x in self.pairs.values() if p in x.members), None)

    def _slot(self, pair: PairSim, earliest: datetime) -> datetime:
        day = earliest.astimezone(TZ).date()
        for i in range(60):
            d = day + timedelta(days=i)
            if d in HOLIDAYS:
                continue
            options = [self.local_at(d, hhmm) for wd, hhmm in pair.mentor.persona.slots if d.weekday() == wd]
            options = [x for x in options if x >= earliest]
            if options:
                return min(options)
        raise DemoError(f"no slot for pair {pair.id}")

    async def plan_pairs(self) -> None:
        """A pair whose last meeting is all done plans its next one (as the people would agree in person)."""
        from bot.domain.stages import can_propose
        from bot.services import meetings as msvc
        from storage.uow import unit_of_work

        for pair in self.pairs.values():
            if not pair.dirty or pair.finished or pair.proposing or pair.wait_for_nudge:
                continue
            pair.dirty = False
            async with unit_of_work(self.h.app.factory) as repos:
                dto = await repos.pairs.get(pair.id)
                st = await msvc.pair_state(repos, dto, self.now, TZ_NAME)
            if st.progress.finished or st.progress.open_meetings or can_propose(st.progress) is not None:
                continue
            n = sum(m.status == "held" for m in st.meetings)
            assert self.paired_on is not None
            day = self.offsets[min(n, len(self.offsets) - 1)]
            target = self.local_at(self.paired_on + timedelta(days=day), "00:00")
            when = self._slot(pair, max(target, self.now + timedelta(days=2)))
            propose_at = self.local_at((when - timedelta(days=4)).date(), "19:00")
            propose_at += timedelta(minutes=self.rng.randint(0, 90))
            propose_at = max(propose_at, self.now + timedelta(hours=2))
            pair.proposing = True
            self.at(propose_at, lambda pair=pair, when=when, n=n: self.propose(pair, when, n))

    def _proposer(self, pair: PairSim, n: int) -> tuple[Person, Person]:
        if n % 2 == 0:
            return pair.mentor, pair.mentees[(n // 2) % len(pair.mentees)]
        return pair.mentees[(n // 2) % len(pair.mentees)], pair.mentor

    async def propose(self, pair: PairSim, when: datetime, n: int, *, asked: bool = False) -> None:
        from storage.uow import unit_of_work

        pair.proposing = False
        proposer, confirmer = self._proposer(pair, n)
        if asked:
            proposer = pair.mentor
            confirmer = pair.mentees[0]
        c, t = proposer.client, self.t
        if when <= self.now + timedelta(hours=26):
            when = self._slot(pair, self.now + timedelta(days=2))
        if not asked:
            replies = await c.send("/meeting")
            if not replies or not replies[-1].buttons():
                self.problem(f"/meeting → {self._first_line(replies[-1].text if replies else '')}")
                pair.dirty = True
                return
        await c.send(f"{when.astimezone(TZ):%d.%m.%Y %H:%M}")
        fmt = pair.mentor.persona.meet
        await c.click(t(f"meeting.format.{fmt}"))
        place = (
            self.typed(self._keyed("place_offline"))
            if fmt == "offline"
            else f"https://meet.example.org/{pair.mentor.persona.key}"
        )
        replies = await c.send(place)
        sent_prefix = t("meeting.proposal_sent", who="").split(":")[0]
        if not replies or sent_prefix not in (replies[-1].text or ""):
            raise DemoError(f"{proposer.short}: the proposal was not sent: {[m.text for m in replies]}")
        pair.confirmer = confirmer
        async with unit_of_work(self.h.app.factory) as repos:
            meetings = await repos.meetings.for_pair(pair.id)
        newest = max(meetings, key=lambda m: m.id)
        pair.meeting_no[newest.id] = n
        others = [m.short for m in pair.members if m is not proposer]
        self.say(
            "proposes",
            who=proposer.short,
            whom=self._names(others, 2),
            stage=self.stage_name(newest.stage),
            when=f"{when.astimezone(TZ):%d.%m %H:%M}",
            fmt=t(f"meeting.format.{fmt}").lower(),
        )

    def stage_name(self, stage: str) -> str:
        return self.t(f"meetings.stage.{stage}")

    async def confirm(self, p: Person, row: _Row, data: str) -> None:
        from storage.uow import unit_of_work

        await p.client.press(data, self._message(row))
        meeting_id = int(data.split(":")[-1])
        async with unit_of_work(self.h.app.factory) as repos:
            m = await repos.meetings.get(meeting_id)
        if m is None or m.status != "confirmed":
            self.problem(f"{p.short}: meeting {meeting_id} is not confirmed ({m.status if m else '—'})")
            return
        self.say(
            "confirms",
            who=p.short,
            stage=self.stage_name(m.stage),
            when=f"{m.starts_at.astimezone(TZ):%d.%m %H:%M}",
        )

    def _after_check(self, p: Person, row: _Row, data: str) -> None:
        pair = self.pair_of(p)
        if pair is None:
            return
        meeting_id = int(data.split(":")[-1])
        n = pair.meeting_no.get(meeting_id, -1)
        key = (pair.mentor.persona.key, n)
        late = self.cast.late_feedback
        if key in late and late[key][0] == p.persona.key:
            return  # busy: they will answer the bot's feedback reminder
        if key == self.cast.missed and self.missed_meeting in (None, meeting_id):
            # The first time this meeting comes round it does not take place; the mentor says so.
            self.missed_meeting = meeting_id
            if p is pair.mentor:
                self.at(self.now + timedelta(minutes=20), lambda: self.missed(pair, p, row, n))
            return
        self.at(
            self.later(timedelta(minutes=5), timedelta(minutes=45)),
            lambda: self.feedback(p, row, data, meeting_id),
        )

    async def missed(self, pair: PairSim, mentor: Person, row: _Row, n: int) -> None:
        from storage.uow import unit_of_work

        data = self._button(row, "mt:no:")
        assert data is not None
        await mentor.client.press(data, self._message(row))
        meeting_id = int(data.split(":")[-1])
        async with unit_of_work(self.h.app.factory) as repos:
            m = await repos.meetings.get(meeting_id)
        self.say("missed", who=mentor.short, stage=self.stage_name(m.stage if m else pair.stage))
        await self.propose(pair, self._slot(pair, self.now + timedelta(days=3)), n, asked=True)

    def _feedback_answers(self, p: Person, stage: str) -> dict[str, Any]:
        rating = self.rng.choice((5, 5, 5, 4, 4, 3)) if stage != "introduction" else self.rng.choice((5, 4))
        progress = "yes" if rating == 5 else "partly"
        answers: dict[str, Any] = {
            "rating": rating,
            "done": self.typed(f"done.{stage}"),
            "goals_progress": progress,
            "obstacles": self.typed("obstacle") if progress != "yes" else None,
            "next_steps": self.typed("next_steps") if self.rng.random() < 0.5 else None,
            "next_meeting": None,
        }
        return answers

    async def feedback(self, p: Person, row: _Row, data: str, meeting_id: int, *, late: bool = False) -> None:
        from storage.uow import unit_of_work

        pair = self.pair_of(p)
        assert pair is not None
        async with unit_of_work(self.h.app.factory) as repos:
            m = await repos.meetings.get(meeting_id)
        assert m is not None
        await p.client.press(data, self._message(row))
        if not late and meeting_id not in self.held_told:
            self.held_told.add(meeting_id)
            self.say("held", id=pair.id, stage=self.stage_name(m.stage), who=p.short)
        answers = self._feedback_answers(p, m.stage)
        await self.fill(p, answers)
        if late:
            self.say("feedback_late", who=p.short, rating=answers["rating"])
        got = self.ratings.setdefault(meeting_id, [])
        got.append((p.short, answers["rating"]))
        if len(got) == len(pair.members):
            self.say(
                "feedback_all",
                id=pair.id,
                stage=self.stage_name(m.stage),
                ratings=", ".join(f"{who} {r}" for who, r in got),
            )
        if p is pair.mentor and self.t("meeting.goals_prompt") in (p.client.last().text or ""):
            mentor = pair.mentor.persona.key
            more = f"goal_more.{mentor}" if self.t.has(f"demo.say.goal_more.{mentor}") else "goal.common"
            for key in (f"goal.{mentor}", more):
                goal = self.typed(key)
                await p.client.send(goal)
                self.say("goal", who=p.short, goal=goal)
            await p.client.send("/cancel")
        await self.pair_progress(pair)

    async def pair_progress(self, pair: PairSim) -> None:
        from storage.uow import unit_of_work

        async with unit_of_work(self.h.app.factory) as repos:
            dto = await repos.pairs.get(pair.id)
        assert dto is not None
        if dto.stage != pair.stage and dto.status != "finished":
            self.say(
                "stage_done", id=pair.id, stage=self.stage_name(pair.stage), next=self.stage_name(dto.stage)
            )
            pair.stage = dto.stage
        if dto.status == "finished" and not pair.finished:
            pair.finished = True
            pair.stage = dto.stage
            self.say("finished", id=pair.id)
        pair.dirty = True

    # -- the curator's part during the year ------------------------------------------------------------------
    async def digest(self) -> None:
        from bot.callbacks.dashboard import OpenPairCb

        self.say("digest_run")
        await self.h.app.jobs.daily_digest()
        await self.pump()
        c = self.curator.client
        digest = c.last()
        opened = next(
            (b["callback_data"] for b in digest.buttons() if b["callback_data"].startswith("co:")), None
        )
        if opened is None:
            self.problem("the daily digest lists no overdue pair")
            return
        replies = await c.press(opened, digest)
        text = " ".join(x.strip() for x in (replies[-1].text or "").split("\n")[1:])
        self.say("open_pair", id=OpenPairCb.unpack(opened).pair, text=text)

    async def announce(self) -> None:
        from bot.domain.entities import Role
        from bot.services.commands import BY_ROLE

        if "announce" not in BY_ROLE[Role.CURATOR]:
            self.skipped.append("announce")
            self.say("skipped", step=self.t("demo.step.announce"), command="announce")
            return
        c, t = self.curator.client, self.t
        replies = await c.send("/announce")
        if not replies or t("announce.compose").split("\n")[0] not in (replies[-1].text or ""):
            self.skipped.append("announce")
            answer = self._first_line(replies[-1].text or "") if replies else "—"
            self.problem(f"/announce is in the curator's menu but answers: {answer}")
            return
        text = self.typed(self._keyed("announcement"))
        # Where the mentees are minors the parents are told; a programme of adults tells its mentees.
        audience = "parents" if any(m.minor for m in self.cast.mentees) else "mentees"
        await c.send(text)
        await c.click(t(f"announce.audience_btn.{audience}"))
        send = next(
            (
                (b["callback_data"], m)
                for m in reversed(self.h.fake.delivered_to(c.id))
                for b in m.buttons()
                if b["callback_data"].startswith("ca:send")
            ),
            None,
        )
        if send is None:
            self.problem("the announcement preview has no Send button")
            return
        self.say("announce" if audience == "parents" else "announce_mentees", text=self._first_line(text, 70))
        await c.press(*send)
        await self.pump()
        with contextlib.suppress(Exception):
            from handlers import announce

            tasks = list(announce.progress_tasks.values())
            if tasks:
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=announce.PROGRESS_EVERY + 10)
        report = c.last().text or ""
        from sqlalchemy import func, select

        from handlers.announce import AnnounceCb
        from storage.models import OutboxMessage
        from storage.uow import unit_of_work

        batch = AnnounceCb.unpack(send[0]).v
        async with unit_of_work(self.h.app.factory) as repos:
            self.announcement_recipients = await repos.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.batch_id == batch, OutboxMessage.status == "sent")
            )
        self.say("announce_report", text=" · ".join(x.strip() for x in report.split("\n") if x.strip())[:160])

    async def survey(self, p: Person, row: _Row, data: str) -> None:
        await p.client.press(data, self._message(row))
        r = await self._open_form(p.pid)
        if r is None or r.form_id != "intermediate":
            return  # closed, or answered already
        score = self.rng.choice((10, 9, 9, 8, 8, 7))
        problems = p.persona.key == self.cast.survey_problem
        answers = {
            "satisfaction": score,
            "communication": self.rng.choice((5, 5, 4)),
            "has_problems": problems,
            "problems": self.typed("survey_problem") if problems else None,
            "needs_curator": False,
            "comments": None,
        }
        await self.fill(p, answers)
        self.say("survey_done", who=p.short, score=score)

    async def final_survey(self, p: Person, row: _Row, data: str) -> None:
        await p.client.press(data, self._message(row))
        r = await self._open_form(p.pid)
        if r is None or r.form_id != "final":
            self.problem(f"{p.short}: the final survey button opened {r.form_id if r else 'nothing'}")
            return
        score = self.rng.choice((10, 10, 9, 9, 8))
        answers = {
            "role": "mentor" if p.persona.role == "mentor" else "mentee",
            "satisfaction": score,
            "would_recommend": True,
            "would_mentor": p.persona.key in self.cast.alumni,
            "reflection": self.typed("reflection"),
        }
        form = self.engine.forms["final"]
        if "growth" in form.keys:
            answers["growth"] = [o.value for o in form.question("growth").options[:2]]
        await self.fill(p, answers)
        self.say("final_done", who=p.short, score=score)
        offer = next(
            (b["callback_data"] for b in p.client.last().buttons() if b["callback_data"].startswith("bm:")),
            None,
        )
        if offer is not None:
            await self.alumnus(p, offer)

    async def alumnus(self, p: Person, offer: str) -> None:
        """A mentee who finished is offered to become a mentor: one says yes and completes the mentor
        questionnaire the bot pre-filled from their own; the others say "not now"."""
        from handlers.completion import BecomeMentorCb

        pair = BecomeMentorCb.unpack(offer).pair
        message = p.client.last()
        if p.persona.key != self.cast.alumni[0]:
            await p.client.press(BecomeMentorCb(pair=pair, a="n").pack(), message)
            self.say("alumni_no", who=p.short)
            return
        await p.client.press(BecomeMentorCb(pair=pair, a="y").pack(), message)
        self.say("alumni_yes", who=p.short)
        r = await self._open_form(p.pid)
        if r is None or r.form_id != "mentor":
            self.problem(f"{p.short}: no mentor questionnaire after agreeing to become a mentor")
            return
        answers = {
            "experience_years": 1,
            "capacity": 1,
            "motivation": self.typed(self._keyed("motivation.alumni")),
        }
        submitted = await self.fill(p, answers)
        if submitted is not None:
            form = self.engine.forms["mentor"]
            summary = self._summary("mentor", submitted)
            self.say("form_done", who=p.short, title=form.title.get(self.lang), summary=summary)

    # -- the end: dashboard, export, charts ------------------------------------------------------------------
    async def results(self) -> None:
        c, t = self.curator.client, self.t
        self.say("dashboard")
        replies = await c.send("/dashboard")
        for line in (replies[-1].text or "").split("\n"):
            self.plain(f"             {html.unescape(_TAG_RE.sub('', line))}")
        await c.send("/export")
        await c.click(t("reports.export.xlsx"))
        doc = next((m for m in reversed(self.h.fake.delivered_to(c.id)) if m.method == "sendDocument"), None)
        if doc is None or not doc.document:
            raise DemoError("/export sent no workbook")
        self.workbook = self.out_dir / "export.xlsx"
        self.workbook.write_bytes(doc.document["data"])
        self.say("export", file=self.workbook.name)
        seen = len(self.h.fake.delivered_to(c.id))
        await c.send("/report")
        photos = [m for m in self.h.fake.delivered_to(c.id)[seen:] if m.method == "sendPhoto" and m.document]
        for name, m in zip(CHART_NAMES, photos, strict=False):
            path = self.out_dir / f"{name}.png"
            path.write_bytes(m.document["data"])
            self.charts.append(path)
        if len(self.charts) != len(CHART_NAMES):
            self.problem(f"/report sent {len(photos)} charts, expected {len(CHART_NAMES)}")
        self.say("report", files=", ".join(p.name for p in self.charts))

    async def counts(self, started: float) -> DemoResult:
        from sqlalchemy import func, select

        from bot.services import programmes
        from bot.demo.telegram import SEND_METHODS
        from storage.models import FormResponse, Meeting, ParticipantRole, Reminder
        from storage.uow import unit_of_work

        async with unit_of_work(self.h.app.factory) as repos:
            s = repos.session
            kinds = dict(
                (
                    await s.execute(
                        select(Reminder.kind, func.count())
                        .where(Reminder.status == "sent")
                        .group_by(Reminder.kind)
                    )
                ).all()
            )
            held = (
                await s.scalar(select(func.count()).select_from(Meeting).where(Meeting.status == "held")) or 0
            )

            async def submitted(form_id: str) -> int:
                q = (
                    select(func.count())
                    .select_from(FormResponse)
                    .where(FormResponse.form_id == form_id, FormResponse.status == "submitted")
                )
                return await s.scalar(q) or 0

            feedback = await submitted("meeting_feedback")
            surveys = await submitted("intermediate")
            finals = await submitted("final")
            stages = {
                p.id: (p.stage, p.status)
                for p in [*(await repos.pairs.active()), *(await repos.pairs.finished())]
            }
            programme = await programmes.current(repos, self.curator.pid)
            mentees = [p.pid for p in self.people.values() if p.persona.role == "mentee"]
            intake = dict(
                (
                    await s.execute(
                        select(FormResponse.form_id, func.count())
                        .where(
                            FormResponse.participant_id.in_(mentees),
                            FormResponse.form_id.in_(("mentee_needs", "young_specialist_needs")),
                            FormResponse.status == "submitted",
                        )
                        .group_by(FormResponse.form_id)
                    )
                ).all()
            )
            held_by_pair: dict[int, dict[str, int]] = {}
            for pair_id, stage, n in await s.execute(
                select(Meeting.pair_id, Meeting.stage, func.count())
                .where(Meeting.status == "held")
                .group_by(Meeting.pair_id, Meeting.stage)
            ):
                held_by_pair.setdefault(pair_id, {})[stage] = n
            role_counts = dict(
                (
                    await s.execute(
                        select(
                            ParticipantRole.role, func.count(func.distinct(ParticipantRole.participant_id))
                        ).group_by(ParticipantRole.role)
                    )
                ).all()
            )
        messages = len([r for r in self.h.fake.requests if r.method in SEND_METHODS and r.outcome == 200])
        finished = sum(1 for _, status in stages.values() if status == "finished")
        seconds = walltime.monotonic() - started
        roles = [p.persona.role for p in self.people.values()]
        order = ("before_24h", "before_1h", "after_check", "feedback_1d", "feedback_3d", "stage_deadline")
        kinds_text = ", ".join(
            f"{self.t('demo.kind.' + k) if self.t.has('demo.kind.' + k) else k} {kinds[k]}"
            for k in sorted(kinds, key=lambda k: (order.index(k) if k in order else 99, k))
        )
        days = (self.local().date() - self.start_at.date()).days
        c = "demo.counts."
        self.plain("")
        self.plain(self.t(c + "title", days=days, seconds=f"{seconds:.0f}"))
        if self.template is not None and programme is not None:
            self.plain(self.t(c + "programme", title=programme.title, template=self.template.id))
        self.plain(
            self.t(
                c + "people",
                total=len(roles),
                mentors=roles.count("mentor"),
                mentees=roles.count("mentee"),
                parents=roles.count("parent"),
            )
        )
        self.plain(self.t(c + "traffic", updates=self.updates, messages=messages))
        kinds_text = f" — {kinds_text}" if kinds_text else ""
        self.plain(self.t(c + "reminders", total=sum(kinds.values()), kinds=kinds_text))
        self.plain(self.t(c + "meetings", held=held, feedback=feedback))
        self.plain(self.t(c + "pairs", finished=finished, pairs=len(stages)))
        self.plain(self.t(c + "surveys", surveys=surveys, finals=finals))
        files = [p for p in [self.workbook, *self.charts] if p is not None]
        self.plain(
            self.t(c + "files", files=", ".join(str(p) for p in [*files, self.out_dir / "transcript.txt"]))
        )
        self.plain(self.t(c + "problems", n=len(self.problems)))
        for text in self.problems:
            self.plain(f"  ⚠ {text}")
        return DemoResult(
            out_dir=self.out_dir,
            transcript=self.out_dir / "transcript.txt",
            workbook=self.workbook,
            charts=list(self.charts),
            database=self.db,
            seconds=seconds,
            updates=self.updates,
            messages_sent=messages,
            reminders=dict(kinds),
            pairs=len(stages),
            pairs_finished=finished,
            stages_reached={
                pid: (status if status == "finished" else stage) for pid, (stage, status) in stages.items()
            },
            meetings_held=held,
            feedback_forms=feedback,
            monitoring_surveys=surveys,
            final_surveys=finals,
            announcement_recipients=self.announcement_recipients,
            skipped=list(self.skipped),
            problems=list(self.problems),
            template=programme.template if programme else None,
            programme_title=programme.title if programme else "",
            programme_settings=dict(programme.settings) if programme else {},
            intake_forms=intake,
            held_by_pair=held_by_pair,
            roles=role_counts,
            forced_pairs=list(self.forced),
        )

    # -- the story -------------------------------------------------------------------------------------------
    async def meetings(self) -> None:
        """From the pairing to the last final survey: the pairs meet, the scheduler scans once a day."""
        assert self.paired_on is not None
        self.plain("")
        self.plain(self.t("demo.section.meetings"))
        self.next_scan = self.local_at(self.paired_on + timedelta(days=1), "10:00").astimezone(UTC)
        # The late pair is past its introduction deadline (and told so) by the morning of the digest.
        digest_day, last_day = 18, 200
        if self.template is not None:
            from bot.domain.stages import Stage

            plan = self.template.stage_plan
            due = {s: (plan.deadline_for(s, self.paired_on) - self.paired_on).days for s in Stage}
            digest_day, last_day = due[Stage.INTRODUCTION] + 2, due[Stage.FINAL] + 20
        self.at(self.local_at(self.paired_on + timedelta(days=digest_day), "09:00"), self.digest)
        self.at(self.local_at(self.paired_on + timedelta(days=21), "12:00"), self.announce)
        await self.run_until(
            self.local_at(self.paired_on + timedelta(days=last_day), "10:00"), stop_when_done=True
        )
        # Let the last final surveys come in, then the curator looks at the whole picture.
        await self.run_until(self.now + timedelta(days=4))
        if not self.final_offers:
            self.skipped.append("final_survey")
            self.say("skipped_final")

    async def run(self) -> DemoResult:
        started = walltime.monotonic()
        start = self.start_at
        if self.template is None:
            self.plain(self.t("demo.header"))
            self.plain(self.t("demo.header_clock", start=f"{start:%d.%m.%Y %H:%M}"))
        else:
            title = self.template.title_for(self.lang)
            self.plain(self.t("demo.header_template", template=self.template.id, title=title))
            self.plain(self.t("demo.header_clock_template", start=f"{start:%d.%m.%Y %H:%M}"))
        self.plain("")
        self.plain(self.t("demo.section.onboarding"))
        await self.onboard_curator()
        if self.template is not None:
            await self.create_programme()
        self.now = self.local_at(start.date(), "09:20").astimezone(UTC)
        mentor_link = await self.invite("mentor")
        mentee_link = await self.invite("mentee")
        mentors = [self.person(m, 2001 + i) for i, m in enumerate(self.cast.mentors)]
        mentees = [self.person(m, 3001 + i) for i, m in enumerate(self.cast.mentees)]
        for i, p in enumerate(mentors):
            self.at(
                self.local_at(start.date(), f"{12 + 2 * i}:{self.rng.randint(0, 59):02d}"),
                lambda p=p: self.join(p, mentor_link),
            )
        for i, p in enumerate(mentees):
            day = start.date() + timedelta(days=1 + i // 5)
            self.at(
                self.local_at(day, f"{15 + i % 5}:{self.rng.randint(0, 59):02d}"),
                lambda p=p: self.join(p, mentee_link),
            )
        d0 = start.date()
        self.at(self.local_at(d0 + timedelta(days=6), "10:30"), self.questionnaires)
        await self.run_until(self.local_at(d0 + timedelta(days=7), "11:00"))
        self.plain("")
        self.plain(self.t("demo.section.mentor_base"))
        await self.mentor_base()
        await self.pump()
        await self.run_until(self.local_at(d0 + timedelta(days=9), "11:00"))
        self.plain("")
        self.plain(self.t("demo.section.matching"))
        await self.match()
        await self.pump()
        if not self.quick:
            await self.meetings()
        self.plain("")
        self.plain(self.t("demo.section.results"))
        self.now = max(
            self.now, self.local_at(self.local().date() + timedelta(days=1), "10:00").astimezone(UTC)
        )
        await self.results()
        result = await self.counts(started)
        result.transcript.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return result


async def run_demo(
    out_dir: Path,
    lang: str = "ru",
    seed: int = 1,
    echo: Callable[[str], None] = print,
    *,
    quick: bool = False,
    template: str | None = None,
) -> DemoResult:
    """Run the programme into ``out_dir`` (created; the previous demo's files there are replaced): the
    transcript, the export workbook, the three charts and the demo's SQLite database. ``quick`` stops after
    the matching (a few seconds) instead of going through the meetings. ``template`` (a seed template id, see
    ``template_ids()``) runs a programme the curator creates from that template, with a cast that fits it;
    without it, the hand-made school programme on the app's default settings."""
    if template is not None and template not in TEMPLATE_CASTS:
        raise DemoError(f"no cast for the template {template!r}; known: {', '.join(TEMPLATE_CASTS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catcher = _Problems()
    root = logging.getLogger()
    root.addHandler(catcher)
    demo = Demo(out_dir, lang if lang in ("ru", "en") else "ru", seed, echo, quick=quick, template=template)
    try:
        await demo.start()
        try:
            result = await demo.run()
        finally:
            await demo.close()
    finally:
        root.removeHandler(catcher)
    if catcher.seen:
        with result.transcript.open("a", encoding="utf-8") as fh:
            for text in catcher.seen:
                result.problems.append(f"log: {text}")
                fh.write(f"  ⚠ log: {text}\n")
                echo(f"  ⚠ log: {text}")
    return result


def run_in_process(
    out_dir: Path, template: str | None = None, lang: str = "ru", seed: int = 1
) -> tuple[DemoResult, list[str]]:
    """``run_demo`` in a fresh event loop, with the transcript lines returned instead of printed: picklable,
    so that several runs can go side by side in worker processes (the tests run them two at a time)."""
    lines: list[str] = []
    result = asyncio.run(run_demo(out_dir, lang, seed, lines.append, template=template))
    return result, lines


def main(argv: list[str] | None = None) -> int:
    """`nastavnik demo [--template ID] [--out DIR] [--lang ru|en]`: no token, no network, no settings."""
    parser = argparse.ArgumentParser(
        prog="nastavnik demo",
        description="Run a whole mentoring programme offline (a fake Telegram, a simulated clock): print "
        "the transcript, write the export workbook and the charts.",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default ./{DEFAULT_OUT})"
    )
    parser.add_argument(
        "--lang", choices=("ru", "en"), default="ru", help="language of the bot and the transcript"
    )
    parser.add_argument(
        "--template",
        choices=template_ids(),
        default=None,
        help="run a programme created from this seed programme template (default: the hand-made school "
        "programme on the default settings)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated people's choices")
    parser.add_argument("--quick", action="store_true", help="stop after the matching (a few seconds)")
    parser.add_argument("--quiet", action="store_true", help="print only the totals, not the transcript")
    args = parser.parse_args(argv)
    shown: list[str] = []
    echo = shown.append if args.quiet else print
    try:
        asyncio.run(run_demo(args.out, args.lang, args.seed, echo, quick=args.quick, template=args.template))
    except DemoError as exc:
        print(f"nastavnik demo: {exc}", file=sys.stderr)
        return 1
    if args.quiet:
        last_gap = len(shown) - shown[::-1].index("") if "" in shown else 0
        print("\n".join(shown[last_gap:]))  # the totals
    return 0


if __name__ == "__main__":
    sys.exit(main())
