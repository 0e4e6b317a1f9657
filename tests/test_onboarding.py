"""Each role's onboarding through the real dispatcher, in Russian and English."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.domain.entities import Role, Status
from bot.services.onboarding import refusal_fingerprint
from bot.services.tokens import token_hash
from storage.models import Consent, Invitation, Participant
from storage.uow import unit_of_work
from tests.helpers import invite, onboard_curator, onboard_mentee, onboard_mentor, token_in


async def participant(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.participants.by_telegram_id(telegram_id)


async def test_curator_from_settings_onboards_and_gets_curator_menu(h):
    c = await onboard_curator(h)
    me = await participant(h, 1000)
    assert me.is_curator and me.full_name == "Куратова Анна Сергеевна" and me.status == Status.ACTIVE
    assert any("/invite" in t for t in c.texts())
    menus = [v for k, v in h.fake.commands.items() if '"chat_id": 1000' in k]
    assert menus and {"invite", "invites", "participants"} <= {c["command"] for c in menus[-1]}


async def test_adult_mentee_onboards_in_russian(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2001)
    me = await participant(h, 2001)
    assert me.roles == {Role.MENTEE} and me.status == Status.ACTIVE
    assert me.group_name == "9А" and me.is_minor is False and me.language == "ru"
    assert "анкета" in u.texts()[-2]
    assert u.texts()[-1].startswith("Анкета наставляемого · Вопрос 1 из")  # the needs questionnaire follows


async def test_mentor_onboards_in_english(h):
    c = await onboard_curator(h)
    u = await onboard_mentor(h, c, 3001, lang="en", name="Olga Sidorova")
    me = await participant(h, 3001)
    assert me.roles == {Role.MENTOR} and me.language == "en" and me.position == "maths teacher"
    assert "mentor questionnaire" in u.texts()[-2]
    assert "Question 1 of" in u.texts()[-1]
    assert "Olga Sidorova" not in "".join(u.texts()[:2])


async def test_minor_waits_for_parent_then_parent_consents(h):
    c = await onboard_curator(h)
    kid = await onboard_mentee(h, c, 2002, adult=False, name="Смирнов Пётр")
    assert (await participant(h, 2002)).status == Status.AWAITING_PARENT
    token = token_in(kid.texts()[-1])
    parent = h.user(4001, "Parent", "ru")
    replies = await parent.send(f"/start {token}")
    assert "родителя (законного представителя)" in replies[-1].text
    await parent.click("✅ Даю согласие")
    await parent.send("Смирнова Елена Викторовна")
    p = await participant(h, 4001)
    assert p.roles == {Role.PARENT} and p.status == Status.ACTIVE
    assert (await participant(h, 2002)).status == Status.ACTIVE
    await h.deliver_outbox()
    assert "Родитель дал согласие" in kid.texts()[-1]
    # The curator sees who still waits: nobody now.
    replies = await c.send("/participants")
    assert "Ждут согласия родителя" not in replies[-1].text


async def test_curator_sees_minor_awaiting_parent(h):
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2003, adult=False, name="Кузнецова Дарья")
    replies = await c.send("/participants")
    assert "Ждут согласия родителя:\n• Кузнецова Дарья (9А)" in replies[-1].text


async def test_language_comes_from_telegram_and_can_be_switched(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставляемый")
    u = h.user(2004, "Eve", "en-GB")
    replies = await u.send(f"/start {token}")
    assert "Consent to personal-data processing" in replies[-1].text
    await u.send("/language")
    await u.click("Русский")
    replies = await u.send("привет")
    assert "кнопкой" in replies[0].text


async def test_decline_stores_only_the_refusal(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставник")
    u = h.user(3002, "No", "ru")
    await u.send(f"/start {token}")
    replies = await u.click("Не даю согласия")
    assert "ничего о вас не сохранили" in replies[-1].text
    async with unit_of_work(h.app.factory) as repos:
        assert await repos.participants.by_telegram_id(3002) is None
        # The refusal is kept without the Telegram id: only its HMAC, which can confirm whose it is.
        assert not (await repos.session.scalars(select(Consent).where(Consent.telegram_id == 3002))).all()
        secret = h.app.settings.bot_token.get_secret_value()
        rows = (
            await repos.session.scalars(
                select(Consent).where(Consent.telegram_hash == refusal_fingerprint(3002, secret))
            )
        ).all()
        assert [(r.accepted, r.participant_id, r.telegram_id) for r in rows] == [(False, None, None)]
        inv = await repos.invitations.by_hash(token_hash(token))
        assert inv.uses == 0


async def test_bad_tokens_explain_and_store_nothing(h):
    c = await onboard_curator(h)
    u = h.user(5001, "X", "ru")
    async with unit_of_work(h.app.factory) as repos:
        before = await repos.session.scalar(select(func.count()).select_from(Participant))
    assert "не найдена" in (await u.send("/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))[-1].text
    assert "не найдена" in (await u.send("/start ../../etc"))[-1].text
    # expired
    token = await invite(c, "наставляемый")
    async with unit_of_work(h.app.factory) as repos:
        inv = await repos.invitations.by_hash(token_hash(token))
        row = await repos.session.get(Invitation, inv.id)
        row.expires_at = h.app.clock() - timedelta(seconds=1)
    assert "истёк" in (await u.send(f"/start {token}"))[-1].text
    # revoked
    token = await invite(c, "наставляемый")
    await c.click("Отозвать ссылку")
    assert "отозвана" in (await u.send(f"/start {token}"))[-1].text
    # used up
    async with unit_of_work(h.app.factory) as repos:
        inv = await repos.invitations.by_hash(token_hash(token))
        row = await repos.session.get(Invitation, inv.id)
        row.revoked_at, row.max_uses, row.uses = None, 1, 1
    assert "максимальное число" in (await u.send(f"/start {token}"))[-1].text
    async with unit_of_work(h.app.factory) as repos:
        after = await repos.session.scalar(select(func.count()).select_from(Participant))
    assert after == before


async def test_token_is_unguessable_and_stored_hashed(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставник")
    assert len(token) >= 22  # ≥ 128 bits in base64url
    async with unit_of_work(h.app.factory) as repos:
        hashes = (await repos.session.scalars(select(Invitation.token_hash))).all()
    assert token not in hashes and token_hash(token) in hashes


async def test_withdrawal_stops_writing_and_marks_for_deletion(h):
    from bot.domain.entities import NewMessage
    from bot.services.privacy import erase_due

    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2005)
    await u.send("/consent")
    await u.click("Отозвать согласие")
    replies = await u.click("Да, отозвать")
    assert "Согласие отозвано" in replies[-1].text
    me = await participant(h, 2005)
    assert me.status == Status.WITHDRAWN
    # Nothing more reaches them through the outbox.
    async with unit_of_work(h.app.factory) as repos:
        await repos.outbox.enqueue(
            [NewMessage(chat_id=2005, text="announcement", kind="test")], h.app.clock()
        )
    before = len(u.texts())
    await h.deliver_outbox()
    assert len(u.texts()) == before
    # Same-day deletion job anonymises the row.
    async with unit_of_work(h.app.factory) as repos:
        assert len(await erase_due(repos, h.app.clock())) == 1
        row = await repos.session.get(Participant, me.id)
        assert row.full_name is None and row.telegram_id is None and row.group_name is None
    # /start afterwards: a clear explanation, not the old data.
    assert "ссылке-приглашению" in (await u.send("/start"))[-1].text


async def test_parent_withdraws_consent_for_child(h):
    c = await onboard_curator(h)
    kid = await onboard_mentee(h, c, 2006, adult=False)
    parent = h.user(4002, "P", "ru")
    await parent.send(f"/start {token_in(kid.texts()[-1])}")
    await parent.click("✅ Даю согласие")
    await parent.send("Петрова Анна")
    await parent.send("/consent")
    await parent.click("Отозвать согласие")  # the newest such button: the child's
    replies = await parent.click("Да, отозвать")
    assert "ребёнка отозвано" in replies[-1].text
    assert (await participant(h, 2006)).status == Status.WITHDRAWN
    assert (await participant(h, 4002)).status == Status.ACTIVE


async def test_one_person_can_hold_several_roles(h):
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2007)
    token = await invite(c, "наставник")
    u = h.user(2007, "Mentee", "ru")
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие")
    await u.send("студент 4 курса")
    me = await participant(h, 2007)
    assert me.roles == {Role.MENTEE, Role.MENTOR} and me.position == "студент 4 курса"


async def test_bad_profile_input_gets_message_and_same_question(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставляемый")
    u = h.user(2008, "M", "ru")
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие")
    replies = await u.send("1")
    assert "Не похоже на ФИО" in replies[0].text and "Как вас зовут" in replies[1].text
    replies = await u.send("/help")
    assert (await participant(h, 2008)).full_name is None
    await u.send("Орлова Вера")
    replies = await u.send("x" * 40)
    assert "до 30 символов" in replies[0].text and "классе" in replies[1].text
    assert (await participant(h, 2008)).group_name is None


async def test_restart_mid_profile_resumes_at_same_step(h):
    c = await onboard_curator(h)
    token = await invite(c, "наставляемый")
    u = h.user(2009, "M", "ru")
    await u.send(f"/start {token}")
    await u.click("✅ Даю согласие")
    await u.send("Белова Нина")
    h2 = await h.restart()
    u2 = h2.user(2009, "M", "ru")
    replies = await u2.send("10В")  # the FSM state survived: this answers the class question
    assert "18 лет" in replies[-1].text
    replies = await u2.send("/start")
    assert "18 лет" in replies[-1].text
    await u2.click("Да")
    me = await participant(h2, 2009)
    assert me.group_name == "10В" and me.status == Status.ACTIVE
    await h2.close()


async def test_cancel_and_stray_text(h):
    u = h.user(5002, "X", "ru")
    assert "Сейчас нечего отменять" in (await u.send("/cancel"))[-1].text
    assert "/help" in (await u.send("что это?"))[-1].text


async def test_handler_error_apologises_and_bot_keeps_running(h, monkeypatch):
    from bot.services import onboarding

    async def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(onboarding, "check_token", boom)
    u = h.user(5003, "X", "ru")
    replies = await u.send("/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert "что-то пошло не так" in replies[-1].text
    monkeypatch.undo()
    assert "не найдена" in (await u.send("/start AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))[-1].text


async def test_two_quick_taps_do_not_race(h):
    import asyncio

    c = await onboard_curator(h)
    token = await invite(c, "наставляемый")
    u = h.user(2010, "M", "ru")
    await u.send(f"/start {token}")
    button = next(b for b in u.last().buttons() if b["text"] == "✅ Даю согласие")
    msg = u.last()
    await asyncio.gather(u.press(button["callback_data"], msg), u.press(button["callback_data"], msg))
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(2010)
        consents = [x for x in await repos.consents.history(me.id) if x.kind == "self"]
        inv = await repos.invitations.by_hash(token_hash(token))
    assert len(consents) == 1 and inv.uses == 1
    assert sum("Как вас зовут" in t for t in u.texts()) == 1


async def test_curator_added_from_cli_joins_with_consent(h):
    from bot.cli import _add_role

    assert await _add_role(h.app.settings.database_url, 1234, "curator", None) == 0
    c = h.user(1234, "C", "en")
    replies = await c.send("/start")
    assert "Consent" in replies[-1].text
    await c.click("✅ I consent")
    await c.send("Boris Curator")
    me = await participant(h, 1234)
    assert me.is_curator and me.status == Status.ACTIVE
    assert "Active invitations" in (await c.send("/invites"))[0].text or "No active" in c.texts()[-1]


async def test_logs_hold_no_personal_data(h, caplog):
    import logging

    from bot.logging_setup import setup_logging

    setup_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    c = await onboard_curator(h)
    await onboard_mentee(h, c, 2011, name="Секретова Алиса")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "Секретова" not in text and "Куратова" not in text and "9А" not in text
    assert h.app.settings.bot_token.get_secret_value() not in text
