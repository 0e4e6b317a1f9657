"""Onboarding: invitations, consent, profile, roles and withdrawing consent. Application logic over
repositories; no Telegram here (the handlers in handlers/onboarding.py, invitations.py and common.py render
the outcomes)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from bot.domain.entities import (
    ConsentDTO,
    InvitationDTO,
    NewMessage,
    ParticipantDTO,
    Role,
    RoleHolding,
    Status,
)
from bot.domain.forms import Register
from bot.i18n import Translator
from bot.services import programmes
from bot.services.notify import Localized, notify
from bot.services.pseudonyms import key_for, pseudonym
from bot.services.register import onboarding_register, ty_key
from bot.services.tokens import looks_like_token, new_token, token_hash
from storage.uow import Repos

CONSENT_VERSION = "1"
NAME_RE = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё' .\-]{1,99}$")
# A curator link makes its holder a curator of every programme: one person, and soon.
CURATOR_LINK_TTL = timedelta(hours=24)
# Whom each form of mentoring pairs: (the mentor, the mentee). Pupils and students may be under 18.
FORM_PEOPLE = {
    "pupil_pupil": ("pupil", "pupil"),
    "student_pupil": ("student", "pupil"),
    "student_student": ("student", "student"),
    "employer_student": ("employer", "student"),
    "teacher_student": ("teacher", "student"),
    "teacher_teacher": ("teacher", "teacher"),
}
_MAY_BE_MINOR = frozenset({"pupil", "student"})
# Roles whose holder may be a minor and then needs a parent's consent.
MINOR_ROLES = (Role.MENTEE, Role.MENTOR)
# Roles a curator may take away; a parent's role ends with the parent's own withdrawal of consent.
REMOVABLE = (Role.CURATOR, Role.MENTOR, Role.MENTEE)
# Whom a curator may invite with /invite.
INVITABLE = frozenset({Role.MENTEE.value, Role.MENTOR.value, Role.CURATOR.value})
# A parent link serves both parents.
PARENT_LINK_USES = 2


class ConsentKind(StrEnum):
    SELF = "self"  # a person's own consent
    PARENT = "parent"  # a parent's consent for their child


@dataclass(frozen=True)
class Step:
    """The next thing onboarding needs from a person; prompt is the locale key of the question."""

    name: str  # consent | name | group | adult | position | done (the Onboarding state of the same name)
    prompt: str | None = None


@dataclass(frozen=True)
class Questions:
    """What the profile asks, from the person's roles and their programmes' audiences."""

    group: bool = False  # class or group (pupils, students)
    position: bool = False  # position or occupation (staff, mentors)
    adult: bool = False  # "are you 18?" (someone who may be a minor)
    pupil_mentor: bool = False  # a mentor who may be a pupil or a student: "occupation or class"


def questions(roles: Iterable[tuple[Role, list[str] | None]]) -> Questions:
    """Pure: the profile questions for these (role, forms of mentoring of its programme) pairs. A programme
    without forms set serves every form. A programme whose forms serve only teachers asks its mentees for a
    position, not a class, and nobody's age; elsewhere a mentee gives their class and age, and a mentor
    who may be a pupil or a student (pupil–pupil, student–student, student–pupil) is asked their age too."""
    group = position = adult = pupil_mentor = False
    for role, forms in roles:
        people = [FORM_PEOPLE[f] for f in (forms or FORM_PEOPLE) if f in FORM_PEOPLE] or list(
            FORM_PEOPLE.values()
        )
        if role == Role.MENTEE:
            if {mentee for _, mentee in people} == {"teacher"}:
                position = True
            else:
                group = adult = True
        elif role == Role.MENTOR:
            position = True
            if _MAY_BE_MINOR.intersection(mentor for mentor, _ in people):
                adult = pupil_mentor = True
    return Questions(group=group, position=position, adult=adult, pupil_mentor=pupil_mentor)


async def questions_for(repos: Repos, me: ParticipantDTO) -> Questions:
    """The profile questions for a person: each mentee or mentor role, with its programme's audiences."""
    held: list[tuple[Role, list[str] | None]] = []
    for role in MINOR_ROLES:
        if me.has(role):
            for programme in await programmes.role_programmes(repos, me, role) or [None]:
                held.append((role, programme.settings.get("mentoring_forms") if programme else None))
    return questions(held)


