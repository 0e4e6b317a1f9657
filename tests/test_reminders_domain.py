from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.domain.reminders import (
    KIND_AFTER_CHECK,
    KIND_STAGE_DEADLINE,
    PlannedReminder,
    defer_out_of_quiet_hours,
    duration_label,
    in_quiet_hours,
    misfire_grace_seconds,
    plan_after_meeting_check,
    plan_feedback_nudges,
    plan_meeting_reminders,
    plan_stage_deadline_nudge,
    still_meaningful,
    superseded,
    valid_until,
)
from bot.domain.stages import Stage

MSK = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")


def msk(*args: int) -> datetime:
    return datetime(*args, tzinfo=MSK)  # type: ignore[misc]


# --- before-meeting reminders ------------------------------------------------------------------


def test_default_reminders_24h_and_1h() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    plan = plan_meeting_reminders(42, starts, now=msk(2026, 12, 1, 12, 0))
    assert [r.kind for r in plan] == ["before_24h", "before_1h"]
    assert [r.due_at for r in plan] == [msk(2026, 12, 9, 15, 0), msk(2026, 12, 10, 14, 0)]
    assert [r.urgent for r in plan] == [False, True]
    assert plan[1].dedup_key == "meeting:42:before_1h:2026-12-10T12:00:00+00:00"
    assert all(r.meeting_id == 42 and r.meeting_starts_at == starts for r in plan)


def test_key_does_not_depend_on_the_zone_the_start_is_written_in() -> None:
    now = msk(2026, 12, 1, 12, 0)
    in_msk = plan_meeting_reminders(1, msk(2026, 12, 10, 15, 0), now=now)
    in_utc = plan_meeting_reminders(1, datetime(2026, 12, 10, 12, 0, tzinfo=UTC), now=now)
    assert [r.dedup_key for r in in_msk] == [r.dedup_key for r in in_utc]


def test_reschedule_gives_new_keys() -> None:
    now = msk(2026, 12, 1, 12, 0)
    old = plan_meeting_reminders(7, msk(2026, 12, 10, 15, 0), now=now)
    new = plan_meeting_reminders(7, msk(2026, 12, 11, 15, 0), now=now)
    assert not {r.dedup_key for r in old} & {r.dedup_key for r in new}
    # Planning the same schedule again is idempotent.
    again = plan_meeting_reminders(7, msk(2026, 12, 10, 15, 0), now=now)
    assert again == old


def test_past_reminders_are_skipped() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    plan = plan_meeting_reminders(1, starts, now=msk(2026, 12, 10, 10, 0))
    assert [r.kind for r in plan] == ["before_1h"]
    assert plan_meeting_reminders(1, starts, now=msk(2026, 12, 10, 14, 30)) == []
    # Exactly at the due moment counts as past: the confirmation message is going out right now.
    assert [r.kind for r in plan_meeting_reminders(1, starts, now=msk(2026, 12, 9, 15, 0))] == ["before_1h"]


def test_reminder_whose_intended_time_passed_is_not_revived_by_quiet_hours() -> None:
    # Booked at 07:40 for 07:30 tomorrow: the 24h mark (07:30 today) is gone; 08:00 would just echo
    # the booking confirmation.
    plan = plan_meeting_reminders(1, msk(2026, 12, 11, 7, 30), now=msk(2026, 12, 10, 7, 40), tz=MSK)
    assert [r.kind for r in plan] == ["before_1h"]


def test_custom_offsets_labels() -> None:
    plan = plan_meeting_reminders(
        1,
        msk(2026, 12, 10, 15, 0),
        (timedelta(minutes=30), timedelta(hours=48), timedelta(minutes=30)),
        now=msk(2026, 12, 1, 12, 0),
    )
    assert [r.kind for r in plan] == ["before_48h", "before_30m"]
    assert [r.urgent for r in plan] == [False, True]


def test_quiet_hours_defer_non_urgent_only() -> None:
    starts = msk(2026, 12, 10, 7, 30)
    plan = plan_meeting_reminders(1, starts, now=msk(2026, 12, 1, 12, 0), tz=MSK)
    by_kind = {r.kind: r for r in plan}
    assert by_kind["before_24h"].due_at == msk(2026, 12, 9, 8, 0)
    # 06:30 is inside quiet hours but "in an hour" must arrive before the meeting.
    assert by_kind["before_1h"].due_at == msk(2026, 12, 10, 6, 30)


