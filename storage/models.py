"""Typed SQLAlchemy models. In the product only storage/ imports this module (tests and benchmarks use it
to set up and inspect rows)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from bot.domain.entities import PairStatus, ResponseStatus, Status
from bot.domain.roadmap import ItemStatus
from bot.domain.stages import MeetingStatus
from bot.domain.statuses import (
    CampaignStatus,
    CaseStatus,
    MentorStatus,
    OutboxStatus,
    ProposalStatus,
    ReminderStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Institution(Base):
    """An educational organisation (организация): the boundary of everything personal. Programmes, roles,
    invitations, materials, trainings and the audit log belong to one; pairs, meetings, roadmap items and
    campaigns through their programme; a person is seen through the roles they hold in it. A row whose
    institution is NULL (written by a single-school installation) belongs to the first institution."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DistrictFigures(Base):
    """The latest aggregate of one institution as the district sees it (counts only, no person), kept so
    that the coordinator's summary of hundreds of institutions reads one row each."""

    __tablename__ = "district_figures"

    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), primary_key=True
    )
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    targets: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    curators: Mapped[int] = mapped_column(Integer, default=0)
    programmes: Mapped[int] = mapped_column(Integer, default=0)


def _institution() -> Mapped[int | None]:
    return mapped_column(ForeignKey("institutions.id"), index=True)


