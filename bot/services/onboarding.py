"""Onboarding: invitations, consent, profile. Application logic over repositories; no Telegram here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.entities import InvitationDTO, NewMessage, ParticipantDTO, Role, Status
from bot.i18n import Translator
from bot.services.tokens import looks_like_token, new_token, token_hash
from storage.uow import Repos

CONSENT_VERSION = "1"
NAME_RE = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' .\-]{1,99}$")


@dataclass(frozen=True)
class Step:
    """The next thing onboarding needs from a person."""

    name: str  # consent | name | group | adult | position | done


def next_step(me: ParticipantDTO, has_consent: bool) -> Step:
    if not has_consent:
        return Step("consent")
    if not me.full_name:
        return Step("name")
    if me.has(Role.MENTEE):
        if not me.group_name:
            return Step("group")
        if me.is_minor is None:
            return Step("adult")
    if me.has(Role.MENTOR) and not me.position:
        return Step("position")
    return Step("done")


def validate_name(text: str) -> str | None:
    cleaned = " ".join(text.split())
    if not NAME_RE.match(cleaned) or len(cleaned.split()) < 2:
        return None
    return cleaned


def validate_short(text: str, max_len: int = 100) -> str | None:
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > max_len or cleaned.startswith("/"):
        return None
    return cleaned


async def create_invitation(
    repos: Repos,
    *,
    role: Role,
    now: datetime,
    ttl_days: int,
    created_by: int | None,
    programme_id: int | None = None,
    child_id: int | None = None,
    max_uses: int | None = None,
) -> tuple[str, InvitationDTO]:
    token = new_token()
    dto = await repos.invitations.create(
        token_hash(token),
        role,
        now + timedelta(days=ttl_days),
        now,
        programme_id=programme_id,
        created_by=created_by,
        child_id=child_id,
        max_uses=max_uses,
    )
    await repos.audit.log(
        "invitation.create",
        now,
        actor_id=created_by,
        object_type="invitation",
        object_id=dto.id,
        role=role.value,
    )
    return token, dto


async def check_token(repos: Repos, payload: str, now: datetime) -> tuple[InvitationDTO | None, str | None]:
    """The invitation behind a /start payload, or why it cannot be used (unknown/expired/revoked/used_up)."""
    if not looks_like_token(payload):
        return None, "unknown"
    inv = await repos.invitations.by_hash(token_hash(payload))
    if inv is None:
        return None, "unknown"
    problem = inv.problem(now)
    return (None, problem) if problem else (inv, None)


async def already_holds(repos: Repos, me: ParticipantDTO, inv: InvitationDTO) -> bool:
    """Whether the person already has the invitation's role in its programme. One may be in several
    programmes: another programme's invitation adds a second role. Curators are curators of every programme;
    a role from before programmes were told apart counts for the first programme."""
    if inv.role not in me.roles:
        return False
    if inv.role == Role.CURATOR or inv.programme_id is None:
        return True
    first = await repos.programmes.first_id()
    held = {
        pid if pid is not None else first for pid in await repos.participants.role_programmes(me.id, inv.role)
    }
    return inv.programme_id in held


async def accept_consent(
    repos: Repos,
    *,
    telegram_id: int,
    username: str | None,
    language: str,
    invitation_id: int | None,
    curator_bootstrap: bool,
    now: datetime,
) -> tuple[ParticipantDTO | None, str | None]:
    """Record consent and join; returns (participant, problem), problem being why the invitation failed."""
    inv = None
    if invitation_id is not None:
        inv = await repos.invitations.get(invitation_id)
        problem = inv.problem(now) if inv else "unknown"
        if problem:
            return None, problem
        if not await repos.invitations.consume(invitation_id):
            return None, "used_up"
    me = await repos.participants.by_telegram_id(telegram_id)
    if me is None:
        me = await repos.participants.create(telegram_id, language, Status.ONBOARDING.value, now, username)
    elif me.status == Status.WITHDRAWN.value:
        await repos.participants.update(me.id, now, status=Status.ONBOARDING.value, deletion_due_at=None)
    if inv is not None:
        await repos.participants.add_role(
            me.id, inv.role, now, programme_id=inv.programme_id, invitation_id=inv.id
        )
    if curator_bootstrap:
        await repos.participants.add_role(me.id, Role.CURATOR, now)
    if not await repos.consents.active_for_subject(me.id, "self"):
        await _grant(repos, telegram_id, me.id, me.id, "self", now)
    if inv is not None and inv.role == Role.PARENT and inv.child_id is not None:
        await repos.participants.link_parent(me.id, inv.child_id, now)
        await _grant(repos, telegram_id, me.id, inv.child_id, "parent", now)
    return await repos.participants.get(me.id), None


async def _grant(
    repos: Repos, telegram_id: int, actor_id: int, subject_id: int, kind: str, now: datetime
) -> None:
    """An accepted consent (the person's own, or a parent's for a child) and its audit entry."""
    await repos.consents.record(
        telegram_id=telegram_id,
        participant_id=actor_id,
        subject_id=subject_id,
        kind=kind,
        version=CONSENT_VERSION,
        accepted=True,
        now=now,
    )
    await repos.audit.log(
        "consent.accept",
        now,
        actor_id=actor_id,
        object_type="participant",
        object_id=subject_id,
        kind=kind,
        version=CONSENT_VERSION,
    )


async def record_refusal(repos: Repos, *, telegram_id: int, kind: str, now: datetime) -> None:
    """A decline stores nothing but the refusal itself."""
    await repos.consents.record(
        telegram_id=telegram_id,
        participant_id=None,
        subject_id=None,
        kind=kind,
        version=CONSENT_VERSION,
        accepted=False,
        now=now,
    )


async def finish_profile(repos: Repos, me: ParticipantDTO, now: datetime) -> tuple[ParticipantDTO, list[int]]:
    """Settle the status once the profile is complete. Returns the participant and the children whose
    parent consent this completion unlocked (so they can be told)."""
    status = Status.ACTIVE.value
    if me.has(Role.MENTEE) and me.is_minor and not await repos.consents.active_for_subject(me.id, "parent"):
        status = Status.AWAITING_PARENT.value
    if me.status != status:
        await repos.participants.update(me.id, now, status=status)
    unlocked: list[int] = []
    if me.has(Role.PARENT):
        for child in await repos.participants.children_of(me.id):
            if child.status == Status.AWAITING_PARENT.value:
                await repos.participants.update(child.id, now, status=Status.ACTIVE.value)
                unlocked.append(child.id)
    fresh = await repos.participants.get(me.id)
    assert fresh is not None
    return fresh, unlocked


async def withdraw(repos: Repos, subject: ParticipantDTO, *, actor_id: int, now: datetime) -> list[int]:
    """Withdraw consent for a person: the bot stops writing to them and their data is marked for deletion.
    Returns the ids of everyone whose consent ended (a child's consent ends with the last parent's)."""
    ended = [subject.id]
    await repos.consents.withdraw_all(subject.id, now)
    await repos.participants.update(subject.id, now, status=Status.WITHDRAWN.value, deletion_due_at=now)
    if subject.telegram_id is not None:
        await repos.outbox.drop_for_chat(subject.telegram_id, "consent withdrawn")
    await _leave_pairs(repos, subject, actor_id, now)
    await repos.audit.log(
        "consent.withdraw", now, actor_id=actor_id, object_type="participant", object_id=subject.id
    )
    return ended


async def _leave_pairs(repos: Repos, subject: ParticipantDTO, actor_id: int, now: datetime) -> None:
    """Someone who withdrew leaves their pairs, so no stage waits forever for their feedback: a mentee leaves
    the pair or group (it ends when no mentee is left), a mentor's pairs end and their mentees go back to
    matching. The others are told, without the person's name; pending reminders of those pairs stop."""
    told: list[NewMessage] = []

    def tell(person: ParticipantDTO | None, key: str, dedup: str) -> None:
        if person is not None and person.telegram_id and person.status == Status.ACTIVE.value:
            told.append(
                NewMessage(
                    chat_id=person.telegram_id,
                    participant_id=person.id,
                    kind="pair",
                    priority=2,
                    text=Translator(person.language)(key),
                    dedup_key=dedup,
                )
            )

    for pair in await repos.pairs.all_active_of_mentee(subject.id):
        await repos.pairs.remove_member(pair.id, subject.id, now, "consent withdrawn")
        if len(pair.mentee_ids) == 1:  # the pair itself ended
            await repos.reminders.cancel(pair_id=pair.id)
        tell(
            await repos.participants.get(pair.mentor_id),
            "matching.mentee_left",
            f"left:{pair.id}:{subject.id}",
        )
        await repos.audit.log(
            "pair.member_left", now, actor_id=actor_id, object_type="pair", object_id=pair.id
        )
    for pair in await repos.pairs.led_by(subject.id):
        for mentee_id in pair.mentee_ids:
            await repos.pairs.remove_member(pair.id, mentee_id, now, "mentor withdrew consent")
            tell(
                await repos.participants.get(mentee_id), "matching.mentor_left", f"left:{pair.id}:{mentee_id}"
            )
        await repos.reminders.cancel(pair_id=pair.id)
        await repos.audit.log(
            "pair.mentor_left", now, actor_id=actor_id, object_type="pair", object_id=pair.id
        )
    await repos.reminders.cancel(participant_id=subject.id)
    await repos.outbox.enqueue(told, now)


async def withdraw_parent_consent(
    repos: Repos, parent: ParticipantDTO, child: ParticipantDTO, now: datetime
) -> bool:
    """A parent withdraws consent for their child. True when the child's participation ended with it."""
    await repos.consents.withdraw_all(child.id, now, kind="parent")
    await repos.audit.log(
        "consent.withdraw",
        now,
        actor_id=parent.id,
        object_type="participant",
        object_id=child.id,
        kind="parent",
    )
    if child.is_minor and not await repos.consents.active_for_subject(child.id, "parent"):
        await withdraw(repos, child, actor_id=parent.id, now=now)
        return True
    return False


def notice(
    chat_id: int, participant_id: int, text: str, kind: str, dedup_key: str | None = None
) -> NewMessage:
    """A message to someone other than the person being answered: it goes through the outbox."""
    return NewMessage(
        chat_id=chat_id, participant_id=participant_id, text=text, kind=kind, dedup_key=dedup_key, priority=1
    )
