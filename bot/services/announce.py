"""The curator's announcements: who an audience is, the outbox rows that reach them, the delivery report.

An announcement is one batch in the outbox. Its id is chosen when the curator sees the preview, and every
row's dedup key is f"{batch_id}:{participant_id}", so confirming twice (or a retry after a crash) enqueues
nothing new. Audiences leave out people who withdrew consent and people the bot has no chat with.

The rows go to the outbox as one batch (not through bot.services.notify): the text is the curator's own, not
a locale key, a photo or document travels by file_id, and the batch id is what the progress report counts."""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.domain.entities import NewMessage, ParticipantDTO, ProgrammeDTO, Role
from bot.domain.stages import STAGE_ORDER
from bot.domain.statuses import OutboxStatus
from storage.uow import Repos

KIND = "announce"
PRIORITY = 5  # bulk: replies to the person in front of the bot go first
ROLE_AUDIENCES = {
    "parents": (Role.PARENT,),
    "mentees": (Role.MENTEE,),
    "mentors": (Role.MENTOR,),
    "everyone": (Role.MENTEE, Role.MENTOR, Role.PARENT, Role.CURATOR),
}
CLASS_WHO = ("mentees", "parents", "both")
STAGES = tuple(s.value for s in STAGE_ORDER)


@dataclass(frozen=True)
class Audience:
    kind: str  # parents | mentees | mentors | everyone | programme | stage | class
    value: str = ""  # the programme id, the stage code or the class name
    who: str = ""  # for a class: mentees | parents | both

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        return cls(kind=str(data["kind"]), value=str(data.get("value", "")), who=str(data.get("who", "")))


@dataclass(frozen=True)
class Content:
    """What the curator wrote: text (HTML, so their formatting is kept) and at most one photo or document."""

    text: str
    media: str | None = None  # photo | document
    file_id: str | None = None

    @property
    def method(self) -> str:
        return {"photo": "sendPhoto", "document": "sendDocument"}.get(self.media or "", "sendMessage")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Content:
        return cls(text=str(data.get("text") or ""), media=data.get("media"), file_id=data.get("file_id"))


@dataclass(frozen=True)
class Preview:
    """What the curator confirms: how many people the audience reaches now, under a fresh batch id."""

    audience: Audience
    count: int
    batch_id: str
    programme: ProgrammeDTO | None = None  # for a programme audience, to name it


class SendResult(StrEnum):
    QUEUED = "queued"
    ALREADY_SENT = "already_sent"  # this batch was queued before (a second confirm, a concurrent one)
    NOBODY = "nobody"  # the audience reaches nobody any more


@dataclass(frozen=True)
class Sent:
    result: SendResult
    count: int = 0


@dataclass(frozen=True)
class Report:
    total: int
    delivered: int
    unreachable: int
    failed: int
    uncertain: int
    skipped: int  # consent withdrawn after the announcement was queued
    pending: int

    @property
    def done(self) -> bool:
        return self.pending == 0

    @property
    def finished(self) -> int:
        return self.total - self.pending


def new_batch_id() -> str:
    return f"ann-{secrets.token_hex(6)}"


def batch_key(batch_id: str, participant_id: int) -> str:
    return f"{batch_id}:{participant_id}"


def _class_order(name: str) -> tuple[int, str]:
    """'5А' < '10Б': classes sort by their number first."""
    m = re.match(r"\d+", name)
    return (int(m.group()) if m else 10_000, name)


async def classes(repos: Repos) -> list[str]:
    return sorted(await repos.announce.classes(), key=_class_order)


