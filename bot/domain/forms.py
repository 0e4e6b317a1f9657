"""Questionnaires described as data: loading, validation, navigation and answer parsing.

Pure domain code: no Telegram, no database. A form is a YAML file (see ``bot/forms``); this
module turns it into frozen dataclasses and refuses anything the bot could not ask safely.
Human-facing messages are locale keys (``forms.*`` in ``locales/<lang>/forms.yaml``) plus
``str.format`` parameters, so the caller renders them in the user's language.

Stored answer values are always JSON-serialisable:

* single -> option value (``str``); multi -> list of option values in form order;
* text -> stripped ``str``; integer / scale -> ``int``; yesno -> ``bool``;
* date -> ISO ``"YYYY-MM-DD"``; a skipped optional question -> ``None``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from typing import Any, Final, TypeVar

import yaml

from bot.domain import datetime_parse as dtp

LANGUAGES: Final[tuple[str, ...]] = ("ru", "en")

# Defaults for questions that leave a bound open. Text: one answer must fit into a Telegram
# message together with the question in a summary. Integer: keeps values inside a 32-bit column.
TEXT_MAX_LENGTH: Final = 2000
INT_LIMIT: Final = 1_000_000_000
# Scales are rendered as one row of buttons per five points; more than ten is unreadable.
SCALE_MAX_POINTS: Final = 10
# Dates outside this window are typos ("25.12.0226"), not real plans or birthdays.
DATE_MIN_YEAR: Final = 1900
DATE_MAX_YEAR: Final = 2100

# Keys, ids and option values travel in callback data (64 bytes) and in stored JSON.
_NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)
_VALUE_RE = re.compile(r"[a-z0-9][a-z0-9_]{0,31}", re.ASCII)
_INT_RE = re.compile(r"[+-]?[0-9]+", re.ASCII)
# More digits than this cannot be inside INT_LIMIT; checking first avoids int() on huge strings.
_INT_MAX_DIGITS = len(str(INT_LIMIT))

_YES_WORDS = frozenset({"да", "д", "yes", "y"})
_NO_WORDS = frozenset({"нет", "н", "no", "n"})
YES: Final = "yes"
NO: Final = "no"


class QuestionType(StrEnum):
    SINGLE = "single"
    MULTI = "multi"
    TEXT = "text"
    INTEGER = "integer"
    SCALE = "scale"
    DATE = "date"
    YESNO = "yesno"


class Audience(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    PAIR = "pair"
    CURATOR = "curator"  # the programme's own questionnaires (the SWOT), not a participant's intake or survey


class Register(StrEnum):
    """How a form addresses the person filling it in: «ты» (pupils and students) or «вы» (adults). The
    engine's own texts around a question (hints, errors, the summary) follow the form's register, so one
    message never says both."""

    TY = "ty"
    VY = "vy"


class ErrorCode(StrEnum):
    """Locale keys of every answer error the parsers can return."""

    EMPTY = "forms.error.empty"
    REQUIRED = "forms.error.required"
    TEXT_TOO_SHORT = "forms.error.text_too_short"  # {min}
    TEXT_TOO_LONG = "forms.error.text_too_long"  # {max}
    NOT_INTEGER = "forms.error.not_integer"
    INT_RANGE = "forms.error.int_range"  # {min}, {max}
    BAD_DATE = "forms.error.bad_date"
    SCALE_RANGE = "forms.error.scale_range"  # {min}, {max}
    UNKNOWN_OPTION = "forms.error.unknown_option"
    USE_BUTTONS = "forms.error.use_buttons"
    TOO_MANY_PICKS = "forms.error.multi_too_many"  # {max}
    TOO_FEW_PICKS = "forms.error.multi_too_few"  # {min}


AnswerValue = str | int | bool | list[str] | None
Translate = Callable[..., str]
"""``t(key, **params) -> str`` supplied by the caller's i18n layer."""


