"""Curator links and roles (issue #14.3): a curator link is single-use and lives a day unless the curator asks
for several people; a curator removes roles (audited), never the last curator's, never from someone in an
active pair; revoking a link lists who joined through it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.callbacks.people import RolesCb
from bot.domain.entities import Role
from bot.domain.grammar import format_when
from bot.i18n import Translator
from bot.services.tokens import token_hash
from storage.models import AuditEntry
from storage.uow import unit_of_work
from tests.helpers import invite, onboard_curator, onboard_mentee, onboard_mentor, token_in

CONSENT = "✅ Даю согласие"


async def participant(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.participants.by_telegram_id(telegram_id)


async def join_as_curator(h, token: str, telegram_id: int, name: str):
    u = h.user(telegram_id, "C", "ru")
    replies = await u.send(f"/start {token}")
    if not replies[-1].buttons():
        return u, replies
    await u.click(CONSENT)
    replies = await u.send(name)
    return u, replies


async def open_roles(c, person_id: int):
    return await c.press(RolesCb(a="v", p=person_id).pack())


# ------------------------------------------------------------------------- single-use, short-lived
async def test_a_curator_link_is_single_use_and_lasts_a_day(h):
    c = await onboard_curator(h)
    await c.send("/invite")
    replies = await c.click("куратор")
    text = replies[-1].text
    assert "Одноразовая ссылка" in text
    token = token_in(text)
    async with unit_of_work(h.app.factory) as repos:
        inv = await repos.invitations.by_hash(token_hash(token))
    assert inv.expires_at - inv.created_at == timedelta(hours=24) and inv.max_uses == 1
    local = inv.expires_at.astimezone(h.app.settings.tz)
    # "до 7 декабря, понедельник, 14:06": the date in words, with the time, in the programme's zone
    today = inv.created_at.astimezone(h.app.settings.tz).date()
    assert f"действует до {format_when(Translator('ru'), local, today=today)}" in text
    assert f"{local.day} " in text and f"{local:%H:%M}" in text and f"{local:%d.%m.%Y}" not in text
    await join_as_curator(h, token, 1101, "Второва Анна")
    assert (await participant(h, 1101)).is_curator
    _, replies = await join_as_curator(h, token, 1102, "Третьев Павел")
    assert "максимальное число" in replies[-1].text
    assert await participant(h, 1102) is None


async def test_a_curator_link_for_several_people_only_when_asked(h):
    c = await onboard_curator(h)
    await c.send("/invite")
    replies = await c.click("куратор — для нескольких человек")
    assert "для нескольких человек" in replies[-1].text
    token = token_in(replies[-1].text)
    await join_as_curator(h, token, 1103, "Второва Анна")
    await join_as_curator(h, token, 1104, "Третьев Павел")
    assert (await participant(h, 1103)).is_curator and (await participant(h, 1104)).is_curator


# ------------------------------------------------------------------------- removing roles
async def test_a_curator_removes_a_role_with_an_audit_entry(h):
    c = await onboard_curator(h)
    mentor = await onboard_mentor(h, c, 3201)
    me = await participant(h, 3201)
    # From the participant's card: the Roles button.
    await c.send("/participants")
    await c.click("Сидорова Ольга Павловна")
    replies = await c.click("Роли")
    assert "Роли: Сидорова Ольга Павловна" in replies[-1].text and "наставник" in replies[-1].text
    replies = await c.click(next(b["text"] for b in replies[-1].buttons() if "Снять роль" in b["text"]))
    assert any("Роль снята: наставник" in (m.text or "") for m in replies)
    assert (await participant(h, 3201)).roles == frozenset()
    async with unit_of_work(h.app.factory) as repos:
        query = select(AuditEntry).where(AuditEntry.action == "role.remove")
        entries = (await repos.session.scalars(query)).all()
    assert [(e.object_id, e.details["role"]) for e in entries] == [(me.id, "mentor")]
    await h.deliver_outbox()
    assert "снята роль «наставник»" in mentor.texts()[-1]
    # The command the mentor had is no longer theirs.
    assert "недоступна" in (await mentor.send("/meetings"))[-1].text


async def test_the_last_curator_cannot_remove_their_own_role(h):
    c = await onboard_curator(h)
    me = await participant(h, 1000)
    replies = await c.send(f"/roles {me.id}")
    await c.press(replies[-1].buttons()[0]["callback_data"], replies[-1])
    assert "Вы единственный куратор" in c.alerts()[-1]
    assert (await participant(h, 1000)).is_curator
    # With a second curator it works.
    await c.send("/invite")
    token = token_in((await c.click("куратор"))[-1].text)
    await join_as_curator(h, token, 1105, "Второва Анна")
    second = await participant(h, 1105)
    replies = await c.send(f"/roles {second.id}")
    await c.press(replies[-1].buttons()[0]["callback_data"], replies[-1])
    assert not (await participant(h, 1105)).is_curator


async def test_a_curator_by_the_servers_settings_is_not_removed_in_chat(h):
    """Curator 1000 is in CURATOR_IDS (tests/conftest.py): the role would come back at their next /start, so
    removing it in chat is refused with where it can be changed, not reported done."""
    c = await onboard_curator(h)
    me = await participant(h, 1000)
    await c.send("/invite")
    token = token_in((await c.click("куратор"))[-1].text)
    second, _ = await join_as_curator(h, token, 1106, "Третьякова Анна")
    replies = await second.send(f"/roles {me.id}")
    await second.press(replies[-1].buttons()[0]["callback_data"], replies[-1])
    assert "CURATOR_IDS" in second.alerts()[-1]
    await c.send("/start")
    assert (await participant(h, 1000)).is_curator
    async with unit_of_work(h.app.factory) as repos:
        query = select(AuditEntry).where(AuditEntry.action == "role.remove")
        assert (await repos.session.scalars(query)).all() == []


async def test_a_role_in_an_active_pair_is_not_removed(h):
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2201)
    await onboard_mentor(h, c, 3202)
    mentee, mentor = await participant(h, 2201), await participant(h, 3202)
    async with unit_of_work(h.app.factory) as repos:
        pid = await repos.pairs.create(None, mentor.id, None, h.app.clock())
        await repos.pairs.add_member(pid, mentee.id, h.app.clock())
    for person, role in ((mentee, Role.MENTEE), (mentor, Role.MENTOR)):
        replies = await open_roles(c, person.id)
        await c.press(replies[-1].buttons()[0]["callback_data"], replies[-1])
        assert "Сначала завершите пару" in c.alerts()[-1]
        assert role in (await participant(h, person.telegram_id)).roles


# ------------------------------------------------------------------------- revoking lists who joined
async def test_revoking_a_link_lists_who_joined_through_it(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставляемый")
    link_message = c.last()
    for tg, name in ((2202, "Петров Иван"), (2203, "Иванова Мария")):
        u = h.user(tg, "M", "ru")
        await u.send(f"/start {token}")
        await u.click(CONSENT)
        await u.send(name)
    replies = await c.press(link_message.buttons()[0]["callback_data"], link_message)
    text = replies[-1].text
    assert "Кто присоединился по этой ссылке (2)" in text
    assert "• Петров Иван — наставляемый" in text and "• Иванова Мария — наставляемый" in text
    replies = await c.click("Роли: Петров Иван")
    assert "Роли: Петров Иван" in replies[-1].text
