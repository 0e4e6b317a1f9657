"""The meeting sequence with a controllable clock: all five stages, reminders exactly once (also across a
restart, a reschedule and a cancel), quiet hours, missed-while-down reminders, feedback gating, the digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.domain.grammar import format_date
from bot.i18n import Translator
from bot.services import matching
from storage.models import Reminder
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

MSK = ZoneInfo("Europe/Moscow")
FINAL_SURVEY = "📝 Заполнить итоговый опрос"


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, local: str) -> None:
        self.now = datetime.strptime(local, "%d.%m.%Y %H:%M").replace(tzinfo=MSK).astimezone(UTC)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    c = FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow
    return c


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


async def make_pair(h):
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 2))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Пётр", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        pair = await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, h.app.clock())
    return pair, h.user(mentor_tg, "Mentor", "ru"), h.user(mentee_tg, "Mentee", "ru")


async def reminders(h, **where):
    async with unit_of_work(h.app.factory) as repos:
        q = select(Reminder)
        for k, v in where.items():
            q = q.where(getattr(Reminder, k) == v)
        return (await repos.session.scalars(q.order_by(Reminder.id))).all()


async def answer_feedback(u):
    """Walk the meeting feedback form to the end and submit."""
    for _ in range(20):
        last = u.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "проверь ответы" in text or "проверьте ответы" in text:  # a pupil answers in «ты»
            await u.click("Всё верно, отправить")
            return
        options = [b for b in buttons if b not in ("« Назад", "Пропустить")]
        if "5" in options:
            await u.click("5")
        elif options:
            await u.click(options[0])
        elif "Пропустить" in buttons:
            await u.click("Пропустить")
        else:
            await u.send("Разобрали тему, наметили следующие шаги и договорились о задачах.")
    raise AssertionError("feedback form never ended")


async def propose_and_confirm(h, clock, proposer, other, when_local: str):
    await proposer.send("/meeting")
    replies = await proposer.send(when_local)
    assert "Как пройдёт встреча?" in replies[-1].text, [r.text for r in replies]
    await proposer.click("Онлайн")
    replies = await proposer.send("https://meet.example.org/room-1")
    assert "Предложение отправлено" in replies[-1].text
    await h.deliver_outbox()
    assert "предлагает встречу" in other.last().text
    await other.click("✅ Подтвердить")
    await h.deliver_outbox()


async def hold_and_feedback(h, clock, people, end_local: str):
    clock.set(end_local)
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    for u in people:
        assert "состоялась?" in u.last().text
        await u.click("Да, состоялась")
        await answer_feedback(u)
    await h.deliver_outbox()


async def stage_of(h, pair_id):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.pairs.get(pair_id)


async def test_pair_walks_all_five_stages_with_reminders_feedback_and_ics(hc, clock):
    h = hc
    pair, mentor, mentee = await make_pair(h)
    day = datetime(2026, 11, 24, tzinfo=MSK)
    stages_seen = []
    for n in range(10):  # introduction, trial, planning, 6 × joint work, final
        date_s = (day + timedelta(days=2 * n)).strftime("%d.%m.%Y")
        # Reminders write the date as people do: "24 ноября, вторник, 16:30".
        shown = format_date(Translator("ru"), (day + timedelta(days=2 * n)).date(), today=day.date())
        proposer, other = (mentor, mentee) if n % 2 == 0 else (mentee, mentor)
        await propose_and_confirm(h, clock, proposer, other, f"{date_s} 16:30")
        ics = [m for m in h.fake.delivered_to(mentee.id) if m.method == "sendDocument"]
        assert ics and ics[-1].document["data"].startswith(b"BEGIN:VCALENDAR")
        assert b"DTSTART:" in ics[-1].document["data"]
        # the 24 h reminder: once, even when the sweep runs twice
        clock.set(f"{(day + timedelta(days=2 * n - 1)).strftime('%d.%m.%Y')} 16:31")
        await h.app.reminders.fire_due()
        await h.app.reminders.fire_due()
        await h.deliver_outbox()
        assert (
            sum(
                "⏰ Напоминание" in (m.text or "") and shown in m.text for m in h.fake.delivered_to(mentee.id)
            )
            == 1
        )
        # the 1 h reminder
        clock.set(f"{date_s} 15:31")
        await h.app.reminders.fire_due()
        await h.deliver_outbox()
        assert (
            sum("Через час" in (m.text or "") and shown in m.text for m in h.fake.delivered_to(mentor.id))
            == 1
        )
        await hold_and_feedback(h, clock, [mentor, mentee], f"{date_s} 17:45")
        if n == 2:  # the planning meeting: the mentor records the development plan
            assert any(
                "индивидуальный план развития" in (m.text or "") for m in h.fake.delivered_to(mentor.id)[-4:]
            )
            replies = await mentor.send("Подготовить проект к конкурсу — 31.03.2027")
            assert "Цель добавлена" in replies[-1].text
            await mentor.send("/cancel")
        stages_seen.append((await stage_of(h, pair.id)).stage)
    assert stages_seen[:3] == ["trial", "planning", "joint_work"]
    assert stages_seen[3:8] == ["joint_work"] * 5
    final = await stage_of(h, pair.id)
    assert final.status == "finished"
    # each stage's scenario came once, with its first confirmed meeting (tests/test_text_flow.py counts them)
    for u in (mentor, mentee):
        assert sum(m.text.startswith("📘 Сценарий") for m in h.fake.delivered_to(u.id) if m.text) == 5
    # the pair's one goodbye is the final survey's offer below, not also "all stages done"
    assert not any(
        "все этапы программы наставничества завершены" in (m.text or "")
        for m in h.fake.delivered_to(mentee.id)
    )
    # the finished pair: each member is offered the final survey (completion.pair_finished), once
    for u in (mentor, mentee):
        offers = [m for m in h.fake.delivered_to(u.id) if FINAL_SURVEY in [b["text"] for b in m.buttons()]]
        assert len(offers) == 1, u
    # every reminder row was sent at most once, and every sent one exactly once in Telegram
    rows = await reminders(h)
    texts = [m.text or "" for m in h.fake.all_delivered()]
    assert len(texts) == len(h.fake.all_delivered())
    assert all(r.status in ("sent", "cancelled", "dropped", "pending") for r in rows)


async def test_feedback_is_mandatory_before_the_next_stage(hc, clock):
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "24.11.2026 16:30")
    # /meetings lists it as people write a date of this year: no year, the weekday, the time
    overview = (await mentee.send("/meetings"))[-1].text or ""
    assert "• 24 ноября, вторник, 16:30 · Встреча-знакомство" in overview and "2026" not in overview
    clock.set("24.11.2026 17:45")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    await mentor.click("Да, состоялась")
    await answer_feedback(mentor)
    assert "Ждём отзывы остальных" in mentor.last().text
    assert (await stage_of(h, pair.id)).stage == "introduction"
    replies = await mentor.send("/meeting")
    assert "обратная связь" in replies[-1].text  # refused: feedback is pending
    # nudges to the mentee after 1 day, then 3 days — each once
    clock.set("25.11.2026 18:00")
    await h.app.reminders.fire_due()
    clock.set("27.11.2026 18:00")
    await h.app.reminders.fire_due()
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    nudges = [
        m for m in h.fake.delivered_to(mentee.id) if "Пожалуйста, оставь отзыв о встрече" in (m.text or "")
    ]
    assert len(nudges) == 2
    assert not [
        m for m in h.fake.delivered_to(mentor.id) if "Пожалуйста, оставьте отзыв о встрече" in (m.text or "")
    ]
    await mentee.click("Оставить отзыв")
    await answer_feedback(mentee)
    await h.deliver_outbox()
    assert (await stage_of(h, pair.id)).stage == "trial"
    assert any("Этап «Встреча-знакомство» пройден" in (m.text or "") for m in h.fake.delivered_to(mentor.id))


async def test_reschedule_and_cancel_move_or_remove_reminders(hc, clock):
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "24.11.2026 16:30")
    first = [r.id for r in await reminders(h, status="pending")]
    assert len(first) == 6  # (24 h, 1 h, after-check) × 2 people
    assert all(h.app.reminders.armed(rid) for rid in first)
    await mentee.send("/meeting")
    await mentee.click("Перенести")
    await mentee.send("26.11.2026 12:00")
    await mentee.click("Очно")
    await mentee.send("Кабинет 204")
    await h.deliver_outbox()
    await mentor.click("✅ Подтвердить")
    assert {r.status for r in await reminders(h) if r.id in first} == {"cancelled"}
    assert not any(h.app.reminders.armed(rid) for rid in first)
    # nothing of the old time fires
    clock.set("24.11.2026 16:00")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    old = "24 ноября, вторник, 16:30"
    assert not [m for m in h.fake.all_delivered() if old in (m.text or "") and "⏰" in m.text]
    clock.set("25.11.2026 12:05")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    assert (
        sum(
            "⏰ Напоминание" in (m.text or "") and "26 ноября, четверг, 12:00" in m.text
            for m in h.fake.delivered_to(mentor.id)
        )
        == 1
    )
    # cancel with a reason: the rest disappears, the other side is told
    await mentor.send("/meeting")
    await mentor.click("Отменить встречу")
    await mentor.send("Заболел")
    await h.deliver_outbox()
    assert "Причина: Заболел" in mentee.last().text
    assert not [r for r in await reminders(h, status="pending")]


async def test_restart_with_pending_and_missed_reminders_sends_each_once_or_drops(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "24.11.2026 16:30")
    await h.close()
    # The bot is down over both reminders; it comes back after the meeting began.
    clock.set("24.11.2026 16:40")
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    try:
        await h.app.reminders.rearm_all()
        await h.deliver_outbox()
        before = [m for m in fake.delivered_to(mentee.id) if "⏰" in (m.text or "")]
        assert before == []  # "24 h before" and "1 h before" after the meeting began: dropped, not sent late
        rows = await reminders(h)
        statuses = {r.kind: r.status for r in rows}
        assert statuses["before_24h"] == statuses["before_1h"] == "expired"
        # the after-meeting question is still meaningful and comes once, even after another restart
        clock.set("24.11.2026 17:50")
        await h.app.reminders.rearm_all()
        h = (await h.restart()).unpaced()
        await h.app.reminders.rearm_all()
        await h.deliver_outbox()
        asked = [m for m in fake.delivered_to(mentee.id) if "состоялась?" in (m.text or "")]
        assert len(asked) == 1
    finally:
        await h.close()


async def test_quiet_hours_defer_non_urgent_reminders(hc, clock):
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "25.11.2026 23:00")
    rows = {r.kind: r for r in await reminders(h, participant_id=(await _pid(h, mentee.id)))}
    day_before = rows["before_24h"].due_at.astimezone(MSK)
    assert (day_before.hour, day_before.minute) == (
        8,
        0,
    ) and day_before.day == 25  # 23:00 the day before → 08:00
    assert rows["before_1h"].due_at.astimezone(MSK).hour == 22  # urgent: not deferred


async def _pid(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return (await repos.participants.by_telegram_id(telegram_id)).id


async def test_overdue_pair_in_the_curators_daily_digest(hc, clock):
    h = hc
    c = await onboard_curator(h)
    pair, mentor, mentee = await make_pair(h)
    clock.set("10.12.2026 09:00")  # the introduction stage (14 days) is 3 days late
    await h.app.jobs.daily_digest()
    await h.app.jobs.daily_digest()  # run twice the same day: one digest
    await h.deliver_outbox()
    digests = [m for m in h.fake.delivered_to(c.id) if "Ежедневная сводка" in (m.text or "")]
    assert len(digests) == 1
    text = digests[0].text
    assert (
        "Встреча-знакомство — 1:" in text
        and f"№{pair.id} Наставникова Ольга — Ученик Пётр — просрочка 3 дня" in text
    )
    assert [m for m in h.fake.delivered_to(mentee.id) if "просрочен" in (m.text or "")]
    await c.click(f"🔔 Напомнить паре №{pair.id}")
    await h.deliver_outbox()
    assert "Куратор программы напоминает" in mentee.last().text
    replies = await c.click(f"Открыть пару №{pair.id}")
    assert (
        f"Пара №{pair.id}: Наставникова Ольга, Ученик Пётр" in replies[-1].text
        and "просрочка 3 дня" in replies[-1].text
    )
    # paired on 23 November, 14 days for the introduction: the deadline as people write it, this year's
    assert "Этап: Встреча-знакомство, срок 7 декабря" in replies[-1].text
    clock.set("11.12.2026 09:00")
    await h.app.jobs.daily_digest()
    await h.deliver_outbox()
    assert len([m for m in h.fake.delivered_to(c.id) if "Ежедневная сводка" in (m.text or "")]) == 2
    assert len([m for m in h.fake.delivered_to(mentee.id) if "просрочен" in (m.text or "")]) == 1


async def test_meeting_time_validation_in_chat(hc, clock):
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await mentor.send("/meeting")
    replies = await mentor.send("вчера")
    assert "25.12 16:30" in replies[-1].text
    replies = await mentor.send("20.11.2026 10:00")
    assert "прошл" in replies[0].text.lower()
    await mentor.send("/meeting")
    await mentor.click("Завтра")
    replies = await mentor.send("16:30")
    assert "Как пройдёт встреча?" in replies[-1].text


async def test_immediate_alert_for_curators_who_ask(hc, clock):
    h = hc
    c = await onboard_curator(h)
    pair, mentor, mentee = await make_pair(h)
    replies = await c.send("/alerts")
    assert "включены" in replies[-1].text
    clock.set("08.12.2026 11:00")  # the introduction deadline (14 days) passed yesterday: first late day
    await h.app.jobs.hourly_scan()
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    alerts = [m for m in h.fake.delivered_to(c.id) if "только что вышли за срок" in (m.text or "")]
    assert len(alerts) == 1 and f"№{pair.id}" in alerts[0].text
    replies = await c.send("/alerts")
    assert "выключены" in replies[-1].text


async def test_someone_in_two_programmes_chooses_the_pair_and_sees_both(hc, clock):
    """A mentee in two programmes (e.g. pupil–pupil and a project with a teacher) has two pairs: /meeting and
    /goals ask which one, and /meetings shows both."""
    h = hc
    pair_a, mentor_a, mentee = await make_pair(h)
    mentor_b_id, mentor_b_tg = await seed(h, Role.MENTOR, "Проектов Иван", mentor_answers(["math"], 2))
    async with unit_of_work(h.app.factory) as repos:
        second = await repos.programmes.create("Проектная смена", "Europe/Moscow", h.app.clock())
        mentee_id = (await repos.participants.by_telegram_id(mentee.id)).id
        pair_b = await matching.create_pairing(repos, second.id, mentee_id, mentor_b_id, None, h.app.clock())
    replies = await mentee.send("/meeting")
    assert "несколько пар" in replies[-1].text
    labels = [b["text"] for b in replies[-1].buttons()]
    assert len(labels) == 2 and any("Проектная смена" in x for x in labels)
    await mentee.click(next(x for x in labels if "Проектная смена" in x))
    assert "Назначаем встречу" in mentee.last().text
    await mentee.send("25.11.2026 16:30")
    await mentee.click("Онлайн")
    replies = await mentee.send("https://meet.example.org/project")
    assert "Предложение отправлено" in replies[-1].text
    async with unit_of_work(h.app.factory) as repos:
        assert [m.pair_id for m in await repos.meetings.for_pair(pair_b.id)] == [pair_b.id]
        assert await repos.meetings.for_pair(pair_a.id) == []
    await h.deliver_outbox()
    assert "предлагает встречу" in h.user(mentor_b_tg, "B", "ru").last().text
    assert not any("предлагает встречу" in (m.text or "") for m in h.fake.delivered_to(mentor_a.id))
    overviews = await mentee.send("/meetings")
    named = [m for m in overviews if "Проектов" in (m.text or "") or "Наставникова" in (m.text or "")]
    assert len(named) == 2


async def test_a_mentee_who_withdraws_leaves_the_pair_and_its_reminders_stop(hc, clock):
    """Feedback is mandatory from every member: a mentee who withdrew consent must not keep the pair's stage
    locked forever. The pair ends, the mentor is told (without the name), nothing more is reminded."""
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "24.11.2026 16:30")
    assert {r.status for r in await reminders(h)} == {"pending"}
    await mentee.send("/consent")
    await mentee.click("Отозвать согласие")
    await mentee.click("Да, отозвать")
    await h.deliver_outbox()
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.pairs.get(pair.id)).status == "dissolved"
    assert {r.status for r in await reminders(h)} == {"cancelled"}
    note = mentor.last().text
    assert "вышел из программы" in note and "Ученик" not in note
    clock.set("24.11.2026 16:00")  # the meeting's "in an hour" moment: nothing goes out
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    assert mentor.last().text == note


async def test_a_mentor_who_withdraws_sends_the_mentee_back_to_matching(hc, clock):
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await mentor.send("/consent")
    await mentor.click("Отозвать согласие")
    await mentor.click("Да, отозвать")
    await h.deliver_outbox()
    assert "куратор подберёт вам нового наставника" in mentee.last().text
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.pairs.get(pair.id)).status == "dissolved"
        mentee_id = (await repos.participants.by_telegram_id(mentee.id)).id
        assert await repos.pairs.active_of_mentee(mentee_id) is None
        pool = await matching.build_pool(repos, (await repos.programmes.active())[0])
    assert mentee_id in {m.id for m in pool.mentees}


def test_the_goals_state_the_service_asks_for_is_the_handlers_state():
    """feedback_submitted names the development-plan state by its string (services do not import handlers)."""
    from bot.services.meetings import GOALS_STATE
    from handlers.states import Goals

    assert GOALS_STATE == Goals.adding.state