class FormError(Exception):
    """A form file that cannot be used. ``str()`` is one line: ``<file name>: <problem>``."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        # YAML parser messages span lines; logs and admin replies need a single line.
        self.problem = " ".join(problem.split())
        super().__init__(f"{source}: {self.problem}")


# ---------------------------------------------------------------------------------------------
# Model


@dataclass(frozen=True)
class LocalizedText:
    ru: str
    en: str

    def get(self, lang: str | None) -> str:
        # Telegram sends codes like "en-GB"; anything that is not English gets the primary language.
        return self.en if lang and lang.lower().startswith("en") else self.ru


@dataclass(frozen=True)
class Option:
    value: str
    text: LocalizedText


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    min_label: LocalizedText
    max_label: LocalizedText

    @property
    def points(self) -> range:
        return range(self.min, self.max + 1)


@dataclass(frozen=True)
class Condition:
    """Show a question only when an earlier answer equals one of ``values``.

    For a multi answer it is enough that any picked value is among ``values``.
    """

    key: str
    values: tuple[str | int | bool, ...]

    def matches(self, answer: Any) -> bool:
        picked = answer if isinstance(answer, list) else [answer]
        # type() check: True == 1 in Python, but a yes/no answer must not satisfy a scale condition.
        return any(type(a) is type(v) and a == v for a in picked for v in self.values)


@dataclass(frozen=True)
class Question:
    key: str
    type: QuestionType
    text: LocalizedText
    required: bool = True
    options: tuple[Option, ...] = ()
    min: int | None = None
    max: int | None = None
    scale: Scale | None = None
    show_if: Condition | None = None
    # What the question asks, worded for someone else reading the answer (a mentor, the curator): "Где
    # учится" for "Где ты сейчас учишься?". The question's own text addresses the person who answers it.
    label: LocalizedText | None = None
    # The question worded with «ты», for a pupil answering a form whose own register is «вы» (a survey both
    # members of a pair fill in): the renderer picks it by the person, not by the form.
    text_ty: LocalizedText | None = None

    def label_for(self, lang: str | None) -> str:
        """The question as others read it next to the answer: its label, else its text."""
        return (self.label or self.text).get(lang)

    def text_for(self, lang: str | None, register: Register | None = None) -> str:
        """The question as asked of the person: its «ты» wording when they are addressed so and it has one."""
        if register is Register.TY and self.text_ty is not None:
            return self.text_ty.get(lang)
        return self.text.get(lang)

    @property
    def option_values(self) -> tuple[str, ...]:
        return tuple(o.value for o in self.options)

    def option(self, value: object) -> Option | None:
        return next((o for o in self.options if o.value == value), None)

    def bounds(self) -> tuple[int, int]:
        """Effective inclusive limits: text length, integer range, number of picks or scale range."""
        match self.type:
            case QuestionType.TEXT:
                return (
                    1 if self.min is None else self.min,
                    TEXT_MAX_LENGTH if self.max is None else self.max,
                )
            case QuestionType.INTEGER:
                return (
                    -INT_LIMIT if self.min is None else self.min,
                    INT_LIMIT if self.max is None else self.max,
                )
            case QuestionType.MULTI:
                low = (1 if self.required else 0) if self.min is None else self.min
                return (low, len(self.options) if self.max is None else self.max)
            case QuestionType.SCALE if self.scale is not None:
                return (self.scale.min, self.scale.max)
        raise TypeError(f"question {self.key!r} of type {self.type} has no bounds")


@dataclass(frozen=True)
class Progress:
    """Question ``number`` of ``low`` — or of ``low``–``high`` while some questions may still appear."""

    number: int
    low: int
    high: int

    @property
    def known(self) -> bool:
        return self.low == self.high


@dataclass(frozen=True)
class Form:
    id: str
    version: int
    title: LocalizedText
    audience: Audience
    questions: tuple[Question, ...]
    source: str = ""
    register: Register = Register.VY

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(q.key for q in self.questions)

    @property
    def speaks_ty(self) -> bool:
        """Whether the form can say «ты» to a person (its register, or «ты» wordings of its questions)."""
        return self.register is Register.TY or any(q.text_ty is not None for q in self.questions)

    def question(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(f"form {self.id!r} has no question {key!r}")

    def visible(self, answers: Mapping[str, Any]) -> list[Question]:
        """Questions to ask given the answers so far, in form order.

        A question whose condition refers to a hidden question is hidden too, even if a stale
        answer to that question is still in ``answers`` (the user went back and changed a branch).
        """
        shown: set[str] = set()
        result: list[Question] = []
        for q in self.questions:
            cond = q.show_if
            if cond is None or (cond.key in shown and cond.matches(answers.get(cond.key))):
                shown.add(q.key)
                result.append(q)
        return result

    def is_visible(self, answers: Mapping[str, Any], key: str) -> bool:
        return any(q.key == key for q in self.visible(answers))

    def first_key(self, answers: Mapping[str, Any]) -> str | None:
        visible = self.visible(answers)
        return visible[0].key if visible else None

    def next_key(self, answers: Mapping[str, Any], current_key: str) -> str | None:
        """The visible question after ``current_key``, or ``None`` when the form is done."""
        index = self._index(current_key)
        visible = {q.key for q in self.visible(answers)}
        return next((q.key for q in self.questions[index + 1 :] if q.key in visible), None)

    def prev_key(self, answers: Mapping[str, Any], current_key: str) -> str | None:
        """The visible question before ``current_key``, or ``None`` on the first one."""
        index = self._index(current_key)
        visible = {q.key for q in self.visible(answers)}
        return next((q.key for q in reversed(self.questions[:index]) if q.key in visible), None)

    def position(self, answers: Mapping[str, Any], key: str) -> tuple[int, int]:
        """``(number, total)`` for a "question 3 of 8" progress line; both count visible questions."""
        index = self._index(key)
        visible = self.visible(answers)
        before = sum(1 for q in visible if self.questions.index(q) < index)
        return before + 1, len(visible)

    def progress(self, answers: Mapping[str, Any], key: str, pre_answered: Collection[str] = ()) -> Progress:
        """Where the person is among the questions they will actually be asked.

        Questions the bot answered for them (``pre_answered``, e.g. the role in the final survey) are not
        counted unless they are on one now. A question whose condition is not yet decided (the answer it
        depends on is still to come) may or may not be asked: the total is then a range, which only narrows
        as answers come, so a counter never grows from "2 of 7" to "3 of 9".
        """
        index = self._index(key)
        state = self._decided(answers)
        asked = [
            q
            for q in self.questions
            if state[q.key] is not False and (q.key not in pre_answered or q.key == key)
        ]
        number = sum(1 for q in asked if self.questions.index(q) < index and state[q.key]) + 1
        low = sum(1 for q in asked if state[q.key])
        return Progress(number, low, len(asked))

    def _decided(self, answers: Mapping[str, Any]) -> dict[str, bool | None]:
        """Each question: True shown, False hidden, None not decided (the answer it depends on is to come)."""
        state: dict[str, bool | None] = {}
        for q in self.questions:
            cond = q.show_if
            if cond is None:
                state[q.key] = True
            elif state[cond.key] is not True:
                state[q.key] = state[cond.key]
            elif cond.key in answers:
                state[q.key] = cond.matches(answers.get(cond.key))
            else:
                state[q.key] = None
        return state

    def relevant_answers(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Answers to visible questions only: what is worth storing once the form is finished."""
        return {q.key: answers[q.key] for q in self.visible(answers) if q.key in answers}

    def missing_required(self, answers: Mapping[str, Any]) -> list[str]:
        return [
            q.key
            for q in self.visible(answers)
            if q.required and not (q.key in answers and is_valid_value(q, answers[q.key]))
        ]

    def _index(self, key: str) -> int:
        for i, q in enumerate(self.questions):
            if q.key == key:
                return i
        raise KeyError(f"form {self.id!r} has no question {key!r}")


