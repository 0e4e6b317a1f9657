"""The authorization matrix: every curator command and callback × every other role is refused."""

from __future__ import annotations

import logging

import pytest
from aiogram.filters import Command
from sqlalchemy import func, select

from bot.callbacks import CURATOR_PREFIXES
from bot.domain.entities import Role
from storage.models import Invitation
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee, onboard_mentor, token_in


def curator_commands(dp) -> list[str]:
    """Discovered from the routers, so a new curator command is covered without editing this test."""
    found = []
    for router in dp.chain_tail:
        for handler in router.message.handlers:
            roles = handler.flags.get("roles")
            if roles and set(roles) == {Role.CURATOR}:
                for f in handler.filters or []:
                    if isinstance(f.callback, Command):
                        found += [c if isinstance(c, str) else c.pattern for c in f.callback.commands]
    return sorted(set(found))


def forged_callbacks(invitation_id: int) -> list[str]:
    samples = {"ci": ["ci:mentee", "ci:curator"], "cr": [f"cr:{invitation_id}"]}
    out = []
    for prefix in CURATOR_PREFIXES:
        out += samples.get(prefix, [f"{prefix}:1", f"{prefix}:x:1"])
    return out


async def invitation_count(h) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.session.scalar(select(func.count()).select_from(Invitation))


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


async def test_curator_commands_are_discovered(h):
    assert {"invite", "invites", "participants"} <= set(curator_commands(h.app.dp))


@pytest.mark.parametrize("role", ["mentee", "mentor", "parent", "minor", "stranger"])
async def test_every_curator_command_refused_for_other_roles(h, role):
    _, others = await people(h)
    client = others[role]
    before = await invitation_count(h)
    commands = curator_commands(h.app.dp)
    assert commands
    for command in commands:
        replies = await client.send(f"/{command}")
        assert replies and "только куратору" in replies[-1].text, (role, command)
    assert await invitation_count(h) == before


@pytest.mark.parametrize("role", ["mentee", "mentor", "parent", "minor", "stranger"])
async def test_every_curator_callback_refused_and_logged(h, role, caplog):
    c, others = await people(h)
    await c.send("/invite")
    replies = await c.click("наставник")
    token = token_in(replies[-1].text)
    async with unit_of_work(h.app.factory) as repos:
        from bot.services.tokens import token_hash

        inv = await repos.invitations.by_hash(token_hash(token))
    client = others[role]
    before = await invitation_count(h)
    caplog.set_level(logging.WARNING, logger="nastavnik.access")
    for data in forged_callbacks(inv.id):
        alerts_before = len(client.alerts())
        await client.press(data)
        assert len(client.alerts()) == alerts_before + 1
        assert "только куратору" in client.alerts()[-1], (role, data)
    assert await invitation_count(h) == before
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.invitations.get(inv.id)).revoked_at is None
    denied = [r for r in caplog.records if "access denied" in r.getMessage()]
    assert len(denied) == len(forged_callbacks(inv.id))


async def test_curator_passes_the_same_checks(h):
    c, _ = await people(h)
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
