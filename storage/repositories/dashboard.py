from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.entities import ProgrammeScope, ResponseStatus, Role
from bot.domain.statuses import CampaignStatus
from storage.models import Campaign, FormResponse, Invitation, ParentLink, Participant, ParticipantRole
from storage.repositories.programmes import in_scope
from storage.search import text_matches


class DashboardRepo:
    """Set-based counts for the curator's dashboard (a handful of queries, whatever the size)."""

    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def role_status_counts(self, scope: ProgrammeScope | None = None) -> dict[tuple[str, str], int]:
        """People by role and status (of one programme: its roles; parents are its mentees' parents)."""
        rows = await self.s.execute(
            select(ParticipantRole.role, Participant.status, func.count(func.distinct(Participant.id)))
            .join(Participant, Participant.id == ParticipantRole.participant_id)
            .where(in_scope(ParticipantRole.programme_id, scope))
            .group_by(ParticipantRole.role, Participant.status)
        )
        counts = {(role, status): n for role, status, n in rows.all()}
        if scope is not None:
            counts = {k: n for k, n in counts.items() if k[0] != Role.PARENT}
            parents = await self.s.execute(
                select(Participant.status, func.count(func.distinct(Participant.id)))
                .join(ParentLink, ParentLink.parent_id == Participant.id)
                .where(ParentLink.child_id.in_(self._mentees(scope)))
                .group_by(Participant.status)
            )
            counts.update({(Role.PARENT.value, status): n for status, n in parents.all()})
        return counts

    @staticmethod
    def _mentees(scope: ProgrammeScope) -> Any:
        return select(ParticipantRole.participant_id).where(
            ParticipantRole.role == Role.MENTEE, in_scope(ParticipantRole.programme_id, scope)
        )

    async def unreachable_counts(self, scope: ProgrammeScope | None = None) -> dict[str, int]:
        rows = await self.s.execute(
            select(ParticipantRole.role, func.count(func.distinct(Participant.id)))
            .join(Participant, Participant.id == ParticipantRole.participant_id)
            .where(Participant.unreachable.is_(True), in_scope(ParticipantRole.programme_id, scope))
            .group_by(ParticipantRole.role)
        )
        return dict(rows.all())

    async def unused_invitations(self, now: datetime, scope: ProgrammeScope | None = None) -> dict[str, int]:
        rows = await self.s.execute(
            select(Invitation.role, func.count())
            .where(
                Invitation.uses == 0,
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > now,
                in_scope(Invitation.programme_id, scope),
            )
            .group_by(Invitation.role)
        )
        return dict(rows.all())

    async def submitted_participants(self, form_ids: tuple[str, ...]) -> set[int]:
        rows = await self.s.scalars(
            select(FormResponse.participant_id)
            .where(FormResponse.form_id.in_(form_ids), FormResponse.status == ResponseStatus.SUBMITTED)
            .distinct()
        )
        return set(rows.all())

    async def intake_answers(self, form_ids: tuple[str, ...]) -> dict[int, tuple[str, dict[str, Any]]]:
        """Each participant's latest submitted intake questionnaire: its form and answers. One statement."""
        rows = await self.s.execute(
            select(FormResponse.participant_id, FormResponse.form_id, FormResponse.answers)
            .where(FormResponse.form_id.in_(form_ids), FormResponse.status == ResponseStatus.SUBMITTED)
            .order_by(FormResponse.submitted_at)
        )
        return {pid: (form_id, dict(answers or {})) for pid, form_id, answers in rows}

    async def scores_between(
        self, form_ids: tuple[str, ...], key: str, start: datetime, end: datetime
    ) -> dict[int, int]:
        """Each participant's most recent whole-number answer to `key` across these surveys, submitted in
        [start, end)."""
        rows = await self.s.execute(
            select(FormResponse.participant_id, FormResponse.answers)
            .where(
                FormResponse.form_id.in_(form_ids),
                FormResponse.status == ResponseStatus.SUBMITTED,
                FormResponse.submitted_at >= start,
                FormResponse.submitted_at < end,
            )
            .order_by(FormResponse.submitted_at)
        )
        out: dict[int, int] = {}
        for pid, answers in rows.all():
            value = (answers or {}).get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                out[pid] = value
        return out

    async def selfchecks(
        self, form_ids: tuple[str, ...], programme_id: int
    ) -> list[tuple[int, str, str, dict[str, Any]]]:
        """The programme's sent self-assessments, oldest first: (participant, form, context, answers). Their
        context is "selfcheck:<moment>:<programme id>[:<period>]"."""
        rows = await self.s.execute(
            select(
                FormResponse.participant_id, FormResponse.form_id, FormResponse.context, FormResponse.answers
            )
            .where(
                FormResponse.form_id.in_(form_ids),
                FormResponse.status == ResponseStatus.SUBMITTED,
                FormResponse.context.like("selfcheck:%"),
            )
            .order_by(FormResponse.submitted_at, FormResponse.id)
        )
        return [
            (pid, form_id, ctx, dict(answers or {}))
            for pid, form_id, ctx, answers in rows.all()
            if ctx.split(":")[2:3] == [str(programme_id)]
        ]

    async def campaign_rates(self, scope: ProgrammeScope | None = None) -> list[tuple[int, str, str, int]]:
        """(campaign id, form, period, responses) for the latest campaigns, open or closed."""
        campaigns = (
            await self.s.execute(
                select(Campaign.id, Campaign.form_id, Campaign.period)
                .where(in_scope(Campaign.programme_id, scope))
                .order_by(Campaign.id.desc())
                .limit(3)
            )
        ).all()[::-1]
        out = []
        for cid, form_id, period in campaigns:
            n = (
                await self.s.scalar(
                    select(func.count())
                    .select_from(FormResponse)
                    .where(
                        FormResponse.context == f"campaign:{cid}",
                        FormResponse.status == ResponseStatus.SUBMITTED,
                    )
                )
                or 0
            )
            out.append((cid, form_id, period, n))
        return out

    async def search_participants(self, text: str | None, offset: int, limit: int) -> tuple[list[int], int]:
        q = select(Participant.id).where(Participant.full_name.is_not(None))
        if text:
            q = q.where(text_matches(text, Participant.full_name, Participant.group_name))
        total = await self.s.scalar(select(func.count()).select_from(q.subquery())) or 0
        ids = (
            await self.s.scalars(
                q.order_by(Participant.full_name, Participant.id).offset(offset).limit(limit)
            )
        ).all()
        return list(ids), total