# ---------------------------------------------------------------------------------------------
# Answers


@dataclass(frozen=True)
class Valid:
    value: AnswerValue


@dataclass(frozen=True)
class Invalid:
    code: str
    params: dict[str, int | str] = field(default_factory=dict)


ParseResult = Valid | Invalid


def can_skip(question: Question) -> bool:
    return not question.required


def skip(question: Question) -> ParseResult:
    """The value to store when the user presses "Skip"."""
    return Valid(None) if can_skip(question) else Invalid(ErrorCode.REQUIRED)


def parse_text_answer(question: Question, text: str, today: date) -> ParseResult:
    """Parse a typed message. Meant for text, integer and date questions, but total: typed
    answers to button questions are accepted when unambiguous (a scale number, "да"/"нет",
    an option's text) because people do type them instead of pressing a button."""
    match question.type:
        case QuestionType.TEXT:
            return _parse_text(question, text)
        case QuestionType.INTEGER:
            return _parse_integer(question, text)
        case QuestionType.DATE:
            return _parse_date(text, today)
        case QuestionType.SCALE:
            low, high = question.bounds()
            number = _to_int(text.strip())
            if number is None:
                return Invalid(ErrorCode.SCALE_RANGE, {"min": low, "max": high})
            return parse_choice(question, str(number))
        case QuestionType.YESNO:
            word = text.strip().strip(".!").casefold()
            if word in _YES_WORDS:
                return Valid(True)
            if word in _NO_WORDS:
                return Valid(False)
        case QuestionType.SINGLE:
            typed = " ".join(text.split()).casefold()
            for option in question.options:
                if typed in {option.value, option.text.ru.casefold(), option.text.en.casefold()}:
                    return Valid(option.value)
    return Invalid(ErrorCode.USE_BUTTONS)


