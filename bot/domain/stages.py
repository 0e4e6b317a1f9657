"""The meeting sequence of a mentoring pair under the target model of mentoring.

Stages go strictly in order: introduction → trial → planning → joint work (a series of
meetings) → final. A meeting moves the pair forward only once it is *held* and *every*
participant of the pair has left feedback on it, because feedback after each meeting is
mandatory in the model and the programme curator relies on it.

Pure domain code: no Telegram, no database, no clock. ``today``/``paired_on`` are passed in.
Every human-facing string is a locale key (``meetings.*`` in ``locales/<lang>/meetings.yaml``)
plus ``str.format`` parameters.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Stage(StrEnum):
    INTRODUCTION = "introduction"
    TRIAL = "trial"
    PLANNING = "planning"
    JOINT_WORK = "joint_work"
    FINAL = "final"

    @property
    def label_key(self) -> str:
        return f"meetings.stage.{self.value}"

    @property
    def index(self) -> int:
        return STAGE_ORDER.index(self)


STAGE_ORDER: tuple[Stage, ...] = tuple(Stage)


class MeetingStatus(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    HELD = "held"
    CANCELLED = "cancelled"
    MISSED = "missed"

    @property
    def label_key(self) -> str:
        return f"meetings.status.{self.value}"


OPEN_STATUSES = frozenset({MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED})

DEFAULT_JOINT_WORK_MEETINGS = 6
DEFAULT_DEADLINE_OFFSETS: Mapping[Stage, int] = MappingProxyType(
    {
        Stage.INTRODUCTION: 14,
        Stage.TRIAL: 28,
        Stage.PLANNING: 42,
        Stage.JOINT_WORK: 150,
        Stage.FINAL: 180,
    }
)
# Bounds only catch typos in a programme config (600 meetings, 18000 days); real plans sit far inside.
MIN_JOINT_WORK_MEETINGS = 1
MAX_JOINT_WORK_MEETINGS = 60
MAX_OFFSET_DAYS = 3 * 366

E_PLAN_NOT_MAPPING = "meetings.error.plan_not_mapping"
E_PLAN_UNKNOWN_KEY = "meetings.error.plan_unknown_key"
E_PLAN_UNKNOWN_STAGE = "meetings.error.plan_unknown_stage"
E_PLAN_JOINT_WORK_COUNT = "meetings.error.plan_joint_work_count"
E_PLAN_DEADLINE_VALUE = "meetings.error.plan_deadline_value"
E_PLAN_DEADLINE_ORDER = "meetings.error.plan_deadline_order"

E_ALL_DONE = "meetings.error.all_done"
E_FEEDBACK_PENDING = "meetings.error.feedback_pending"
E_ALREADY_SCHEDULED = "meetings.error.already_scheduled"

Deadline = int | date
"""An offset in days from the pairing date (``int``) or a fixed date from the programme calendar."""


class StagePlanError(ValueError):
    """An invalid programme stage plan; ``code`` is a locale key, ``params`` fill it."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(f"{code} {params}" if params else code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Refusal:
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)


def _is_int(value: object) -> bool:
    # bool is an int subclass; "true" in a config is never a meeting count.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    # datetime is a date subclass; a timestamp here means the config was written wrong.
    return isinstance(value, date) and not isinstance(value, datetime)


_DMY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")


def _parse_deadline(stage: Stage, raw: object) -> Deadline:
    if _is_int(raw) or _is_date(raw):
        return raw  # type: ignore[return-value]
    if isinstance(raw, Mapping) and len(raw) == 1:
        ((kind, value),) = raw.items()
        if kind == "days" and _is_int(value):
            return value
        if kind == "date":
            return _parse_deadline_date(stage, value)
    elif isinstance(raw, str):
        text = raw.strip()
        if text.lstrip("+").isdigit():
            return int(text)
        return _parse_deadline_date(stage, text)
    raise StagePlanError(E_PLAN_DEADLINE_VALUE, stage=stage.value, value=str(raw))


def _parse_deadline_date(stage: Stage, raw: object) -> date:
    if _is_date(raw):
        return raw  # type: ignore[return-value]
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        # Curators write dates the Russian way in spreadsheets and YAML alike.
        match = _DMY.match(text)
        if match:
            day, month, year = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                pass
    raise StagePlanError(E_PLAN_DEADLINE_VALUE, stage=stage.value, value=str(raw))


def _as_stage(raw: object) -> Stage:
    try:
        return Stage(str(raw).strip().lower())
    except ValueError:
        raise StagePlanError(E_PLAN_UNKNOWN_STAGE, stage=str(raw)) from None


