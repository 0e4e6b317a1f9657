"""The institution's roadmap in the bot: import from a file (all rows or none), items added in chat, what is
due soon and overdue, done and moved items, the digest lines and the reminders to responsible participants.

Deadlines are read by bot.domain.roadmap; this module decides what they mean for the stored items. An open
item's ``due_on`` is the day it is next due: for a recurring deadline the occurrence being worked on, which
moves on to the next one when the item is marked done."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import files
from bot.domain import roadmap as rm
from bot.domain.entities import NewMessage, ProgrammeDTO
from bot.domain.grammar import format_date
from bot.domain.reminders import defer_out_of_quiet_hours
from bot.i18n import Translator
from bot.services.notify import reachable
from storage.repositories.roadmap import (
    DEADLINE_CHARS,
    RESPONSIBLE_CHARS,
    NewRoadmapItem,
    RoadmapItemDTO,
)
from storage.uow import Repos

SOON_DAYS = 14
REMIND_DAYS = 3
DIGEST_LIMIT = 10
ACTIVITY_PREVIEW = 120
E_ITEM_FORMAT = "roadmap_chat.add.format"
E_PAST = "roadmap_chat.move.past"


async def programme_id(repos: Repos, chosen: int | None = None) -> int | None:
    """The programme whose roadmap this is: the curator's (``chosen``), else the first active one."""
    if chosen is not None:
        return chosen
    programmes = await repos.programmes.active()
    return programmes[0].id if programmes else None


# --- deadlines as stored ----------------------------------------------------------------------------


def recurrence_of(deadline: rm.Deadline) -> dict[str, Any]:
    if deadline.kind is not rm.DeadlineKind.RECURRING:
        return {}
    return {
        "months": list(deadline.recurrence_months),
        "day": deadline.recurrence_day,
        "start_day": deadline.recurrence_start_day,
        "since": deadline.since_year,
        "until": deadline.until_year,
    }


def deadline_of(item: RoadmapItemDTO) -> rm.Deadline:
    """The domain deadline back from a stored item (for next_due)."""
    kind = rm.DeadlineKind(item.deadline_kind)
    if kind is rm.DeadlineKind.RECURRING:
        r = item.recurrence
        return rm.Deadline(
            kind,
            item.deadline_text,
            recurrence_months=tuple(r.get("months") or ()),
            recurrence_day=r.get("day"),
            recurrence_start_day=r.get("start_day"),
            since_year=r.get("since"),
            until_year=r.get("until"),
        )
    return rm.Deadline(kind, item.deadline_text, due=item.due_on)


def _fields(deadline: rm.Deadline, today: date) -> dict[str, Any]:
    return dict(
        deadline_text=deadline.text,
        deadline_kind=deadline.kind.value,
        due_on=rm.next_due(deadline, today),
        recurrence=recurrence_of(deadline),
    )


def _length_errors(row_number: int | None, responsible: str | None, deadline_text: str) -> list[rm.RowError]:
    # The domain allows long cells; these two columns are narrower in the database.
    out = []
    for column, value, limit in (
        ("responsible", responsible, RESPONSIBLE_CHARS),
        ("deadline", deadline_text, DEADLINE_CHARS),
    ):
        if value and len(value) > limit:
            out.append(rm.RowError(row_number, rm.E_TOO_LONG, {"column": column, "limit": str(limit)}))
    return out