def test_quiet_hours_can_disable() -> None:
    starts = msk(2026, 12, 10, 7, 30)
    plan = plan_meeting_reminders(1, starts, now=msk(2026, 12, 1, 12, 0), tz=MSK, quiet=None)
    assert plan[0].due_at == msk(2026, 12, 9, 7, 30)


def test_reminder_deferred_past_start_or_past_closer_one_is_dropped() -> None:
    now = msk(2026, 12, 1, 12, 0)
    # 2h before 07:00 is 05:00 → deferred to 08:00, after the start.
    plan = plan_meeting_reminders(1, msk(2026, 12, 10, 7, 0), (timedelta(hours=2),), now=now, tz=MSK)
    assert plan == []
    # 3h before 08:30 is 05:30 → deferred to 08:00, after the 1h one at 07:30.
    offsets = (timedelta(hours=24), timedelta(hours=3), timedelta(hours=1))
    plan = plan_meeting_reminders(1, msk(2026, 12, 10, 8, 30), offsets, now=now, tz=MSK)
    assert [r.kind for r in plan] == ["before_24h", "before_1h"]


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        plan_meeting_reminders(1, datetime(2026, 12, 10, 15, 0), now=msk(2026, 12, 1, 12, 0))
    with pytest.raises(ValueError):
        defer_out_of_quiet_hours(datetime(2026, 12, 10, 23, 0), MSK)


# --- quiet hours -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (msk(2026, 12, 9, 23, 30), msk(2026, 12, 10, 8, 0)),  # before midnight → next morning
        (msk(2026, 12, 31, 22, 0), msk(2027, 1, 1, 8, 0)),  # start is inclusive, across the year
        (msk(2026, 12, 10, 3, 0), msk(2026, 12, 10, 8, 0)),  # after midnight → same morning
        (msk(2026, 12, 10, 0, 0), msk(2026, 12, 10, 8, 0)),
        (msk(2026, 12, 10, 7, 59, 59), msk(2026, 12, 10, 8, 0)),
        (msk(2026, 12, 10, 8, 0), msk(2026, 12, 10, 8, 0)),  # end is exclusive
        (msk(2026, 12, 10, 21, 59), msk(2026, 12, 10, 21, 59)),
        (msk(2026, 12, 10, 12, 0), msk(2026, 12, 10, 12, 0)),
    ],
)
def test_defer_across_midnight(local: datetime, expected: datetime) -> None:
    assert defer_out_of_quiet_hours(local, MSK) == expected


def test_defer_uses_the_recipients_zone() -> None:
    # 20:30 UTC is 23:30 in Moscow (UTC+3, no DST since 2014) but 21:30 in London winter time.
    moment = datetime(2026, 12, 9, 20, 30, tzinfo=UTC)
    assert defer_out_of_quiet_hours(moment, MSK) == datetime(2026, 12, 10, 5, 0, tzinfo=UTC)
    assert defer_out_of_quiet_hours(moment, ZoneInfo("Europe/London")) == moment


def test_defer_over_spring_forward_night() -> None:
    # Berlin switches 02:00 CET → 03:00 CEST on 2026-03-29: the night is an hour shorter.
    deferred = defer_out_of_quiet_hours(datetime(2026, 3, 28, 23, 30, tzinfo=BERLIN), BERLIN)
    assert deferred.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 8, 0)
    assert deferred == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_defer_over_fall_back_night() -> None:
    # 2026-10-25 03:00 CEST → 02:00 CET: the night is an hour longer.
    deferred = defer_out_of_quiet_hours(datetime(2026, 10, 24, 23, 30, tzinfo=BERLIN), BERLIN)
    assert deferred == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert deferred.astimezone(BERLIN).hour == 8


def test_quiet_end_inside_dst_gap_lands_right_after_it() -> None:
    deferred = defer_out_of_quiet_hours(
        datetime(2026, 3, 29, 1, 0, tzinfo=BERLIN), BERLIN, start=time(0, 0), end=time(2, 30)
    )
    assert deferred == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert deferred.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3, 30)


def test_daytime_and_empty_windows() -> None:
    lunch = (time(13, 0), time(15, 0))
    assert defer_out_of_quiet_hours(msk(2026, 12, 10, 14, 0), MSK, *lunch) == msk(2026, 12, 10, 15, 0)
    assert defer_out_of_quiet_hours(msk(2026, 12, 10, 23, 0), MSK, *lunch) == msk(2026, 12, 10, 23, 0)
    assert not in_quiet_hours(msk(2026, 12, 10, 3, 0), MSK, time(8), time(8))


# --- after-meeting check and feedback nudges ---------------------------------------------------