class Programme(Base):
    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int | None] = _institution()
    title: Mapped[str] = mapped_column(String(200))
    template: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ProgrammeClosure(Base):
    """A programme year that was closed: when, by whom, and the cohort that continues it."""

    __tablename__ = "programme_closures"

    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True
    )
    successor_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes.id", ondelete="SET NULL"), index=True
    )
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CuratorProgramme(Base):
    """The programme a curator is working on: their commands read and change this one."""

    __tablename__ = "curator_programmes"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    # The institution the curator works in (a curator of several sees each separately).
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Participant(Base):
    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # NULL once the person is forgotten: the row stays only as an anonymous statistic.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    username: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8), default="ru")
    status: Mapped[str] = mapped_column(String(32), default=Status.ONBOARDING.value, index=True)
    is_minor: Mapped[bool | None] = mapped_column(Boolean)
    group_name: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[str | None] = mapped_column(String(200))
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    commands_version: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deletion_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # When a parent last declined consent for this (minor) person: the curator sees it on the card.
    parent_declined_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ParticipantRole(Base):
    __tablename__ = "participant_roles"
    __table_args__ = (
        UniqueConstraint(
            "participant_id", "role", "programme_id", "institution_id", name="uq_participant_roles_holding"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    institution_id: Mapped[int | None] = _institution()
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ParentLink(Base):
    __tablename__ = "parent_links"
    __table_args__ = (UniqueConstraint("parent_id", "child_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of the token: a leaked database does not leak working links.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    institution_id: Mapped[int | None] = _institution()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    child_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The Telegram id of a person who consented (erased with them). A refusal keeps no id, only
    # telegram_hash: an HMAC of the id that can confirm whose refusal it was but does not reveal the id.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    telegram_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    subject_id: Mapped[int | None] = mapped_column(
        ForeignKey("participants.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # self | parent
    version: Mapped[str] = mapped_column(String(16))
    accepted: Mapped[bool] = mapped_column(Boolean)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "not_before", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(32), default="sendMessage")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=5)
    # Enqueueing the same logical message twice (a double press) is a no-op thanks to this key.
    dedup_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    # A time-bound message (a reminder, a scenario, a meeting proposal) carries its deadline and what it is
    # about; the sender re-checks them right before sending and drops the message ('expired') when the
    # deadline passed, the meeting was cancelled or moved (another sequence), the pair ended or the person
    # left it. No foreign keys: a row whose meeting or pair is gone is exactly one to drop.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    meeting_id: Mapped[int | None] = mapped_column(Integer)
    meeting_sequence: Mapped[int | None] = mapped_column(Integer)
    pair_id: Mapped[int | None] = mapped_column(Integer)


class FsmRecord(Base):
    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """Who did what and when — ids and action names only, never personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int | None] = _institution()
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FormResponse(Base):
    """One person's answers to one form. Each answer is written the moment it is given (answers is the whole
    dict so far); current_key is the question being asked, None once all are answered. Editing a submitted
    form creates the next version; the previous submitted version becomes 'superseded'."""

    __tablename__ = "form_responses"
    __table_args__ = (Index("ix_form_responses_owner", "participant_id", "form_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default=ResponseStatus.IN_PROGRESS.value)
    context: Mapped[str | None] = mapped_column(String(64))  # e.g. "meeting:12" for feedback forms
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    current_key: Mapped[str | None] = mapped_column(String(64))
    # Picks of a multiple-choice question not yet confirmed with Done.
    draft: Mapped[list[str] | None] = mapped_column(JSON)
    editing: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Pair(Base):
    """A mentoring pair, or a group: one mentor with one or several mentees (pair_members)."""

    __tablename__ = "pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    mentor_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=PairStatus.ACTIVE.value)
    stage: Mapped[str] = mapped_column(String(32), default="introduction")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(500))


class PairMember(Base):
    __tablename__ = "pair_members"
    __table_args__ = (Index("ix_pair_members_mentee", "mentee_id", "left_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    mentee_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Set when the curator dissolved this mentee's pairing: the optimiser never proposes it again.
    dissolved: Mapped[bool] = mapped_column(Boolean, default=False)


class MatchProposal(Base):
    """A proposed mentee → mentor assignment of a /match run; kept so paging and double presses are stable."""

    __tablename__ = "match_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    mentee_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column()
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default=ProposalStatus.PROPOSED.value)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WaitingMentee(Base):
    """A mentee a finished matching round left without a pair in a programme: since when they wait (the
    curators' weekly reminder counts them) and when the wait ended (a pair was made)."""

    __tablename__ = "waiting_mentees"
    __table_args__ = (Index("ix_waiting_mentees_open", "programme_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=MeetingStatus.PROPOSED.value)  # MeetingStatus
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    format: Mapped[str] = mapped_column(String(16))  # online | offline
    place: Mapped[str | None] = mapped_column(String(300))  # a link or an address
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    # Raised on every change of time: calendars need a higher SEQUENCE to accept an update.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    cancel_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    held_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Reminder(Base):
    """A message due at a time. The database is the truth; APScheduler only wakes us up to look."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default=ReminderStatus.PENDING.value)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"))
    meeting_starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    fired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(String(200))


class DevelopmentGoal(Base):
    """A goal of the pair's individual development plan, recorded at the planning meeting."""

    __tablename__ = "development_goals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    target_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class MentorProfile(Base):
    """The mentor base: candidate → interviewed → approved (or declined) → active ⇄ resting."""

    __tablename__ = "mentor_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default=MentorStatus.CANDIDATE.value)
    interview_on: Mapped[date | None] = mapped_column(Date)
    interview_note: Mapped[str | None] = mapped_column(String(500))
    decline_reason: Mapped[str | None] = mapped_column(String(300))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TrainingSession(Base):
    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int | None] = _institution()
    held_on: Mapped[date] = mapped_column(Date)
    topic: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TrainingAttendance(Base):
    __tablename__ = "training_attendance"
    __table_args__ = (UniqueConstraint("session_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)


class Material(Base):
    """A material the curator added (the shipped memos and scenarios live in bot/materials/)."""

    __tablename__ = "materials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int | None] = _institution()
    audience: Mapped[str] = mapped_column(String(16))  # mentors | mentees | parents
    stage: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # text | link | document
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    file_id: Mapped[str | None] = mapped_column(String(300))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class MaterialRead(Base):
    """A mentor confirmed reading a memo ("builtin:<id>" or "custom:<id>")."""

    __tablename__ = "material_reads"
    __table_args__ = (UniqueConstraint("material_key", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    material_key: Mapped[str] = mapped_column(String(64))
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RoadmapItem(Base):
    """An activity of the institution's roadmap (дорожная карта): responsible person and deadline."""

    __tablename__ = "roadmap_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    section: Mapped[str | None] = mapped_column(String(300))
    activity: Mapped[str] = mapped_column(Text)
    responsible: Mapped[str | None] = mapped_column(String(300))
    # Set when the responsible person is a participant of the bot: they get a reminder before the deadline.
    responsible_id: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    deadline_text: Mapped[str] = mapped_column(String(300))
    deadline_kind: Mapped[str] = mapped_column(String(16))
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    recurrence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=ItemStatus.OPEN.value)
    done_note: Mapped[str | None] = mapped_column(String(500))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Campaign(Base):
    """A monitoring campaign: the intermediate or final survey sent to participants (December and June)."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("programme_id", "form_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programmes.id", ondelete="CASCADE"))
    form_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))  # e.g. "2026-12"
    status: Mapped[str] = mapped_column(String(16), default=CampaignStatus.OPEN.value)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[datetime] = mapped_column(UtcDateTime())


# ------------------------------------------------------------------------ completion: cases, honour board
class CaseStory(Base):
    """A best practice of the case base: a finished pair's story, published only once every member agreed."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    story: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.PROPOSED.value)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("participants.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # Touched first by every consent answer: the row lock orders concurrent answers to the same case.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CaseConsent(Base):
    """One member's answer to "may we publish your pair's story?" (NULL until they answer)."""

    __tablename__ = "case_consents"
    __table_args__ = (UniqueConstraint("case_id", "participant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id", ondelete="CASCADE"), index=True)
    agreed: Mapped[bool | None] = mapped_column(Boolean)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class HonourOptOut(Base):
    """A mentor who asked not to be shown on the honour board."""

    __tablename__ = "honour_optouts"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ErasureLedgerEntry(Base):
    """Someone whose data was erased, so that a restored backup can be erased again (`nastavnik restore`).
    The Telegram id is kept only as an HMAC whose key is derived from the bot token, never stored here;
    the participant's number is not personal on its own (the row it names is anonymous after the erasure)."""

    __tablename__ = "erasure_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anon_key: Mapped[str | None] = mapped_column(String(64), index=True)
    # No foreign key: a restored backup may predate the participant, and the entry must still be kept.
    participant_id: Mapped[int] = mapped_column(Integer, index=True)
    erased_at: Mapped[datetime] = mapped_column(UtcDateTime())


# ------------------------------------------------------------------------------------------ transport
class ProcessedUpdate(Base):
    """A Telegram update already handled (recorded in the update's own transaction): a webhook retry of it is
    skipped. Rows older than a few days are deleted; Telegram keeps an update for 24 hours at most."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
