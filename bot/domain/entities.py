"""Plain objects that cross the storage boundary. No aiogram, no SQLAlchemy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    MENTEE = "mentee"
    MENTOR = "mentor"
    CURATOR = "curator"
    PARENT = "parent"
    COORDINATOR = "coordinator"


class Status(StrEnum):
    ONBOARDING = "onboarding"
    AWAITING_PARENT = "awaiting_parent_consent"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class PairStatus(StrEnum):
    """Where a mentoring pair stands (pairs.status)."""

    ACTIVE = "active"
    DISSOLVED = "dissolved"  # the curator ended it early
    FINISHED = "finished"  # completed the programme


class ResponseStatus(StrEnum):
    """Where one version of a person's answers to a form stands (form_responses.status)."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    SUPERSEDED = "superseded"  # an edit submitted a newer version


@dataclass(frozen=True)
class ParticipantDTO:
    id: int
    telegram_id: int | None
    full_name: str | None
    language: str
    status: str
    roles: frozenset[Role] = frozenset()
    is_minor: bool | None = None
    group_name: str | None = None
    position: str | None = None
    unreachable: bool = False
    username: str | None = None
    commands_version: str | None = None
    parent_declined_at: datetime | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_curator(self) -> bool:
        return Role.CURATOR in self.roles


@dataclass(frozen=True)
class ProgrammeDTO:
    id: int
    title: str
    template: str | None
    timezone: str
    settings: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    created_at: datetime | None = None


@dataclass(frozen=True)
class InstitutionDTO:
    id: int
    title: str
    created_at: datetime | None = None
    archived: bool = False


@dataclass(frozen=True)
class ProgrammeScope:
    """The rows of one programme. Rows written before the bot told programmes apart have no programme
    (programme_id NULL); they belong to the first programme, the one every installation starts with."""

    programme_id: int
    unassigned: bool = False


@dataclass(frozen=True)
class InvitationDTO:
    id: int
    role: Role
    programme_id: int | None
    created_by: int | None
    child_id: int | None
    max_uses: int | None
    uses: int
    expires_at: datetime
    revoked_at: datetime | None
    created_at: datetime
    institution_id: int | None = None

    def problem(self, now: datetime) -> str | None:
        """Why this invitation cannot be used now, or None."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.max_uses is not None and self.uses >= self.max_uses:
            return "used_up"
        return None


@dataclass(frozen=True)
class RoleHolding:
    """One role a person holds (in one programme, or in none), and the invitation it came from."""

    id: int
    participant_id: int
    role: Role
    programme_id: int | None
    invitation_id: int | None


@dataclass(frozen=True)
class ConsentDTO:
    id: int
    participant_id: int | None
    subject_id: int | None
    kind: str
    version: str
    accepted: bool
    decided_at: datetime
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class OutboxItem:
    id: int
    chat_id: int
    participant_id: int | None
    kind: str
    method: str
    payload: dict[str, Any]
    priority: int
    attempts: int
    batch_id: str | None


@dataclass(frozen=True)
class NewMessage:
    """A message to enqueue; dedup_key makes a repeated enqueue of the same logical message a no-op."""

    chat_id: int
    text: str
    kind: str
    participant_id: int | None = None
    dedup_key: str | None = None
    batch_id: str | None = None
    priority: int = 5
    reply_markup: dict[str, Any] | None = None
    method: str = "sendMessage"
    extra: dict[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None
    # Time-bound messages: past expires_at, or once the meeting (at this sequence) / the pair / the person's
    # membership is no longer what the message is about, the sender drops it instead of sending it late.
    expires_at: datetime | None = None
    meeting_id: int | None = None
    meeting_sequence: int | None = None
    pair_id: int | None = None


@dataclass(frozen=True)
class FormResponseDTO:
    id: int
    participant_id: int
    form_id: str
    form_version: int
    version: int
    status: str
    context: str | None
    answers: dict[str, Any]
    current_key: str | None
    draft: list[str] | None
    editing: bool
    submitted_at: datetime | None


@dataclass(frozen=True)
class PairDTO:
    id: int
    programme_id: int | None
    mentor_id: int
    status: str
    stage: str
    created_at: datetime
    mentee_ids: tuple[int, ...]
    closed_at: datetime | None = None
    close_reason: str | None = None


@dataclass(frozen=True)
class ProposalDTO:
    id: int
    run_id: str
    mentee_id: int
    mentor_id: int
    score: float
    reasons: list[Any]
    status: str
    programme_id: int | None = None


@dataclass(frozen=True)
class MeetingDTO:
    id: int
    pair_id: int
    stage: str
    status: str
    starts_at: datetime
    ends_at: datetime
    format: str
    place: str | None
    proposed_by: int | None
    sequence: int
    cancel_reason: str | None
    held_at: datetime | None


@dataclass(frozen=True)
class ReminderDTO:
    id: int
    kind: str
    due_at: datetime
    status: str
    urgent: bool
    dedup_key: str
    participant_id: int
    meeting_id: int | None
    pair_id: int | None
    meeting_starts_at: datetime | None


@dataclass(frozen=True)
class GoalDTO:
    id: int
    pair_id: int
    text: str
    target_date: date
