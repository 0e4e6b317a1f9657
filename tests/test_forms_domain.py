"""Questionnaire engine: answer parsing per question type, conditional navigation, loader
validation and the locale keys behind every error code."""

from __future__ import annotations

import json
import string
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.i18n import Translator

# pytest's default rootdir handling puts tests/ on sys.path, not the repo root.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.forms import (  # noqa: E402
    INT_LIMIT,
    TEXT_MAX_LENGTH,
    ErrorCode,
    Form,
    FormError,
    Invalid,
    ParseResult,
    Question,
    QuestionType,
    Valid,
    can_skip,
    display_answer,
    finish_multi,
    is_valid_value,
    load_form,
    load_forms,
    parse_choice,
    parse_form,
    parse_text_answer,
    skip,
    summarize,
    toggle_multi,
)

TODAY = date(2026, 3, 15)
LOCALE_FILES = {lang: ROOT / "locales" / lang / "forms.yaml" for lang in ("ru", "en")}


# ---------------------------------------------------------------------------------------------
# helpers


def _flatten(node: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = node
    return out


def _catalog(lang: str) -> dict[str, str]:
    # Same loader as bot/i18n.py, so an unquoted `yes:` key would show up here as "True".
    return _flatten(yaml.safe_load(LOCALE_FILES[lang].read_text(encoding="utf-8")))


CATALOGS = {lang: _catalog(lang) for lang in LOCALE_FILES}


def _translator(lang: str):
    real = Translator(lang)  # the bot's own formatting ("{max:@chars}" words a count with its noun)

    def t(key: str, **params: object) -> str:
        assert key in CATALOGS[lang], f"missing locale key {key}"
        return real(key, **params)

    return t


FORM_HEAD = """\
id: sample
version: 1
title: {ru: Анкета, en: Form}
audience: mentee
questions:
"""


def make_form(questions: str) -> Form:
    return parse_form(FORM_HEAD + textwrap.indent(textwrap.dedent(questions), "  "), "sample.yaml")


def q(body: str) -> Question:
    """A single question from its YAML body (without the leading dash)."""
    return make_form("- " + textwrap.indent(textwrap.dedent(body), "  ").lstrip()).questions[0]


TEXT_Q = q("""
    key: story
    type: text
    min: 5
    max: 10
    text: {ru: Расскажите, en: Tell}
""")
INT_Q = q("""
    key: capacity
    type: integer
    min: 1
    max: 5
    text: {ru: Сколько, en: How many}
""")
OPEN_INT_Q = q("""
    key: years
    type: integer
    text: {ru: Лет, en: Years}
""")
DATE_Q = q("""
    key: when
    type: date
    required: false
    text: {ru: Когда, en: When}
""")
SCALE_Q = q("""
    key: rating
    type: scale
    text: {ru: Оценка, en: Rating}
    scale: {min: 1, max: 5, labels: {ru: {min: плохо, max: отлично}, en: {min: poor, max: great}}}
""")
YESNO_Q = q("""
    key: ok
    type: yesno
    text: {ru: "Да?", en: "Yes?"}
""")
SINGLE_Q = q("""
    key: format
    type: single
    text: {ru: Формат, en: Format}
    options:
      - {value: online, text: {ru: Онлайн, en: Online}}
      - {value: offline, text: {ru: Очно, en: In person}}
""")
MULTI_Q = q("""
    key: slots
    type: multi
    min: 2
    max: 3
    text: {ru: Время, en: Time}
    options:
      - {value: a, text: {ru: А, en: A}}
      - {value: b, text: {ru: Б, en: B}}
      - {value: c, text: {ru: В, en: C}}
      - {value: d, text: {ru: Г, en: D}}
""")
OPTIONAL_MULTI_Q = q("""
    key: extras
    type: multi
    required: false
    text: {ru: Ещё, en: More}
    options:
      - {value: a, text: {ru: А, en: A}}
      - {value: b, text: {ru: Б, en: B}}
""")
ALL_SAMPLE_QUESTIONS = (
    TEXT_Q,
    INT_Q,
    OPEN_INT_Q,
    DATE_Q,
    SCALE_Q,
    YESNO_Q,
    SINGLE_Q,
    MULTI_Q,
    OPTIONAL_MULTI_Q,
)


def assert_valid(result: ParseResult, question: Question, expected: object) -> None:
    assert result == Valid(expected)
    assert is_valid_value(question, expected)


def assert_invalid(result: ParseResult, code: str, **params: object) -> None:
    assert isinstance(result, Invalid), result
    assert result.code == code
    assert result.params == params


# ---------------------------------------------------------------------------------------------
# text


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("hello", "hello"), ("  hello  ", "hello"), ("0123456789", "0123456789"), ("ab\ncd", "ab\ncd"),
     ("ab\x00cde", "abcde"), ("\x07hello", "hello")],
)  # fmt: skip
def test_text_valid(typed: str, expected: str) -> None:
    assert_valid(parse_text_answer(TEXT_Q, typed, TODAY), TEXT_Q, expected)


def test_text_boundaries() -> None:
    assert_invalid(parse_text_answer(TEXT_Q, "abcd", TODAY), ErrorCode.TEXT_TOO_SHORT, min=5)
    assert_invalid(parse_text_answer(TEXT_Q, "a" * 11, TODAY), ErrorCode.TEXT_TOO_LONG, max=10)
    assert_invalid(parse_text_answer(TEXT_Q, "   \n\t ", TODAY), ErrorCode.EMPTY)
    assert_invalid(parse_text_answer(TEXT_Q, "", TODAY), ErrorCode.EMPTY)
    # Surrounding whitespace does not count towards the length.
    assert_valid(parse_text_answer(TEXT_Q, "   abcde   ", TODAY), TEXT_Q, "abcde")


