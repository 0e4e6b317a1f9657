"""People a curator or a coordinator chose in Telegram's own list of their chats (a KeyboardButtonRequestUsers
button; bot/callbacks/picks.py) instead of typing anything: who the chosen person is here, and what choosing
them does — one side of a pair made by hand, or a role granted at once, bound to that very Telegram account
(as `nastavnik add-curator` grants the first curator; a link could be forwarded to anyone). Someone who has
not written to the bot yet is stored as their Telegram id only and finishes joining — consent, name — with
/start. No Telegram here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.entities import ParticipantDTO, ProgrammeDTO, Role, Status
from bot.services import matching
from bot.services.notify import Localized, notify, reachable
from storage.uow import Repos


class Problem(StrEnum):
    """Why the chosen person cannot be taken; the value is the locale key of the reply."""

    NOT_HERE = "conventions.pick.not_here"
    NOT_MENTEE = "conventions.pick.not_mentee"
    NOT_MENTOR = "conventions.pick.not_mentor"
    WITHDRAWN = "conventions.pick.withdrawn"
    STALE = "common.stale"


async def pair_side(
    repos: Repos, programme: ProgrammeDTO, telegram_id: int, role: Role
) -> ParticipantDTO | Problem:
    """The chosen person as the mentee (or the mentor) of a pair made by hand: one of the programme's mentees
    still without a pair (or its mentors), as /pair lists them."""
    person = await repos.participants.by_telegram_id(telegram_id)
    if person is None or not person.full_name:
        return Problem.NOT_HERE
    pool = await matching.build_pool(repos, programme)
    side = pool.mentees if role == Role.MENTEE else pool.mentors
    if person.id not in {x.id for x in side}:
        return Problem.NOT_MENTEE if role == Role.MENTEE else Problem.NOT_MENTOR
    return person


@dataclass(frozen=True)
class Granted:
    person: ParticipantDTO
    added: bool  # False: they held the role there already
    joined: bool  # they use the bot: told now (their menu changes); otherwise the role waits for their /start


async def grant(
    repos: Repos,
    actor_id: int,
    telegram_id: int,
    role: Role,
    now: datetime,
    *,
    language: str,
    programme_id: int | None = None,
    institution_id: int | None = None,
) -> Granted | Problem:
    """The chosen person gets `role` (a curator of the programme's or the given institution, or a
    coordinator). Someone who withdrew their consent is not brought back this way: they join again by a
    link."""
    person = await repos.participants.by_telegram_id(telegram_id)
    if person is not None and person.status == Status.WITHDRAWN.value:
        return Problem.WITHDRAWN
    if person is None:
        # Only the id is stored; the person gives consent and a name on /start.
        person = await repos.participants.create(telegram_id, language, Status.ONBOARDING.value, now)
    added = await repos.participants.add_role(
        person.id, role, now, programme_id=programme_id, institution_id=institution_id
    )
    fresh = await repos.participants.get(person.id)
    if fresh is None:
        return Problem.STALE
    if added:
        await repos.audit.log(
            f"{role.value}.add",
            now,
            actor_id=actor_id,
            object_type="participant",
            object_id=fresh.id,
            via="pick",
        )
        await notify(
            repos,
            now,
            [fresh],
            "conventions.pick.granted",
            kind="role",
            priority=2,
            # once per grant: a role taken away and given again is news again
            dedup=f"role-granted:{role.value}:{institution_id or programme_id or 0}:{now.isoformat()}",
            params={"role": Localized(f"roles.{role.value}")},
        )
    return Granted(fresh, added, reachable(fresh))