def parse_choice(question: Question, value: str) -> ParseResult:
    """Parse a button press on a single, scale or yesno question.

    A press on any other question type is a stale keyboard from an earlier question.
    """
    match question.type:
        case QuestionType.SINGLE if question.option(value) is not None:
            return Valid(value)
        case QuestionType.SCALE:
            low, high = question.bounds()
            number = _to_int(value)
            if number is not None and low <= number <= high:
                return Valid(number)
            return Invalid(ErrorCode.SCALE_RANGE, {"min": low, "max": high})
        case QuestionType.YESNO if value in (YES, NO):
            return Valid(value == YES)
    return Invalid(ErrorCode.UNKNOWN_OPTION)


def toggle_multi(question: Question, picked: Sequence[str], value: str) -> ParseResult:
    """Tick or untick ``value``; the result is the new pick list in form order."""
    if question.type is not QuestionType.MULTI or question.option(value) is None:
        return Invalid(ErrorCode.UNKNOWN_OPTION)
    current = _known_picks(question, picked)
    if value in current:
        current.discard(value)
    else:
        _, high = question.bounds()
        if len(current) >= high:
            return Invalid(ErrorCode.TOO_MANY_PICKS, {"max": high})
        current.add(value)
    return Valid([v for v in question.option_values if v in current])


def finish_multi(question: Question, picked: Sequence[str]) -> ParseResult:
    """Check the number of picks when the user presses "Done"."""
    if question.type is not QuestionType.MULTI:
        return Invalid(ErrorCode.UNKNOWN_OPTION)
    current = _known_picks(question, picked)
    low, high = question.bounds()
    if len(current) < low:
        return Invalid(ErrorCode.TOO_FEW_PICKS, {"min": low})
    if len(current) > high:
        return Invalid(ErrorCode.TOO_MANY_PICKS, {"max": high})
    return Valid([v for v in question.option_values if v in current])


def is_valid_value(question: Question, value: object) -> bool:
    """Whether ``value`` may be stored as the answer; the parsers never produce anything else."""
    if value is None:
        return not question.required
    match question.type:
        case QuestionType.SINGLE:
            return isinstance(value, str) and question.option(value) is not None
        case QuestionType.MULTI:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return False
            low, high = question.bounds()
            in_order = [v for v in question.option_values if v in value]
            return in_order == value and low <= len(value) <= high
        case QuestionType.TEXT:
            low, high = question.bounds()
            return isinstance(value, str) and value == _clean_text(value) and low <= len(value) <= high
        case QuestionType.INTEGER | QuestionType.SCALE:
            low, high = question.bounds()
            return type(value) is int and low <= value <= high
        case QuestionType.YESNO:
            return isinstance(value, bool)
        case QuestionType.DATE:
            if not isinstance(value, str):
                return False
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                return False
            return parsed.isoformat() == value and DATE_MIN_YEAR <= parsed.year <= DATE_MAX_YEAR
    return False