def test_text_default_limits() -> None:
    question = q("""
        key: note
        type: text
        text: {ru: Заметка, en: Note}
    """)
    assert question.bounds() == (1, TEXT_MAX_LENGTH)
    assert_valid(parse_text_answer(question, "x", TODAY), question, "x")
    assert_invalid(
        parse_text_answer(question, "x" * (TEXT_MAX_LENGTH + 1), TODAY),
        ErrorCode.TEXT_TOO_LONG,
        max=TEXT_MAX_LENGTH,
    )


def test_stored_text_must_be_clean() -> None:
    assert not is_valid_value(TEXT_Q, " hello")
    assert not is_valid_value(TEXT_Q, "hel\x00lo")
    assert not is_valid_value(TEXT_Q, "hi")
    assert not is_valid_value(TEXT_Q, 12345)


# ---------------------------------------------------------------------------------------------
# integer


@pytest.mark.parametrize(
    ("typed", "expected"), [("1", 1), ("5", 5), (" 3 ", 3), ("+2", 2), ("04", 4), ("−1", None)]
)
def test_integer_in_range(typed: str, expected: int | None) -> None:
    result = parse_text_answer(INT_Q, typed, TODAY)
    if expected is None:
        assert_invalid(result, ErrorCode.INT_RANGE, min=1, max=5)
    else:
        assert_valid(result, INT_Q, expected)


@pytest.mark.parametrize("typed", ["0", "6", "-1", "100000000000000000000", "9" * 5000])
def test_integer_out_of_range(typed: str) -> None:
    assert_invalid(parse_text_answer(INT_Q, typed, TODAY), ErrorCode.INT_RANGE, min=1, max=5)


@pytest.mark.parametrize("typed", ["", "three", "3.5", "3,0", "1e3", "٣", "²", "--1", "+", "3 лет"])
def test_integer_not_a_number(typed: str) -> None:
    assert_invalid(parse_text_answer(INT_Q, typed, TODAY), ErrorCode.NOT_INTEGER)


def test_integer_without_bounds_uses_safe_limits() -> None:
    assert_valid(parse_text_answer(OPEN_INT_Q, "1 000", TODAY), OPEN_INT_Q, 1000)
    assert_valid(parse_text_answer(OPEN_INT_Q, "-7", TODAY), OPEN_INT_Q, -7)
    assert_invalid(
        parse_text_answer(OPEN_INT_Q, str(INT_LIMIT + 1), TODAY),
        ErrorCode.INT_RANGE,
        min=-INT_LIMIT,
        max=INT_LIMIT,
    )
    assert_invalid(
        parse_text_answer(OPEN_INT_Q, "-" + "9" * 30, TODAY),
        ErrorCode.INT_RANGE,
        min=-INT_LIMIT,
        max=INT_LIMIT,
    )
    # Leading zeros do not make a small number huge.
    assert_valid(parse_text_answer(OPEN_INT_Q, "0" * 5000 + "7", TODAY), OPEN_INT_Q, 7)


def test_stored_integer_rejects_bool_and_out_of_range() -> None:
    assert is_valid_value(INT_Q, 3)
    assert not is_valid_value(INT_Q, True)
    assert not is_valid_value(INT_Q, 6)
    assert not is_valid_value(INT_Q, "3")


# ---------------------------------------------------------------------------------------------
# date


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("25.12.2026", "2026-12-25"),
        ("25.12.26", "2026-12-25"),
        ("2026-12-25", "2026-12-25"),
        ("25.12", "2026-12-25"),  # this year
        ("5.1.2027", "2027-01-05"),
        (" 01.03.2026 ", "2026-03-01"),
        ("29.02.2028", "2028-02-29"),
        ("01.01.1900", "1900-01-01"),
        ("31.12.2100", "2100-12-31"),
    ],
)
def test_date_valid(typed: str, expected: str) -> None:
    assert_valid(parse_text_answer(DATE_Q, typed, TODAY), DATE_Q, expected)


def test_day_month_uses_the_year_of_today() -> None:
    assert parse_text_answer(DATE_Q, "01.02", date(2031, 6, 1)) == Valid("2031-02-01")


@pytest.mark.parametrize(
    "typed",
    ["", "завтра", "31.02.2026", "29.02.2026", "32.01.2026", "00.01.2026", "12.13.2026", "25/12/2026",
     "2026-13-01", "25.12.202", "31.12.1899", "01.01.2101", "29.02", "1.1.1.1", "２５.１２.２０２６"],
)  # fmt: skip
def test_date_invalid(typed: str) -> None:
    # "29.02" on a non-leap TODAY is not a real date this year.
    assert_invalid(parse_text_answer(DATE_Q, typed, TODAY), ErrorCode.BAD_DATE)


def test_stored_date_must_be_canonical_iso() -> None:
    assert is_valid_value(DATE_Q, "2026-12-25")
    assert not is_valid_value(DATE_Q, "2026-12-5")
    assert not is_valid_value(DATE_Q, "25.12.2026")
    assert not is_valid_value(DATE_Q, "0226-12-25")
    assert not is_valid_value(DATE_Q, "20261225")  # date.fromisoformat accepts it since Python 3.11
    assert not is_valid_value(DATE_Q, 20261225)


# ---------------------------------------------------------------------------------------------
# scale, yes/no, single