@dataclass(frozen=True)
class StagePlan:
    """How many joint-work meetings a pair needs and when each stage is due.

    Missing stages in ``deadlines`` fall back to ``DEFAULT_DEADLINE_OFFSETS`` so a programme can
    override just the stages its calendar pins down.
    """

    joint_work_meetings: int = DEFAULT_JOINT_WORK_MEETINGS
    deadlines: Mapping[Stage, Deadline] = field(default_factory=lambda: dict(DEFAULT_DEADLINE_OFFSETS))

    def __post_init__(self) -> None:
        count = self.joint_work_meetings
        if not _is_int(count) or not MIN_JOINT_WORK_MEETINGS <= count <= MAX_JOINT_WORK_MEETINGS:
            raise StagePlanError(
                E_PLAN_JOINT_WORK_COUNT,
                value=str(count),
                min=MIN_JOINT_WORK_MEETINGS,
                max=MAX_JOINT_WORK_MEETINGS,
            )
        merged: dict[Stage, Deadline] = dict(DEFAULT_DEADLINE_OFFSETS)
        for raw_stage, value in self.deadlines.items():
            stage = _as_stage(raw_stage)
            if _is_int(value):
                if not 0 <= value <= MAX_OFFSET_DAYS:
                    raise StagePlanError(E_PLAN_DEADLINE_VALUE, stage=stage.value, value=str(value))
            elif not _is_date(value):
                raise StagePlanError(E_PLAN_DEADLINE_VALUE, stage=stage.value, value=str(value))
            merged[stage] = value
        _check_order(merged)
        object.__setattr__(self, "deadlines", MappingProxyType({s: merged[s] for s in STAGE_ORDER}))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> StagePlan:
        """Build from programme settings (JSON/YAML), e.g.
        ``{"joint_work_meetings": 8, "deadlines": {"trial": 21, "final": "2027-05-25"}}``.

        A deadline is an int (days from pairing), a date / ISO or ``dd.mm.yyyy`` string, or
        ``{"days": n}`` / ``{"date": "..."}``. Raises ``StagePlanError``.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise StagePlanError(E_PLAN_NOT_MAPPING)
        for key in data:
            if key not in ("joint_work_meetings", "deadlines"):
                raise StagePlanError(E_PLAN_UNKNOWN_KEY, key=str(key))
        count = data.get("joint_work_meetings", DEFAULT_JOINT_WORK_MEETINGS)
        if isinstance(count, str) and count.strip().isdigit():
            count = int(count)
        raw_deadlines = data.get("deadlines") or {}
        if not isinstance(raw_deadlines, Mapping):
            raise StagePlanError(E_PLAN_NOT_MAPPING)
        deadlines: dict[Stage, Deadline] = {}
        for raw_stage, raw in raw_deadlines.items():
            stage = _as_stage(raw_stage)
            deadlines[stage] = _parse_deadline(stage, raw)
        return cls(joint_work_meetings=count, deadlines=deadlines)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-safe form that ``from_mapping`` reads back unchanged."""
        return {
            "joint_work_meetings": self.joint_work_meetings,
            "deadlines": {
                stage.value: value if _is_int(value) else value.isoformat()  # type: ignore[union-attr]
                for stage, value in self.deadlines.items()
            },
        }

    def required_meetings(self, stage: Stage) -> int:
        return self.joint_work_meetings if stage is Stage.JOINT_WORK else 1

    def deadline_for(self, stage: Stage, paired_on: date) -> date:
        value = self.deadlines[stage]
        if _is_int(value):
            return paired_on + timedelta(days=value)  # type: ignore[arg-type]
        return value  # type: ignore[return-value]


def _check_order(deadlines: Mapping[Stage, Deadline]) -> None:
    # Offsets and fixed dates are only comparable once a pairing date is known, so each kind is
    # checked against its own kind; a mixed plan is the curator's informed choice.
    last_offset: tuple[Stage, int] | None = None
    last_date: tuple[Stage, date] | None = None
    for stage in STAGE_ORDER:
        value = deadlines[stage]
        if _is_int(value):
            if last_offset is not None and value < last_offset[1]:  # type: ignore[operator]
                raise StagePlanError(E_PLAN_DEADLINE_ORDER, stage=stage.value, previous=last_offset[0].value)
            last_offset = (stage, value)  # type: ignore[assignment]
        else:
            if last_date is not None and value < last_date[1]:  # type: ignore[operator]
                raise StagePlanError(E_PLAN_DEADLINE_ORDER, stage=stage.value, previous=last_date[0].value)
            last_date = (stage, value)  # type: ignore[assignment]


@dataclass(frozen=True)
class MeetingRecord:
    id: int
    stage: Stage
    status: MeetingStatus
    starts_at: datetime
    feedback_from: frozenset[int] = frozenset()

    def missing_feedback(self, participants: frozenset[int]) -> frozenset[int]:
        return participants - self.feedback_from

    def counts_for(self, participants: frozenset[int]) -> bool:
        # Feedback from someone no longer in the pair (a replaced mentor) neither helps nor hurts.
        return self.status == MeetingStatus.HELD and participants <= self.feedback_from


