"""The curator's announcements: who an audience is, the outbox rows that reach them, the delivery report.

An announcement is one batch in the outbox. Its id is chosen when the curator sees the preview, and every
row's dedup key is f"{batch_id}:{participant_id}", so confirming twice (or a retry after a crash) enqueues
nothing new. Audiences leave out people who withdrew consent and people the bot has no chat with."""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from bot.domain.entities import NewMessage, ParticipantDTO, Role
from bot.domain.stages import STAGE_ORDER
from storage.repositories.announce import AnnounceRepo
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
    return sorted(await AnnounceRepo(repos.session).classes(), key=_class_order)


async def recipients(repos: Repos, audience: Audience, exclude: int | None = None) -> list[ParticipantDTO]:
    """The people an audience means today, each once, in id order; `exclude` is the author."""
    a = AnnounceRepo(repos.session)
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


async def send(
    repos: Repos,
    audience: Audience,
    content: Content,
    batch_id: str,
    author: ParticipantDTO,
    now: datetime,
) -> int | None:
    """Queue the announcement; the number of recipients, or None when this batch was queued before."""
    if await already_sent(repos, batch_id):
        return None
    people = await recipients(repos, audience, exclude=author.id)
    added = await repos.outbox.enqueue(messages(people, content, batch_id), now)
    if people and not added:
        return None  # a concurrent confirmation queued it first
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
    return added


def report(counts: dict[str, int]) -> Report:
    return Report(
        total=sum(counts.values()),
        delivered=counts.get("sent", 0),
        unreachable=counts.get("unreachable", 0),
        failed=counts.get("failed", 0),
        uncertain=counts.get("uncertain", 0),
        skipped=counts.get("dropped", 0),
        pending=counts.get("pending", 0) + counts.get("sending", 0),
    )
