"""Bulk reads for /export and /report: a few set-based queries over the whole programme, plain rows out.

Nothing here returns a Telegram id or username: an exported file leaves the bot's control, and those two
are what would let a reader contact a child directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ProgrammeScope, ResponseStatus, Role
from storage.models import FormResponse, Meeting, Pair, PairMember, ParentLink, Participant, ParticipantRole
from storage.repositories.programmes import in_scope


@dataclass(frozen=True)
class PersonRow:
    id: int
    full_name: str | None
    status: str
    roles: tuple[str, ...]
    is_minor: bool | None
    group_name: str | None
    position: str | None
    language: str
    joined_at: datetime


@dataclass(frozen=True)
class AnswerRow:
    """The submitted version of one person's intake questionnaire."""

    participant_id: int
    form_id: str
    form_version: int
    version: int
    answers: Mapping[str, Any]
    submitted_at: datetime | None


@dataclass(frozen=True)
class PairRow:
    id: int
    programme_id: int | None
    mentor_id: int
    mentee_ids: tuple[int, ...]
    """Mentees in the pair now."""
    former_mentee_ids: tuple[int, ...]
    """Mentees who left it (all of them, once a pair is dissolved)."""
    stage: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    close_reason: str | None


@dataclass(frozen=True)
class MeetingRow:
    id: int
    pair_id: int
    stage: str
    status: str
    starts_at: datetime
    ends_at: datetime
    format: str
    held_at: datetime | None
    cancel_reason: str | None


@dataclass(frozen=True)
class FeedbackRow:
    """A submitted meeting feedback or survey, reduced to its score (None if not a whole number)."""

    response_id: int
    participant_id: int
    form_id: str
    meeting_id: int | None
    """From the context "meeting:<id>"; None for surveys."""
    score: int | None
    role: str | None
    """The role the person answered with (the final survey asks), else None."""
    submitted_at: datetime | None


def _meeting_id(context: str | None) -> int | None:
    if context and context.startswith("meeting:"):
        tail = context.removeprefix("meeting:")
        return int(tail) if tail.isdigit() else None
    return None


class ReportRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def people(self, scope: ProgrammeScope | None = None) -> list[PersonRow]:
        """Everyone; of one programme, those with a role in it and its mentees' parents."""
        roles: dict[int, list[str]] = {}
        for pid, role in (
            await self.s.execute(
                select(ParticipantRole.participant_id, ParticipantRole.role).order_by(ParticipantRole.id)
            )
        ).all():
            have = roles.setdefault(pid, [])
            if role not in have:  # one role in several programmes is still one role
                have.append(role)
        rows = await self.s.execute(
            select(
                Participant.id,
                Participant.full_name,
                Participant.status,
                Participant.is_minor,
                Participant.group_name,
                Participant.position,
                Participant.language,
                Participant.created_at,
            )
            .where(self._members(scope))
            .order_by(Participant.id)
        )
        return [
            PersonRow(
                id=pid,
                full_name=name,
                status=status,
                roles=tuple(roles.get(pid, ())),
                is_minor=minor,
                group_name=group,
                position=position,
                language=language,
                joined_at=joined,
            )
            for pid, name, status, minor, group, position, language, joined in rows.all()
        ]

    @staticmethod
    def _members(scope: ProgrammeScope | None) -> Any:
        if scope is None:
            return Participant.id.is_not(None)
        in_programme = select(ParticipantRole.participant_id).where(
            in_scope(ParticipantRole.programme_id, scope)
        )
        mentees = select(ParticipantRole.participant_id).where(
            ParticipantRole.role == Role.MENTEE, in_scope(ParticipantRole.programme_id, scope)
        )
        parents = select(ParentLink.parent_id).where(ParentLink.child_id.in_(mentees))
        return or_(Participant.id.in_(in_programme), Participant.id.in_(parents))

    async def answers(self, form_ids: Iterable[str]) -> list[AnswerRow]:
        """One row per person and form: the newest submitted version (earlier ones are superseded anyway)."""
        rows = await self.s.execute(
            select(
                FormResponse.participant_id,
                FormResponse.form_id,
                FormResponse.form_version,
                FormResponse.version,
                FormResponse.answers,
                FormResponse.submitted_at,
            )
            .where(
                FormResponse.form_id.in_(list(form_ids)),
                FormResponse.status == ResponseStatus.SUBMITTED,
                FormResponse.context.is_(None),
            )
            .order_by(FormResponse.participant_id, FormResponse.form_id, FormResponse.version.desc())
        )
        out: list[AnswerRow] = []
        seen: set[tuple[int, str]] = set()
        for pid, form_id, form_version, version, answers, submitted_at in rows.all():
            if (pid, form_id) in seen:
                continue
            seen.add((pid, form_id))
            out.append(AnswerRow(pid, form_id, form_version, version, dict(answers or {}), submitted_at))
        return out

    async def pairs(self, scope: ProgrammeScope | None = None) -> list[PairRow]:
        current: dict[int, list[int]] = {}
        former: dict[int, list[int]] = {}
        for pair_id, mentee_id, left_at in (
            await self.s.execute(
                select(PairMember.pair_id, PairMember.mentee_id, PairMember.left_at).order_by(PairMember.id)
            )
        ).all():
            (current if left_at is None else former).setdefault(pair_id, []).append(mentee_id)
        rows = await self.s.execute(
            select(
                Pair.id,
                Pair.programme_id,
                Pair.mentor_id,
                Pair.stage,
                Pair.status,
                Pair.created_at,
                Pair.closed_at,
                Pair.close_reason,
            )
            .where(in_scope(Pair.programme_id, scope))
            .order_by(Pair.id)
        )
        return [
            PairRow(
                id=pid,
                programme_id=programme_id,
                mentor_id=mentor_id,
                mentee_ids=tuple(current.get(pid, ())),
                former_mentee_ids=tuple(former.get(pid, ())),
                stage=stage,
                status=status,
                created_at=created_at,
                closed_at=closed_at,
                close_reason=close_reason,
            )
            for pid, programme_id, mentor_id, stage, status, created_at, closed_at, close_reason in rows.all()
        ]

    async def meetings(self) -> list[MeetingRow]:
        rows = await self.s.execute(
            select(
                Meeting.id,
                Meeting.pair_id,
                Meeting.stage,
                Meeting.status,
                Meeting.starts_at,
                Meeting.ends_at,
                Meeting.format,
                Meeting.held_at,
                Meeting.cancel_reason,
            ).order_by(Meeting.pair_id, Meeting.starts_at, Meeting.id)
        )
        return [MeetingRow(*row) for row in rows.all()]

    async def feedback(self, score_keys: Mapping[str, str]) -> list[FeedbackRow]:
        """Submitted responses of the forms in ``score_keys`` (form id -> the question holding the score)."""
        rows = await self.s.execute(
            select(
                FormResponse.id,
                FormResponse.participant_id,
                FormResponse.form_id,
                FormResponse.context,
                FormResponse.answers,
                FormResponse.submitted_at,
            )
            .where(
                FormResponse.form_id.in_(list(score_keys)), FormResponse.status == ResponseStatus.SUBMITTED
            )
            .order_by(FormResponse.id)
        )
        out = []
        for rid, pid, form_id, context, answers, submitted_at in rows.all():
            answers = answers or {}
            score = answers.get(score_keys[form_id])
            role = answers.get("role")
            out.append(
                FeedbackRow(
                    response_id=rid,
                    participant_id=pid,
                    form_id=form_id,
                    meeting_id=_meeting_id(context),
                    # bool is an int subclass: a yes/no answer is not a score
                    score=score if isinstance(score, int) and not isinstance(score, bool) else None,
                    role=role if isinstance(role, str) else None,
                    submitted_at=submitted_at,
                )
            )
        return out