# --- import ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOutcome:
    imported: int = 0
    skipped: int = 0  # rows already in the roadmap (the same activity and deadline date)
    linked: int = 0  # imported items whose responsible person is a participant
    errors: list[rm.RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def refused(self) -> bool:
        """The file itself was refused (too big or too complex to read safely), not its rows."""
        return any(error.code in files.REFUSALS for error in self.errors)


def _same_row(activity: str, kind: str, due_on: date | None, recurrence: dict[str, Any]) -> tuple[Any, ...]:
    """What makes a row "already imported": the activity and the deadline it means, whatever the spelling
    ("до 30.09.2022" in CSV, a date cell in Excel). A recurring item's date moves on, its rule does not."""
    recurring = kind == rm.DeadlineKind.RECURRING.value
    return (
        " ".join(activity.lower().split()),
        kind,
        None if recurring else due_on,
        json.dumps(recurrence, sort_keys=True),
    )


async def import_file(
    repos: Repos, filename: str, data: bytes, today: date, now: datetime, programme: int | None = None
) -> ImportOutcome:
    """Every row is read first; any error stores nothing, so the curator fixes the file and sends it again.

    The file is read in a worker process under limits (bot/files.py): a crafted spreadsheet is refused
    instead of stopping the bot."""
    try:
        result = await files.parse(rm.read_roadmap_file, filename, data, today.year)
    except files.Refused as refused:
        return ImportOutcome(errors=[rm.RowError(None, refused.code, {"filename": filename})])
    errors = list(result.errors)
    for row in result.items:
        errors += _length_errors(row.row_number, row.responsible, row.deadline.text)
    if errors:
        return ImportOutcome(errors=sorted(errors, key=lambda e: e.row_number or 0))
    r = repos.roadmap
    pid = await programme_id(repos, programme)
    known = {_same_row(*existing) for existing in await r.deadlines(pid)}
    fresh = []
    for row in result.items:
        key = _same_row(row.activity, row.deadline.kind.value, row.deadline.due, recurrence_of(row.deadline))
        if key not in known:
            known.add(key)
            fresh.append(row)
    names = await r.match_responsible(row.responsible for row in fresh if row.responsible)
    items = [
        NewRoadmapItem(
            activity=row.activity,
            responsible=row.responsible,
            responsible_id=names.get(row.responsible) if row.responsible else None,
            result=row.result,
            section=row.section,
            **_fields(row.deadline, today),
        )
        for row in fresh
    ]
    await r.add_many(items, pid, now)
    return ImportOutcome(
        imported=len(items),
        skipped=len(result.items) - len(items),
        linked=sum(1 for i in items if i.responsible_id is not None),
    )


@dataclass(frozen=True)
class Entry:
    """One activity as the curator gives it: typed in chat as "activity; responsible; deadline[; result]",
    or in the desk's form field by field."""

    activity: str
    responsible: str
    deadline: str
    result: str = ""


def entry_from_text(text: str) -> Entry | rm.Invalid:
    """The chat's line "activity; responsible; deadline[; result]" (the responsible part may be empty)."""
    parts = (text or "").split(";")
    if len(parts) not in (3, 4):
        return rm.Invalid(E_ITEM_FORMAT)
    return Entry(*parts)


async def add_entry(
    repos: Repos, entry: Entry, today: date, now: datetime, programme: int | None = None
) -> RoadmapItemDTO | rm.Invalid:
    """One item, checked as an imported row is (lengths, a deadline the chat understands)."""
    activity, responsible, deadline_text, result = (
        " ".join(x.split()) for x in (entry.activity, entry.responsible, entry.deadline, entry.result)
    )
    if not activity:
        return rm.Invalid(E_ITEM_FORMAT)
    if len(activity) > rm.MAX_CELL_CHARS or len(result) > rm.MAX_CELL_CHARS:
        return rm.Invalid(rm.E_TOO_LONG, {"column": "activity", "limit": str(rm.MAX_CELL_CHARS)})
    if too_long := _length_errors(None, responsible, deadline_text):
        return rm.Invalid(too_long[0].code, too_long[0].params)
    deadline = rm.parse_deadline(deadline_text, reference_year=today.year, today=today)
    if isinstance(deadline, rm.Invalid):
        return deadline
    r = repos.roadmap
    names = await r.match_responsible([responsible]) if responsible else {}
    (item_id,) = await r.add_many(
        [
            NewRoadmapItem(
                activity=activity,
                responsible=responsible or None,
                responsible_id=names.get(responsible),
                result=result or None,
                **_fields(deadline, today),
            )
        ],
        await programme_id(repos, programme),
        now,
    )
    item = await r.get(item_id)
    assert item is not None
    return item


# --- what is due -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    overdue: list[RoadmapItemDTO]
    soon: list[RoadmapItemDTO]
    undated: int
    open: int
    done: int

    @property
    def total(self) -> int:
        return self.open + self.done


async def overview(
    repos: Repos, today: date, soon_days: int = SOON_DAYS, programme: int | None = None
) -> Overview:
    r = repos.roadmap
    pid = await programme_id(repos, programme)
    due = await r.list(pid, due_until=today + timedelta(days=soon_days))
    counts = await r.counts(pid)
    return Overview(
        overdue=[i for i in due if i.due_on is not None and i.due_on < today],
        soon=[i for i in due if i.due_on is not None and i.due_on >= today],
        undated=len(await r.list(pid, undated=True)),
        open=counts.get(rm.ItemStatus.OPEN.value, 0),
        done=counts.get(rm.ItemStatus.DONE.value, 0),
    )


@dataclass(frozen=True)
class Done:
    ok: bool
    next_due: date | None = None  # a recurring item's next occurrence


async def mark_done(repos: Repos, item_id: int, note: str | None, today: date, now: datetime) -> Done:
    r = repos.roadmap
    item = await r.get(item_id)
    if item is None or item.status != rm.ItemStatus.OPEN:
        return Done(False)
    following = None
    if item.deadline_kind == rm.DeadlineKind.RECURRING.value and item.due_on is not None:
        # Done on time moves to the next occurrence; done late skips any occurrence already past.
        following = rm.next_due(deadline_of(item), max(item.due_on + timedelta(days=1), today))
    ok = await r.mark_done(item_id, note, now, expect_due_on=item.due_on, next_due_on=following)
    return Done(ok, following if ok else None)


async def move(
    repos: Repos, item_id: int, text: str, today: date, now: datetime
) -> RoadmapItemDTO | rm.Invalid:
    """A new deadline for an open item; one that is already past is refused."""
    text = " ".join((text or "").split())
    if too_long := _length_errors(None, None, text):
        return rm.Invalid(too_long[0].code, too_long[0].params)
    deadline = rm.parse_deadline(text, reference_year=today.year, today=today)
    if isinstance(deadline, rm.Invalid):
        return deadline
    fields = _fields(deadline, today)
    if fields["due_on"] is not None and fields["due_on"] < today:
        return rm.Invalid(E_PAST, {"date": fields["due_on"].strftime("%d.%m.%Y")})
    r = repos.roadmap
    if not await r.move(item_id, now, **fields):
        return rm.Invalid("roadmap_chat.already")
    item = await r.get(item_id)
    assert item is not None
    return item


# --- the curator's actions in chat (each audited) --------------------------------------------------


async def import_items(
    repos: Repos, curator_id: int, programme: int, filename: str, data: bytes, today: date, now: datetime
) -> ImportOutcome:
    """A file sent to the bot, imported into the curator's programme (all rows or none)."""
    outcome = await import_file(repos, filename, data, today, now, programme)
    if outcome.ok:
        await repos.audit.log(
            "roadmap.import", now, actor_id=curator_id, object_type="roadmap", items=outcome.imported
        )
    return outcome


async def add_item(
    repos: Repos, curator_id: int, programme: int, given: Entry | str, today: date, now: datetime
) -> RoadmapItemDTO | rm.Invalid:
    """One item the curator adds: typed in chat (one line) or from the desk's form (field by field)."""
    entry = entry_from_text(given) if isinstance(given, str) else given
    if isinstance(entry, rm.Invalid):
        return entry
    item = await add_entry(repos, entry, today, now, programme)
    if not isinstance(item, rm.Invalid):
        await repos.audit.log(
            "roadmap.add", now, actor_id=curator_id, object_type="roadmap_item", object_id=item.id
        )
    return item


@dataclass(frozen=True)
class Open:
    """An item the curator may act on: open, and of a programme that is not archived."""

    item: RoadmapItemDTO | None = None
    archived: ProgrammeDTO | None = None  # the item's programme, when it is archived (read-only)


async def open_item(repos: Repos, item_id: int) -> Open:
    item = await repos.roadmap.get(item_id)
    if item is None or item.status != rm.ItemStatus.OPEN:
        return Open()
    programme = await repos.programmes.get(item.programme_id) if item.programme_id is not None else None
    if programme is not None and programme.archived:
        return Open(archived=programme)
    return Open(item)


@dataclass(frozen=True)
class Finished:
    item: RoadmapItemDTO | None = None  # None: it was done (or gone) already
    next_due: date | None = None  # a recurring item's next occurrence
    archived: ProgrammeDTO | None = None


async def finish(
    repos: Repos, curator_id: int, item_id: int, note: str | None, today: date, now: datetime
) -> Finished:
    """Mark an item done (with the curator's note, if any); a recurring one moves to its next occurrence."""
    found = await open_item(repos, item_id)
    if found.archived is not None:
        return Finished(archived=found.archived)
    done = await mark_done(repos, item_id, note, today, now)
    if found.item is None or not done.ok:
        return Finished()
    await repos.audit.log(
        "roadmap.done", now, actor_id=curator_id, object_type="roadmap_item", object_id=item_id
    )
    return Finished(found.item, done.next_due)


async def reschedule(
    repos: Repos, curator_id: int, item_id: int, text: str, today: date, now: datetime
) -> RoadmapItemDTO | rm.Invalid | ProgrammeDTO:
    """A new deadline typed in chat; the item's programme when it is archived (nothing moves)."""
    found = await open_item(repos, item_id)
    if found.archived is not None:
        return found.archived
    item = await move(repos, item_id, text, today, now)
    if not isinstance(item, rm.Invalid):
        await repos.audit.log(
            "roadmap.move", now, actor_id=curator_id, object_type="roadmap_item", object_id=item.id
        )
    return item


# --- words -----------------------------------------------------------------------------------------


def short(text: str, limit: int = ACTIVITY_PREVIEW) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _names_date(text: str, day: date, t: Translator) -> bool:
    """The curator's text already says the date ("до 30.05.2022", "до 30 мая"): not repeated after it."""
    said = (f"{day:%d.%m.%Y}", format_date(t, day), format_date(t, day, today=day))
    return any(s.lower() in text.lower() for s in said)


def when(item: RoadmapItemDTO, t: Translator, today: date) -> str:
    """The deadline as the curator wrote it, with its date and status: "август 2022 (31 августа 2022,
    просрочено на 3 дн.)"; the year only when it is not this year's."""
    if item.due_on is None:
        return short(item.deadline_text, 60)
    days = (item.due_on - today).days
    if days < 0:
        status = t("roadmap_chat.late", days=-days)
    elif days == 0:
        status = t("roadmap_chat.today")
    else:
        status = t("roadmap_chat.in_days", days=days)
    text = short(item.deadline_text, 60)
    if _names_date(text, item.due_on, t):
        return t("roadmap_chat.when_dated", text=text, status=status)
    return t("roadmap_chat.when", text=text, date=format_date(t, item.due_on, today=today), status=status)


def error_text(t: Translator, error: rm.RowError | rm.Invalid) -> str:
    params = dict(error.params)
    if error.code == rm.E_TOO_LONG and t.has(f"roadmap_chat.column.{params.get('column')}"):
        params["column"] = t(f"roadmap_chat.column.{params['column']}")
    if "text" in params:
        params["text"] = short(params["text"], 200)
    message = t(error.code, **params)
    row = getattr(error, "row_number", None)
    return t("roadmap.import.row_error", row=row, error=message) if row is not None else message


async def digest_lines(repos: Repos, t: Translator, today: date, limit: int = DIGEST_LIMIT) -> list[str]:
    """Overdue roadmap items of every active programme for the curators' daily digest, in the curator's
    language (each named by its programme when there are several); [] when none."""
    active = await repos.programmes.active()
    overdue: list[tuple[str, RoadmapItemDTO]] = []
    for programme in active or [None]:
        items = await repos.roadmap.list(programme.id if programme else None, overdue_on=today)
        overdue += [(programme.title if programme and len(active) > 1 else "", item) for item in items]
    if not overdue:
        return []
    lines = [t("roadmap_chat.digest_header", count=len(overdue))]
    for title, item in overdue[:limit]:
        assert item.due_on is not None
        activity = short(item.activity, 80)
        lines.append(
            t(
                "roadmap_chat.digest_item",
                activity=f"{title}: {activity}" if title else activity,
                date=format_date(t, item.due_on, today=today),
                days=(today - item.due_on).days,
            )
        )
    if len(overdue) > limit:
        lines.append(t("roadmap_chat.more", count=len(overdue) - limit))
    lines.append(t("roadmap_chat.digest_hint"))
    return lines


async def deadline_reminders(
    repos: Repos, now: datetime, tz: ZoneInfo, days: int = REMIND_DAYS
) -> list[NewMessage]:
    """A responsible person who is a participant hears once per occurrence, within ``days`` before it is due
    (the dedup key carries the date, so a moved item or the next year's occurrence is reminded again)."""
    r = repos.roadmap
    await r.link_responsible(now)
    today = now.astimezone(tz).date()
    out = []
    due = await r.due_for_responsible(today, today + timedelta(days=days))
    people = await repos.participants.get_many(
        {i.responsible_id for i in due if i.responsible_id is not None}
    )
    for item in due:
        assert item.due_on is not None and item.responsible_id is not None
        person = people.get(item.responsible_id)
        # A text of one or two locale keys, which notify's one key cannot say: composed here, to whom
        # notify would write.
        if person is None or not reachable(person):
            continue
        assert person.telegram_id is not None
        t = Translator(person.language)
        deadline = short(item.deadline_text, 100)
        if not _names_date(deadline, item.due_on, t):
            shown = format_date(t, item.due_on, today=today)
            deadline = t("roadmap_chat.remind_when", text=deadline, date=shown)
        lines = [t("roadmap_chat.remind", activity=short(item.activity, 300), deadline=deadline)]
        if item.result:
            lines.append(t("roadmap_chat.remind_result", result=short(item.result, 300)))
        out.append(
            NewMessage(
                chat_id=person.telegram_id,
                participant_id=person.id,
                kind="roadmap_deadline",
                priority=4,
                text="\n".join(lines),
                dedup_key=f"roadmap:{item.id}:{item.due_on.isoformat()}:{person.id}",
                not_before=defer_out_of_quiet_hours(now, tz),
            )
        )
    return out