def display_answer(question: Question, value: object, lang: str, t: Translate) -> str:
    """Render a stored answer for a summary. Never raises: an answer saved under an older form
    version may name an option that no longer exists, and the summary must still show it."""
    if value is None:
        return t("forms.answer.skipped")
    match question.type:
        case QuestionType.SINGLE:
            option = question.option(value)
            return option.text.get(lang) if option else str(value)
        case QuestionType.MULTI if isinstance(value, list):
            if not value:
                return t("forms.answer.none_selected")
            return ", ".join(o.text.get(lang) if (o := question.option(v)) else str(v) for v in value)
        case QuestionType.YESNO if isinstance(value, bool):
            return t("forms.answer.yes" if value else "forms.answer.no")
        case QuestionType.SCALE if question.scale is not None and type(value) is int:
            return t("forms.answer.scale", value=value, max=question.scale.max)
        case QuestionType.DATE if isinstance(value, str):
            try:
                return date.fromisoformat(value).strftime("%d.%m.%Y")
            except ValueError:
                return value
    return str(value)


def summarize(
    form: Form,
    answers: Mapping[str, Any],
    lang: str,
    t: Translate,
    *,
    for_others: bool = False,
    register: Register | None = None,
) -> list[tuple[str, str]]:
    """``(question text, displayed answer)`` for every visible answered question, in form order.

    ``for_others``: the answers are read by someone other than the person who gave them (a mentor, the
    curator), so each question is named by its label, not by the words that asked the person. ``register``:
    how the person who answered is addressed (the words that asked them)."""
    return [
        (
            q.label_for(lang) if for_others else q.text_for(lang, register),
            display_answer(q, answers[q.key], lang, t),
        )
        for q in form.visible(answers)
        if q.key in answers
    ]


def _clean_text(text: str) -> str:
    # NUL and lone surrogates cannot be stored in PostgreSQL text/jsonb; other control
    # characters are invisible junk from copy-paste. Newlines and tabs are kept.
    kept = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs"))
    return kept.strip()


def _parse_text(question: Question, text: str) -> ParseResult:
    cleaned = _clean_text(text)
    if not cleaned:
        return Invalid(ErrorCode.EMPTY)
    low, high = question.bounds()
    if len(cleaned) < low:
        return Invalid(ErrorCode.TEXT_TOO_SHORT, {"min": low})
    if len(cleaned) > high:
        return Invalid(ErrorCode.TEXT_TOO_LONG, {"max": high})
    return Valid(cleaned)


def _to_int(text: str) -> int | None:
    if not _INT_RE.fullmatch(text):
        return None
    negative = text.startswith("-")
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > _INT_MAX_DIGITS:
        # Outside any allowed range anyway; int() refuses strings of thousands of digits.
        return -INT_LIMIT - 1 if negative else INT_LIMIT + 1
    return -int(digits) if negative else int(digits)


def _parse_integer(question: Question, text: str) -> ParseResult:
    # "1 000" is how Russian speakers write thousands; the space is a separator, not a typo.
    number = _to_int("".join(text.split()).replace("\u2212", "-"))
    if number is None:
        return Invalid(ErrorCode.NOT_INTEGER)
    low, high = question.bounds()
    if not low <= number <= high:
        return Invalid(ErrorCode.INT_RANGE, {"min": low, "max": high})
    return Valid(number)


def _parse_date(text: str, today: date) -> ParseResult:
    # Read as meetings and the roadmap read dates (bot.domain.datetime_parse). Two narrowings stay
    # because tests/test_forms_domain.py::test_date_invalid pins them: "завтра" and weekdays are
    # refused, and so is any date with a slash ("25/12/2026").
    if "/" in text:
        return Invalid(ErrorCode.BAD_DATE)
    read = dtp.parse_date(text, today, prefer="nearest", relative=False)
    if isinstance(read, dtp.Refused) or read.date is None:
        return Invalid(ErrorCode.BAD_DATE)
    if not DATE_MIN_YEAR <= read.date.year <= DATE_MAX_YEAR:
        return Invalid(ErrorCode.BAD_DATE)
    return Valid(read.date.isoformat())


