from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import NewMessage, OutboxItem, PairStatus, Status
from bot.domain.stages import MeetingStatus
from bot.domain.statuses import OutboxStatus
from bot.text import split_text
from storage.models import Meeting, OutboxMessage, Pair, PairMember, Participant

# Final states: nothing more will be attempted for these rows.
FINAL = (
    OutboxStatus.SENT,
    OutboxStatus.UNREACHABLE,
    OutboxStatus.FAILED,
    OutboxStatus.DROPPED,
    OutboxStatus.UNCERTAIN,
    OutboxStatus.EXPIRED,
)
KEY_LENGTH: int = OutboxMessage.__table__.c.dedup_key.type.length


def stored_key(key: str | None) -> str | None:
    """A dedup key as the column holds it. A key longer than the column (an alert naming every late pair)
    keeps its beginning and ends with the SHA-256 of the whole key: the same key always stores the same way,
    so a repeated enqueue still adds nothing, and PostgreSQL never refuses the row for its length."""
    if key is None or len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"{key[: KEY_LENGTH - len(digest) - 1]}~{digest}"


def _stale(now: datetime) -> ColumnElement[bool]:
    """A time-bound row that must not be sent any more: its deadline passed; its meeting is gone, cancelled,
    missed or moved (another sequence); its pair ended; or its person is no longer in the pair. Rows without
    these references (most messages) are never stale. Evaluated inside the claim, so it costs no query of
    its own."""
    meeting_ok = exists(
        select(Meeting.id).where(
            Meeting.id == OutboxMessage.meeting_id,
            Meeting.status.not_in((MeetingStatus.CANCELLED, MeetingStatus.MISSED)),
            or_(OutboxMessage.meeting_sequence.is_(None), Meeting.sequence == OutboxMessage.meeting_sequence),
        )
    )
    pair_ok = exists(
        select(Pair.id).where(Pair.id == OutboxMessage.pair_id, Pair.status == PairStatus.ACTIVE)
    )
    in_pair = or_(
        exists(
            select(Pair.id).where(
                Pair.id == OutboxMessage.pair_id, Pair.mentor_id == OutboxMessage.participant_id
            )
        ),
        exists(
            select(PairMember.id).where(
                PairMember.pair_id == OutboxMessage.pair_id,
                PairMember.mentee_id == OutboxMessage.participant_id,
                PairMember.left_at.is_(None),
            )
        ),
    )
    return or_(
        and_(OutboxMessage.expires_at.is_not(None), OutboxMessage.expires_at <= now),
        and_(OutboxMessage.meeting_id.is_not(None), ~meeting_ok),
        and_(OutboxMessage.pair_id.is_not(None), ~pair_ok),
        and_(OutboxMessage.pair_id.is_not(None), OutboxMessage.participant_id.is_not(None), ~in_pair),
    )


def _item(row: OutboxMessage) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        chat_id=row.chat_id,
        participant_id=row.participant_id,
        kind=row.kind,
        method=row.method,
        payload=dict(row.payload),
        priority=row.priority,
        attempts=row.attempts,
        batch_id=row.batch_id,
    )


def _pieces(m: NewMessage) -> list[str]:
    if m.method != "sendMessage" or m.extra.get("parse_mode"):
        return [m.text]
    return split_text(m.text)