def test_after_meeting_check_due_end_plus_15() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    now = msk(2026, 12, 1, 12, 0)
    check = plan_after_meeting_check(5, starts, now=now)
    assert check.kind == KIND_AFTER_CHECK
    assert check.due_at == msk(2026, 12, 10, 16, 15)  # default duration 1h
    assert check.dedup_key == "meeting:5:after_check:2026-12-10T12:00:00+00:00"
    check = plan_after_meeting_check(5, starts, ends_at=msk(2026, 12, 10, 15, 45), now=now)
    assert check.due_at == msk(2026, 12, 10, 16, 0)
    assert not check.urgent


def test_after_meeting_check_for_past_meeting_is_due_now_and_respects_quiet_hours() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    now = msk(2026, 12, 11, 9, 0)
    assert plan_after_meeting_check(5, starts, now=now).due_at == now
    late = plan_after_meeting_check(5, msk(2026, 12, 10, 21, 30), now=msk(2026, 12, 1, 0, 0), tz=MSK)
    assert late.due_at == msk(2026, 12, 11, 8, 0)


def test_feedback_nudges_after_1_and_3_days() -> None:
    held = msk(2026, 12, 10, 16, 0)
    nudges = plan_feedback_nudges(5, held, now=held, participant_id=2)
    assert [(n.kind, n.due_at) for n in nudges] == [
        ("feedback_1d", msk(2026, 12, 11, 16, 0)),
        ("feedback_3d", msk(2026, 12, 13, 16, 0)),
    ]
    assert nudges[0].dedup_key == "meeting:5:feedback_1d:user:2:2026-12-10T13:00:00+00:00"
    assert len({n.dedup_key for n in nudges}) == 2
    assert all(n.participant_id == 2 and not n.urgent for n in nudges)


def test_feedback_nudges_marked_late_collapse_to_one_now() -> None:
    held = msk(2026, 12, 10, 16, 0)
    now = msk(2026, 12, 12, 12, 0)
    nudges = plan_feedback_nudges(5, held, now=now)
    assert [(n.kind, n.due_at) for n in nudges] == [
        ("feedback_1d", now),
        ("feedback_3d", msk(2026, 12, 13, 16, 0)),
    ]
    now = msk(2026, 12, 20, 12, 0)
    assert [(n.kind, n.due_at) for n in plan_feedback_nudges(5, held, now=now)] == [("feedback_3d", now)]


def test_feedback_nudges_respect_quiet_hours() -> None:
    held = msk(2026, 12, 10, 23, 0)
    nudges = plan_feedback_nudges(5, held, now=held, tz=MSK)
    assert nudges[0].due_at == msk(2026, 12, 12, 8, 0)


# --- stage deadline nudge ----------------------------------------------------------------------


def test_stage_deadline_nudge() -> None:
    deadline = date(2026, 12, 20)
    nudge = plan_stage_deadline_nudge(
        3, Stage.TRIAL, deadline, now=msk(2026, 12, 1, 12, 0), tz=MSK, has_scheduled_meeting=False
    )
    assert nudge is not None
    assert nudge.kind == KIND_STAGE_DEADLINE
    assert nudge.due_at == msk(2026, 12, 13, 10, 0)
    assert nudge.dedup_key == "pair:3:stage_deadline:trial:2026-12-20:7d"
    assert nudge.pair_id == 3
    assert still_meaningful(nudge, msk(2027, 1, 1, 0, 0))


def test_stage_deadline_nudge_not_needed_or_too_late() -> None:
    deadline = date(2026, 12, 20)

    def nudge(now: datetime, scheduled: bool) -> PlannedReminder | None:
        return plan_stage_deadline_nudge(
            3, Stage.TRIAL, deadline, now=now, tz=MSK, has_scheduled_meeting=scheduled
        )

    assert nudge(msk(2026, 12, 1, 12, 0), scheduled=True) is None
    # The deadline day is over: it is the overdue digest's turn.
    assert nudge(msk(2026, 12, 21, 0, 0), scheduled=False) is None
    assert nudge(msk(2026, 12, 20, 23, 59), scheduled=False) is not None