@pytest.mark.parametrize(("pressed", "expected"), [("1", 1), ("3", 3), ("5", 5)])
def test_scale_buttons(pressed: str, expected: int) -> None:
    assert_valid(parse_choice(SCALE_Q, pressed), SCALE_Q, expected)


@pytest.mark.parametrize("pressed", ["0", "6", "", "x", "3.0", "-1", "99999999999999999999999"])
def test_scale_out_of_range(pressed: str) -> None:
    assert_invalid(parse_choice(SCALE_Q, pressed), ErrorCode.SCALE_RANGE, min=1, max=5)


def test_scale_accepts_typed_number() -> None:
    assert_valid(parse_text_answer(SCALE_Q, " 4 ", TODAY), SCALE_Q, 4)
    assert_invalid(parse_text_answer(SCALE_Q, "семь", TODAY), ErrorCode.SCALE_RANGE, min=1, max=5)
    assert not is_valid_value(SCALE_Q, True)


def test_yesno_buttons_and_words() -> None:
    assert_valid(parse_choice(YESNO_Q, "yes"), YESNO_Q, True)
    assert_valid(parse_choice(YESNO_Q, "no"), YESNO_Q, False)
    assert_invalid(parse_choice(YESNO_Q, "maybe"), ErrorCode.UNKNOWN_OPTION)
    assert_invalid(parse_choice(YESNO_Q, "Yes"), ErrorCode.UNKNOWN_OPTION)
    for word, expected in [("Да", True), ("нет.", False), ("YES", True), ("n", False)]:
        assert_valid(parse_text_answer(YESNO_Q, word, TODAY), YESNO_Q, expected)
    assert_invalid(parse_text_answer(YESNO_Q, "наверное", TODAY), ErrorCode.USE_BUTTONS)
    assert not is_valid_value(YESNO_Q, "yes")
    assert not is_valid_value(YESNO_Q, 1)


def test_single_buttons() -> None:
    assert_valid(parse_choice(SINGLE_Q, "online"), SINGLE_Q, "online")
    assert_invalid(parse_choice(SINGLE_Q, "hybrid"), ErrorCode.UNKNOWN_OPTION)
    assert_invalid(parse_choice(SINGLE_Q, "Online"), ErrorCode.UNKNOWN_OPTION)
    assert not is_valid_value(SINGLE_Q, "hybrid")


def test_single_accepts_typed_option_text_in_either_language() -> None:
    assert_valid(parse_text_answer(SINGLE_Q, " очно ", TODAY), SINGLE_Q, "offline")
    assert_valid(parse_text_answer(SINGLE_Q, "in   PERSON", TODAY), SINGLE_Q, "offline")
    assert_invalid(parse_text_answer(SINGLE_Q, "где угодно", TODAY), ErrorCode.USE_BUTTONS)


def test_stale_button_on_a_typed_question_is_refused() -> None:
    for question in (TEXT_Q, INT_Q, DATE_Q, MULTI_Q):
        assert_invalid(parse_choice(question, "online"), ErrorCode.UNKNOWN_OPTION)


# ---------------------------------------------------------------------------------------------
# multi


def test_multi_toggle_and_finish() -> None:
    picked: list[str] = []
    for value in ("c", "a"):
        result = toggle_multi(MULTI_Q, picked, value)
        assert isinstance(result, Valid)
        picked = result.value  # type: ignore[assignment]
    assert picked == ["a", "c"]  # form order, not click order
    assert_invalid(finish_multi(MULTI_Q, ["a"]), ErrorCode.TOO_FEW_PICKS, min=2)
    assert_valid(finish_multi(MULTI_Q, picked), MULTI_Q, ["a", "c"])
    assert toggle_multi(MULTI_Q, picked, "a") == Valid(["c"])  # untick


def test_multi_max_is_enforced_on_toggle_but_untick_still_works() -> None:
    full = ["a", "b", "c"]
    assert_invalid(toggle_multi(MULTI_Q, full, "d"), ErrorCode.TOO_MANY_PICKS, max=3)
    assert toggle_multi(MULTI_Q, full, "b") == Valid(["a", "c"])
    assert_invalid(finish_multi(MULTI_Q, ["a", "b", "c", "d"]), ErrorCode.TOO_MANY_PICKS, max=3)


def test_multi_refuses_unknown_values_and_drops_stale_picks() -> None:
    assert_invalid(toggle_multi(MULTI_Q, [], "z"), ErrorCode.UNKNOWN_OPTION)
    assert toggle_multi(MULTI_Q, ["gone", "a", "a"], "b") == Valid(["a", "b"])
    assert_invalid(finish_multi(MULTI_Q, ["gone", "a"]), ErrorCode.TOO_FEW_PICKS, min=2)
    assert_invalid(toggle_multi(SINGLE_Q, [], "online"), ErrorCode.UNKNOWN_OPTION)
    assert_invalid(parse_text_answer(MULTI_Q, "a", TODAY), ErrorCode.USE_BUTTONS)


def test_multi_default_min_depends_on_required() -> None:
    assert OPTIONAL_MULTI_Q.bounds() == (0, 2)
    assert_valid(finish_multi(OPTIONAL_MULTI_Q, []), OPTIONAL_MULTI_Q, [])
    required = q("""
        key: areas
        type: multi
        text: {ru: Что, en: What}
        options:
          - {value: a, text: {ru: А, en: A}}
          - {value: b, text: {ru: Б, en: B}}
    """)
    assert required.bounds() == (1, 2)
    assert_invalid(finish_multi(required, []), ErrorCode.TOO_FEW_PICKS, min=1)


