from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from bot.domain.stages import (
    DEFAULT_DEADLINE_OFFSETS,
    E_ALL_DONE,
    E_ALREADY_SCHEDULED,
    E_FEEDBACK_PENDING,
    E_PLAN_DEADLINE_ORDER,
    E_PLAN_DEADLINE_VALUE,
    E_PLAN_JOINT_WORK_COUNT,
    E_PLAN_NOT_MAPPING,
    E_PLAN_UNKNOWN_KEY,
    E_PLAN_UNKNOWN_STAGE,
    STAGE_ORDER,
    MeetingRecord,
    MeetingStatus,
    OverdueItem,
    Stage,
    StagePlan,
    StagePlanError,
    can_propose,
    overdue_digest,
    overdue_item,
    progress,
)

LOCALES = Path(__file__).resolve().parents[1] / "locales"
MENTOR, MENTEE = 1, 2
PAIR = frozenset({MENTOR, MENTEE})
PAIRED_ON = date(2026, 9, 1)
BASE = datetime(2026, 9, 3, 15, 0, tzinfo=UTC)


def meeting(
    mid: int,
    stage: Stage,
    status: MeetingStatus = MeetingStatus.HELD,
    feedback: frozenset[int] = PAIR,
    days: int = 0,
) -> MeetingRecord:
    return MeetingRecord(mid, stage, status, BASE + timedelta(days=days), frozenset(feedback))


def test_stage_order_and_labels() -> None:
    assert [s.value for s in STAGE_ORDER] == ["introduction", "trial", "planning", "joint_work", "final"]
    assert Stage.TRIAL.label_key == "meetings.stage.trial"
    assert Stage.JOINT_WORK.index == 3 and STAGE_ORDER[Stage.JOINT_WORK.index + 1] is Stage.FINAL


def test_fresh_pair_starts_at_introduction() -> None:
    p = progress(StagePlan(), PAIR, [], PAIRED_ON, PAIRED_ON)
    assert p.current_stage is Stage.INTRODUCTION
    assert p.completed == ()
    assert p.deadline == PAIRED_ON + timedelta(days=14)
    assert p.overdue_days == 0
    assert p.blocked_on_feedback_from == frozenset()
    assert can_propose(p) is None


def test_whole_sequence_from_introduction_to_final() -> None:
    plan = StagePlan()
    meetings: list[MeetingRecord] = []
    mid = 0
    today = PAIRED_ON

    def add_and_check(stage: Stage) -> None:
        nonlocal mid
        mid += 1
        # Held, mentor answered, mentee not yet: the pair must not move on.
        meetings.append(meeting(mid, stage, feedback=frozenset({MENTOR}), days=mid * 7))
        p = progress(plan, PAIR, meetings, PAIRED_ON, today)
        assert p.current_stage is stage
        assert p.blocked_on_feedback_from == {MENTEE}
        assert p.awaiting_feedback == {mid: frozenset({MENTEE})}
        assert p.owes_feedback(MENTEE) == (mid,)
        assert p.owes_feedback(MENTOR) == ()
        refusal = can_propose(p)
        assert refusal is not None and refusal.code == E_FEEDBACK_PENDING
        meetings[-1] = meeting(mid, stage, days=mid * 7)

    for stage in (Stage.INTRODUCTION, Stage.TRIAL, Stage.PLANNING):
        add_and_check(stage)
        p = progress(plan, PAIR, meetings, PAIRED_ON, today)
        assert p.current_stage is STAGE_ORDER[stage.index + 1]
        assert p.completed == STAGE_ORDER[: stage.index + 1]
        assert p.joint_work_done == 0
        assert can_propose(p) is None

    for n in range(1, 7):
        add_and_check(Stage.JOINT_WORK)
        p = progress(plan, PAIR, meetings, PAIRED_ON, today)
        assert p.joint_work_done == n
        assert p.joint_work_required == 6
        assert p.current_stage is (Stage.JOINT_WORK if n < 6 else Stage.FINAL)

    add_and_check(Stage.FINAL)
    p = progress(plan, PAIR, meetings, PAIRED_ON, today)
    assert p.finished and p.current_stage is None
    assert p.completed == STAGE_ORDER
    assert p.deadline is None and p.overdue_days == 0
    assert p.joint_work_done == 6
    refusal = can_propose(p)
    assert refusal is not None and refusal.code == E_ALL_DONE