class CampaignRepo:
    def __init__(self, session: AsyncSession) -> None:
        self.s = session

    async def open_campaign(
        self, programme_id: int | None, form_id: str, period: str, now: datetime, closes_at: datetime
    ) -> int | None:
        """Open the campaign for this period once; None if it already exists."""
        exists = await self.s.scalar(
            select(Campaign.id).where(
                Campaign.programme_id.is_(None)
                if programme_id is None
                else Campaign.programme_id == programme_id,
                Campaign.form_id == form_id,
                Campaign.period == period,
            )
        )
        if exists:
            return None
        row = Campaign(
            programme_id=programme_id,
            form_id=form_id,
            period=period,
            status=CampaignStatus.OPEN,
            opened_at=now,
            closes_at=closes_at,
        )
        self.s.add(row)
        await self.s.flush()
        return row.id

    async def get(self, campaign_id: int) -> tuple[int, str, str, str, datetime, datetime] | None:
        r = await self.s.get(Campaign, campaign_id)
        return (r.id, r.form_id, r.period, r.status, r.opened_at, r.closes_at) if r else None

    async def open_ones(self) -> list[tuple[int, str, str, datetime, datetime]]:
        rows = await self.s.execute(
            select(
                Campaign.id, Campaign.form_id, Campaign.period, Campaign.opened_at, Campaign.closes_at
            ).where(Campaign.status == CampaignStatus.OPEN)
        )
        return [tuple(r) for r in rows.all()]  # type: ignore[misc]

    async def programme_of(self, campaign_id: int) -> int | None:
        return await self.s.scalar(select(Campaign.programme_id).where(Campaign.id == campaign_id))

    async def close_due(self, now: datetime) -> int:
        from sqlalchemy import update

        result = await self.s.execute(
            update(Campaign)
            .where(Campaign.status == CampaignStatus.OPEN, Campaign.closes_at <= now)
            .values(status=CampaignStatus.CLOSED)
        )
        return result.rowcount or 0

    async def responders(self, campaign_id: int) -> set[int]:
        rows = await self.s.scalars(
            select(FormResponse.participant_id).where(
                FormResponse.context == f"campaign:{campaign_id}",
                FormResponse.status == ResponseStatus.SUBMITTED,
            )
        )
        return set(rows.all())