def test_stored_multi_must_be_ordered_unique_known_and_counted() -> None:
    assert is_valid_value(MULTI_Q, ["a", "d"])
    assert not is_valid_value(MULTI_Q, ["d", "a"])
    assert not is_valid_value(MULTI_Q, ["a", "a"])
    assert not is_valid_value(MULTI_Q, ["a", "z"])
    assert not is_valid_value(MULTI_Q, ["a"])
    assert not is_valid_value(MULTI_Q, ["a", "b", "c", "d"])
    assert not is_valid_value(MULTI_Q, "a,b")


# ---------------------------------------------------------------------------------------------
# skipping


def test_skip_only_when_optional() -> None:
    assert can_skip(DATE_Q) and skip(DATE_Q) == Valid(None) and is_valid_value(DATE_Q, None)
    assert not can_skip(TEXT_Q)
    assert_invalid(skip(TEXT_Q), ErrorCode.REQUIRED)
    assert not is_valid_value(TEXT_Q, None)


# ---------------------------------------------------------------------------------------------
# conditions and navigation

BRANCHING = make_form("""
    - key: goals
      type: multi
      text: {ru: Цели, en: Goals}
      options:
        - {value: exam, text: {ru: Экзамен, en: Exam}}
        - {value: project, text: {ru: Проект, en: Project}}
        - {value: career, text: {ru: Профессия, en: Career}}
    - key: exam_subject
      type: single
      show_if: {key: goals, equals: exam}
      text: {ru: Предмет, en: Subject}
      options:
        - {value: math, text: {ru: Математика, en: Maths}}
        - {value: other, text: {ru: Другое, en: Other}}
    - key: other_subject
      type: text
      show_if: {key: exam_subject, equals: other}
      text: {ru: Какой, en: Which}
    - key: busy
      type: yesno
      text: {ru: "Заняты?", en: "Busy?"}
    - key: busy_why
      type: text
      required: false
      show_if: {key: busy, equals: true}
      text: {ru: Чем, en: With what}
    - key: mood
      type: scale
      scale: {min: 1, max: 5, labels: {ru: {min: плохо, max: хорошо}, en: {min: bad, max: good}}}
      text: {ru: Настроение, en: Mood}
    - key: support
      type: text
      show_if: {key: mood, in: [1, 2]}
      text: {ru: Поддержка, en: Support}
    - key: project_or_career
      type: text
      show_if: {key: goals, in: [project, career]}
      text: {ru: Подробнее, en: Details}
""")


def _keys(answers: dict[str, Any]) -> list[str]:
    return [question.key for question in BRANCHING.visible(answers)]


def test_visible_without_answers_hides_every_conditional_question() -> None:
    assert _keys({}) == ["goals", "busy", "mood"]


def test_multi_condition_matches_any_pick() -> None:
    assert "exam_subject" in _keys({"goals": ["project", "exam"]})
    assert "project_or_career" in _keys({"goals": ["career"]})
    assert "project_or_career" not in _keys({"goals": ["exam"]})


def test_chained_condition_hides_when_its_parent_is_hidden() -> None:
    answers = {"goals": ["exam"], "exam_subject": "other"}
    assert "other_subject" in _keys(answers)
    # The user went back and dropped the exam goal: the stale exam_subject answer must not count.
    answers["goals"] = ["project"]
    assert "exam_subject" not in _keys(answers)
    assert "other_subject" not in _keys(answers)
    assert BRANCHING.relevant_answers(answers) == {"goals": ["project"]}


def test_yesno_and_scale_conditions() -> None:
    assert "busy_why" in _keys({"busy": True})
    assert "busy_why" not in _keys({"busy": False})
    assert "support" in _keys({"mood": 2})
    assert "support" not in _keys({"mood": 3})
    # True == 1 in Python; a bool must not satisfy a scale condition.
    assert "support" not in _keys({"mood": True})


def test_next_and_prev_follow_the_answers() -> None:
    answers: dict[str, Any] = {"goals": ["exam"]}
    assert BRANCHING.first_key(answers) == "goals"
    assert BRANCHING.next_key(answers, "goals") == "exam_subject"
    answers["exam_subject"] = "math"
    assert BRANCHING.next_key(answers, "exam_subject") == "busy"
    assert BRANCHING.prev_key(answers, "busy") == "exam_subject"
    assert BRANCHING.prev_key(answers, "goals") is None
    answers |= {"busy": False, "mood": 5}
    assert BRANCHING.next_key(answers, "busy") == "mood"
    assert BRANCHING.next_key(answers, "mood") is None
    assert BRANCHING.position(answers, "busy") == (3, 4)


def test_navigation_without_the_branch() -> None:
    answers = {"goals": ["career"], "busy": True, "mood": 1}
    assert BRANCHING.next_key(answers, "goals") == "busy"
    assert BRANCHING.next_key(answers, "busy") == "busy_why"
    assert BRANCHING.next_key(answers, "mood") == "support"
    assert BRANCHING.next_key(answers, "support") == "project_or_career"
    assert BRANCHING.prev_key(answers, "project_or_career") == "support"
    assert BRANCHING.prev_key(answers, "busy") == "goals"
    with pytest.raises(KeyError):
        BRANCHING.next_key(answers, "nope")
    with pytest.raises(KeyError):
        BRANCHING.question("nope")


def complete(form: Form, answers: dict[str, Any]) -> bool:
    """Every visible required question answered, every answer given valid (what a submitted form holds)."""
    return not form.missing_required(answers) and all(
        is_valid_value(q, answers[q.key]) for q in form.visible(answers) if q.key in answers
    )