@dataclass(frozen=True)
class PairProgress:
    current_stage: Stage | None
    """The stage the pair is working on; None once the final meeting counts."""
    completed: tuple[Stage, ...]
    joint_work_done: int
    joint_work_required: int
    deadline: date | None
    overdue_days: int
    blocked_on_feedback_from: frozenset[int]
    awaiting_feedback: Mapping[int, frozenset[int]] = field(default_factory=dict)
    """Held meetings of the current stage → participants who still owe feedback on them."""
    open_meetings: tuple[int, ...] = ()
    """Proposed or confirmed meetings of the current stage, soonest first."""

    @property
    def finished(self) -> bool:
        return self.current_stage is None

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0

    def owes_feedback(self, participant_id: int) -> tuple[int, ...]:
        """Meetings this participant must give feedback on before the pair can move on."""
        return tuple(mid for mid, who in self.awaiting_feedback.items() if participant_id in who)


def progress(
    plan: StagePlan,
    participant_ids: Iterable[int],
    meetings: Iterable[MeetingRecord],
    paired_on: date,
    today: date,
) -> PairProgress:
    """Where a pair stands in the stage sequence.

    Stages are checked in order and the first one short of its required number of counted
    meetings is current. Meetings filed under a later stage (only possible through admin edits,
    since ``can_propose`` offers the current stage only) wait until the stages before it complete.
    """
    participants = frozenset(participant_ids)
    if not participants:
        raise ValueError("a pair has participants")
    by_stage: dict[Stage, list[MeetingRecord]] = defaultdict(list)
    for meeting in meetings:
        by_stage[Stage(meeting.stage)].append(meeting)

    def counted(stage: Stage) -> int:
        return sum(1 for m in by_stage[stage] if m.counts_for(participants))

    completed: list[Stage] = []
    current: Stage | None = None
    for stage in STAGE_ORDER:
        if counted(stage) < plan.required_meetings(stage):
            current = stage
            break
        completed.append(stage)

    joint_work_reached = current is None or current.index >= Stage.JOINT_WORK.index
    joint_work_done = counted(Stage.JOINT_WORK) if joint_work_reached else 0

    if current is None:
        return PairProgress(
            current_stage=None,
            completed=tuple(completed),
            joint_work_done=joint_work_done,
            joint_work_required=plan.joint_work_meetings,
            deadline=None,
            overdue_days=0,
            blocked_on_feedback_from=frozenset(),
        )

    deadline = plan.deadline_for(current, paired_on)
    awaiting = {
        m.id: m.missing_feedback(participants)
        for m in sorted(by_stage[current], key=lambda m: (m.starts_at, m.id))
        if m.status == MeetingStatus.HELD and not m.counts_for(participants)
    }
    open_meetings = tuple(
        m.id
        for m in sorted(by_stage[current], key=lambda m: (m.starts_at, m.id))
        if m.status in OPEN_STATUSES
    )
    return PairProgress(
        current_stage=current,
        completed=tuple(completed),
        joint_work_done=joint_work_done,
        joint_work_required=plan.joint_work_meetings,
        deadline=deadline,
        overdue_days=max(0, (today - deadline).days),
        blocked_on_feedback_from=frozenset().union(*awaiting.values()),
        awaiting_feedback=MappingProxyType(awaiting),
        open_meetings=open_meetings,
    )


def can_propose(progress: PairProgress, *, allow_parallel: bool = False) -> Refusal | None:
    """Why the pair cannot propose its next meeting now, or None if it can.

    Feedback blocks even the next joint-work meeting: the model asks for feedback after *each*
    meeting, and letting the series run ahead is exactly how feedback gets forgotten.
    """
    if progress.current_stage is None:
        return Refusal(E_ALL_DONE)
    if progress.blocked_on_feedback_from:
        return Refusal(E_FEEDBACK_PENDING, {"count": len(progress.awaiting_feedback)})
    if progress.open_meetings and not allow_parallel:
        return Refusal(E_ALREADY_SCHEDULED)
    return None


@dataclass(frozen=True)
class OverdueItem:
    pair_id: int
    stage: Stage
    days_late: int


def overdue_item(pair_id: int, progress: PairProgress) -> OverdueItem | None:
    if progress.current_stage is None or progress.overdue_days <= 0:
        return None
    return OverdueItem(pair_id, progress.current_stage, progress.overdue_days)


def overdue_digest(
    items: Iterable[OverdueItem | tuple[int, Stage | str, int]],
) -> dict[Stage, tuple[OverdueItem, ...]]:
    """Group late pairs by stage (in stage order), the latest first within a stage.

    Stage order rather than "worst first" because curators act per stage (one reminder text
    per stage), and a stable layout lets them compare consecutive digests.
    """
    groups: dict[Stage, list[OverdueItem]] = defaultdict(list)
    for raw in items:
        item = raw if isinstance(raw, OverdueItem) else OverdueItem(raw[0], Stage(raw[1]), raw[2])
        if item.days_late > 0:
            groups[Stage(item.stage)].append(item)
    return {
        stage: tuple(sorted(groups[stage], key=lambda i: (-i.days_late, i.pair_id)))
        for stage in STAGE_ORDER
        if groups.get(stage)
    }