@pytest.mark.parametrize(
    "status", [MeetingStatus.PROPOSED, MeetingStatus.CONFIRMED, MeetingStatus.CANCELLED, MeetingStatus.MISSED]
)
def test_only_held_meetings_count(status: MeetingStatus) -> None:
    p = progress(StagePlan(), PAIR, [meeting(1, Stage.INTRODUCTION, status)], PAIRED_ON, PAIRED_ON)
    assert p.current_stage is Stage.INTRODUCTION
    assert p.blocked_on_feedback_from == frozenset()


def test_missing_feedback_from_both_keeps_stage_locked() -> None:
    meetings = [meeting(1, Stage.INTRODUCTION, feedback=frozenset())]
    p = progress(StagePlan(), PAIR, meetings, PAIRED_ON, PAIRED_ON)
    assert p.current_stage is Stage.INTRODUCTION
    assert p.blocked_on_feedback_from == PAIR


def test_feedback_from_outsider_does_not_unlock() -> None:
    # A replaced mentor's feedback stays in the record but the new pair still owes its own.
    meetings = [meeting(1, Stage.INTRODUCTION, feedback=frozenset({MENTEE, 99}))]
    p = progress(StagePlan(), PAIR, meetings, PAIRED_ON, PAIRED_ON)
    assert p.current_stage is Stage.INTRODUCTION
    assert p.blocked_on_feedback_from == {MENTOR}


def test_later_stage_meeting_waits_for_earlier_stage() -> None:
    meetings = [
        meeting(1, Stage.INTRODUCTION, feedback=frozenset({MENTOR})),
        meeting(2, Stage.TRIAL, days=7),
    ]
    p = progress(StagePlan(), PAIR, meetings, PAIRED_ON, PAIRED_ON)
    assert p.current_stage is Stage.INTRODUCTION
    meetings[0] = meeting(1, Stage.INTRODUCTION)
    assert progress(StagePlan(), PAIR, meetings, PAIRED_ON, PAIRED_ON).current_stage is Stage.PLANNING


def test_joint_work_not_counted_before_reached() -> None:
    meetings = [meeting(1, Stage.JOINT_WORK)]
    assert progress(StagePlan(), PAIR, meetings, PAIRED_ON, PAIRED_ON).joint_work_done == 0


def test_open_meeting_blocks_another_proposal() -> None:
    meetings = [
        meeting(1, Stage.INTRODUCTION, MeetingStatus.CANCELLED),
        meeting(3, Stage.INTRODUCTION, MeetingStatus.CONFIRMED, days=5),
        meeting(2, Stage.INTRODUCTION, MeetingStatus.PROPOSED, days=2),
    ]
    p = progress(StagePlan(), PAIR, meetings, PAIRED_ON, PAIRED_ON)
    assert p.open_meetings == (2, 3)
    refusal = can_propose(p)
    assert refusal is not None and refusal.code == E_ALREADY_SCHEDULED
    assert can_propose(p, allow_parallel=True) is None


def test_custom_joint_work_count() -> None:
    plan = StagePlan(joint_work_meetings=2)
    meetings = [meeting(i, s) for i, s in enumerate(STAGE_ORDER[:3])]
    meetings += [meeting(10, Stage.JOINT_WORK), meeting(11, Stage.JOINT_WORK)]
    p = progress(plan, PAIR, meetings, PAIRED_ON, PAIRED_ON)
    assert p.current_stage is Stage.FINAL
    assert p.joint_work_done == 2


def test_overdue_computation() -> None:
    plan = StagePlan()
    deadline = PAIRED_ON + timedelta(days=14)
    on_time = progress(plan, PAIR, [], PAIRED_ON, deadline)
    assert on_time.overdue_days == 0 and not on_time.overdue
    late = progress(plan, PAIR, [], PAIRED_ON, deadline + timedelta(days=3))
    assert late.overdue_days == 3 and late.overdue
    assert overdue_item(7, late) == OverdueItem(7, Stage.INTRODUCTION, 3)
    assert overdue_item(7, on_time) is None

    # After the introduction counts, the trial deadline (day 28) applies, not the introduction one.
    p = progress(plan, PAIR, [meeting(1, Stage.INTRODUCTION)], PAIRED_ON, deadline + timedelta(days=3))
    assert p.deadline == PAIRED_ON + timedelta(days=28)
    assert p.overdue_days == 0


