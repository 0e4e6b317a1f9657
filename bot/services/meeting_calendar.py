"""The calendar entry of a meeting after it changes. Whoever was sent the meeting's .ics (when it was
confirmed, or with an earlier move) has the event in their calendar; when the meeting moves, each of them
gets it again as METHOD:REQUEST with the new time, and when it is cancelled as METHOD:CANCEL with
STATUS:CANCELLED, both under the meeting's UID and a higher SEQUENCE, so the calendar app moves or removes
the event it has instead of adding a second one. Sent through the outbox, as the original was. No Telegram
here."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain import grammar, ics
from bot.domain import reminders as rem
from bot.domain.entities import MeetingDTO, NewMessage, ParticipantDTO
from bot.filenames import file_name
from bot.i18n import Translator
from bot.services.notify import reachable
from storage.uow import Repos

KIND = "meeting_ics"
MOVED = "moved"
CANCELLED = "cancelled"


def entry_key(meeting_id: int, sequence: int, participant_id: int, change: str | None = None) -> str:
    """The outbox dedup key of a calendar entry: the one bot.services.meetings.ics_message gives the entry
    sent on confirmation, with the change appended for an update."""
    key = f"ics:{meeting_id}:{sequence}:{participant_id}"
    return f"{key}:{change}" if change else key


async def holders(repos: Repos, meeting: MeetingDTO, members: Iterable[int]) -> list[int]:
    """The members who were sent this meeting's calendar entry, at its current sequence or an earlier one,
    on confirmation or with a move: the people whose calendars have the event."""
    out = []
    for pid in members:
        for sequence in range(meeting.sequence, -1, -1):
            if await repos.outbox.was_enqueued(
                entry_key(meeting.id, sequence, pid)
            ) or await repos.outbox.was_enqueued(entry_key(meeting.id, sequence, pid, MOVED)):
                out.append(pid)
                break
    return out


def _when(t: Translator, meeting: MeetingDTO, tz: ZoneInfo, now: datetime) -> str:
    """The time as every other meeting time the person reads: "4 декабря, пятница, 16:30"."""
    return grammar.format_when(t, meeting.starts_at.astimezone(tz), today=now.astimezone(tz).date())


def _others(people: Mapping[int, ParticipantDTO], members: Iterable[int], skip: int) -> str:
    return ", ".join(
        ((p.full_name if (p := people.get(pid)) else None) or "—") for pid in members if pid != skip
    )


def update_message(
    meeting: MeetingDTO,
    person: ParticipantDTO,
    other_names: str,
    now: datetime,
    tz: ZoneInfo,
    *,
    change: str,
    sequence: int,
) -> NewMessage:
    """The .ics that moves (change MOVED: the meeting at its new time) or removes (CANCELLED) the event,
    with a caption that says which, in the person's language."""
    assert person.telegram_id is not None
    t = Translator(person.language)
    stage = t(f"meetings.stage.{meeting.stage}")
    online = meeting.format == "online" and (meeting.place or "").startswith(("http://", "https://"))
    data = ics.make_ics(
        ics.meeting_uid(meeting.id),
        meeting.starts_at,
        meeting.ends_at,
        t("meeting.ics_summary", stage=stage, with_=other_names),
        t("meeting.ics_description", stage=stage, place=meeting.place or "—"),
        location=meeting.place if meeting.format == "offline" else None,
        url=meeting.place if online else None,
        now=now,
        sequence=sequence,
        method="CANCEL" if change == CANCELLED else "REQUEST",
    )
    if change == MOVED:
        # About the meeting at this time: dropped unsent if it moves again or is cancelled meanwhile.
        bound = dict(meeting_id=meeting.id, meeting_sequence=meeting.sequence, pair_id=meeting.pair_id)
    else:
        # The meeting is cancelled (and its pair may end): only the time limits the removal.
        bound = {}
    return NewMessage(
        chat_id=person.telegram_id,
        participant_id=person.id,
        kind=KIND,
        priority=1,
        method="sendDocument",
        text=t(f"conventions.ics.{change}", stage=stage, when=_when(t, meeting, tz, now)),
        dedup_key=entry_key(meeting.id, sequence, person.id, change),
        extra={
            "file_b64": base64.b64encode(data).decode(),
            "filename": file_name(t, "meeting", "ics", number=meeting.id),
        },
        expires_at=rem.valid_until(rem.KIND_SCENARIO, meeting.starts_at),
        **bound,
    )


async def _send(
    repos: Repos,
    meeting: MeetingDTO,
    recipients: list[int],
    members: tuple[int, ...],
    now: datetime,
    tz: ZoneInfo,
    change: str,
    sequence: int,
) -> int:
    people = await repos.participants.get_many(set(members))
    out = []
    for pid in recipients:
        person = people.get(pid)
        if reachable(person):
            assert person is not None
            others = _others(people, members, pid)
            out.append(update_message(meeting, person, others, now, tz, change=change, sequence=sequence))
    return await repos.outbox.enqueue(out, now) if out else 0


async def moved(
    repos: Repos, before: MeetingDTO, after: MeetingDTO, members: tuple[int, ...], now: datetime, tz: ZoneInfo
) -> int:
    """The meeting got a new time (its sequence bumped): whoever has it in their calendar gets the new time
    under the same UID. Returns how many updates were queued."""
    recipients = await holders(repos, before, members)
    return await _send(repos, after, recipients, members, now, tz, MOVED, after.sequence)


async def cancelled(
    repos: Repos, meeting: MeetingDTO, members: tuple[int, ...], now: datetime, tz: ZoneInfo
) -> int:
    """The meeting was cancelled: whoever has it in their calendar gets the cancellation (one sequence above
    the last one sent). Returns how many were queued."""
    recipients = await holders(repos, meeting, members)
    return await _send(repos, meeting, recipients, members, now, tz, CANCELLED, meeting.sequence + 1)
