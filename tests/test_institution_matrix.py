"""The authorization matrix across institutions, found by reflection like the role matrix: the curator of
institution A presses every curator button (every callback class on a curators' router, every plausible
value, ids of B's people, pair, programme and invitation) and sends every curator command with B's ids as
its argument. Nothing of B changes, no name from B reaches A, nothing is sent to B's people, and the
presses that named B's rows were refused with the institution message."""

from __future__ import annotations

from sqlalchemy import select

from bot.domain.entities import Role
from bot.i18n import Translator
from bot.services import matching
from storage.models import Invitation, OutboxMessage, Pair, Participant, ParticipantRole, Programme
from storage.uow import unit_of_work
from tests.helpers import (
    callback_classes,
    callback_routes,
    guarded_commands,
    onboard_mentee,
    onboard_mentor,
    plausible_data,
)
from tests.test_district import NAMES, _coordinator, _institution, _new_programme

OTHER = Translator("ru")("access.other_institution")


async def _snapshot(h, programme_id: int) -> dict[str, list]:
    """B's rows as they are: people (names, statuses, roles), the programme, pairs, invitations."""
    async with unit_of_work(h.app.factory) as repos:
        s = repos.session
        roles = (
            await s.execute(
                select(ParticipantRole.participant_id, ParticipantRole.role)
                .where(ParticipantRole.programme_id == programme_id)
                .order_by(ParticipantRole.id)
            )
        ).all()
        ids = sorted({pid for pid, _ in roles})
        people = (
            await s.execute(
                select(Participant.id, Participant.full_name, Participant.status, Participant.telegram_id)
                .where(Participant.id.in_(ids))
                .order_by(Participant.id)
            )
        ).all()
        programme = (
            await s.execute(
                select(Programme.title, Programme.settings, Programme.archived_at).where(
                    Programme.id == programme_id
                )
            )
        ).all()
        pairs = (
            await s.execute(
                select(Pair.id, Pair.status, Pair.stage, Pair.closed_at).where(
                    Pair.programme_id == programme_id
                )
            )
        ).all()
        invitations = (
            await s.execute(
                select(Invitation.id, Invitation.revoked_at, Invitation.uses).where(
                    Invitation.programme_id == programme_id
                )
            )
        ).all()
    return {
        "roles": roles,
        "people": people,
        "programme": programme,
        "pairs": pairs,
        "invitations": invitations,
    }


async def test_a_curator_cannot_reach_another_institutions_rows_by_any_button_or_command(h):
    coordinator = await _coordinator(h)
    a, _ = await _institution(h, coordinator, "Школа № 1", 7101, NAMES[0])
    await _new_programme(a)
    b, _ = await _institution(h, coordinator, "Школа № 2", 7102, NAMES[1])
    await _new_programme(b)
    await onboard_mentee(h, b, 7202, name=NAMES[3])
    await onboard_mentor(h, b, 7302, name=NAMES[5])
    await b.send("/invite")
    await b.click("наставляемый")
    async with unit_of_work(h.app.factory) as repos:
        mentee = await repos.participants.by_telegram_id(7202)
        mentor = await repos.participants.by_telegram_id(7302)
        curator_b = await repos.participants.by_telegram_id(7102)
        programme_id = (await repos.participants.role_programmes(mentee.id, Role.MENTEE))[0]
        pair = await matching.create_pairing(repos, programme_id, mentee.id, mentor.id, None, h.app.clock())
        invitations = list(
            await repos.session.scalars(select(Invitation.id).where(Invitation.programme_id == programme_id))
        )
    ids = sorted(
        {
            mentee.id,
            mentor.id,
            curator_b.id,
            pair.pair_id if hasattr(pair, "pair_id") else pair.id,
            programme_id,
            *invitations,
        }
    )
    before = await _snapshot(h, programme_id)
    outbox_before = await _outbox_to(h, [mentee.id, mentor.id, curator_b.id])
    routes = callback_routes(h.app.dp)
    refused = 0
    for cls in callback_classes():
        for data in plausible_data(cls, routes, ids=ids):
            first = next((r for r in routes if r.matches(data)), None)
            if first is None or not first.curators_only:
                continue
            alerts = len(a.alerts())
            await a.press(data)
            refused += OTHER in a.alerts()[alerts:]
    for command in guarded_commands(h.app.dp, {Role.CURATOR}):
        for n in ids:
            await a.send(f"/{command} {n}")
            await a.send("/cancel")
    seen = "\n".join([*a.texts(), *a.alerts()])
    for name in (NAMES[1], NAMES[3], NAMES[5]):
        assert name not in seen, name
    assert await _snapshot(h, programme_id) == before
    assert await _outbox_to(h, [mentee.id, mentor.id, curator_b.id]) == outbox_before
    assert refused > 0


async def _outbox_to(h, ids: list[int]) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return len(
            list(
                await repos.session.scalars(
                    select(OutboxMessage.id).where(OutboxMessage.participant_id.in_(ids))
                )
            )
        )