def test_fixed_date_deadline() -> None:
    plan = StagePlan(deadlines={Stage.FINAL: date(2027, 5, 25)})
    meetings = [meeting(i, s) for i, s in enumerate(STAGE_ORDER[:3])]
    meetings += [meeting(10 + i, Stage.JOINT_WORK) for i in range(6)]
    p = progress(plan, PAIR, meetings, PAIRED_ON, date(2027, 5, 30))
    assert p.current_stage is Stage.FINAL
    assert p.deadline == date(2027, 5, 25)
    assert p.overdue_days == 5


def test_progress_requires_participants() -> None:
    with pytest.raises(ValueError):
        progress(StagePlan(), [], [], PAIRED_ON, PAIRED_ON)


def test_overdue_digest_groups_by_stage_sorted_by_days_late() -> None:
    digest = overdue_digest(
        [
            (1, Stage.TRIAL, 3),
            (2, "introduction", 10),
            OverdueItem(3, Stage.TRIAL, 12),
            (4, Stage.TRIAL, 3),
            (5, Stage.FINAL, 0),  # on time: not in the digest
            (6, Stage.INTRODUCTION, 1),
        ]
    )
    assert list(digest) == [Stage.INTRODUCTION, Stage.TRIAL]
    assert [i.pair_id for i in digest[Stage.INTRODUCTION]] == [2, 6]
    assert [(i.pair_id, i.days_late) for i in digest[Stage.TRIAL]] == [(3, 12), (1, 3), (4, 3)]
    assert overdue_digest([]) == {}


# --- StagePlan ---------------------------------------------------------------------------------


def test_default_plan() -> None:
    plan = StagePlan()
    assert plan.joint_work_meetings == 6
    assert dict(plan.deadlines) == dict(DEFAULT_DEADLINE_OFFSETS)
    assert plan.required_meetings(Stage.JOINT_WORK) == 6
    assert plan.required_meetings(Stage.TRIAL) == 1
    assert StagePlan.from_mapping(None) == plan
    assert StagePlan.from_mapping({}) == plan
    assert isinstance(plan.deadlines, MappingProxyType)


def test_from_mapping_accepts_all_deadline_forms() -> None:
    plan = StagePlan.from_mapping(
        {
            "joint_work_meetings": "8",
            "deadlines": {
                "introduction": 10,
                "trial": "21",
                "Planning": {"days": 35},
                "joint_work": "01.04.2027",
                "final": {"date": "2027-05-25"},
            },
        }
    )
    assert plan.joint_work_meetings == 8
    assert plan.deadlines[Stage.INTRODUCTION] == 10
    assert plan.deadlines[Stage.TRIAL] == 21
    assert plan.deadlines[Stage.PLANNING] == 35
    assert plan.deadlines[Stage.JOINT_WORK] == date(2027, 4, 1)
    assert plan.deadlines[Stage.FINAL] == date(2027, 5, 25)
    assert plan.deadline_for(Stage.TRIAL, PAIRED_ON) == date(2026, 9, 22)
    assert plan.deadline_for(Stage.FINAL, PAIRED_ON) == date(2027, 5, 25)
    assert StagePlan.from_mapping(plan.to_mapping()) == plan