def test_stage_deadline_nudge_inside_window_is_due_now_but_not_at_night() -> None:
    deadline = date(2026, 12, 20)
    now = msk(2026, 12, 18, 15, 0)
    nudge = plan_stage_deadline_nudge(3, "trial", deadline, now=now, tz=MSK, has_scheduled_meeting=False)
    assert nudge is not None and nudge.due_at == now
    night = msk(2026, 12, 20, 23, 0)  # last hour of the deadline day
    nudge = plan_stage_deadline_nudge(3, "trial", deadline, now=night, tz=MSK, has_scheduled_meeting=False)
    assert nudge is not None and nudge.due_at == msk(2026, 12, 21, 8, 0)
    moved = plan_stage_deadline_nudge(
        3, "trial", date(2026, 12, 27), now=now, tz=MSK, has_scheduled_meeting=False
    )
    assert moved is not None and moved.dedup_key != nudge.dedup_key


# --- misfire -----------------------------------------------------------------------------------


def test_still_meaningful_drops_before_reminders_once_the_meeting_started() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    r = plan_meeting_reminders(1, starts, now=msk(2026, 12, 1, 0, 0))[-1]
    assert still_meaningful(r, starts - timedelta(seconds=1))
    assert not still_meaningful(r, starts)
    assert not still_meaningful(r, starts + timedelta(hours=5))
    check = plan_after_meeting_check(1, starts, now=msk(2026, 12, 1, 0, 0))
    assert still_meaningful(check, starts + timedelta(days=3))
    nudge = plan_feedback_nudges(1, starts, now=starts)[0]
    assert still_meaningful(nudge, starts + timedelta(days=30))


@pytest.mark.parametrize(
    ("kind", "grace"),
    [
        ("before_24h", 43200),  # valid until 12 h before the start
        ("before_1h", 3600),
        ("before_30m", 1800),
        (KIND_AFTER_CHECK, None),
        ("feedback_1d", None),
        ("feedback_3d", None),
        (KIND_STAGE_DEADLINE, None),
    ],
)
def test_misfire_grace_seconds(kind: str, grace: int | None) -> None:
    assert misfire_grace_seconds(kind) == grace


def test_misfire_grace_matches_still_meaningful() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    for r in plan_meeting_reminders(1, starts, now=msk(2026, 12, 1, 0, 0)):
        grace = misfire_grace_seconds(r.kind)
        assert grace is not None
        limit = r.due_at + timedelta(seconds=grace)
        assert limit == (starts if r.urgent else starts - timedelta(hours=12))
        assert still_meaningful(r, limit - timedelta(seconds=1))
        assert not still_meaningful(r, limit)


def test_misfire_grace_unknown_before_kind() -> None:
    with pytest.raises(ValueError):
        misfire_grace_seconds("before_soon")


def test_duration_label() -> None:
    assert duration_label(timedelta(hours=24)) == "24h"
    assert duration_label(timedelta(days=1), prefer_days=True) == "1d"
    assert duration_label(timedelta(hours=36), prefer_days=True) == "36h"
    assert duration_label(timedelta(seconds=90)) == "90s"
    with pytest.raises(ValueError):
        duration_label(timedelta(0))


def test_planning_does_not_read_the_wall_clock() -> None:
    starts = msk(2026, 12, 10, 7, 30)
    now = msk(2026, 12, 1, 12, 0)
    expected = plan_meeting_reminders(1, starts, now=now, tz=MSK)
    with time_machine.travel(datetime(2031, 6, 1, 3, 0, tzinfo=UTC), tick=False):
        assert plan_meeting_reminders(1, starts, now=now, tz=MSK) == expected
        assert isinstance(expected[0], PlannedReminder)


def test_a_day_before_reminder_is_not_sent_in_the_last_hours() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    day_before, hour_before = plan_meeting_reminders(1, starts, now=msk(2026, 12, 1, 0, 0))
    assert valid_until("before_24h", starts) == starts - timedelta(hours=12)
    assert still_meaningful(day_before, starts - timedelta(hours=13))
    assert not still_meaningful(day_before, starts - timedelta(minutes=50))
    assert still_meaningful(hour_before, starts - timedelta(minutes=50))
    assert valid_until("scenario", starts) == starts
    assert valid_until(KIND_AFTER_CHECK, starts) is None


def test_a_reminder_whose_later_one_also_passed_is_superseded() -> None:
    starts = msk(2026, 12, 10, 15, 0)
    plan = plan_meeting_reminders(1, starts, now=msk(2026, 12, 1, 0, 0))
    per_person = [replace(r, participant_id=p, dedup_key=f"{r.dedup_key}:p{p}") for r in plan for p in (7, 8)]
    down_until = starts - timedelta(minutes=50)
    assert superseded(per_person, down_until) == {r.dedup_key for r in per_person if r.kind == "before_24h"}
    # Only the day-before has passed: nothing supersedes it.
    assert superseded(per_person, starts - timedelta(hours=20)) == set()
