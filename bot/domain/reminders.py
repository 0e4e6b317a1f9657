"""When to remind a pair about a meeting, and whether a late reminder is still worth sending.

Pure domain code: the caller passes ``now`` and the recipient's time zone and stores each
``PlannedReminder`` as a reminder row per recipient (bot.services.meetings), which scheduler/reminders.py
fires through the outbox (one APScheduler job per due second). ``dedup_key`` makes planning the same
meeting twice a no-op; keys embed the meeting start, so a rescheduled meeting gets fresh keys (its old
rows are cancelled by meeting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

DEFAULT_OFFSETS: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
# A reminder this close to the meeting must not wait for the morning: it would arrive after the start.
URGENT_LEAD = timedelta(hours=1)
QUIET_START = time(22, 0)
QUIET_END = time(8, 0)
AFTER_CHECK_DELAY = timedelta(minutes=15)
DEFAULT_DURATION = timedelta(hours=1)
FEEDBACK_DELAYS: tuple[timedelta, ...] = (timedelta(days=1), timedelta(days=3))
DEADLINE_LEAD_DAYS = 7
DEADLINE_NUDGE_AT = time(10, 0)

KIND_AFTER_CHECK = "after_check"
KIND_STAGE_DEADLINE = "stage_deadline"
KIND_SCENARIO = "scenario"
BEFORE_PREFIX = "before_"
FEEDBACK_PREFIX = "feedback_"

_LABEL = re.compile(r"^(\d+)([dhms])$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True)
class PlannedReminder:
    kind: str
    due_at: datetime
    urgent: bool
    dedup_key: str
    meeting_id: int | None = None
    meeting_starts_at: datetime | None = None
    participant_id: int | None = None
    pair_id: int | None = None


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _iso_utc(value: datetime) -> str:
    # The same instant written in another zone must give the same key.
    return value.astimezone(UTC).isoformat()


def duration_label(delta: timedelta, *, prefer_days: bool = False) -> str:
    """``24h``, ``1h``, ``30m``; with ``prefer_days`` whole days become ``1d``/``3d``."""
    seconds = int(delta.total_seconds())
    if seconds <= 0 or seconds != delta.total_seconds():
        raise ValueError("a reminder offset is a positive whole number of seconds")
    units = ("d", "h", "m", "s") if prefer_days else ("h", "m", "s")
    for unit in units:
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: seconds always divide")


def _label_seconds(label: str) -> int | None:
    match = _LABEL.match(label)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)] if match else None


def is_before_meeting(kind: str) -> bool:
    return kind.startswith(BEFORE_PREFIX)


def _local_combine(day: date, at: time, tz: tzinfo) -> datetime:
    # Round-tripping through UTC turns a wall time that falls into a DST gap into the real
    # instant just after the gap, instead of a datetime that exists on no clock.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def in_quiet_hours(moment: datetime, tz: tzinfo, start: time = QUIET_START, end: time = QUIET_END) -> bool:
    _require_aware(moment, "moment")
    local = moment.astimezone(tz).time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def defer_out_of_quiet_hours(
    due_at: datetime, tz: tzinfo, start: time = QUIET_START, end: time = QUIET_END
) -> datetime:
    """Move a moment inside the recipient's quiet hours to the moment they end.

    Works on the local wall clock, so "08:00" stays 08:00 across a DST switch at night.
    A window with ``start > end`` crosses midnight (22:00–08:00); ``start == end`` means none.
    """
    _require_aware(due_at, "due_at")
    if not in_quiet_hours(due_at, tz, start, end):
        return due_at
    local = due_at.astimezone(tz)
    day = local.date()
    if start > end and local.time().replace(tzinfo=None) >= start:
        day += timedelta(days=1)
    return _local_combine(day, end, tz)


def _defer(due_at: datetime, tz: tzinfo | None, quiet: tuple[time, time] | None) -> datetime:
    if tz is None or quiet is None:
        return due_at
    return defer_out_of_quiet_hours(due_at, tz, *quiet)


def plan_meeting_reminders(
    meeting_id: int,
    starts_at: datetime,
    offsets: Sequence[timedelta] = DEFAULT_OFFSETS,
    *,
    now: datetime,
    tz: tzinfo | None = None,
    quiet: tuple[time, time] | None = (QUIET_START, QUIET_END),
) -> list[PlannedReminder]:
    """Reminders ``offsets`` before the meeting, earliest first.

    With ``tz`` (the recipient's zone) non-urgent reminders skip quiet hours. A reminder is left
    out when its time has already passed (the booking confirmation covers that), when quiet hours
    push it to the start or beyond, or when it would not arrive before a closer reminder.
    """
    _require_aware(starts_at, "starts_at")
    _require_aware(now, "now")
    planned: list[tuple[timedelta, PlannedReminder]] = []
    for offset in sorted(set(offsets), reverse=True):
        kind = BEFORE_PREFIX + duration_label(offset)
        urgent = offset <= URGENT_LEAD
        intended = starts_at - offset
        if intended <= now:
            # Judged by the intended moment, not the deferred one: a "tomorrow" reminder moved to
            # 08:00 minutes after the booking confirmation would only repeat it.
            continue
        due = intended if urgent else _defer(intended, tz, quiet)
        limit = valid_until(kind, starts_at)
        if limit is not None and due >= limit:
            continue  # quiet hours push it past the moment it stops making sense
        planned.append(
            (
                offset,
                PlannedReminder(
                    kind=kind,
                    due_at=due,
                    urgent=urgent,
                    dedup_key=f"meeting:{meeting_id}:{kind}:{_iso_utc(starts_at)}",
                    meeting_id=meeting_id,
                    meeting_starts_at=starts_at,
                ),
            )
        )
    kept: list[PlannedReminder] = []
    for index, (_, reminder) in enumerate(planned):
        later = planned[index + 1 :]
        # "Tomorrow at 10" arriving together with or after "in an hour" only adds noise.
        if any(other.due_at <= reminder.due_at for _, other in later):
            continue
        kept.append(reminder)
    return sorted(kept, key=lambda r: r.due_at)


def plan_after_meeting_check(
    meeting_id: int,
    starts_at: datetime,
    *,
    now: datetime,
    ends_at: datetime | None = None,
    delay: timedelta = AFTER_CHECK_DELAY,
    tz: tzinfo | None = None,
    quiet: tuple[time, time] | None = (QUIET_START, QUIET_END),
) -> PlannedReminder:
    """The "did the meeting happen?" question, ``delay`` after the meeting ends.

    Never in the past: a meeting recorded after the fact is asked about right away.
    """
    _require_aware(starts_at, "starts_at")
    _require_aware(now, "now")
    end = ends_at if ends_at is not None else starts_at + DEFAULT_DURATION
    due = _defer(max(end + delay, now), tz, quiet)
    return PlannedReminder(
        kind=KIND_AFTER_CHECK,
        due_at=due,
        urgent=False,
        dedup_key=f"meeting:{meeting_id}:{KIND_AFTER_CHECK}:{_iso_utc(starts_at)}",
        meeting_id=meeting_id,
        meeting_starts_at=starts_at,
    )


def plan_feedback_nudges(
    meeting_id: int,
    held_at: datetime,
    *,
    now: datetime,
    participant_id: int | None = None,
    delays: Sequence[timedelta] = FEEDBACK_DELAYS,
    tz: tzinfo | None = None,
    quiet: tuple[time, time] | None = (QUIET_START, QUIET_END),
) -> list[PlannedReminder]:
    """Nudges to leave feedback ``delays`` after the meeting was held, earliest first.

    Whoever sends them must re-check that feedback is still missing. When several are already
    overdue (the meeting was marked held late) only the last one is kept, sent now: a burst of
    identical nudges reads as spam.
    """
    _require_aware(held_at, "held_at")
    _require_aware(now, "now")
    who = f":user:{participant_id}" if participant_id is not None else ""
    reminders = []
    for delay in sorted(set(delays)):
        kind = FEEDBACK_PREFIX + duration_label(delay, prefer_days=True)
        reminders.append(
            PlannedReminder(
                kind=kind,
                due_at=held_at + delay,
                urgent=False,
                dedup_key=f"meeting:{meeting_id}:{kind}{who}:{_iso_utc(held_at)}",
                meeting_id=meeting_id,
                participant_id=participant_id,
            )
        )
    past = [r for r in reminders if r.due_at <= now]
    future = [r for r in reminders if r.due_at > now]
    if past:
        future.insert(0, replace(past[-1], due_at=now))
    return [replace(r, due_at=_defer(r.due_at, tz, quiet)) for r in future]


def plan_stage_deadline_nudge(
    pair_id: int,
    stage: str,
    deadline: date,
    *,
    now: datetime,
    tz: tzinfo,
    has_scheduled_meeting: bool,
    lead_days: int = DEADLINE_LEAD_DAYS,
    at: time = DEADLINE_NUDGE_AT,
    quiet: tuple[time, time] | None = (QUIET_START, QUIET_END),
) -> PlannedReminder | None:
    """Nudge the pair ``lead_days`` before a stage deadline if nothing is scheduled for it.

    None when a meeting is already scheduled or the deadline day is over (the overdue digest to
    curators takes it from there). Within the lead window it is due right away. The deadline is
    in the key so a moved deadline gets its own nudge.
    """
    _require_aware(now, "now")
    if has_scheduled_meeting:
        return None
    if now >= _local_combine(deadline + timedelta(days=1), time(0), tz):
        return None
    due = max(_local_combine(deadline - timedelta(days=lead_days), at, tz), now)
    return PlannedReminder(
        kind=KIND_STAGE_DEADLINE,
        due_at=_defer(due, tz, quiet),
        urgent=False,
        dedup_key=f"pair:{pair_id}:{KIND_STAGE_DEADLINE}:{stage}:{deadline.isoformat()}:{lead_days}d",
        pair_id=pair_id,
    )


def before_lead(kind: str) -> timedelta | None:
    """The lead of a ``before_<lead>`` reminder (``before_24h`` → 24 h); None for other kinds."""
    if not is_before_meeting(kind):
        return None
    seconds = _label_seconds(kind[len(BEFORE_PREFIX) :])
    if seconds is None:
        raise ValueError(f"unknown reminder kind {kind!r}")
    return timedelta(seconds=seconds)


def valid_until(kind: str, meeting_starts_at: datetime | None) -> datetime | None:
    """The moment after which a reminder of this kind says something false or useless (None: never).

    "In an hour" is true until the meeting starts. An early reminder ("reminder: the meeting is on
    <date>", the day before) is there to let people plan; arriving in the last hours it only repeats
    what the close reminder says, so it is good until half its lead before the start (12 h for the day
    before) and never later than an hour before. Scenarios are read before the meeting. After-checks
    and feedback nudges are true however late they come.
    """
    lead = before_lead(kind)
    if lead is not None and meeting_starts_at is not None:
        _require_aware(meeting_starts_at, "meeting_starts_at")
        if lead <= URGENT_LEAD:
            return meeting_starts_at
        return meeting_starts_at - max(lead / 2, URGENT_LEAD)
    if kind == KIND_SCENARIO and meeting_starts_at is not None:
        return meeting_starts_at
    return None


def still_meaningful(reminder: PlannedReminder, now: datetime) -> bool:
    """Whether a reminder that fires (possibly late, after downtime) should still be sent."""
    _require_aware(now, "now")
    limit = valid_until(reminder.kind, reminder.meeting_starts_at)
    return limit is None or now < limit


def superseded(reminders: Iterable[PlannedReminder], now: datetime) -> set[str]:
    """Dedup keys of reminders that a later one makes pointless: the same meeting and the same recipient,
    a later due time that has also passed. After downtime "tomorrow at 16:30" must not follow "in an
    hour"; two overdue feedback nudges for one meeting are one nudge."""
    _require_aware(now, "now")
    latest: dict[tuple[int | None, int | None], datetime] = {}
    passed = [r for r in reminders if r.meeting_id is not None and r.due_at <= now]
    for r in passed:
        key = (r.meeting_id, r.participant_id)
        latest[key] = max(r.due_at, latest.get(key, r.due_at))
    return {r.dedup_key for r in passed if r.due_at < latest[(r.meeting_id, r.participant_id)]}


def newest_first(reminders: Sequence[PlannedReminder]) -> list[PlannedReminder]:
    """The order in which reminders missed during downtime go out: the most recent (the most relevant)
    first, so a person who opens the chat reads what matters now at the top of the burst."""
    return sorted(reminders, key=lambda r: r.due_at, reverse=True)


def misfire_grace_seconds(kind: str) -> int | None:
    """APScheduler ``misfire_grace_time`` consistent with ``valid_until``.

    For ``before_<lead>`` it is the time from the intended moment to the end of its validity. Quiet
    hours can only move a reminder closer to the start, so this is an upper bound and
    ``still_meaningful`` stays the check at send time. None = no limit.
    """
    lead = before_lead(kind)
    if lead is None:
        return None
    reference = datetime(2000, 1, 1, tzinfo=UTC)
    limit = valid_until(kind, reference)
    assert limit is not None
    return int((limit - (reference - lead)).total_seconds())