def _known_picks(question: Question, picked: Sequence[str]) -> set[str]:
    # Picks held in conversation state may predate a form update; unknown ones are dropped, not fatal.
    return {v for v in picked if isinstance(v, str) and question.option(v) is not None}


# ---------------------------------------------------------------------------------------------
# Loading


class _FormLoader(yaml.SafeLoader):
    """YAML 1.2-ish booleans and no silently overwritten duplicate keys.

    PyYAML follows YAML 1.1, where ``value: no`` becomes ``False`` and a repeated key quietly
    replaces the first one; both turn a typo in a form into wrong data instead of an error.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # unhashable key: the base class reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
        return super().construct_mapping(node, deep=deep)


_BOOL_TAG = "tag:yaml.org,2002:bool"
_FormLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FormLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

_FORM_FIELDS = {"id", "version", "title", "audience", "questions"}
_QUESTION_FIELDS = {
    "key",
    "type",
    "required",
    "text",
    "text_ty",
    "label",
    "options",
    "min",
    "max",
    "scale",
    "show_if",
}
_CHOICE_TYPES = (QuestionType.SINGLE, QuestionType.MULTI)
_BOUNDED_TYPES = (QuestionType.TEXT, QuestionType.INTEGER, QuestionType.MULTI)
_CONDITION_TYPES = (QuestionType.SINGLE, QuestionType.MULTI, QuestionType.YESNO, QuestionType.SCALE)


_E = TypeVar("_E", bound=StrEnum)


class _Problem(Exception):
    """Raised while building a form; ``parse_form`` adds the file name."""


def load_form(path: str | PathLike[str] | Traversable) -> Form:
    source: Path | Traversable = Path(path) if isinstance(path, str | PathLike) else path
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FormError(source.name, f"cannot read file: {exc}") from exc
    return parse_form(text, source.name)


def parse_form(text: str, source: str) -> Form:
    """Parse and validate a form from YAML text; ``source`` names it in error messages."""
    try:
        data = yaml.load(text, Loader=_FormLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FormError(source, f"invalid YAML{where}: {exc.problem or exc.context}") from exc
    except yaml.YAMLError as exc:
        raise FormError(source, f"invalid YAML: {exc}") from exc
    try:
        return _build_form(data, source)
    except _Problem as exc:
        raise FormError(source, str(exc)) from exc


def load_forms(directory: str | PathLike[str] | Traversable | None = None) -> dict[str, Form]:
    """All ``*.yaml`` forms in ``directory`` (default: the shipped ``bot/forms``), keyed by id."""
    if directory is None:
        folder: Path | Traversable = resources.files("bot.forms")
    elif isinstance(directory, str | PathLike):
        folder = Path(directory)
    else:
        folder = directory
    forms: dict[str, Form] = {}
    entries = sorted(
        (e for e in folder.iterdir() if e.is_file() and e.name.endswith((".yaml", ".yml"))),
        key=lambda e: e.name,
    )
    for entry in entries:
        form = load_form(entry)
        if form.id in forms:
            raise FormError(entry.name, f"form id {form.id!r} is already used by {forms[form.id].source}")
        forms[form.id] = form
    return forms


def _build_form(data: object, source: str) -> Form:
    fields_ = _fields(data, "form", required=_FORM_FIELDS, optional={"register"})
    form_id = _name(fields_["id"], "id")
    version = fields_["version"]
    if type(version) is not int or version < 1:
        raise _Problem(f"version must be a positive integer, got {version!r}")
    title = _localized(fields_["title"], "title")
    audience = _enum(Audience, fields_["audience"], "audience")
    register = _enum(Register, fields_.get("register", Register.VY.value), "register")
    raw_questions = fields_["questions"]
    if not isinstance(raw_questions, list) or not raw_questions:
        raise _Problem("questions must be a non-empty list")
    questions: list[Question] = []
    for index, raw in enumerate(raw_questions):
        where = f"questions[{index}]"
        if isinstance(raw, dict) and isinstance(raw.get("key"), str):
            where = f"question {raw['key']!r}"
        question = _build_question(raw, where, questions)
        if any(q.key == question.key for q in questions):
            raise _Problem(f"{where}: duplicate key {question.key!r}")
        questions.append(question)
    return Form(form_id, version, title, audience, tuple(questions), source, register)


def _build_question(raw: object, where: str, earlier: Sequence[Question]) -> Question:
    fields_ = _fields(raw, where, required={"key", "type", "text"}, optional=_QUESTION_FIELDS)
    key = _name(fields_["key"], f"{where}: key")
    qtype = _enum(QuestionType, fields_["type"], f"{where}: type")
    required = fields_.get("required", True)
    if not isinstance(required, bool):
        raise _Problem(f"{where}: required must be true or false, got {required!r}")
    text = _localized(fields_["text"], f"{where}: text")
    label = _localized(fields_["label"], f"{where}: label") if "label" in fields_ else None
    text_ty = _text_ty(fields_["text_ty"], text, f"{where}: text_ty") if "text_ty" in fields_ else None

    options: tuple[Option, ...] = ()
    if qtype in _CHOICE_TYPES:
        options = _options(fields_.get("options"), where)
    elif "options" in fields_:
        raise _Problem(f"{where}: options are only allowed for single and multi questions")

    low, high = fields_.get("min"), fields_.get("max")
    if qtype in _BOUNDED_TYPES:
        _check_bounds(qtype, low, high, len(options), where)
    elif low is not None or high is not None:
        raise _Problem(f"{where}: min/max are only allowed for text, integer and multi questions")

    scale: Scale | None = None
    if qtype is QuestionType.SCALE:
        if "scale" not in fields_:
            raise _Problem(f"{where}: missing field 'scale'")
        scale = _scale(fields_["scale"], where)
    elif "scale" in fields_:
        raise _Problem(f"{where}: scale is only allowed for scale questions")

    show_if = _condition(fields_["show_if"], where, earlier) if "show_if" in fields_ else None
    return Question(key, qtype, text, required, options, low, high, scale, show_if, label, text_ty)


def _text_ty(raw: object, text: LocalizedText, where: str) -> LocalizedText:
    """A «ты» wording: Russian alone (English has one "you": the question's own English text), or both."""
    if isinstance(raw, str) and raw.strip():
        return LocalizedText(raw.strip(), text.en)
    return _localized(raw, where)


def _options(raw: object, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise _Problem(f"{where}: options must be a list of at least two choices")
    options: list[Option] = []
    for index, item in enumerate(raw):
        at = f"{where}: options[{index}]"
        fields_ = _fields(item, at, required={"value", "text"})
        value = fields_["value"]
        if not isinstance(value, str) or not _VALUE_RE.fullmatch(value):
            raise _Problem(
                f"{at}: value must be a string of lowercase latin letters, digits and '_' "
                f"(up to 32, quote numbers), got {value!r}"
            )
        if any(o.value == value for o in options):
            raise _Problem(f"{at}: duplicate option value {value!r}")
        options.append(Option(value, _localized(fields_["text"], f"{at}: text")))
    return tuple(options)


def _check_bounds(qtype: QuestionType, low: object, high: object, option_count: int, where: str) -> None:
    for name, bound in (("min", low), ("max", high)):
        if bound is None:
            continue
        if type(bound) is not int:
            raise _Problem(f"{where}: {name} must be an integer, got {bound!r}")
        if qtype is QuestionType.INTEGER and not -INT_LIMIT <= bound <= INT_LIMIT:
            raise _Problem(f"{where}: {name} must be between {-INT_LIMIT} and {INT_LIMIT}, got {bound}")
        if qtype is QuestionType.TEXT and not 1 <= bound <= TEXT_MAX_LENGTH:
            raise _Problem(f"{where}: {name} length must be between 1 and {TEXT_MAX_LENGTH}, got {bound}")
        if qtype is QuestionType.MULTI and not (0 if name == "min" else 1) <= bound <= option_count:
            raise _Problem(f"{where}: {name} picks must be at most the {option_count} options, got {bound}")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        raise _Problem(f"{where}: min {low} is greater than max {high}")


def _scale(raw: object, where: str) -> Scale:
    at = f"{where}: scale"
    fields_ = _fields(raw, at, required={"min", "max", "labels"})
    low, high = fields_["min"], fields_["max"]
    if type(low) is not int or type(high) is not int:
        raise _Problem(f"{at}: min and max must be integers")
    if low < 0 or low >= high or high - low + 1 > SCALE_MAX_POINTS:
        raise _Problem(
            f"{at}: must run upwards from 0 or more with 2 to {SCALE_MAX_POINTS} points "
            f"(like 1-5 or 1-10), got {low}-{high}"
        )
    labels = _fields(fields_["labels"], f"{at}.labels", required=set(LANGUAGES))
    per_lang = {
        lang: _fields(labels[lang], f"{at}.labels.{lang}", required={"min", "max"}) for lang in LANGUAGES
    }
    ends: dict[str, LocalizedText] = {}
    for end in ("min", "max"):
        texts = {lang: per_lang[lang][end] for lang in LANGUAGES}
        ends[end] = _localized(texts, f"{at}.labels.{end}")
    return Scale(low, high, ends["min"], ends["max"])


def _condition(raw: object, where: str, earlier: Sequence[Question]) -> Condition:
    at = f"{where}: show_if"
    fields_ = _fields(raw, at, required={"key"}, optional={"equals", "in"})
    if ("equals" in fields_) == ("in" in fields_):
        raise _Problem(f"{at}: needs exactly one of 'equals' or 'in'")
    key = fields_["key"]
    target = next((q for q in earlier if q.key == key), None)
    if target is None:
        raise _Problem(f"{at}: refers to {key!r}, which is not an earlier question")
    if target.type not in _CONDITION_TYPES:
        raise _Problem(f"{at}: cannot depend on {target.type} question {key!r}")
    if "equals" in fields_:
        raw_values: list[object] = [fields_["equals"]]
    else:
        raw_values = fields_["in"]
        if not isinstance(raw_values, list) or not raw_values:
            raise _Problem(f"{at}: 'in' must be a non-empty list")
    return Condition(key, tuple(_condition_value(target, v, at) for v in raw_values))


def _condition_value(target: Question, value: object, at: str) -> str | int | bool:
    match target.type:
        case QuestionType.SINGLE | QuestionType.MULTI if isinstance(value, str) and target.option(value):
            return value
        case QuestionType.YESNO if isinstance(value, bool):
            return value
        case QuestionType.YESNO if value in (YES, NO):
            return value == YES
        case QuestionType.SCALE if target.scale and type(value) is int and value in target.scale.points:
            return value
    raise _Problem(f"{at}: {value!r} is not a possible answer to {target.key!r}")


def _fields(raw: object, where: str, required: set[str], optional: set[str] | None = None) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise _Problem(f"{where} must be a mapping, got {type(raw).__name__}")
    allowed = required | (optional or set())
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise _Problem(
            f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    missing = sorted(required - raw.keys())
    if missing:
        raise _Problem(f"{where}: missing field(s) {', '.join(missing)}")
    return raw


def _localized(raw: object, where: str) -> LocalizedText:
    if isinstance(raw, dict):
        unknown = sorted(str(k) for k in raw if k not in LANGUAGES)
        if unknown:
            raise _Problem(f"{where}: unknown language(s) {', '.join(unknown)}; expected ru and en")
        for lang in LANGUAGES:
            value = raw.get(lang)
            if not isinstance(value, str) or not value.strip():
                raise _Problem(f"{where}: missing {lang} translation")
        return LocalizedText(raw["ru"].strip(), raw["en"].strip())
    raise _Problem(f"{where}: must have ru and en translations, got {type(raw).__name__}")


def _name(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not _NAME_RE.fullmatch(raw):
        raise _Problem(
            f"{where} must start with a lowercase latin letter and contain only a-z, 0-9 and '_' "
            f"(up to 32), got {raw!r}"
        )
    return raw


def _enum(enum: type[_E], raw: object, where: str) -> _E:
    try:
        return enum(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise _Problem(f"{where}: unknown {enum.__name__} {raw!r}; expected one of {allowed}") from None
