"""The SQL behind a person's data rights: everything stored about them (export), and erasing it (forget).
Returns plain dicts and numbers; never commits."""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, cast, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ResponseStatus, Role
from bot.domain.stages import MeetingStatus
from bot.domain.statuses import OutboxStatus, ReminderStatus
from storage.models import (
    AuditEntry,
    Base,
    Consent,
    DevelopmentGoal,
    ErasureLedgerEntry,
    FormResponse,
    FsmRecord,
    Invitation,
    MatchProposal,
    MaterialRead,
    Meeting,
    MentorProfile,
    OutboxMessage,
    Pair,
    PairMember,
    ParentLink,
    Participant,
    ParticipantRole,
    Reminder,
    RoadmapItem,
    TrainingAttendance,
    TrainingSession,
)

# Outbox rows still to be sent; anything else is final.
_OPEN = (OutboxStatus.PENDING,)
_OVER = (MeetingStatus.HELD, MeetingStatus.CANCELLED, MeetingStatus.MISSED)
REDACTED = "—"
GOAL_ERASED = "—"
_SCAN_PAGE = 500
# Short strings are codes, keys and statuses, never free text; the rows below are handled one by one.
_CODE_MAX_LENGTH = 64
# The person's own row is anonymised by ParticipantRepo; the ledger holds no names; the outbox's payloads are
# read one by one (a file in them is base64); everything else is searched by SQL, then redacted here.
_NOT_SCRUBBED = {"participants", "alembic_version", "erasure_ledger"}
_NOT_SCRUBBED_COLUMNS = {("outbox", "payload")}


@dataclass(frozen=True)
class Traces:
    """What identifies one person in texts: their name (as typed and HTML-escaped), username and Telegram id
    (as a number in a text, or a tg://user?id= link)."""

    words: tuple[str, ...]
    telegram_id: int | None

    @classmethod
    def of(cls, full_name: str | None, username: str | None, telegram_id: int | None) -> Traces:
        words = {
            n
            for n in (
                full_name,
                html.escape(full_name or ""),
                html.escape(full_name or "", quote=False),
                username,
            )
            if n and len(n) >= 3
        }
        return cls(tuple(sorted(words, key=len, reverse=True)), telegram_id)

    def __bool__(self) -> bool:
        return bool(self.words) or self.telegram_id is not None

    def search_forms(self) -> list[str]:
        """Every spelling the database may hold: as typed, and inside JSON with non-ASCII escaped."""
        forms = {json.dumps(w)[1:-1] for w in self.words} | set(self.words)
        if self.telegram_id is not None:
            forms.add(str(self.telegram_id))
        return sorted(forms)

    def _id(self) -> str:
        return re.escape(str(self.telegram_id))

    def link(self, value: str) -> bool:
        return self.telegram_id is not None and re.search(rf"(?<!\d){self._id()}(?!\d)", value) is not None

    def redact(self, text: str) -> str:
        if self.telegram_id is not None:
            # A mention link goes whole: <a href="tg://user?id=N">name</a>.
            text = re.sub(
                rf"<a\s+href=[\"']tg://user\?id={self._id()}[\"']\s*>.*?</a>", REDACTED, text, flags=re.S
            )
        for w in self.words:
            text = text.replace(w, REDACTED)
        if self.telegram_id is not None:
            text = re.sub(rf"(?<!\d){self._id()}(?!\d)", REDACTED, text)
        return text

    def mentioned(self, text: str) -> bool:
        return self.redact(text) != text


def _keep_scores(answers: dict[str, Any] | None) -> dict[str, Any]:
    """Integer and scale answers are numbers with no free text: the only part kept for statistics."""
    return {k: v for k, v in (answers or {}).items() if isinstance(v, int) and not isinstance(v, bool)}


def _is_link_to(node: Any, traces: Traces) -> bool:
    """A button that opens the person's profile (url tg://user?id=N): it goes, there is nothing to open."""
    return isinstance(node, dict) and isinstance(node.get("url"), str) and traces.link(node["url"])