def test_completeness_counts_only_visible_required_questions() -> None:
    answers: dict[str, Any] = {"goals": ["exam"], "busy": True, "mood": 4}
    assert BRANCHING.missing_required(answers) == ["exam_subject"]
    answers["exam_subject"] = "math"
    assert BRANCHING.missing_required(answers) == []  # busy_why is optional
    assert complete(BRANCHING, answers)
    answers["mood"] = 1
    assert BRANCHING.missing_required(answers) == ["support"]
    answers |= {"support": "ok", "busy_why": None}
    assert complete(BRANCHING, answers)
    answers["mood"] = 42
    assert not complete(BRANCHING, answers)


# ---------------------------------------------------------------------------------------------
# display


def test_display_answer_in_both_languages() -> None:
    ru, en = _translator("ru"), _translator("en")
    assert display_answer(SINGLE_Q, "offline", "ru", ru) == "Очно"
    assert display_answer(SINGLE_Q, "offline", "en", en) == "In person"
    assert display_answer(MULTI_Q, ["a", "c"], "en", en) == "A, C"
    assert display_answer(OPTIONAL_MULTI_Q, [], "ru", ru) == CATALOGS["ru"]["forms.answer.none_selected"]
    assert display_answer(YESNO_Q, True, "ru", ru) == CATALOGS["ru"]["forms.answer.yes"]
    assert display_answer(YESNO_Q, False, "en", en) == CATALOGS["en"]["forms.answer.no"]
    assert display_answer(SCALE_Q, 4, "en", en) == "4 of 5"
    assert display_answer(DATE_Q, "2026-12-25", "ru", ru) == "25.12.2026"
    assert display_answer(DATE_Q, None, "ru", ru) == CATALOGS["ru"]["forms.answer.skipped"]
    assert display_answer(INT_Q, 3, "ru", ru) == "3"
    assert display_answer(TEXT_Q, "hello", "en", en) == "hello"


def test_display_survives_answers_from_an_older_form_version() -> None:
    t = _translator("ru")
    assert display_answer(SINGLE_Q, "hybrid", "ru", t) == "hybrid"
    assert display_answer(MULTI_Q, ["a", "gone"], "ru", t) == "А, gone"
    assert display_answer(DATE_Q, "not a date", "ru", t) == "not a date"


def test_summarize_lists_visible_answers_in_order() -> None:
    answers = {"busy": False, "goals": ["project"], "exam_subject": "math", "mood": 5}
    assert summarize(BRANCHING, answers, "en", _translator("en")) == [
        ("Goals", "Project"),
        ("Busy?", "no"),
        ("Mood", "5 of 5"),
    ]


# ---------------------------------------------------------------------------------------------
# loader errors

GOOD_QUESTION = """\
  - key: a
    type: single
    text: {ru: Вопрос, en: Question}
    options:
      - {value: x, text: {ru: Икс, en: Ex}}
      - {value: y, text: {ru: Игрек, en: Why}}
"""


def _with_question(body: str) -> str:
    return FORM_HEAD + GOOD_QUESTION + textwrap.indent(textwrap.dedent(body), "  ")


SCALE_LABELS = "labels: {ru: {min: мало, max: много}, en: {min: low, max: high}}"