def test_partial_mapping_keeps_defaults() -> None:
    plan = StagePlan.from_mapping({"deadlines": {"final": 200}})
    assert plan.deadlines[Stage.FINAL] == 200
    assert plan.deadlines[Stage.TRIAL] == DEFAULT_DEADLINE_OFFSETS[Stage.TRIAL]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ([1, 2], E_PLAN_NOT_MAPPING),
        ({"deadlines": [1]}, E_PLAN_NOT_MAPPING),
        ({"meetings": 6}, E_PLAN_UNKNOWN_KEY),
        ({"deadlines": {"kickoff": 3}}, E_PLAN_UNKNOWN_STAGE),
        ({"joint_work_meetings": 0}, E_PLAN_JOINT_WORK_COUNT),
        ({"joint_work_meetings": 500}, E_PLAN_JOINT_WORK_COUNT),
        ({"joint_work_meetings": True}, E_PLAN_JOINT_WORK_COUNT),
        ({"joint_work_meetings": "six"}, E_PLAN_JOINT_WORK_COUNT),
        ({"deadlines": {"trial": -3}}, E_PLAN_DEADLINE_VALUE),
        ({"deadlines": {"trial": "soon"}}, E_PLAN_DEADLINE_VALUE),
        ({"deadlines": {"trial": "31.02.2027"}}, E_PLAN_DEADLINE_VALUE),
        ({"deadlines": {"trial": 1.5}}, E_PLAN_DEADLINE_VALUE),
        ({"deadlines": {"trial": datetime(2027, 1, 1)}}, E_PLAN_DEADLINE_VALUE),
        ({"deadlines": {"trial": {"weeks": 2}}}, E_PLAN_DEADLINE_VALUE),
        ({"deadlines": {"trial": 10}}, E_PLAN_DEADLINE_ORDER),  # before introduction's 14
        ({"deadlines": {"trial": "2027-03-01", "final": "2027-01-01"}}, E_PLAN_DEADLINE_ORDER),
    ],
)
def test_from_mapping_rejects(data: object, code: str) -> None:
    with pytest.raises(StagePlanError) as info:
        StagePlan.from_mapping(data)  # type: ignore[arg-type]
    assert info.value.code == code
    assert isinstance(info.value, ValueError)


def _locale_keys(lang: str) -> dict[str, str]:
    root = yaml.safe_load((LOCALES / lang / "meetings.yaml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}

    def walk(prefix: str, node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        else:
            out[prefix] = str(node)

    walk("", root)
    return out


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_codes_and_labels_exist_in_locales(lang: str) -> None:
    keys = _locale_keys(lang)
    for stage in Stage:
        assert stage.label_key in keys
    for status in MeetingStatus:
        assert status.label_key in keys
    for code in PLAN_ERROR_SAMPLES:
        with pytest.raises(StagePlanError) as info:
            _raise_for(code)
        assert info.value.code == code
        keys[code].format(**info.value.params)
    situations = [
        (StagePlan(), [meeting(1, Stage.INTRODUCTION, feedback=frozenset())]),
        (StagePlan(), [meeting(1, Stage.INTRODUCTION, MeetingStatus.PROPOSED)]),
        (StagePlan(joint_work_meetings=1), [meeting(i, s) for i, s in enumerate(Stage)]),
    ]
    refusals = [can_propose(progress(plan, PAIR, ms, PAIRED_ON, PAIRED_ON)) for plan, ms in situations]
    assert {r.code for r in refusals if r} == {E_FEEDBACK_PENDING, E_ALREADY_SCHEDULED, E_ALL_DONE}
    for refusal in refusals:
        assert refusal is not None
        keys[refusal.code].format(**refusal.params)


PLAN_ERROR_SAMPLES: dict[str, object] = {
    E_PLAN_NOT_MAPPING: [1],
    E_PLAN_UNKNOWN_KEY: {"x": 1},
    E_PLAN_UNKNOWN_STAGE: {"deadlines": {"x": 1}},
    E_PLAN_JOINT_WORK_COUNT: {"joint_work_meetings": 0},
    E_PLAN_DEADLINE_VALUE: {"deadlines": {"trial": "x"}},
    E_PLAN_DEADLINE_ORDER: {"deadlines": {"trial": 1}},
}


def _raise_for(code: str) -> None:
    StagePlan.from_mapping(PLAN_ERROR_SAMPLES[code])  # type: ignore[arg-type]


def test_mixed_offsets_and_dates_are_not_cross_checked() -> None:
    plan = StagePlan.from_mapping({"deadlines": {"introduction": "2026-09-10", "trial": 28}})
    assert plan.deadline_for(Stage.INTRODUCTION, PAIRED_ON) == date(2026, 9, 10)