def _redact(node: Any, traces: Traces) -> Any:
    """Every string in a JSON value (a text, a caption, a keyboard's buttons) without the person; a button
    linking to them is removed, and so is a row or keyboard left empty."""
    if isinstance(node, str):
        return traces.redact(node)
    if isinstance(node, list):
        out = [_redact(x, traces) for x in node if not _is_link_to(x, traces)]
        return [x for x in out if x != [] or not any(isinstance(y, list) for y in node)]
    if isinstance(node, dict):
        out = {k: _redact(v, traces) for k, v in node.items()}
        markup = out.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard") == []:
            out.pop("reply_markup")
        return out
    if isinstance(node, int) and not isinstance(node, bool) and node == traces.telegram_id:
        return None
    return node


def _file_mentions(payload: dict[str, Any], traces: Traces) -> bool:
    raw = payload.get("file_b64")
    if not isinstance(raw, str):
        return False
    try:
        text = base64.b64decode(raw).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return True  # cannot tell: treat as mentioning, the file is dropped
    # iCalendar folds long lines ("\r\n " continues the previous one) and escapes commas and semicolons.
    text = text.replace("\r\n ", "").replace("\n ", "").replace("\\,", ",").replace("\\;", ";")
    return traces.mentioned(text)


def _free_columns(table: Table) -> list[Any]:
    """Columns that can hold free text: text, long strings and JSON (never a key)."""
    cols = []
    for col in table.columns:
        if col.primary_key or (table.name, col.name) in _NOT_SCRUBBED_COLUMNS:
            continue
        if isinstance(col.type, JSON | Text) or (
            isinstance(col.type, String) and (col.type.length or 10_000) > _CODE_MAX_LENGTH
        ):
            cols.append(col)
    return cols


def _fsm_user(key: str) -> str | None:
    """The user part of an FSM key (fsm:<chat>[:<thread>]:<user>:<destiny>)."""
    parts = key.split(":")
    return parts[-2] if len(parts) >= 4 else None


class PrivacyRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    # -- export ---------------------------------------------------------------------------------------

    async def export(self, participant_id: int) -> dict[str, Any] | None:
        """Everything stored about one person, as plain JSON-ready values (datetimes stay datetimes).
        Other people appear as participant ids only; texts written by other people are left out, except
        what the person was told anyway (a pair's dissolution reason, a meeting's cancel reason)."""
        p = await self.s.get(Participant, participant_id)
        if p is None:
            return None
        pid, tg = p.id, p.telegram_id
        out: dict[str, Any] = {
            "participant": {
                "id": pid,
                "telegram_id": tg,
                "username": p.username,
                "full_name": p.full_name,
                "language": p.language,
                "status": p.status,
                "is_minor": p.is_minor,
                "group_name": p.group_name,
                "position": p.position,
                "unreachable": p.unreachable,
                "created_at": p.created_at,
                "updated_at": p.updated_at,
                "deletion_due_at": p.deletion_due_at,
            }
        }
        roles = await self.s.scalars(
            select(ParticipantRole).where(ParticipantRole.participant_id == pid).order_by(ParticipantRole.id)
        )
        out["roles"] = [
            {"role": r.role, "programme_id": r.programme_id, "since": r.created_at} for r in roles
        ]

        consent_cond = or_(Consent.participant_id == pid, Consent.subject_id == pid)
        if tg is not None:
            consent_cond = or_(consent_cond, Consent.telegram_id == tg)
        consents = await self.s.scalars(select(Consent).where(consent_cond).order_by(Consent.id))
        out["consents"] = [
            {
                "id": c.id,
                "kind": c.kind,
                "version": c.version,
                "accepted": c.accepted,
                "decided_at": c.decided_at,
                "withdrawn_at": c.withdrawn_at,
                "given_by_participant_id": c.participant_id,
                "subject_participant_id": c.subject_id,
            }
            for c in consents
        ]

        links = (
            await self.s.scalars(
                select(ParentLink).where(or_(ParentLink.parent_id == pid, ParentLink.child_id == pid))
            )
        ).all()
        out["family"] = {
            "parent_ids": sorted(link.parent_id for link in links if link.child_id == pid),
            "child_ids": sorted(link.child_id for link in links if link.parent_id == pid),
        }
        invitations = await self.s.scalars(
            select(Invitation).where(Invitation.child_id == pid).order_by(Invitation.id)
        )
        out["parent_invitations"] = [
            {
                "id": i.id,
                "created_at": i.created_at,
                "expires_at": i.expires_at,
                "uses": i.uses,
                "revoked_at": i.revoked_at,
            }
            for i in invitations
        ]

        responses = (
            await self.s.scalars(
                select(FormResponse).where(FormResponse.participant_id == pid).order_by(FormResponse.id)
            )
        ).all()

        def response(r: FormResponse) -> dict[str, Any]:
            return {
                "id": r.id,
                "form_id": r.form_id,
                "form_version": r.form_version,
                "version": r.version,
                "status": r.status,
                "context": r.context,
                "answers": dict(r.answers or {}),
                "started_at": r.started_at,
                "updated_at": r.updated_at,
                "submitted_at": r.submitted_at,
            }

        out["questionnaires"] = [
            response(r) for r in responses if not (r.context or "").startswith("meeting:")
        ]
        out["feedback"] = [response(r) for r in responses if (r.context or "").startswith("meeting:")]

        pair_ids = await self._pair_ids(pid)
        pairs = (await self.s.scalars(select(Pair).where(Pair.id.in_(pair_ids)).order_by(Pair.id))).all()
        members = (
            await self.s.scalars(
                select(PairMember).where(PairMember.pair_id.in_(pair_ids)).order_by(PairMember.id)
            )
        ).all()
        out["pairs"] = [
            {
                "id": pr.id,
                "programme_id": pr.programme_id,
                "my_role": Role.MENTOR if pr.mentor_id == pid else Role.MENTEE,
                "status": pr.status,
                "stage": pr.stage,
                "created_at": pr.created_at,
                "closed_at": pr.closed_at,
                "close_reason": pr.close_reason,
                "mentor_id": pr.mentor_id,
                "mentees": [
                    {"participant_id": m.mentee_id, "joined_at": m.joined_at, "left_at": m.left_at}
                    for m in members
                    if m.pair_id == pr.id
                ],
            }
            for pr in pairs
        ]
        meetings = await self.s.scalars(
            select(Meeting).where(Meeting.pair_id.in_(pair_ids)).order_by(Meeting.starts_at, Meeting.id)
        )
        out["meetings"] = [
            {
                "id": m.id,
                "pair_id": m.pair_id,
                "stage": m.stage,
                "status": m.status,
                "starts_at": m.starts_at,
                "ends_at": m.ends_at,
                "format": m.format,
                "place": m.place,
                "proposed_by_me": m.proposed_by == pid,
                "cancel_reason": m.cancel_reason,
                "held_at": m.held_at,
            }
            for m in meetings
        ]
        goals = await self.s.scalars(
            select(DevelopmentGoal).where(DevelopmentGoal.pair_id.in_(pair_ids)).order_by(DevelopmentGoal.id)
        )
        out["development_goals"] = [
            {
                "pair_id": g.pair_id,
                "text": g.text,
                "target_date": g.target_date,
                "created_at": g.created_at,
                "done_at": g.done_at,
            }
            for g in goals
        ]
        proposals = await self.s.scalars(
            select(MatchProposal)
            .where(or_(MatchProposal.mentee_id == pid, MatchProposal.mentor_id == pid))
            .order_by(MatchProposal.id)
        )
        out["match_proposals"] = [
            {
                "id": m.id,
                "my_role": Role.MENTOR if m.mentor_id == pid else Role.MENTEE,
                "score": m.score,
                "reasons": list(m.reasons or []),
                "status": m.status,
                "created_at": m.created_at,
                "decided_at": m.decided_at,
            }
            for m in proposals
        ]
        profile = await self.s.scalar(select(MentorProfile).where(MentorProfile.participant_id == pid))
        out["mentor_profile"] = (
            {
                "status": profile.status,
                "interview_on": profile.interview_on,
                "interview_note": profile.interview_note,
                "decline_reason": profile.decline_reason,
                "updated_at": profile.updated_at,
            }
            if profile
            else None
        )
        trainings = await self.s.execute(
            select(TrainingSession.id, TrainingSession.held_on, TrainingSession.topic)
            .join(TrainingAttendance, TrainingAttendance.session_id == TrainingSession.id)
            .where(TrainingAttendance.participant_id == pid)
            .order_by(TrainingSession.held_on)
        )
        out["trainings_attended"] = [
            {"session_id": sid, "held_on": held_on, "topic": topic} for sid, held_on, topic in trainings.all()
        ]
        reads = await self.s.scalars(
            select(MaterialRead).where(MaterialRead.participant_id == pid).order_by(MaterialRead.id)
        )
        out["materials_read"] = [{"material": r.material_key, "read_at": r.read_at} for r in reads]
        reminders = await self.s.scalars(
            select(Reminder).where(Reminder.participant_id == pid).order_by(Reminder.due_at, Reminder.id)
        )
        out["reminders"] = [
            {"kind": r.kind, "due_at": r.due_at, "status": r.status, "meeting_id": r.meeting_id}
            for r in reminders
        ]
        # Messages to them: what and when, never the text (it may be about other people).
        to_them = OutboxMessage.participant_id == pid
        if tg is not None:
            to_them = or_(to_them, OutboxMessage.chat_id == tg)
        messages = await self.s.execute(
            select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.created_at, OutboxMessage.sent_at)
            .where(to_them)
            .order_by(OutboxMessage.id)
        )
        out["messages"] = [
            {"kind": kind, "status": status, "created_at": created, "sent_at": sent}
            for kind, status, created, sent in messages.all()
        ]
        roadmap = await self.s.scalars(
            select(RoadmapItem).where(RoadmapItem.responsible_id == pid).order_by(RoadmapItem.id)
        )
        out["roadmap_responsibilities"] = [
            {
                "id": r.id,
                "activity": r.activity,
                "deadline": r.deadline_text,
                "due_on": r.due_on,
                "status": r.status,
            }
            for r in roadmap
        ]
        about = or_(
            (AuditEntry.object_type == "participant") & (AuditEntry.object_id == pid),
            AuditEntry.actor_id == pid,
        )
        if pair_ids:
            about = or_(about, (AuditEntry.object_type == "pair") & AuditEntry.object_id.in_(pair_ids))
        audit = await self.s.scalars(select(AuditEntry).where(about).order_by(AuditEntry.id))
        out["audit"] = [
            {
                "at": a.at,
                "action": a.action,
                "by_me": a.actor_id == pid,
                "object_type": a.object_type,
                "object_id": a.object_id,
                "details": dict(a.details or {}),
            }
            for a in audit
        ]
        return out

    async def _pair_ids(self, pid: int) -> list[int]:
        as_mentor = await self.s.scalars(select(Pair.id).where(Pair.mentor_id == pid))
        as_mentee = await self.s.scalars(select(PairMember.pair_id).where(PairMember.mentee_id == pid))
        return sorted(set(as_mentor.all()) | set(as_mentee.all()))

    # -- forget ---------------------------------------------------------------------------------------

    async def erase(self, participant_id: int, now: datetime) -> dict[str, int]:
        """Erase what identifies the person or was written by or about them, everywhere but the participant
        row itself (ParticipantRepo.anonymise does that one, and must run after this: the name is needed here
        to find it in other people's messages). Returns counts only — safe for the audit log."""
        p = await self.s.get(Participant, participant_id)
        if p is None:
            return {}
        pid, tg = p.id, p.telegram_id
        traces = Traces.of(p.full_name, p.username, tg)
        counts: dict[str, int] = {}

        # Questionnaires and feedback: drafts go; submitted answers keep integer and scale values only.
        res = await self.s.execute(
            delete(FormResponse).where(
                FormResponse.participant_id == pid, FormResponse.status == ResponseStatus.IN_PROGRESS
            )
        )
        counts["forms_deleted"] = res.rowcount or 0
        kept = (await self.s.scalars(select(FormResponse).where(FormResponse.participant_id == pid))).all()
        for r in kept:
            r.answers = _keep_scores(r.answers)
            r.draft = None
            r.current_key = None
            r.editing = False
        counts["forms_reduced"] = len(kept)

        res = await self.s.execute(
            delete(ParentLink).where(or_(ParentLink.parent_id == pid, ParentLink.child_id == pid))
        )
        counts["parent_links"] = res.rowcount or 0
        res = await self.s.execute(
            update(Invitation)
            .where(Invitation.child_id == pid, Invitation.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        counts["invitations_revoked"] = res.rowcount or 0

        # Messages to them: nothing more is sent, and the rows keep neither the chat nor the text.
        to_them = OutboxMessage.participant_id == pid
        if tg is not None:
            to_them = or_(to_them, OutboxMessage.chat_id == tg)
        res = await self.s.execute(
            update(OutboxMessage)
            .where(to_them, OutboxMessage.status.in_(_OPEN))
            .values(status=OutboxStatus.DROPPED, last_error="participant forgotten")
        )
        counts["messages_dropped"] = res.rowcount or 0
        res = await self.s.execute(update(OutboxMessage).where(to_them).values(chat_id=0, payload={}))
        counts["messages_scrubbed"] = res.rowcount or 0
        counts["messages_redacted"] = await self._redact_others_messages(p.created_at, traces)
        if tg is not None:
            counts["conversations_deleted"] = await self._delete_conversations(tg)

        res = await self.s.execute(
            update(Reminder)
            .where(Reminder.participant_id == pid, Reminder.status == ReminderStatus.PENDING)
            .values(status=ReminderStatus.CANCELLED)
        )
        counts["reminders_cancelled"] = res.rowcount or 0

        pair_ids = await self._pair_ids(pid)
        if pair_ids:
            # Texts the curator or the pair wrote about them; dates, stages and statuses stay as statistics.
            await self.s.execute(update(Pair).where(Pair.id.in_(pair_ids)).values(close_reason=None))
            await self.s.execute(
                update(Meeting).where(Meeting.pair_id.in_(pair_ids)).values(cancel_reason=None)
            )
            await self.s.execute(
                update(Meeting)
                .where(
                    Meeting.pair_id.in_(pair_ids),
                    or_(Meeting.status.in_(_OVER), Meeting.ends_at <= now),
                )
                .values(place=None)
            )
            counts["goals_erased"] = await self._erase_own_goals(pid, pair_ids)

        await self.s.execute(
            update(MentorProfile)
            .where(MentorProfile.participant_id == pid)
            .values(interview_note=None, decline_reason=None)
        )
        responsible = RoadmapItem.responsible_id == pid
        if p.full_name:
            responsible = or_(responsible, RoadmapItem.responsible.contains(p.full_name, autoescape=True))
        await self.s.execute(
            update(RoadmapItem).where(responsible).values(responsible=None, responsible_id=None)
        )
        counts["texts_redacted"] = await self._scrub_free_texts(traces)
        return counts

    async def _delete_conversations(self, tg: int) -> int:
        """The person's conversation state in every chat (state and data, which may hold answers)."""
        keys = (
            await self.s.scalars(
                select(FsmRecord.key).where(FsmRecord.key.contains(f":{tg}:", autoescape=True))
            )
        ).all()
        mine = [k for k in keys if _fsm_user(k) == str(tg)]
        if mine:
            await self.s.execute(
                delete(FsmRecord)
                .where(FsmRecord.key.in_(mine))
                .execution_options(synchronize_session="fetch")
            )
        return len(mine)

    async def _scrub_free_texts(self, traces: Traces) -> int:
        """The safety net, by mechanism rather than by list: every text, long string and JSON column of every
        table (a case story, a meeting place, an audit entry, a questionnaire answer about them, another
        person's conversation data) is searched for each spelling of the person, and the rows found are
        redacted — whatever table holds them now or later."""
        if not traces:
            return 0
        forms = traces.search_forms()
        changed = 0
        for table in Base.metadata.sorted_tables:
            if table.name in _NOT_SCRUBBED:
                continue
            cols = _free_columns(table)
            if not cols:
                continue
            pk = list(table.primary_key.columns)
            cond = false()
            for col in cols:
                text = cast(col, Text) if isinstance(col.type, JSON) else col
                for form in forms:
                    cond = or_(cond, text.contains(form, autoescape=True))
            rows = (await self.s.execute(select(*pk, *cols).where(cond))).all()
            for row in rows:
                values: dict[str, Any] = {}
                for i, col in enumerate(cols, start=len(pk)):
                    value = row[i]
                    if value is None:
                        continue
                    redacted = _redact(value, traces)
                    if redacted != value:
                        values[col.name] = redacted
                if values:
                    where = [c == row[j] for j, c in enumerate(pk)]
                    await self.s.execute(table.update().where(*where).values(values))
                    changed += 1
        return changed

    # -- the erasure ledger ---------------------------------------------------------------------------

    async def record_erasure(self, anon_key: str | None, participant_id: int, now: datetime) -> None:
        known = await self.s.scalar(
            select(ErasureLedgerEntry.id).where(
                ErasureLedgerEntry.participant_id == participant_id,
                ErasureLedgerEntry.anon_key.is_(None)
                if anon_key is None
                else ErasureLedgerEntry.anon_key == anon_key,
            )
        )
        if known is not None:
            return
        self.s.add(ErasureLedgerEntry(anon_key=anon_key, participant_id=participant_id, erased_at=now))
        await self.s.flush()

    async def ledger(self) -> list[tuple[str | None, int, datetime]]:
        rows = await self.s.execute(
            select(
                ErasureLedgerEntry.anon_key, ErasureLedgerEntry.participant_id, ErasureLedgerEntry.erased_at
            ).order_by(ErasureLedgerEntry.id)
        )
        return [(k, p, at) for k, p, at in rows.all()]

    async def merge_ledger(self, entries: list[tuple[str | None, int, datetime]]) -> int:
        """Entries from another copy of the database (the one a restore replaced) that this one lacks."""
        have = set(await self.ledger())
        new = [e for e in entries if e not in have]
        for anon_key, participant_id, at in new:
            self.s.add(ErasureLedgerEntry(anon_key=anon_key, participant_id=participant_id, erased_at=at))
        await self.s.flush()
        return len(new)

    async def identified(self) -> list[tuple[int, int | None, datetime]]:
        """Participants that still carry a Telegram id or a name: (id, telegram id, joined)."""
        rows = await self.s.execute(
            select(Participant.id, Participant.telegram_id, Participant.created_at).where(
                Participant.telegram_id.is_not(None) | Participant.full_name.is_not(None)
            )
        )
        return [(pid, tg, at) for pid, tg, at in rows.all()]

    async def _erase_own_goals(self, pid: int, pair_ids: list[int]) -> int:
        """A development plan belongs to its mentee: erased when they were the pair's only mentee (a group's
        shared plan stays for the others)."""
        members = await self.s.execute(
            select(PairMember.pair_id, PairMember.mentee_id).where(PairMember.pair_id.in_(pair_ids))
        )
        by_pair: dict[int, set[int]] = {}
        for pair_id, mentee_id in members.all():
            by_pair.setdefault(pair_id, set()).add(mentee_id)
        own = [pair_id for pair_id, mentees in by_pair.items() if mentees == {pid}]
        if not own:
            return 0
        res = await self.s.execute(
            update(DevelopmentGoal).where(DevelopmentGoal.pair_id.in_(own)).values(text=GOAL_ERASED)
        )
        return res.rowcount or 0

    async def _redact_others_messages(self, since: datetime, traces: Traces) -> int:
        """Messages to other people, in any status (a sent one keeps its text too), that name this person or
        link to them (a pair announcement, a dissolution notice, a meeting's .ics, a keyboard): the name and
        the link are replaced; a file naming them is removed, and not sent if still pending. A message about
        someone cannot predate them, so only rows created since they joined are read; of those, only rows
        that SQL finds a spelling of them in, or that carry a file."""
        if not traces:
            return 0
        text = cast(OutboxMessage.payload, Text)
        found = or_(*(text.contains(f, autoescape=True) for f in [*traces.search_forms(), "file_b64"]))
        changed = 0
        last_id = 0
        while True:
            rows = (
                await self.s.execute(
                    select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.payload)
                    .where(
                        OutboxMessage.id > last_id,
                        OutboxMessage.created_at >= since,
                        OutboxMessage.chat_id != 0,
                        found,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(_SCAN_PAGE)
                )
            ).all()
            if not rows:
                return changed
            last_id = rows[-1][0]
            for row_id, status, payload in rows:
                payload = dict(payload or {})
                in_file = _file_mentions(payload, traces)
                redacted = _redact(payload, traces)
                if redacted == payload and not in_file:
                    continue
                values: dict[str, Any] = {}
                if in_file:
                    redacted.pop("file_b64", None)
                    if status in _OPEN:
                        values.update(status=OutboxStatus.DROPPED, last_error="participant forgotten")
                values["payload"] = redacted
                await self.s.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))
                changed += 1