BAD_FORMS = {
    "invalid_yaml": (FORM_HEAD + "  - key: [unclosed\n", "invalid YAML at line"),
    "not_a_mapping": ("- just\n- a list\n", "form must be a mapping"),
    "empty_file": ("", "form must be a mapping"),
    "duplicate_yaml_key": (
        FORM_HEAD.replace("version: 1", "version: 1\nversion: 2") + GOOD_QUESTION,
        "duplicate key 'version'",
    ),
    "unknown_form_field": (FORM_HEAD + GOOD_QUESTION + "extra: 1\n", "form: unknown field(s) extra"),
    "title_unknown_language": (
        FORM_HEAD.replace("en: Form", "de: Form") + GOOD_QUESTION,
        "unknown language(s) de",
    ),
    "missing_title_en": (
        FORM_HEAD.replace(", en: Form", "") + GOOD_QUESTION,
        "title: missing en translation",
    ),
    "empty_title_ru": (
        FORM_HEAD.replace("ru: Анкета", "ru: ''") + GOOD_QUESTION,
        "title: missing ru translation",
    ),
    "bad_version": (FORM_HEAD.replace("version: 1", "version: 0") + GOOD_QUESTION, "version must be"),
    "bad_audience": (
        FORM_HEAD.replace("audience: mentee", "audience: parent") + GOOD_QUESTION,
        "unknown Audience 'parent'",
    ),
    "bad_form_id": (FORM_HEAD.replace("id: sample", "id: Sample-Form") + GOOD_QUESTION, "id must start"),
    "no_questions": (FORM_HEAD + "  []\n", "questions must be a non-empty list"),
    "unknown_type": (
        _with_question("""
        - key: b
          type: choice
          text: {ru: Б, en: B}
    """),
        "question 'b': type: unknown QuestionType 'choice'",
    ),
    "duplicate_key": (
        _with_question("""
        - key: a
          type: text
          text: {ru: Б, en: B}
    """),
        "duplicate key 'a'",
    ),
    "missing_question_en": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б}
    """),
        "question 'b': text: missing en translation",
    ),
    "question_text_plain_string": (
        _with_question("""
        - key: b
          type: text
          text: Б
    """),
        "question 'b': text: must have ru and en translations",
    ),
    "missing_option_ru": (
        _with_question("""
        - key: b
          type: single
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {en: X}}
            - {value: y, text: {ru: У, en: Y}}
    """),
        "options[0]: text: missing ru translation",
    ),
    "missing_scale_label_en": (
        _with_question("""
        - key: b
          type: scale
          text: {ru: Б, en: B}
          scale: {min: 1, max: 5, labels: {ru: {min: мало, max: много}, en: {min: low}}}
    """),
        "labels.en: missing field(s) max",
    ),
    "missing_scale_labels_lang": (
        _with_question("""
        - key: b
          type: scale
          text: {ru: Б, en: B}
          scale: {min: 1, max: 5, labels: {ru: {min: мало, max: много}}}
    """),
        "labels: missing field(s) en",
    ),
    "options_missing": (
        _with_question("""
        - key: b
          type: multi
          text: {ru: Б, en: B}
    """),
        "options must be a list of at least two",
    ),
    "single_option": (
        _with_question("""
        - key: b
          type: single
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {ru: Х, en: X}}
    """),
        "options must be a list of at least two",
    ),
    "duplicate_option": (
        _with_question("""
        - key: b
          type: single
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {ru: Х, en: X}}
            - {value: x, text: {ru: Х2, en: X2}}
    """),
        "duplicate option value 'x'",
    ),
    "numeric_option_value": (
        _with_question("""
        - key: b
          type: single
          text: {ru: Б, en: B}
          options:
            - {value: 1, text: {ru: Х, en: X}}
            - {value: two, text: {ru: Х2, en: X2}}
    """),
        "value must be a string",
    ),
    "options_on_text": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {ru: Х, en: X}}
            - {value: y, text: {ru: У, en: Y}}
    """),
        "options are only allowed for single and multi",
    ),
    "text_min_gt_max": (
        _with_question("""
        - key: b
          type: text
          min: 10
          max: 5
          text: {ru: Б, en: B}
    """),
        "min 10 is greater than max 5",
    ),
    "integer_min_gt_max": (
        _with_question("""
        - key: b
          type: integer
          min: 5
          max: 1
          text: {ru: Б, en: B}
    """),
        "min 5 is greater than max 1",
    ),
    "multi_min_gt_max": (
        _with_question("""
        - key: b
          type: multi
          min: 2
          max: 1
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {ru: Х, en: X}}
            - {value: y, text: {ru: У, en: Y}}
    """),
        "min 2 is greater than max 1",
    ),
    "multi_max_over_options": (
        _with_question("""
        - key: b
          type: multi
          max: 3
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {ru: Х, en: X}}
            - {value: y, text: {ru: У, en: Y}}
    """),
        "max picks must be at most the 2 options",
    ),
    "min_on_date": (
        _with_question("""
        - key: b
          type: date
          min: 1
          text: {ru: Б, en: B}
    """),
        "min/max are only allowed",
    ),
    "float_bound": (
        _with_question("""
        - key: b
          type: integer
          max: 2.5
          text: {ru: Б, en: B}
    """),
        "max must be an integer",
    ),
    "scale_too_many_points": (
        _with_question(f"""
        - key: b
          type: scale
          text: {{ru: Б, en: B}}
          scale: {{min: 0, max: 10, {SCALE_LABELS}}}
    """),
        "got 0-10",
    ),
    "scale_reversed": (
        _with_question(f"""
        - key: b
          type: scale
          text: {{ru: Б, en: B}}
          scale: {{min: 5, max: 1, {SCALE_LABELS}}}
    """),
        "got 5-1",
    ),
    "scale_single_point": (
        _with_question(f"""
        - key: b
          type: scale
          text: {{ru: Б, en: B}}
          scale: {{min: 3, max: 3, {SCALE_LABELS}}}
    """),
        "got 3-3",
    ),
    "scale_missing": (
        _with_question("""
        - key: b
          type: scale
          text: {ru: Б, en: B}
    """),
        "missing field 'scale'",
    ),
    "scale_on_integer": (
        _with_question(f"""
        - key: b
          type: integer
          text: {{ru: Б, en: B}}
          scale: {{min: 1, max: 5, {SCALE_LABELS}}}
    """),
        "scale is only allowed for scale questions",
    ),
    "condition_unknown_key": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          show_if: {key: nope, equals: x}
    """),
        "refers to 'nope', which is not an earlier question",
    ),
    "condition_later_key": (
        FORM_HEAD
        + textwrap.indent(
            textwrap.dedent("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          show_if: {key: a, equals: x}
    """),
            "  ",
        )
        + GOOD_QUESTION,
        "refers to 'a', which is not an earlier question",
    ),
    "condition_self": (
        _with_question("""
        - key: b
          type: yesno
          text: {ru: Б, en: B}
          show_if: {key: b, equals: true}
    """),
        "refers to 'b', which is not an earlier question",
    ),
    "condition_unknown_value": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          show_if: {key: a, in: [x, z]}
    """),
        "'z' is not a possible answer to 'a'",
    ),
    "condition_both_operators": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          show_if: {key: a, equals: x, in: [y]}
    """),
        "needs exactly one of 'equals' or 'in'",
    ),
    "condition_empty_in": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          show_if: {key: a, in: []}
    """),
        "'in' must be a non-empty list",
    ),
    "condition_on_text": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
        - key: c
          type: text
          text: {ru: В, en: C}
          show_if: {key: b, equals: hello}
    """),
        "cannot depend on text question 'b'",
    ),
    "condition_unknown_field": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          show_if: {key: a, equals: x, not: true}
    """),
        "show_if: unknown field(s) not",
    ),
    "unknown_question_field": (
        _with_question("""
        - key: b
          type: text
          hint: {ru: Б, en: B}
          text: {ru: Б, en: B}
    """),
        "question 'b': unknown field(s) hint",
    ),
    "unknown_option_field": (
        _with_question("""
        - key: b
          type: single
          text: {ru: Б, en: B}
          options:
            - {value: x, text: {ru: Х, en: X}, emoji: 🙂}
            - {value: y, text: {ru: У, en: Y}}
    """),
        "options[0]: unknown field(s) emoji",
    ),
    "yaml11_boolean_required": (
        _with_question("""
        - key: b
          type: text
          required: no
          text: {ru: Б, en: B}
    """),
        "required must be true or false, got 'no'",
    ),
    "multiline_field_name": (
        _with_question("""
        - key: b
          type: text
          text: {ru: Б, en: B}
          "two\\nlines": 1
    """),
        "unknown field(s) two lines",
    ),
    "bad_key_name": (
        _with_question("""
        - key: Has Spaces
          type: text
          text: {ru: Б, en: B}
    """),
        "key must start with a lowercase latin letter",
    ),
    "missing_type": (
        _with_question("""
        - key: b
          text: {ru: Б, en: B}
    """),
        "question 'b': missing field(s) type",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FORMS))
def test_loader_refuses_with_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    text, expected = BAD_FORMS[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormError) as info:
        load_form(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{case}.yaml: ")
    assert expected in message
    assert info.value.source == f"{case}.yaml"


def test_good_form_template_loads(tmp_path: Path) -> None:
    # Guards the BAD_FORMS cases: each must fail for its own reason, not because the base is broken.
    path = tmp_path / "good.yaml"
    path.write_text(FORM_HEAD + GOOD_QUESTION, encoding="utf-8")
    assert load_form(path).keys == ("a",)


def test_yes_and_no_option_values_stay_strings() -> None:
    # PyYAML (YAML 1.1) would turn unquoted yes/no into booleans and lose the option values.
    question = q("""
        key: agree
        type: single
        text: {ru: "Согласны?", en: "Agree?"}
        options:
          - {value: yes, text: {ru: Да, en: Yes}}
          - {value: no, text: {ru: Нет, en: No}}
    """)
    assert question.option_values == ("yes", "no")


def test_unreadable_file_is_a_form_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: é".encode("latin-1"))
    with pytest.raises(FormError, match=r"^latin1\.yaml: cannot read file"):
        load_form(path)
    with pytest.raises(FormError, match=r"^missing\.yaml: cannot read file"):
        load_form(tmp_path / "missing.yaml")


def test_load_forms_from_directory(tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(FORM_HEAD.replace("id: sample", "id: one") + GOOD_QUESTION, "utf-8")
    (tmp_path / "two.yml").write_text(FORM_HEAD.replace("id: sample", "id: two") + GOOD_QUESTION, "utf-8")
    (tmp_path / "notes.txt").write_text("not a form", "utf-8")
    assert sorted(load_forms(tmp_path)) == ["one", "two"]
    assert load_forms(str(tmp_path))["one"].source == "one.yaml"


def test_load_forms_refuses_duplicate_ids(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(FORM_HEAD + GOOD_QUESTION, encoding="utf-8")
    with pytest.raises(FormError, match=r"^b\.yaml: form id 'sample' is already used by a\.yaml$"):
        load_forms(tmp_path)


def test_load_forms_reports_the_broken_file(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(FORM_HEAD + GOOD_QUESTION, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(FORM_HEAD, encoding="utf-8")
    with pytest.raises(FormError, match=r"^b\.yaml: "):
        load_forms(tmp_path)


# ---------------------------------------------------------------------------------------------
# locale keys


def test_locales_define_every_error_code_with_matching_placeholders() -> None:
    ru, en = CATALOGS["ru"], CATALOGS["en"]
    assert set(ru) == set(en)
    for key in ru:
        assert key.startswith("forms."), key
        assert isinstance(ru[key], str) and isinstance(en[key], str), key
        fields_ru = {f for _, f, _, _ in string.Formatter().parse(ru[key]) if f}
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
        assert fields_ru == fields_en, key
    for code in ErrorCode:
        assert code in ru, code


UI_KEYS = (
    "forms.answer.yes", "forms.answer.no", "forms.answer.skipped", "forms.answer.none_selected",
    "forms.answer.scale", "forms.button.yes", "forms.button.no", "forms.button.back", "forms.button.skip",
    "forms.button.done",
)  # fmt: skip


def test_locales_have_the_ui_keys_the_engine_uses() -> None:
    for lang in ("ru", "en"):
        for key in UI_KEYS:
            assert key in CATALOGS[lang], f"{lang}: {key}"


# Inputs that together provoke every error code; proves the locale check above covers real output.
ERROR_TRIGGERS = [
    lambda: skip(TEXT_Q),
    lambda: parse_text_answer(TEXT_Q, " ", TODAY),
    lambda: parse_text_answer(TEXT_Q, "ab", TODAY),
    lambda: parse_text_answer(TEXT_Q, "a" * 50, TODAY),
    lambda: parse_text_answer(INT_Q, "x", TODAY),
    lambda: parse_text_answer(INT_Q, "9", TODAY),
    lambda: parse_text_answer(DATE_Q, "x", TODAY),
    lambda: parse_choice(SCALE_Q, "9"),
    lambda: parse_choice(SINGLE_Q, "x"),
    lambda: parse_text_answer(SINGLE_Q, "x", TODAY),
    lambda: toggle_multi(MULTI_Q, ["a", "b", "c"], "d"),
    lambda: finish_multi(MULTI_Q, []),
]


def test_every_error_code_is_reachable_and_renders() -> None:
    produced = set()
    for trigger in ERROR_TRIGGERS:
        result = trigger()
        assert isinstance(result, Invalid)
        produced.add(result.code)
        for lang in ("ru", "en"):
            _translator(lang)(result.code, **result.params)
    assert produced == set(ErrorCode)


# ---------------------------------------------------------------------------------------------
# properties over every shipped question

SHIPPED = load_forms()
SHIPPED_QUESTIONS = [(f.id, question) for f in SHIPPED.values() for question in f.questions]
ALL_QUESTIONS = [*SHIPPED_QUESTIONS, *(("sample", question) for question in ALL_SAMPLE_QUESTIONS)]
IDS = [f"{form_id}.{question.key}" for form_id, question in ALL_QUESTIONS]
PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(question: Question, result: ParseResult) -> None:
    if isinstance(result, Valid):
        assert is_valid_value(question, result.value), (question.key, result.value)
        json.dumps(result.value)  # must be storable as JSON
        for lang in ("ru", "en"):
            assert isinstance(display_answer(question, result.value, lang, _translator(lang)), str)
    else:
        assert isinstance(result, Invalid)
        assert result.code in set(ErrorCode)
        for lang in ("ru", "en"):
            _translator(lang)(result.code, **result.params)


def _button_values(question: Question) -> list[str]:
    values = [*question.option_values, "yes", "no", "", "0", "-1"]
    if question.scale:
        values += [str(v) for v in range(question.scale.min - 1, question.scale.max + 2)]
    return values


def _typed_text(question: Question) -> st.SearchStrategy[str]:
    near_valid = [o.text.ru for o in question.options] + [o.text.en for o in question.options]
    near_valid += ["да", "нет", "25.12", "31.02.2026", "1 000", "+5", "-0", "2026-02-29"]
    return st.one_of(
        st.text(),
        st.text(alphabet=string.digits + " .-+", max_size=12),
        st.sampled_from(near_valid),
        st.integers(-(10**12), 10**12).map(str),
        st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
        st.text(min_size=1, max_size=3).map(lambda s: s * 700),  # around the length limits
    )


@pytest.mark.parametrize(("form_id", "question"), ALL_QUESTIONS, ids=IDS)
@PROPERTY_SETTINGS
@given(data=st.data(), today=st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)))
def test_typed_input_never_raises_and_valid_is_storable(
    form_id: str, question: Question, data: st.DataObject, today: date
) -> None:
    text = data.draw(_typed_text(question))
    _check(question, parse_text_answer(question, text, today))


@pytest.mark.parametrize(("form_id", "question"), ALL_QUESTIONS, ids=IDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_button_input_never_raises_and_valid_is_storable(
    form_id: str, question: Question, data: st.DataObject
) -> None:
    value = data.draw(st.one_of(st.sampled_from(_button_values(question)), st.text()))
    _check(question, parse_choice(question, value))
    _check(question, skip(question))


@pytest.mark.parametrize(("form_id", "question"), ALL_QUESTIONS, ids=IDS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_multi_clicks_never_raise_and_stay_within_limits(
    form_id: str, question: Question, data: st.DataObject
) -> None:
    candidate = st.one_of(st.sampled_from(_button_values(question)), st.text(max_size=5))
    picked: list[str] = data.draw(st.lists(candidate, max_size=6))
    _check(question, finish_multi(question, picked))
    # A click sequence from an empty list, as the bot does it: state only ever holds Valid results.
    state: list[str] = []
    for value in data.draw(st.lists(candidate, max_size=15)):
        result = toggle_multi(question, state, value)
        if isinstance(result, Valid):
            assert isinstance(result.value, list)
            state = result.value
            assert len(state) <= question.bounds()[1]
            assert state == [v for v in question.option_values if v in state]
        else:
            assert result.code in (ErrorCode.UNKNOWN_OPTION, ErrorCode.TOO_MANY_PICKS)
    _check(question, finish_multi(question, state))


@pytest.mark.parametrize("form_id", sorted(SHIPPED))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_navigation_never_loops_on_shipped_forms(form_id: str, data: st.DataObject) -> None:
    """Answer a shipped form with arbitrary valid answers; next_key must walk forward to the end
    and prev_key must walk back to the start, visiting the same questions."""
    form = SHIPPED[form_id]
    answers: dict[str, Any] = {}
    forward: list[str] = []
    key = form.first_key(answers)
    while key is not None:
        assert key not in forward
        forward.append(key)
        question = form.question(key)
        answers[key] = data.draw(_valid_answer(question))
        key = form.next_key(answers, key)
    assert forward == [question.key for question in form.visible(answers)]
    assert complete(form, answers)
    backward = [forward[-1]]
    while (prev := form.prev_key(answers, backward[-1])) is not None:
        backward.append(prev)
    assert backward == forward[::-1]


def _valid_answer(question: Question) -> st.SearchStrategy[Any]:
    optional = [st.none()] if not question.required else []
    match question.type:
        case QuestionType.SINGLE:
            base: st.SearchStrategy[Any] = st.sampled_from(question.option_values)
        case QuestionType.MULTI:
            low, high = question.bounds()
            base = st.lists(
                st.sampled_from(question.option_values), min_size=low, max_size=high, unique=True
            ).map(lambda picked: [v for v in question.option_values if v in picked])
        case QuestionType.YESNO:
            base = st.booleans()
        case QuestionType.TEXT:
            low, high = question.bounds()
            base = st.just("x" * low)
        case QuestionType.DATE:
            base = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 1, 1)).map(date.isoformat)
        case _:
            low, high = question.bounds()
            base = st.integers(low, high)
    return st.one_of(base, *optional)