def next_step(me: ParticipantDTO, has_consent: bool, asks: Questions | None = None) -> Step:
    asks = asks if asks is not None else questions((r, None) for r in MINOR_ROLES if me.has(r))
    if not has_consent:
        return Step("consent")
    if not me.full_name:
        return Step("name", "profile.ask_name")
    if asks.group and not me.group_name:
        return Step("group", "profile.ask_group")
    if asks.position and not me.position:
        return Step("position", "profile.ask_occupation" if asks.pupil_mentor else "profile.ask_position")
    if asks.adult and me.is_minor is None:
        return Step("adult", "profile.ask_adult")
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
    ttl: timedelta | None = None,
    institution_id: int | None = None,
) -> tuple[str, InvitationDTO]:
    token = new_token()
    dto = await repos.invitations.create(
        token_hash(token),
        role,
        now + (ttl if ttl is not None else timedelta(days=ttl_days)),
        now,
        programme_id=programme_id,
        created_by=created_by,
        child_id=child_id,
        max_uses=max_uses,
        institution_id=institution_id,
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
    if inv.role == Role.CURATOR:
        own, _ = await repos.institutions.of_curator(me.id)
        return inv.institution_id is None or inv.institution_id in own
    if inv.programme_id is None:
        return True
    first = await repos.programmes.first_id()
    held = {
        pid if pid is not None else first for pid in await repos.participants.role_programmes(me.id, inv.role)
    }
    return inv.programme_id in held


async def parent_link_problem(repos: Repos, inv: InvitationDTO, me: ParticipantDTO | None) -> str | None:
    """Why this person may not become the parent of a parent link's child: they are the child, or they are in
    the programme as a mentee themselves (a child's second account must not consent for them)."""
    if inv.role != Role.PARENT or inv.child_id is None or me is None:
        return None
    if me.id == inv.child_id:
        return "own_child"
    if me.has(Role.MENTEE) and me.status != Status.WITHDRAWN.value:
        return "mentee_parent"
    return None


@dataclass(frozen=True)
class ParentInvitation:
    """What a parent is asked to consent to: whose participation, in which programmes."""

    child_name: str
    programme_titles: list[str]


async def parent_invitation(repos: Repos, inv: InvitationDTO) -> ParentInvitation | None:
    if inv.role != Role.PARENT or inv.child_id is None:
        return None
    child = await repos.participants.get(inv.child_id)
    if child is None:
        return None
    titles: dict[int, str] = {}
    for role in MINOR_ROLES:
        if child.has(role):
            for programme in await programmes.role_programmes(repos, child, role):
                titles.setdefault(programme.id, programme.title)
    if not titles:
        default = await programmes.default(repos)
        if default is not None:
            titles[default.id] = default.title
    return ParentInvitation(child.full_name or "", list(titles.values()))


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
        assert inv is not None
        # Checked again here: the conversation state that carries the invitation can be forged.
        problem = await parent_link_problem(repos, inv, await repos.participants.by_telegram_id(telegram_id))
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
    if not await repos.consents.active_for_subject(me.id, ConsentKind.SELF):
        await _grant(repos, telegram_id, me.id, me.id, ConsentKind.SELF, now)
    if inv is not None and inv.role == Role.PARENT and inv.child_id is not None:
        await repos.participants.link_parent(me.id, inv.child_id, now)
        await _grant(repos, telegram_id, me.id, inv.child_id, ConsentKind.PARENT, now)
        await repos.participants.update(inv.child_id, now, parent_declined_at=None)
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


def refusal_fingerprint(telegram_id: int, bot_token: str) -> str:
    """Whose refusal a record is, as a pseudonym (bot/services/pseudonyms.py): the id cannot be read back."""
    return pseudonym(key_for("consent-refusal", bot_token), telegram_id)


async def record_refusal(repos: Repos, *, telegram_id: int, kind: str, now: datetime, secret: str) -> None:
    """A decline stores nothing but the refusal itself: no Telegram id, only its HMAC."""
    await repos.consents.record(
        telegram_id=None,
        telegram_hash=refusal_fingerprint(telegram_id, secret),
        participant_id=None,
        subject_id=None,
        kind=kind,
        version=CONSENT_VERSION,
        accepted=False,
        now=now,
    )


def needs_parent(me: ParticipantDTO) -> bool:
    """A minor mentee or mentor takes part only with a parent's consent."""
    return bool(me.is_minor) and any(me.has(r) for r in MINOR_ROLES)


async def record_parent_decline(repos: Repos, inv: InvitationDTO, now: datetime) -> None:
    """A parent declined consent through the child's link: the child learns it (kindly, with what they can
    do) and the decline is kept on the child, where the curator sees it."""
    if inv.role != Role.PARENT or inv.child_id is None:
        return
    child = await repos.participants.get(inv.child_id)
    if child is None or child.status == Status.WITHDRAWN.value:
        return
    await repos.participants.update(child.id, now, parent_declined_at=now)
    await repos.audit.log(
        "consent.parent_decline", now, object_type="participant", object_id=child.id, invitation_id=inv.id
    )
    if child.telegram_id:
        # Not through notify: the child still waits for a parent (not yet active) and must hear it.
        text = Translator(child.language)(ty_key("onboarding.parent_declined", onboarding_register(child)))
        dedup = f"parent-declined:{inv.id}:{int(now.timestamp())}"
        message = NewMessage(
            chat_id=child.telegram_id,
            participant_id=child.id,
            text=text,
            kind="consent",
            dedup_key=dedup,
            priority=1,
        )
        await repos.outbox.enqueue([message], now)


async def finish_profile(repos: Repos, me: ParticipantDTO, now: datetime) -> tuple[ParticipantDTO, list[int]]:
    """Settle the status once the profile is complete. Returns the participant and the children whose
    parent consent this completion unlocked (so they can be told)."""
    status = Status.ACTIVE.value
    if needs_parent(me) and not await repos.consents.active_for_subject(me.id, ConsentKind.PARENT):
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
    # A parent link still open would let anyone holding it (the child too) undo the withdrawal.
    await repos.invitations.revoke_for_child(subject.id, now)
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
    for pair in await repos.pairs.all_active_of_mentee(subject.id):
        await repos.pairs.remove_member(pair.id, subject.id, now, "consent withdrawn")
        if len(pair.mentee_ids) == 1:  # the pair itself ended
            await repos.reminders.cancel(pair_id=pair.id)
        await notify(
            repos,
            now,
            [pair.mentor_id],
            "matching.mentee_left",
            kind="pair",
            priority=2,
            dedup=f"left:{pair.id}:{subject.id}",
        )
        await repos.audit.log(
            "pair.member_left", now, actor_id=actor_id, object_type="pair", object_id=pair.id
        )
    for pair in await repos.pairs.led_by(subject.id):
        for mentee_id in pair.mentee_ids:
            await repos.pairs.remove_member(pair.id, mentee_id, now, "mentor withdrew consent")
        await notify(
            repos,
            now,
            pair.mentee_ids,
            "matching.mentor_left",
            kind="pair",
            priority=2,
            dedup=f"left:{pair.id}",
        )
        await repos.reminders.cancel(pair_id=pair.id)
        await repos.audit.log(
            "pair.mentor_left", now, actor_id=actor_id, object_type="pair", object_id=pair.id
        )
    await repos.reminders.cancel(participant_id=subject.id)


async def withdraw_parent_consent(
    repos: Repos, parent: ParticipantDTO, child: ParticipantDTO, now: datetime
) -> bool:
    """A parent withdraws consent for their child. True when the child's participation ended with it."""
    # Only this parent's consent: another parent's stays in force.
    await repos.consents.withdraw_all(child.id, now, kind=ConsentKind.PARENT, given_by=parent.id)
    # The child's parent links stop working at once: joining again takes a new link.
    await repos.invitations.revoke_for_child(child.id, now)
    await repos.audit.log(
        "consent.withdraw",
        now,
        actor_id=parent.id,
        object_type="participant",
        object_id=child.id,
        kind=ConsentKind.PARENT.value,
    )
    if child.is_minor and not await repos.consents.active_for_subject(child.id, ConsentKind.PARENT):
        await withdraw(repos, child, actor_id=parent.id, now=now)
        return True
    return False


async def remove_role(
    repos: Repos,
    holding: RoleHolding,
    *,
    actor_id: int,
    now: datetime,
    pinned_curators: Iterable[int] = (),
) -> str | None:
    """A curator takes one role away from a person. Returns why it cannot be done, or None when done:
    the last curator stays a curator; a curator by the server's settings (CURATOR_IDS, the Telegram ids in
    `pinned_curators`) would be one again at their next /start, so that is refused with where to change it;
    a mentor or mentee in an active pair of that programme is refused (the curator dissolves the pair
    first, so nobody is left in a pair without being told)."""
    if holding.role == Role.CURATOR:
        holders = await repos.participants.count_holders(
            Role.CURATOR, (Status.ACTIVE.value, Status.ONBOARDING.value)
        )
        kept = [
            x
            for x in await repos.participants.holdings(holding.participant_id)
            if x.role == Role.CURATOR and x.id != holding.id
        ]
        if holders <= 1 and not kept:
            return "last_curator_self" if holding.participant_id == actor_id else "last_curator"
        person = await repos.participants.get(holding.participant_id)
        if not kept and person is not None and person.telegram_id in set(pinned_curators):
            return "pinned_curator"
    if holding.role in MINOR_ROLES:
        first = await repos.programmes.first_id()
        programme = holding.programme_id if holding.programme_id is not None else first
        if holding.role == Role.MENTEE:
            pairs = await repos.pairs.all_active_of_mentee(holding.participant_id)
        else:
            pairs = await repos.pairs.led_by(holding.participant_id)
        if any((p.programme_id if p.programme_id is not None else first) == programme for p in pairs):
            return "in_pair"
    if not await repos.participants.remove_holding(holding.id):
        return "gone"
    await repos.audit.log(
        "role.remove",
        now,
        actor_id=actor_id,
        object_type="participant",
        object_id=holding.participant_id,
        role=holding.role.value,
        programme_id=holding.programme_id,
    )
    return None


# -- the use cases behind /start, the profile, /language, /consent -----------------------------------------


@dataclass(frozen=True)
class LinkOpened:
    """What a /start link opens: why it cannot be used (a `start.bad_token.*` key), that the person holds its
    role already, or the invitation to consent to (a parent's names the child and the child's programmes)."""

    problem: str | None = None
    already_joined: bool = False
    invitation_id: int | None = None
    role: Role | None = None
    programme_titles: list[str] = field(default_factory=list)
    child_name: str | None = None


async def open_link(repos: Repos, payload: str, me: ParticipantDTO | None, now: datetime) -> LinkOpened:
    inv, problem = await check_token(repos, payload, now)
    if problem or inv is None:
        return LinkOpened(problem=problem or "unknown")
    refused = await parent_link_problem(repos, inv, me)
    if refused:
        return LinkOpened(problem=refused)
    if me is not None and me.status != Status.WITHDRAWN and inv.child_id is None:
        if await already_holds(repos, me, inv):
            return LinkOpened(already_joined=True)
    if inv.role == Role.PARENT:
        about = await parent_invitation(repos, inv)
        if about is None:
            return LinkOpened(problem="unknown")
        return LinkOpened(
            invitation_id=inv.id,
            role=inv.role,
            programme_titles=about.programme_titles,
            child_name=about.child_name,
        )
    programme = await repos.programmes.get(inv.programme_id) if inv.programme_id else None
    return LinkOpened(
        invitation_id=inv.id, role=inv.role, programme_titles=[programme.title] if programme else []
    )


async def welcome_back(
    repos: Repos, me: ParticipantDTO, telegram_language: str, *, curator: bool, now: datetime
) -> ParticipantDTO:
    """/start without a link by someone known. Added by an operator before they ever wrote, they are spoken
    to in their Telegram language; a curator by the server's settings (CURATOR_IDS) gets the role back."""
    if me.full_name is None and await repos.consents.active_for_subject(me.id, ConsentKind.SELF) is None:
        await repos.participants.update(me.id, now, language=telegram_language)
    if curator and not me.is_curator:
        await repos.participants.add_role(me.id, Role.CURATOR, now)
    fresh = await repos.participants.get(me.id)
    assert fresh is not None
    return fresh


async def decline_consent(
    repos: Repos,
    telegram_id: int,
    me: ParticipantDTO | None,
    invitation_id: int | None,
    now: datetime,
    *,
    secret: str,
) -> None:
    """Consent declined: through a parent link the child learns it; someone unknown leaves a refusal."""
    kind = ConsentKind.SELF
    if invitation_id:
        inv = await repos.invitations.get(int(invitation_id))
        kind = ConsentKind.PARENT if inv and inv.role == Role.PARENT else ConsentKind.SELF
        if inv is not None and kind == ConsentKind.PARENT and not inv.problem(now):
            if await parent_link_problem(repos, inv, me) is None:
                await record_parent_decline(repos, inv, now)
    if me is None:
        await record_refusal(repos, telegram_id=telegram_id, kind=kind, now=now, secret=secret)


@dataclass(frozen=True)
class Advanced:
    """Where onboarding stands after a step: the next thing to ask (step), or done (step.name == "done") with
    the person as they are now and, for a minor waiting for a parent, a fresh parent link."""

    step: Step
    me: ParticipantDTO
    parent_token: str | None = None


async def advance(repos: Repos, me: ParticipantDTO, now: datetime, *, ttl_days: int) -> Advanced:
    """The next missing profile item, or finish the profile: settle the status (a minor waits for a parent:
    a parent link is made), and tell the children whose parent's consent this completion unlocked."""
    has_consent = await repos.consents.active_for_subject(me.id, ConsentKind.SELF) is not None
    step = next_step(me, has_consent, await questions_for(repos, me))
    if step.name != "done":
        return Advanced(step, me)
    fresh, unlocked = await finish_profile(repos, me, now)
    token = None
    if fresh.status == Status.AWAITING_PARENT:
        token, _ = await create_invitation(
            repos,
            role=Role.PARENT,
            now=now,
            ttl_days=ttl_days,
            created_by=me.id,
            child_id=me.id,
            max_uses=PARENT_LINK_USES,
        )
    # Each child in their register: a pupil (a mentee under 18) is told «ты».
    children = list((await repos.participants.get_many(unlocked)).values()) if unlocked else []
    for register in (Register.TY, Register.VY):
        told = [c for c in children if onboarding_register(c) is register]
        if told:
            key = ty_key("profile.parent_consented", register)
            await notify(repos, now, told, key, kind="consent", priority=1, dedup="parent-consented")
    return Advanced(step, fresh, token)


class ProfileField(StrEnum):
    """A text answer of the profile; the value names its locale keys (profile.bad_<value>)."""

    NAME = "name"
    GROUP = "group"
    POSITION = "position"


_COLUMNS = {
    ProfileField.NAME: "full_name",
    ProfileField.GROUP: "group_name",
    ProfileField.POSITION: "position",
}
_LIMITS = {ProfileField.GROUP: 30, ProfileField.POSITION: 150}


async def save_profile_answer(
    repos: Repos, participant_id: int, which: ProfileField, text: str, now: datetime
) -> ParticipantDTO | None:
    """Check and store one answer; None when it is not acceptable (the person is asked again)."""
    value = validate_name(text) if which == ProfileField.NAME else validate_short(text, _LIMITS[which])
    if value is None:
        return None
    await repos.participants.update(participant_id, now, **{_COLUMNS[which]: value})
    return await repos.participants.get(participant_id)


async def set_adult(repos: Repos, participant_id: int, adult: bool, now: datetime) -> ParticipantDTO:
    await repos.participants.update(participant_id, now, is_minor=not adult)
    fresh = await repos.participants.get(participant_id)
    assert fresh is not None
    return fresh


async def set_language(
    repos: Repos, participant_id: int, language: str, now: datetime
) -> ParticipantDTO | None:
    await repos.participants.update(participant_id, now, language=language)
    return await repos.participants.get(participant_id)


@dataclass(frozen=True)
class ConsentsSeen:
    """/consent: one's own consent, whether a parent's is needed and given, and the children whose parent
    consent one gave (and may withdraw)."""

    own: ConsentDTO | None
    parent_needed: bool
    parent_given: bool
    children: list[ParticipantDTO]


async def consents_of(repos: Repos, me: ParticipantDTO) -> ConsentsSeen:
    own = await repos.consents.active_for_subject(me.id, ConsentKind.SELF)
    needed = any(me.has(r) for r in MINOR_ROLES) and bool(me.is_minor)
    given = needed and await repos.consents.active_for_subject(me.id, ConsentKind.PARENT) is not None
    children = []
    if me.has(Role.PARENT):
        for child in await repos.participants.children_of(me.id):
            if await repos.consents.active_for_subject(child.id, ConsentKind.PARENT):
                children.append(child)
    return ConsentsSeen(own, needed, given, children)


async def withdrawal_subject(
    repos: Repos, me: ParticipantDTO | None, subject_id: int
) -> ParticipantDTO | None:
    """Only oneself, or one's own child, may be the subject of a withdrawal."""
    if me is None:
        return None
    if subject_id == me.id:
        return me
    if any(c.id == subject_id for c in await repos.participants.children_of(me.id)):
        return await repos.participants.get(subject_id)
    return None


class Withdrawal(Enum):
    STALE = "stale"  # not oneself nor one's child
    SELF = "self"
    CHILD_ENDED = "child_ended"  # the child's participation ended with the last parent's consent
    CHILD_KEPT = "child_kept"  # another parent's consent stays in force


async def withdraw_consent(
    repos: Repos, me: ParticipantDTO | None, subject_id: int, now: datetime
) -> Withdrawal:
    """Withdraw one's own consent, or one's consent for one's child."""
    subject = await withdrawal_subject(repos, me, subject_id)
    if subject is None or me is None:
        return Withdrawal.STALE
    if subject.id == me.id:
        await withdraw(repos, me, actor_id=me.id, now=now)
        return Withdrawal.SELF
    ended = await withdraw_parent_consent(repos, me, subject, now)
    return Withdrawal.CHILD_ENDED if ended else Withdrawal.CHILD_KEPT


# -- invitations and roles ----------------------------------------------------------------------------------


async def invite(
    repos: Repos,
    curator_id: int,
    programme_id: int,
    role: Role,
    now: datetime,
    *,
    ttl_days: int,
    several: bool = False,
) -> tuple[str, InvitationDTO]:
    """A curator's link into their programme. A curator link is short-lived and single-use, unless the
    curator asked for several people."""
    if role != Role.CURATOR:
        return await create_invitation(
            repos, role=role, now=now, ttl_days=ttl_days, created_by=curator_id, programme_id=programme_id
        )
    return await create_invitation(
        repos,
        role=Role.CURATOR,
        now=now,
        ttl_days=ttl_days,
        ttl=CURATOR_LINK_TTL,
        created_by=curator_id,
        programme_id=programme_id,
        max_uses=None if several else 1,
    )


async def parent_link(repos: Repos, child_id: int, now: datetime, *, ttl_days: int) -> str:
    """A minor's link for their parent(s)."""
    token, _ = await create_invitation(
        repos,
        role=Role.PARENT,
        now=now,
        ttl_days=ttl_days,
        created_by=child_id,
        child_id=child_id,
        max_uses=PARENT_LINK_USES,
        institution_id=await repos.institutions.of_person(child_id),
    )
    return token


@dataclass(frozen=True)
class Revoked:
    """done: False when the link was revoked already; joined: who came through it, with the role."""

    done: bool
    joined: list[tuple[ParticipantDTO, Role]]


async def revoke_invitation(repos: Repos, invitation_id: int, *, actor_id: int, now: datetime) -> Revoked:
    """A link stops working; whoever joined through it keeps their role (the curator is shown who)."""
    done = await repos.invitations.revoke(invitation_id, now)
    if done:
        await repos.audit.log(
            "invitation.revoke", now, actor_id=actor_id, object_type="invitation", object_id=invitation_id
        )
    return Revoked(done, list(await repos.participants.joined_through(invitation_id)))


@dataclass(frozen=True)
class RoleRemoved:
    """person (as they are now) and role when done; otherwise problem says why it was refused (a
    `onboarding.roles.refused.*` key), or both are None when the button was stale."""

    person: ParticipantDTO | None = None
    role: Role | None = None
    problem: str | None = None


async def remove_role_of(
    repos: Repos,
    participant_id: int,
    holding_id: int,
    *,
    actor_id: int,
    now: datetime,
    pinned_curators: Iterable[int] = (),
) -> RoleRemoved:
    """A curator takes one role away from a person (see remove_role); the person is told."""
    person = await repos.participants.get(participant_id)
    holding = await repos.participants.holding(holding_id)
    if person is None or not person.full_name or holding is None:
        return RoleRemoved()
    if holding.participant_id != person.id or holding.role not in REMOVABLE:
        return RoleRemoved()
    problem = await remove_role(repos, holding, actor_id=actor_id, now=now, pinned_curators=pinned_curators)
    if problem:
        return RoleRemoved(problem=problem)
    if person.id != actor_id:
        await notify(
            repos,
            now,
            [person],  # read before the role went: it may have been their last in the institution
            "onboarding.roles.removed_notice",
            kind="roles",
            priority=1,
            dedup=f"role-removed:{holding.id}",
            params={"role": Localized(f"roles.{holding.role.value}")},
        )
    fresh = await repos.participants.get(person.id)
    assert fresh is not None
    return RoleRemoved(person=fresh, role=holding.role)
