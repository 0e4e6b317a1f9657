"""Institutions and the district: the curator's institution (the boundary their unit of work sees), the
coordinator creating institutions and inviting each one's first curator. No Telegram here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.domain.entities import InstitutionDTO, InvitationDTO, NewMessage, ParticipantDTO, Role
from bot.services import onboarding
from storage.repositories.institutions import FIRST_INSTITUTION_TITLE
from storage.tenancy import InstitutionScope, set_scope, within
from storage.uow import Repos

TITLE_MAX = 300
CURATOR_LINK_HOURS = 72  # a coordinator's link for an institution's first curator


async def enter(repos: Repos, curator_id: int, now: datetime) -> InstitutionScope:
    """Scope the unit to the institution the curator works in: the one they chose, if still theirs, else
    their first. An installation with no institution yet gets its first one."""
    own, chosen = await repos.institutions.of_curator(curator_id)
    if (
        not own
    ):  # a curator's role gets the first institution when it is added: this is a database made by hand
        own = [await repos.institutions.ensure_first(FIRST_INSTITUTION_TITLE, now)]
    scope = await repos.institutions.scope(chosen if chosen in own else own[0])
    set_scope(repos.session, scope)
    return scope


async def curated_by(repos: Repos, curator_id: int) -> list[InstitutionDTO]:
    own, _ = await repos.institutions.of_curator(curator_id)
    found = [await repos.institutions.get(i) for i in own]
    return [i for i in found if i is not None]


async def switch(repos: Repos, curator_id: int, institution_id: int, now: datetime) -> InstitutionDTO | None:
    """The curator works in another of their institutions from now on (None: not one of theirs)."""
    own, _ = await repos.institutions.of_curator(curator_id)
    if institution_id not in own:
        return None
    found = await repos.institutions.get(institution_id)  # the repository reads across the boundary
    if found is None:
        return None
    await repos.institutions.set_current(curator_id, institution_id, now)
    await repos.audit.log(
        "institution.switch", now, actor_id=curator_id, object_type="institution", object_id=institution_id
    )
    return found


async def for_each(repos: Repos, work: Callable[[], Awaitable[list[NewMessage]]]) -> list[NewMessage]:
    """Run a job's curator-facing work once per institution, the unit scoped to it each time: a curator's
    digest names only their institution's people. Messages from an institution other than the first carry
    its number in their dedup key (a curator of two gets both)."""
    institutions = await repos.institutions.all()
    if not institutions:
        return await work()
    first = institutions[0].id
    out: list[NewMessage] = []
    for institution in institutions:
        with within(repos.session, await repos.institutions.scope(institution.id)):
            for message in await work():
                if institution.id != first and message.dedup_key:
                    message = replace(message, dedup_key=f"{message.dedup_key}:i{institution.id}")
                out.append(message)
    return out


async def curators_of_programme(repos: Repos, programme_id: int | None) -> list[ParticipantDTO]:
    """The curators a programme's news goes to: its institution's (every curator before institutions)."""
    institution = await repos.institutions.of_programme(programme_id)
    if institution is None:
        return await repos.participants.with_role(Role.CURATOR)
    with within(repos.session, await repos.institutions.scope(institution)):
        return await repos.participants.with_role(Role.CURATOR)


# -- the coordinator ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CuratorLink:
    institution: InstitutionDTO
    token: str
    expires_at: datetime


def clean_title(text: str | None) -> str | None:
    title = " ".join((text or "").split())
    return title if 2 <= len(title) <= TITLE_MAX else None


async def create(repos: Repos, coordinator_id: int, title: str, now: datetime) -> InstitutionDTO:
    institution = await repos.institutions.create(title, now)
    await repos.audit.log(
        "institution.create",
        now,
        actor_id=coordinator_id,
        object_type="institution",
        object_id=institution.id,
    )
    return institution


async def rename(repos: Repos, coordinator_id: int, institution_id: int, title: str, now: datetime) -> bool:
    """The institution's name as reports show it (False: no such institution)."""
    if not await repos.institutions.rename(institution_id, title):
        return False
    await repos.audit.log(
        "institution.rename",
        now,
        actor_id=coordinator_id,
        object_type="institution",
        object_id=institution_id,
    )
    return True


async def invite_coordinator(repos: Repos, coordinator_id: int, now: datetime) -> tuple[str, datetime]:
    """A single-use link that makes its holder a coordinator of the district (aggregates only)."""
    token, invitation = await _single_use_link(repos, Role.COORDINATOR, coordinator_id, now)
    return token, invitation.expires_at


async def _single_use_link(
    repos: Repos, role: Role, coordinator_id: int, now: datetime, institution_id: int | None = None
) -> tuple[str, InvitationDTO]:
    """A coordinator's link: used once, alive CURATOR_LINK_HOURS."""
    return await onboarding.create_invitation(
        repos,
        role=role,
        now=now,
        ttl_days=0,
        ttl=timedelta(hours=CURATOR_LINK_HOURS),
        created_by=coordinator_id,
        max_uses=1,
        institution_id=institution_id,
    )


async def invite_curator(
    repos: Repos, coordinator_id: int, institution_id: int, now: datetime
) -> CuratorLink | None:
    """A single-use link that makes its holder a curator of the institution (None: no such institution)."""
    institution = await repos.institutions.get(institution_id)
    if institution is None:
        return None
    token, invitation = await _single_use_link(repos, Role.CURATOR, coordinator_id, now, institution.id)
    await repos.audit.log(
        "institution.invite_curator",
        now,
        actor_id=coordinator_id,
        object_type="institution",
        object_id=institution.id,
    )
    return CuratorLink(institution, token, invitation.expires_at)
