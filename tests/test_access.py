"""Access by router: every callback class the product defines, found by reflection, is handled somewhere, and
where it is handled on a curators' router nobody else gets through — with no list to keep."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.domain.entities import Role
from bot.i18n import Translator
from storage.models import Base, Invitation, ProcessedUpdate
from storage.uow import unit_of_work
from tests.helpers import (
    callback_classes,
    callback_routes,
    guarded_commands,
    onboard_curator,
    onboard_mentee,
    onboard_mentor,
    plausible_data,
    token_in,
)

DENIED = Translator("ru")("access.denied")


async def invitation_count(h) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.session.scalar(select(func.count()).select_from(Invitation))


async def row_counts(h) -> dict[str, int]:
    """Rows in every table but the ledger of handled updates (every press adds one)."""
    tables = [t for t in Base.metadata.sorted_tables if t.name != ProcessedUpdate.__tablename__]
    query = select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
    async with unit_of_work(h.app.factory) as repos:
        row = (await repos.session.execute(query)).one()
    return {t.name: n for t, n in zip(tables, row, strict=True)}


async def people(h):
    c = await onboard_curator(h)
    mentee = await onboard_mentee(h, c, 2101)
    mentor = await onboard_mentor(h, c, 3101)
    kid = await onboard_mentee(h, c, 2102, adult=False, name="Юный Пётр")
    parent = h.user(4101, "P", "ru")
    await parent.send(f"/start {token_in(kid.texts()[-1])}")
    await parent.click("✅ Даю согласие")
    await parent.send("Юная Мама")
    stranger = h.user(9101, "S", "ru")
    return c, {"mentee": mentee, "mentor": mentor, "parent": parent, "minor": kid, "stranger": stranger}


def test_every_callback_class_has_a_production_handler(h):
    handled = {r.cls for r in callback_routes(h.app.dp)}
    orphans = [
        f"{c.__module__}.{c.__name__} ({c.__prefix__})" for c in callback_classes() if c not in handled
    ]
    assert not orphans, f"callback data nobody handles: {orphans}"


def test_callback_prefixes_are_unique():
    seen: dict[str, str] = {}
    for cls in callback_classes():
        assert cls.__prefix__ not in seen, (cls.__name__, seen.get(cls.__prefix__))
        seen[cls.__prefix__] = cls.__name__


async def _world(h):
    """A curator, a mentee, a mentor and two open invitations: ids 1 and 2 exist in the tables that matter."""
    c = await onboard_curator(h)
    mentee = await onboard_mentee(h, c, 2101)
    await onboard_mentor(h, c, 3101)
    await c.send("/invite")
    await c.click("наставник")
    return c, mentee


@pytest.mark.parametrize("who", ["mentee", "stranger"])
async def test_curator_buttons_refuse_everyone_else(h, who, caplog):
    """For each class, each plausible press goes where the dispatcher would send it: on a curators' router
    it is refused with the access-denied alert; anywhere else a stranger's press is harmless. In both cases
    no row appears anywhere (no outbox message, no audit entry)."""
    _, mentee = await _world(h)
    client = mentee if who == "mentee" else h.user(9101, "S", "ru")
    routes = callback_routes(h.app.dp)
    caplog.set_level(logging.WARNING, logger="nastavnik.access")
    let_through, changed, refused, checked = [], [], 0, set()
    for cls in callback_classes():
        for data in plausible_data(cls, routes, ids=[1, 2]):
            first = next((r for r in routes if r.matches(data)), None)
            curators = first is not None and first.curators_only
            if not curators and who != "stranger":
                continue
            before = await row_counts(h)
            alerts = len(client.alerts())
            await client.press(data)
            if curators and not first.extra_filters:
                refused += 1
                checked.add(first.cls)
                if client.alerts()[alerts:] != [DENIED]:
                    let_through.append(
                        f"{cls.__name__} {data!r} at {first.where}: {client.alerts()[alerts:]}"
                    )
            after = await row_counts(h)
            if after != before:
                diff = {k: (before[k], after[k]) for k in after if after[k] != before[k]}
                changed.append(f"{cls.__name__} {data!r}: {diff}")
    unchecked = {r.cls.__name__ for r in routes if r.curators_only and not r.extra_filters} - {
        c.__name__ for c in checked
    }
    assert not unchecked, f"curator buttons no plausible data reached: {sorted(unchecked)}"
    assert not let_through, "curator buttons a non-curator got through:\n" + "\n".join(let_through)
    assert not changed, "presses that changed something:\n" + "\n".join(changed)
    denied = [r for r in caplog.records if "access denied" in r.getMessage()]
    assert len(denied) >= refused > 0


async def test_curator_commands_are_discovered(h):
    assert {"invite", "invites", "participants"} <= set(guarded_commands(h.app.dp, {Role.CURATOR}))


async def test_every_curator_command_refused_for_other_roles(h):
    """One world with every other role (onboarding it is the cost; the refusals are cheap), each refused."""
    c, others = await people(h)
    before = await invitation_count(h)
    commands = guarded_commands(h.app.dp, {Role.CURATOR})
    assert commands
    for role, client in others.items():
        for command in commands:
            replies = await client.send(f"/{command}")
            assert replies and DENIED in replies[-1].text, (role, command)
    assert await invitation_count(h) == before
    # The curator passes the same checks.
    replies = await c.send("/invites")
    assert "Действующие приглашения" in replies[0].text


async def test_garbage_callback_data_is_answered_not_crashing(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2103)
    for data in ["", "zz", "cs:", "lg:xx", "wd:confirm:notanumber", "wd:confirm:1", "ad:maybe", "x" * 64]:
        await u.press(data)
    assert all("неактуальна" in a or "куратору" in a for a in u.alerts())
    # /consent withdrawal with someone else's id must not touch them.
    assert (await _status(h, 1000)) == "active"


async def _status(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return (await repos.participants.by_telegram_id(telegram_id)).status
