"""Consent for minors (issues #14 and #20): a parent link never makes a child their own parent, withdrawing
consent closes the child's parent links, a refusal keeps no Telegram id, the parent is told whose consent
and which programme, a minor mentor needs a parent too, a parent's decline reaches the child and the curator,
and the profile asks what fits the person's programme."""

from __future__ import annotations

import struct
from pathlib import Path

from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

from bot.callbacks.people import ConsentCb
from bot.domain.entities import Role, Status
from bot.services.tokens import token_hash
from handlers.states import Onboarding
from storage.models import AuditEntry
from storage.uow import unit_of_work
from tests.helpers import invite, onboard_curator, onboard_mentee, onboard_mentor, token_in
from tests.test_programmes import create_in_chat

CONSENT = "✅ Даю согласие"


async def participant(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.participants.by_telegram_id(telegram_id)


async def invitation(h, token):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.invitations.by_hash(token_hash(token))


async def forge_consent_state(h, telegram_id: int, invitation_id: int) -> None:
    """The conversation state a /start with that link would leave (a state can be forged)."""
    key = StorageKey(bot_id=h.app.bot.id, chat_id=telegram_id, user_id=telegram_id)
    ctx = FSMContext(storage=h.app.dp.storage, key=key)
    await ctx.set_state(Onboarding.consent)
    await ctx.set_data({"invitation_id": invitation_id, "lang": "ru", "curator": False})


async def minor_with_parent_link(h, c, telegram_id=2101, name="Смирнов Пётр"):
    kid = await onboard_mentee(h, c, telegram_id, adult=False, name=name)
    assert (await participant(h, telegram_id)).status == Status.AWAITING_PARENT
    return kid, token_in(kid.texts()[-1])


# ------------------------------------------------------------------------- #14.1: nobody is their own parent
async def test_a_minor_cannot_become_their_own_parent(h):
    c = await onboard_curator(h)
    kid, token = await minor_with_parent_link(h, c)
    replies = await kid.send(f"/start {token}")
    assert "дать согласие за себя по ней нельзя" in replies[-1].text
    assert not [b for m in replies for b in m.buttons()]  # no consent button to press
    # Even with a forged conversation state, the consent button refuses: nothing saved, no use consumed.
    inv = await invitation(h, token)
    await forge_consent_state(h, kid.id, inv.id)
    replies = await kid.press(ConsentCb(action="accept").pack())
    assert "дать согласие за себя по ней нельзя" in replies[-1].text
    me = await participant(h, kid.id)
    assert me.roles == {Role.MENTEE} and me.status == Status.AWAITING_PARENT
    assert (await invitation(h, token)).uses == 0
    async with unit_of_work(h.app.factory) as repos:
        assert await repos.consents.active_for_subject(me.id, "parent") is None
        assert await repos.participants.parents_of(me.id) == []
    # The real parent can still use the link.
    parent = h.user(4101, "Parent", "ru")
    await parent.send(f"/start {token}")
    await parent.click(CONSENT)
    await parent.send("Смирнова Елена Викторовна")
    assert (await participant(h, kid.id)).status == Status.ACTIVE


async def test_another_mentee_cannot_consent_as_a_parent(h):
    c = await onboard_curator(h)
    _, token = await minor_with_parent_link(h, c)
    friend = await onboard_mentee(h, c, 2102, name="Друзьев Иван")
    replies = await friend.send(f"/start {token}")
    assert "участвуете в программе как наставляемый" in replies[-1].text
    inv = await invitation(h, token)
    await forge_consent_state(h, friend.id, inv.id)
    replies = await friend.press(ConsentCb(action="accept").pack())
    assert "участвуете в программе как наставляемый" in replies[-1].text
    assert (await participant(h, friend.id)).roles == {Role.MENTEE}
    assert (await invitation(h, token)).uses == 0
    assert (await participant(h, 2101)).status == Status.AWAITING_PARENT


async def test_parent_withdrawal_closes_the_childs_parent_links(h):
    c = await onboard_curator(h)
    kid, token = await minor_with_parent_link(h, c)
    parent = h.user(4102, "P", "ru")
    await parent.send(f"/start {token}")
    await parent.click(CONSENT)
    await parent.send("Смирнова Елена")
    await parent.send("/consent")
    await parent.click("Отозвать согласие")
    await parent.click("Да, отозвать")
    assert (await participant(h, kid.id)).status == Status.WITHDRAWN
    # The link's remaining use undoes nothing: whoever opens it (a second account of the child) is refused.
    other = h.user(4103, "Other", "ru")
    assert "отозвана" in (await other.send(f"/start {token}"))[-1].text


async def test_one_parents_withdrawal_closes_open_links_while_the_other_parents_consent_stays(h):
    c = await onboard_curator(h)
    kid, first_link = await minor_with_parent_link(h, c)
    mother = h.user(4110, "M", "ru")
    await mother.send(f"/start {first_link}")
    await mother.click(CONSENT)
    await mother.send("Смирнова Елена")
    asked = (await kid.send("/parent"))[-1].text or ""
    assert asked.startswith("Ссылка для твоего родителя")  # a pupil is told «ты»
    second_link = token_in(asked)
    father = h.user(4111, "F", "ru")
    await father.send(f"/start {second_link}")
    await father.click(CONSENT)
    await father.send("Смирнов Олег")
    await mother.send("/consent")
    await mother.click("Отозвать согласие")
    replies = await mother.click("Да, отозвать")
    assert "согласие второго родителя" in replies[-1].text
    assert (await participant(h, kid.id)).status == Status.ACTIVE
    # The first link still had a use left: it no longer works.
    stranger = h.user(4112, "S", "ru")
    assert "отозвана" in (await stranger.send(f"/start {first_link}"))[-1].text


async def test_own_withdrawal_closes_the_childs_parent_links(h):
    c = await onboard_curator(h)
    kid, token = await minor_with_parent_link(h, c)
    await kid.send("/consent")
    await kid.click("Отозвать согласие")
    await kid.click("Да, отозвать")
    parent = h.user(4104, "P", "ru")
    assert "отозвана" in (await parent.send(f"/start {token}"))[-1].text
    assert (await participant(h, 4104)) is None


# ------------------------------------------------------------------------- #14.7: a refusal keeps no id
async def test_a_refusal_leaves_no_telegram_id_in_the_database(h, db_url):
    c = await onboard_curator(h)
    token = await invite(c, "наставляемый")
    tg = 987_654_321
    u = h.user(tg, "No", "ru")
    await u.send(f"/start {token}")
    replies = await u.click("Не даю согласия")
    assert "без имени и Telegram ID" in replies[-1].text
    replies = await u.send("/mydata")
    assert "Если вы отказались дать согласие, хранится только запись об отказе" in replies[-1].text
    await h.close()
    path = Path(db_url.split(":///", 1)[1])
    data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    # SQLite writes an integer as big-endian bytes; the conversation key has it as text.
    assert str(tg).encode() not in data
    assert struct.pack(">i", tg) not in data
    h.close = _noop  # type: ignore[method-assign]


async def _noop() -> None:
    return None


# ------------------------------------------------------------------------- #20: what the parent is told
async def test_the_parent_is_told_whose_consent_and_which_programme(h):
    c = await onboard_curator(h)
    _, token = await minor_with_parent_link(h, c, name="Кузнецова Дарья")
    parent = h.user(4105, "P", "ru")
    replies = await parent.send(f"/start {token}")
    text = "\n".join(m.text or "" for m in replies)
    assert "Кузнецова Дарья" in text
    assert "«Программа наставничества»" in text
    # All that the participant's own consent says: who sees the data and how long it is kept.
    assert "Кто видит: куратор программы" in text
    assert "Сколько храним: до окончания программы или до отзыва согласия" in text
    assert replies[-1].buttons()  # the consent button comes after all of it


# ------------------------------------------------------------------------- #20: a minor mentor
async def test_a_minor_mentor_waits_for_a_parent_like_a_minor_mentee(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставник")
    u = h.user(3101, "Mentor", "ru")
    await u.send(f"/start {token}")
    await u.click(CONSENT)
    await u.send("Юнова Алиса")
    replies = await u.send("ученица 10Б")
    assert "18 лет" in replies[-1].text
    replies = await u.click("Нет")
    assert "нужно согласие родителя" in replies[-1].text
    assert (await participant(h, 3101)).status == Status.AWAITING_PARENT
    parent = h.user(4106, "P", "ru")
    replies = await parent.send(f"/start {token_in(u.texts()[-1])}")
    assert "Юнова Алиса" in "\n".join(m.text or "" for m in replies)
    await parent.click(CONSENT)
    await parent.send("Юнова Мария")
    assert (await participant(h, 3101)).status == Status.ACTIVE


async def test_an_adult_mentor_is_asked_once(h):
    c = await onboard_curator(h)
    await onboard_mentor(h, c, 3102)
    me = await participant(h, 3102)
    assert me.is_minor is False and me.status == Status.ACTIVE
    token = await invite(c, "наставляемый")
    u = h.user(3102, "Mentor", "ru")
    await u.send(f"/start {token}")
    await u.click(CONSENT)
    replies = await u.send("11А")  # the class, and no second question about age
    assert not any("18 лет" in (m.text or "") for m in replies)


# ------------------------------------------------------------------------- #20: a parent's decline
async def test_a_parents_decline_reaches_the_child_and_the_curator(h):
    c = await onboard_curator(h)
    kid, token = await minor_with_parent_link(h, c, name="Орлова Вера")
    parent = h.user(4107, "P", "ru")
    await parent.send(f"/start {token}")
    await parent.click("Не даю согласия")
    await h.deliver_outbox()
    told = kid.texts()[-1]
    assert "не дал согласия" in told and "/parent" in told and "куратору" in told
    # The curator sees it on the card and in /questionnaires.
    replies = await c.send("/participants")
    replies = await c.click("Орлова Вера")
    assert "Родитель не дал согласия" in replies[-1].text
    replies = await c.send("/questionnaires")
    assert "Родитель не дал согласия" in replies[-1].text and "Орлова Вера" in replies[-1].text
    # A new link and a consent clear it.
    replies = await kid.send("/parent")
    parent2 = h.user(4108, "P2", "ru")
    await parent2.send(f"/start {token_in(replies[-1].text)}")
    await parent2.click(CONSENT)
    await parent2.send("Орлов Иван")
    assert (await participant(h, kid.id)).status == Status.ACTIVE
    assert (await participant(h, kid.id)).parent_declined_at is None


# ------------------------------------------------------------------------- #20: questions that fit
async def test_kindergarten_staff_are_asked_a_position_and_no_age(h):
    c = await onboard_curator(h)
    await create_in_chat(c, "kindergarten", "Детский сад № 104: наставничество педагогов")
    token = await invite(c, "наставляемый")
    u = h.user(2103, "Teacher", "ru")
    await u.send(f"/start {token}")
    await u.click(CONSENT)
    replies = await u.send("Воспиталова Нина Петровна")
    assert "должность" in replies[-1].text.lower()
    replies = await u.send("воспитатель")
    me = await participant(h, 2103)
    assert me.position == "воспитатель" and me.group_name is None and me.status == Status.ACTIVE
    texts = "\n".join(u.texts())
    assert "классе" not in texts and "18 лет" not in texts
    assert "Вопрос 1 из" in replies[-1].text  # the educators' questionnaire follows
    async with unit_of_work(h.app.factory) as repos:
        actions = (await repos.session.scalars(select(AuditEntry.action))).all()
    assert "consent.accept" in actions
