"""The unit of work: one session, the repositories on it, one transaction.

Repositories never commit. The transaction ends where the unit was opened:

- ``unit_of_work(factory)`` (scheduler jobs, the outbox sender, command-line tools) commits when its block
  ends normally and rolls back on any exception.
- An update's unit (bot/middlewares/db.py) commits the same way at the end of the update, and in addition
  right before each request the handler makes to Telegram (a message, an edit, a button's answer): what a
  person is told is already saved. See ``Repos.commit_before_reply``; the request middleware in bot/app.py
  calls it. A use case therefore needs no commit of its own: everything it wrote before the handler replies is
  committed by that reply, and what it writes after is committed at the end of the update.
- An update's id goes into the first of those commits (``record_update``, bot/middlewares/once.py), with the
  update's effects: a step is one commit, and an update whose effects were saved is never applied again. The
  id found recorded already means another copy of the update was handled: the transaction is rolled back
  before anything is said, and ``AlreadyHandled`` ends the update."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories.announce import AnnounceRepo
from storage.repositories.audit import AuditRepo
from storage.repositories.completion import CompletionRepo
from storage.repositories.consents import ConsentRepo
from storage.repositories.dashboard import CampaignRepo, DashboardRepo
from storage.repositories.desk import DeskRepo
from storage.repositories.forms import FormRepo
from storage.repositories.fsm import FsmRepo
from storage.repositories.institutions import InstitutionRepo
from storage.repositories.invitations import InvitationRepo
from storage.repositories.meetings import MeetingRepo, ReminderRepo
from storage.repositories.mentors import MentorBaseRepo
from storage.repositories.outbox import OutboxRepo
from storage.repositories.pairs import PairRepo
from storage.repositories.participants import ParticipantRepo
from storage.repositories.privacy import PrivacyRepo
from storage.repositories.programmes import ProgrammeRepo
from storage.repositories.reports import ReportRepo
from storage.repositories.roadmap import RoadmapRepo
from storage.repositories.swot import SwotRepo
from storage.repositories.updates import UpdateRepo
from storage.tenancy import scope_of


class AlreadyHandled(Exception):
    """The update's id was recorded by another copy of it: this copy's transaction is rolled back."""

    def __init__(self, update_id: int) -> None:
        super().__init__(update_id)
        self.update_id = update_id


class Repos:
    """Every repository of one unit of work, all on the same session (``session``)."""

    def __init__(self, session: AsyncSession, *, commits_before_reply: bool = False) -> None:
        self.session = session
        # True for an update's unit: a request to Telegram commits what was written so far.
        self.commits_before_reply = commits_before_reply
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
        self.roadmap = RoadmapRepo(session)
        self.announce = AnnounceRepo(session)
        self.updates = UpdateRepo(session)
        self.institutions = InstitutionRepo(session)
        self.swot = SwotRepo(session)
        self.desk = DeskRepo(session)
        self._update: tuple[int, datetime] | None = None  # an update id to record with the next commit
        self._recorded: int | None = None  # ... once a commit recorded it

    @property
    def institution_id(self) -> int | None:
        """The institution this unit is scoped to (None: it sees every institution)."""
        scope = scope_of(self.session)
        return scope.institution_id if scope is not None else None

    def record_update(self, update_id: int, now: datetime) -> None:
        """Record `update_id` as handled in the next commit, together with what the update wrote before it."""
        self._update = (update_id, now)

    async def commit(self) -> None:
        """Commit the unit's transaction: the conversation states it changed (written only now, once each)
        and the update id waiting to be recorded, if any. Raises AlreadyHandled (after rolling back) when
        that id is recorded already."""
        await self.fsm.flush()
        recording, self._update = self._update, None
        if recording is not None and not await self.updates.record(*recording):
            await self.session.rollback()
            raise AlreadyHandled(recording[0])
        await self.session.commit()
        if recording is not None:
            self._recorded = recording[0]

    async def unrecord_update(self) -> None:
        """The update failed after its first commit (a reply Telegram refused, a later step that raised): roll
        back what is not committed and take its id back off the record, so that Telegram's retry handles it
        again, as it would one that failed before any commit. What was committed before a reply stays."""
        if self._recorded is None:
            return
        update_id, self._recorded = self._recorded, None
        await self.session.rollback()
        await self.updates.forget(update_id)
        await self.session.commit()

    async def commit_before_reply(self) -> None:
        """The update's rule "what a person is told is saved": commit the transaction so far before a request
        to Telegram leaves. A kill right after the reply cannot lose an answer the person saw acknowledged,
        and no database lock is held while Telegram answers. The work continues in a new transaction that
        commits at the end of the update. Does nothing for a unit that is not an update's."""
        if self.commits_before_reply and (
            self._update is not None or self.fsm.changed() or self.session.in_transaction()
        ):
            await self.commit()


# The unit the running task opened, with that task: the FSM storage (storage/fsm.py) writes in its
# transaction, and a request to Telegram commits it (bot/middlewares/db.py). A task started from inside a unit
# (a progress watcher) inherits the variable but is not its owner, so it gets None from current_unit().
_current: ContextVar[tuple[Repos, asyncio.Task[Any] | None] | None] = ContextVar("current_unit", default=None)


def current_unit() -> Repos | None:
    """The unit of work the running task opened and is inside of, or None."""
    opened = _current.get()
    if opened is None:
        return None
    repos, owner = opened
    return repos if owner is asyncio.current_task() else None


@asynccontextmanager
async def unit_of_work(
    factory: async_sessionmaker[AsyncSession], *, commits_before_reply: bool = False
) -> AsyncIterator[Repos]:
    """Commit on success, roll back on any exception. ``commits_before_reply``: this is an update's unit (see
    ``Repos.commit_before_reply``)."""
    async with factory() as session:
        repos = Repos(session, commits_before_reply=commits_before_reply)
        token = _current.set((repos, asyncio.current_task()))
        try:
            yield repos
            await repos.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            _current.reset(token)
