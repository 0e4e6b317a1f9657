"""One holder of repositories per unit of work. Repositories never commit; whoever opened the session does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories.audit import AuditRepo
from storage.repositories.completion import CompletionRepo
from storage.repositories.consents import ConsentRepo
from storage.repositories.dashboard import CampaignRepo, DashboardRepo
from storage.repositories.forms import FormRepo
from storage.repositories.fsm import FsmRepo
from storage.repositories.invitations import InvitationRepo
from storage.repositories.meetings import MeetingRepo, ReminderRepo
from storage.repositories.mentors import MentorBaseRepo
from storage.repositories.outbox import OutboxRepo
from storage.repositories.pairs import PairRepo
from storage.repositories.participants import ParticipantRepo
from storage.repositories.privacy import PrivacyRepo
from storage.repositories.programmes import ProgrammeRepo
from storage.repositories.reports import ReportRepo

# The update's open session, so the FSM storage writes in the same transaction as the handler.
current_session: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


class Repos:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.participants = ParticipantRepo(session)
        self.invitations = InvitationRepo(session)
        self.consents = ConsentRepo(session)
        self.programmes = ProgrammeRepo(session)
        self.outbox = OutboxRepo(session)
        self.fsm = FsmRepo(session)
        self.audit = AuditRepo(session)
        self.forms = FormRepo(session)
        self.pairs = PairRepo(session)
        self.meetings = MeetingRepo(session)
        self.reminders = ReminderRepo(session)
        self.mentor_base = MentorBaseRepo(session)
        self.dashboard = DashboardRepo(session)
        self.campaigns = CampaignRepo(session)
        self.reports = ReportRepo(session)
        self.completion = CompletionRepo(session)
        self.privacy = PrivacyRepo(session)


@asynccontextmanager
async def unit_of_work(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[Repos]:
    """Commit on success, roll back on any exception."""
    async with factory() as session:
        token = current_session.set(session)
        try:
            yield Repos(session)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            current_session.reset(token)