async def recipients(repos: Repos, audience: Audience, exclude: int | None = None) -> list[ParticipantDTO]:
    """The people an audience means today, each once, in id order; `exclude` is the author."""
    a = repos.announce
    people: list[ParticipantDTO] = []
    if audience.kind in ROLE_AUDIENCES:
        people = await a.with_roles(ROLE_AUDIENCES[audience.kind])
    elif audience.kind == "programme" and audience.value.isdigit():
        scope = await repos.programmes.scope(int(audience.value))
        members = await a.with_roles(tuple(Role), scope=scope)
        mentees = [p.id for p in members if p.has(Role.MENTEE)]
        people = members + await a.parents_of(mentees)
    elif audience.kind == "stage" and audience.value in STAGES:
        ids = [
            x
            for pair in await repos.pairs.active()
            if pair.stage == audience.value
            for x in (pair.mentor_id, *pair.mentee_ids)
        ]
        people = await a.by_ids(ids)
    elif audience.kind == "class" and audience.value and audience.who in CLASS_WHO:
        mentees = await a.mentees_of_class(audience.value)
        if audience.who in ("mentees", "both"):
            people += mentees
        if audience.who in ("parents", "both"):
            people += await a.parents_of([p.id for p in mentees])
    unique = {p.id: p for p in people if p.id != exclude and p.telegram_id is not None}
    return [unique[k] for k in sorted(unique)]


def messages(people: list[ParticipantDTO], content: Content, batch_id: str) -> list[NewMessage]:
    extra: dict[str, Any] = {"parse_mode": "HTML"}
    if content.media and content.file_id:
        extra["file_id"] = content.file_id
    return [
        NewMessage(
            chat_id=p.telegram_id,
            participant_id=p.id,
            kind=KIND,
            text=content.text,
            dedup_key=batch_key(batch_id, p.id),
            batch_id=batch_id,
            priority=PRIORITY,
            method=content.method,
            extra=extra,
        )
        for p in people
        if p.telegram_id is not None
    ]


async def already_sent(repos: Repos, batch_id: str) -> bool:
    return bool(await repos.outbox.batch_counts(batch_id))


async def preview(repos: Repos, audience: Audience, author_id: int) -> Preview:
    """A fresh preview is a fresh announcement: a new batch id, which a repeated Send then reuses."""
    count = len(await recipients(repos, audience, exclude=author_id))
    programme = None
    if audience.kind == "programme" and audience.value.isdigit():
        programme = await repos.programmes.get(int(audience.value))
    return Preview(audience, count, new_batch_id(), programme)


async def programme_audience(repos: Repos, programme_id: int) -> Audience | ProgrammeDTO | None:
    """A programme as an audience; the programme itself when it is archived (its year is closed: read-only,
    announcements included), None when there is no such programme."""
    programme = await repos.programmes.get(programme_id)
    if programme is None or programme.archived:
        return programme
    return Audience(kind="programme", value=str(programme_id))


async def send(
    repos: Repos,
    audience: Audience,
    content: Content,
    batch_id: str,
    author: ParticipantDTO,
    now: datetime,
) -> Sent:
    """Queue the announcement to everyone the audience means now, as one outbox batch, and audit it."""
    if await already_sent(repos, batch_id):
        return Sent(SendResult.ALREADY_SENT)
    people = await recipients(repos, audience, exclude=author.id)
    added = await repos.outbox.enqueue(messages(people, content, batch_id), now)
    if people and not added:
        return Sent(SendResult.ALREADY_SENT)  # a concurrent confirmation queued it first
    await repos.audit.log(
        "announce.send",
        now,
        actor_id=author.id,
        object_type="announcement",
        batch=batch_id,
        audience=audience.kind,
        value=audience.value,
        who=audience.who,
        media=content.media or "",
        recipients=added,
    )
    return Sent(SendResult.QUEUED, added) if added else Sent(SendResult.NOBODY)


def report(counts: dict[str, int]) -> Report:
    return Report(
        total=sum(counts.values()),
        delivered=counts.get(OutboxStatus.SENT, 0),
        unreachable=counts.get(OutboxStatus.UNREACHABLE, 0),
        failed=counts.get(OutboxStatus.FAILED, 0),
        uncertain=counts.get(OutboxStatus.UNCERTAIN, 0),
        skipped=counts.get(OutboxStatus.DROPPED, 0),
        pending=counts.get(OutboxStatus.PENDING, 0) + counts.get(OutboxStatus.SENDING, 0),
    )
