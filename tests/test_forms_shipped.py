"""The questionnaires shipped in bot/forms: they load, are fully translated and speak the
vocabulary that matching relies on."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.programme_templates import MENTORING_FORMS as TEMPLATE_FORMS

# pytest's default rootdir handling puts tests/ on sys.path, not the repo root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.forms import (  # noqa: E402
    Audience,
    Form,
    LocalizedText,
    QuestionType,
    load_form,
    load_forms,
)

FORMS_DIR = ROOT / "bot" / "forms"
SHIPPED = {
    "mentee_needs": Audience.MENTEE,
    "young_specialist_needs": Audience.MENTEE,
    "mentor": Audience.MENTOR,
    "meeting_feedback": Audience.PAIR,
    "intermediate": Audience.PAIR,
    "final": Audience.PAIR,
    "selfcheck_mentee": Audience.MENTEE,
    "selfcheck_teacher": Audience.MENTEE,
    "selfcheck_mentor": Audience.MENTOR,
    "swot": Audience.CURATOR,
}
PUPIL_AREAS = (
    "math", "russian", "literature", "foreign_language", "physics", "chemistry", "biology", "history",
    "social_studies", "informatics", "arts", "music", "sports", "projects", "research", "exams", "career",
    "study_skills", "communication", "adaptation",
)  # fmt: skip
TEACHER_AREAS = (
    "methodology", "lesson_planning", "classroom_management", "documentation", "digital_tools",
    "parent_communication", "inclusive_education", "extracurricular", "assessment", "professional_growth",
)  # fmt: skip
FORMATS = ("online", "offline", "any")
SLOTS = (
    "weekday_morning", "weekday_afternoon", "weekday_evening",
    "weekend_morning", "weekend_afternoon", "weekend_evening",
)  # fmt: skip
# Every form of mentoring a programme template may name (a college's "teacher_student" among them): a mentor
# must be able to choose each, or that programme's mentees could never be matched.
MENTORING_FORMS = TEMPLATE_FORMS
PROFILE_FORMS = ("mentee_needs", "young_specialist_needs", "mentor")
# Telegram shows long button captions cut with an ellipsis on phones.
MAX_BUTTON_TEXT = 64
CYRILLIC = re.compile(r"[А-Яа-яЁё]")


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return load_forms()


def _texts(form: Form) -> Iterator[tuple[str, LocalizedText]]:
    yield "title", form.title
    for q in form.questions:
        yield q.key, q.text
        for o in q.options:
            yield f"{q.key}.{o.value}", o.text
        if q.scale:
            yield f"{q.key}.scale.min", q.scale.min_label
            yield f"{q.key}.scale.max", q.scale.max_label


def test_exactly_the_expected_forms_are_shipped(forms: dict[str, Form]) -> None:
    assert set(forms) == set(SHIPPED)
    for form_id, audience in SHIPPED.items():
        assert forms[form_id].audience is audience
        assert forms[form_id].version >= 1


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_file_name_matches_form_id(form_id: str) -> None:
    form = load_form(FORMS_DIR / f"{form_id}.yaml")
    assert form.id == form_id
    assert form.source == f"{form_id}.yaml"


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_every_text_is_translated(forms: dict[str, Form], form_id: str) -> None:
    for where, text in _texts(forms[form_id]):
        assert CYRILLIC.search(text.ru), f"{form_id}/{where}: Russian text has no Russian in it: {text.ru!r}"
        # English left as a copy of the Russian would pass a "non-empty" check.
        assert not CYRILLIC.search(text.en), f"{form_id}/{where}: English text is not English: {text.en!r}"
        assert text.get("ru") == text.ru and text.get("en-GB") == text.en


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
def test_button_captions_fit(forms: dict[str, Form], form_id: str) -> None:
    for q in forms[form_id].questions:
        for o in q.options:
            for caption in (o.text.ru, o.text.en):
                assert len(caption) <= MAX_BUTTON_TEXT, f"{form_id}/{q.key}.{o.value}: {caption!r}"


def test_every_question_type_is_shipped(forms: dict[str, Form]) -> None:
    # The property tests in test_forms_domain.py exercise shipped questions; a type that is never
    # shipped would never be fuzzed.
    used = {q.type for form in forms.values() for q in form.questions}
    assert used == set(QuestionType)


@pytest.mark.parametrize("form_id", PROFILE_FORMS)
def test_profile_forms_share_format_and_slots(forms: dict[str, Form], form_id: str) -> None:
    form = forms[form_id]
    fmt, slots, areas = form.question("format"), form.question("slots"), form.question("areas")
    assert fmt.type is QuestionType.SINGLE and fmt.option_values == FORMATS
    assert slots.type is QuestionType.MULTI and slots.option_values == SLOTS
    assert areas.type is QuestionType.MULTI
    for q in (fmt, slots, areas):
        assert q.required and q.show_if is None, f"{form_id}/{q.key} must always be answered for matching"


def test_area_vocabulary(forms: dict[str, Form]) -> None:
    assert forms["mentee_needs"].question("areas").option_values == PUPIL_AREAS
    assert forms["young_specialist_needs"].question("areas").option_values == TEACHER_AREAS
    assert set(forms["mentor"].question("areas").option_values) == set(PUPIL_AREAS) | set(TEACHER_AREAS)


def test_shared_values_read_the_same_everywhere(forms: dict[str, Form]) -> None:
    # Matching explanations and curator reports show one text per value, whichever form it came from.
    seen: dict[tuple[str, str], tuple[str, object]] = {}
    for form_id in PROFILE_FORMS:
        for key in ("areas", "format", "slots"):
            for option in forms[form_id].question(key).options:
                first = seen.setdefault((key, option.value), (form_id, option.text))
                assert first[1] == option.text, f"{key}.{option.value}: {form_id} differs from {first[0]}"


def test_mentor_specific_questions(forms: dict[str, Form]) -> None:
    mentor = forms["mentor"]
    capacity = mentor.question("capacity")
    assert capacity.type is QuestionType.INTEGER and capacity.bounds() == (1, 5) and capacity.required
    forms_q = mentor.question("mentoring_forms")
    assert forms_q.type is QuestionType.MULTI and forms_q.option_values == MENTORING_FORMS
    motivation = mentor.question("motivation")
    assert motivation.type is QuestionType.TEXT and motivation.bounds()[0] == 20
    assert mentor.question("experience_years").type is QuestionType.INTEGER


def test_survey_scales(forms: dict[str, Form]) -> None:
    rating = forms["meeting_feedback"].question("rating")
    assert rating.type is QuestionType.SCALE and rating.bounds() == (1, 5)
    satisfaction = forms["final"].question("satisfaction")
    assert satisfaction.type is QuestionType.SCALE and satisfaction.bounds() == (1, 10)
    assert forms["intermediate"].question("satisfaction").bounds() == (1, 10)
    assert forms["final"].question("would_recommend").type is QuestionType.YESNO
    assert not forms["meeting_feedback"].question("next_steps").required


def test_exam_question_only_for_exam_goal(forms: dict[str, Form]) -> None:
    form = forms["mentee_needs"]
    assert form.question("exam_subjects").show_if is not None
    without = {"goals": ["grades", "career"]}
    assert "exam_subjects" not in [q.key for q in form.visible(without)]
    assert form.next_key(without, "goals") == "areas"
    with_exam = {"goals": ["grades", "exam_prep"]}
    assert form.next_key(with_exam, "goals") == "exam_kind"
    assert form.next_key(with_exam, "exam_kind") == "exam_subjects"
    assert form.prev_key(with_exam, "areas") == "exam_subjects"
    assert form.prev_key(without, "areas") == "goals"


def test_only_mentees_are_asked_about_becoming_mentors(forms: dict[str, Form]) -> None:
    final = forms["final"]
    assert final.is_visible({"role": "mentee"}, "would_mentor")
    assert not final.is_visible({"role": "mentor"}, "would_mentor")