def _row(
    m: NewMessage,
    text: str,
    markup: dict[str, Any] | None,
    dedup_key: str | None,
    batch_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    payload = {"text": text, **m.extra}
    if markup is not None:
        payload["reply_markup"] = markup
    return dict(
        chat_id=m.chat_id,
        participant_id=m.participant_id,
        kind=m.kind,
        method=m.method,
        payload=payload,
        priority=m.priority,
        dedup_key=stored_key(dedup_key),
        batch_id=batch_id,
        status=OutboxStatus.PENDING,
        attempts=0,
        not_before=m.not_before or now,
        created_at=now,
        expires_at=m.expires_at,
        meeting_id=m.meeting_id,
        meeting_sequence=m.meeting_sequence,
        pair_id=m.pair_id,
    )


class OutboxRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def enqueue(self, messages: list[NewMessage], now: datetime) -> int:
        """Insert messages; those whose dedup_key already exists are skipped. Returns how many were new.

        Every message the bot sends later passes here, so here a plain text longer than Telegram takes (a
        digest of many pairs) becomes several rows cut at paragraph boundaries (bot/text.py), in order, the
        buttons under the last. The pieces after the first are inserted only when the first was (their
        dedup keys are the first's with `#2`, `#3`…), so a repeated enqueue adds nothing, and they carry no
        batch id: a batch counts people, not pieces. HTML texts are not cut (a tag could be cut in half):
        they are announcements Telegram already took from the curator, or short templates."""
        if not messages:
            return 0
        inserted = 0
        plain: list[dict[str, Any]] = []
        for m in messages:
            parts = _pieces(m)
            if len(parts) == 1:
                plain.append(_row(m, m.text, m.reply_markup, m.dedup_key, m.batch_id, now))
                continue
            # In order with the messages around it: what was gathered so far goes first.
            inserted += await self._insert(plain)
            plain = []
            first = _row(m, parts[0], None, m.dedup_key, m.batch_id, now)
            if not await self._insert([first]):
                continue
            inserted += 1
            rest = [
                _row(
                    m,
                    part,
                    m.reply_markup if n == len(parts) else None,
                    f"{m.dedup_key}#{n}" if m.dedup_key else None,
                    None,
                    now,
                )
                for n, part in enumerate(parts[1:], 2)
            ]
            await self._insert(rest)
        return inserted + await self._insert(plain)

    async def _insert(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        dialect = self.s.bind.dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        inserted = 0
        # Chunks keep each statement under SQLite's bound-parameter limit.
        for start in range(0, len(rows), 500):
            stmt = insert(OutboxMessage).values(rows[start : start + 500])
            stmt = stmt.on_conflict_do_nothing(index_elements=["dedup_key"])
            result = await self.s.execute(stmt)
            inserted += result.rowcount or 0
        return inserted

    async def due(self, now: datetime, limit: int) -> list[OutboxItem]:
        rows = await self.s.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
        )
        return [_item(r) for r in rows]

    async def earlier_pending_chats(self, firsts: dict[int, tuple[int, int]], now: datetime) -> set[int]:
        """Chats whose chosen message (priority, id) must wait: another message to the chat is in flight, or
        an older one of the same or a more urgent priority is still due. Within a priority, per-chat order is
        kept; a more urgent message (a reply, a reminder) may overtake bulk ones to the same person."""
        if not firsts:
            return set()
        rows = await self.s.execute(
            select(
                OutboxMessage.chat_id, OutboxMessage.status, OutboxMessage.priority, OutboxMessage.id
            ).where(
                OutboxMessage.chat_id.in_(list(firsts)),
                (OutboxMessage.status == OutboxStatus.SENDING)
                | ((OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.not_before <= now)),
            )
        )
        blocked = set()
        for chat, status, priority, row_id in rows.all():
            if status == OutboxStatus.SENDING or (priority, row_id) < firsts[chat]:
                blocked.add(chat)
        return blocked

    async def claim_many(self, ids: list[int], now: datetime, lease: timedelta) -> set[int]:
        """Take rows for sending; returns those taken (a row another sender has, or whose person withdrew
        consent, is not). A conditional update, so two senders can never both win a row; on PostgreSQL the
        rows are first locked with SKIP LOCKED, so instances pass over rows another one is claiming."""
        if not ids:
            return set()
        if self.s.bind.dialect.name == "postgresql":
            ids = list(
                await self.s.scalars(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
                    .with_for_update(skip_locked=True)
                )
            )
            if not ids:
                return set()
        withdrawn = (
            select(Participant.id)
            .where(Participant.telegram_id == OutboxMessage.chat_id, Participant.status == Status.WITHDRAWN)
            .exists()
        )
        taken = await self.s.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status == OutboxStatus.PENDING,
                ~withdrawn,
                ~_stale(now),
            )
            .values(
                status=OutboxStatus.SENDING, attempts=OutboxMessage.attempts + 1, claimed_until=now + lease
            )
            .returning(OutboxMessage.id)
        )
        return set(taken.all())

    async def expire_stale(self, ids: list[int], now: datetime) -> set[int]:
        """Of these rows (ones a claim passed over), the pending time-bound ones that must not be sent any
        more become 'expired' (kept, with the reason, not deleted). Returns their ids."""
        if not ids:
            return set()
        expired = await self.s.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING, _stale(now))
            .values(status=OutboxStatus.EXPIRED, last_error="no longer meaningful", claimed_until=None)
            .returning(OutboxMessage.id)
        )
        return set(expired.all())

    async def unclaim(self, ids: list[int]) -> None:
        """Claimed rows whose request never started (the sender is stopping): back to the queue."""
        await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, attempts=OutboxMessage.attempts - 1, claimed_until=None)
        )

    async def settle_claims(self, claimed: set[int], started: set[int]) -> tuple[int, int]:
        """After a crash of the sender that kept a send journal: of the rows it claimed and left 'sending',
        those whose request had started become 'uncertain'; the others never left and go back to 'pending'.
        Returns (requeued, uncertain)."""
        sending = [
            i
            for i in await self.s.scalars(
                select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.SENDING)
            )
            if i in claimed
        ]
        gone = [i for i in sending if i in started]
        back = [i for i in sending if i not in started]
        for start in range(0, len(back), 500):
            await self.unclaim(back[start : start + 500])
        for start in range(0, len(gone), 500):
            await self.s.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(gone[start : start + 500]),
                    OutboxMessage.status == OutboxStatus.SENDING,
                )
                .values(
                    status=OutboxStatus.UNCERTAIN, last_error="sender stopped mid-send", claimed_until=None
                )
            )
        return len(back), len(gone)

    async def finish(
        self,
        item_id: int,
        status: str,
        now: datetime,
        *,
        message_id: int | None = None,
        error: str | None = None,
    ) -> None:
        assert status in FINAL
        await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == item_id)
            .values(
                status=status,
                sent_at=now if status == OutboxStatus.SENT else None,
                telegram_message_id=message_id,
                last_error=error,
                claimed_until=None,
            )
        )

    async def retry_later(
        self, item_id: int, not_before: datetime, error: str, *, count_attempt: bool = True
    ) -> None:
        values: dict[str, object] = dict(
            status=OutboxStatus.PENDING, not_before=not_before, last_error=error, claimed_until=None
        )
        if not count_attempt:
            values["attempts"] = OutboxMessage.attempts - 1
        await self.s.execute(update(OutboxMessage).where(OutboxMessage.id == item_id).values(**values))

    async def expire_leases(self, now: datetime) -> int:
        """Rows whose sender died mid-send. Telegram may already have accepted them, so they are never
        re-sent: they become 'uncertain' and show up in delivery reports instead."""
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now)
            .values(status=OutboxStatus.UNCERTAIN, last_error="sender stopped mid-send", claimed_until=None)
        )
        return result.rowcount or 0

    async def drop_for_chat(self, chat_id: int, reason: str) -> int:
        result = await self.s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.DROPPED, last_error=reason)
        )
        return result.rowcount or 0

    async def was_enqueued(self, dedup_key: str) -> bool:
        """Whether a message with this dedup key was ever queued (e.g. a person's campaign invitation)."""
        key = stored_key(dedup_key)
        return bool(await self.s.scalar(select(exists().where(OutboxMessage.dedup_key == key))))

    async def batch_counts(self, batch_id: str) -> dict[str, int]:
        rows = await self.s.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.batch_id == batch_id)
            .group_by(OutboxMessage.status)
        )
        return {status: n for status, n in rows.all()}

    async def counts(self) -> dict[str, int]:
        rows = await self.s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: n for status, n in rows.all()}
