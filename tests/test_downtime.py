"""Reminders after downtime (#20): the bot is stopped between the booking and the meeting and started again
with the clock moved on. Each member must receive only what is still true, newest first, and nothing about a
meeting once it has begun — whether the reminder was still a row in the database or already a message in the
outbox when the bot stopped."""

from __future__ import annotations

from sqlalchemy import select

from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.services import matching
from storage.models import OutboxMessage, Reminder
from storage.uow import unit_of_work
from tests.test_matching_flow import mentor_answers, seed
from tests.test_meetings import FakeClock, answer_feedback, clock, make_pair, propose_and_confirm  # noqa: F401

MEETING = "25.11.2026 16:30"  # booked on Monday 23.11 at 10:00, two days ahead


def start(db_url, fake, clock) -> Harness:  # noqa: F811
    return Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)


def kinds(texts: list[str]) -> list[str]:
    """What each message is, as a person would tell: reminders, the scenario, the after-meeting question."""
    out = []
    for text in texts:
        if text.startswith("⏰ Через час"):
            out.append("in an hour")
        elif text.startswith("⏰ Напоминание"):
            out.append("reminder")
        elif text.startswith("📘 Сценарий:"):
            out.append("scenario")
        elif "состоялась?" in text:
            out.append("did it happen?")
        else:
            out.append(text[:40])
    return out


async def booked_then_stopped(db_url, fake, clock):  # noqa: F811
    h = (await start(db_url, fake, clock)).unpaced()
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, MEETING)
    seen = {u.id: len(fake.delivered_to(u.id)) for u in (mentor, mentee)}
    return h, pair, mentor, mentee, seen


async def come_back(h, clock, local: str) -> Harness:  # noqa: F811
    await h.close()
    clock.set(local)
    h = (await Harness.start(h.app.settings, h.fake, clock=clock)).unpaced()
    await h.app.reminders.rearm_all()
    await h.deliver_outbox()
    return h


def received_since(h, seen, people):
    return {u.id: kinds([m.text or "" for m in h.fake.delivered_to(u.id)[seen[u.id] :]]) for u in people}


async def tick(h, clock, local: str) -> None:  # noqa: F811
    clock.set(local)
    await h.app.reminders.fire_due()
    await h.deliver_outbox()


async def reminder_status(h) -> dict[tuple[int, str], str]:
    async with unit_of_work(h.app.factory) as repos:
        rows = (await repos.session.scalars(select(Reminder))).all()
    return {(r.participant_id, r.kind): r.status for r in rows}


async def test_down_until_fifty_minutes_before_only_the_hour_reminder_arrives(db_url, fake, clock):  # noqa: F811
    """The report of #20: back 50 minutes before, each member got "in an hour", then the stale day-before
    reminder, then the scenario. Now only "in an hour" comes; the day-before one expired (kept, counted)."""
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    h = await come_back(h, clock, "25.11.2026 15:40")
    try:
        assert received_since(h, seen, (mentor, mentee)) == {
            mentor.id: ["in an hour"],
            mentee.id: ["in an hour"],
        }
        statuses = await reminder_status(h)
        assert sorted(s for (_, kind), s in statuses.items() if kind == "before_24h") == [
            "expired",
            "expired",
        ]
        assert h.app.reminders.fired["expired"] == 2
    finally:
        await h.close()


async def test_down_across_the_day_before_reminder_it_comes_late_while_still_useful(db_url, fake, clock):  # noqa: F811
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    h = await come_back(h, clock, "24.11.2026 20:00")  # 20.5 hours before: the day-before one is still useful
    try:
        await tick(h, clock, "25.11.2026 15:31")
        await tick(h, clock, "25.11.2026 17:46")
        assert received_since(h, seen, (mentor, mentee)) == {
            u.id: ["reminder", "in an hour", "did it happen?"] for u in (mentor, mentee)
        }
    finally:
        await h.close()


async def test_down_across_the_day_before_into_the_last_hours_it_is_dropped(db_url, fake, clock):  # noqa: F811
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    h = await come_back(h, clock, "25.11.2026 09:00")  # 7.5 hours before: "see you on 25.11" adds nothing
    try:
        await tick(h, clock, "25.11.2026 15:31")
        assert received_since(h, seen, (mentor, mentee)) == {u.id: ["in an hour"] for u in (mentor, mentee)}
    finally:
        await h.close()


async def test_down_across_the_hour_reminder_it_comes_before_the_start(db_url, fake, clock):  # noqa: F811
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    h = await come_back(h, clock, "24.11.2026 16:31")  # up for the day-before reminder
    await h.deliver_outbox()
    clock.set("25.11.2026 15:00")
    h = await come_back(h, clock, "25.11.2026 16:10")  # down across 15:30, back 20 minutes before
    try:
        assert received_since(h, seen, (mentor, mentee)) == {
            u.id: ["reminder", "in an hour"] for u in (mentor, mentee)
        }
    finally:
        await h.close()


async def test_down_until_after_the_meeting_only_the_question_whether_it_happened(db_url, fake, clock):  # noqa: F811
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    h = await come_back(h, clock, "25.11.2026 17:50")
    try:
        assert received_since(h, seen, (mentor, mentee)) == {
            u.id: ["did it happen?"] for u in (mentor, mentee)
        }
    finally:
        await h.close()


async def outbox_rows(h, kind: str) -> list[OutboxMessage]:
    async with unit_of_work(h.app.factory) as repos:
        return (await repos.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))).all()


async def test_a_reminder_queued_in_the_outbox_at_the_kill_is_not_sent_after_the_start(db_url, fake, clock):  # noqa: F811
    """The reminder fired (its message was queued) and the bot was killed before the sender got to it; it
    comes back after the meeting began: the queued "in an hour" is dropped and counted, not delivered."""
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    h = await come_back(h, clock, "24.11.2026 16:31")
    seen = {u.id: len(fake.delivered_to(u.id)) for u in (mentor, mentee)}
    clock.set("25.11.2026 15:30")
    await h.app.reminders.fire_due()  # queued, never sent: the process dies here
    assert len(await outbox_rows(h, "reminder:before_1h")) == 2
    h = await come_back(h, clock, "25.11.2026 16:40")
    try:
        assert received_since(h, seen, (mentor, mentee)) == {u.id: [] for u in (mentor, mentee)}
        assert [r.status for r in await outbox_rows(h, "reminder:before_1h")] == ["expired", "expired"]
        assert h.app.sender.expired == 2
        await tick(h, clock, "25.11.2026 17:46")  # the question after the meeting still comes
        assert received_since(h, seen, (mentor, mentee)) == {
            u.id: ["did it happen?"] for u in (mentor, mentee)
        }
    finally:
        await h.close()


async def test_a_queued_day_before_reminder_expires_and_brings_no_scenario_again(db_url, fake, clock):  # noqa: F811
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    clock.set("24.11.2026 16:31")
    await h.app.reminders.fire_due()  # the day-before reminder queued; the process dies
    h = await come_back(h, clock, "25.11.2026 15:40")
    try:
        assert received_since(h, seen, (mentor, mentee)) == {u.id: ["in an hour"] for u in (mentor, mentee)}
        assert [r.status for r in await outbox_rows(h, "reminder:before_24h")] == ["expired", "expired"]
        # The scenario came once, on confirmation; the day before only points to /materials.
        assert not [r for r in await outbox_rows(h, "scenario") if r.dedup_key.startswith("reminder:")]
    finally:
        await h.close()


async def test_a_queued_reminder_of_a_meeting_moved_meanwhile_is_not_sent(hc, clock):  # noqa: F811
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, MEETING)
    clock.set("24.11.2026 16:31")
    await h.app.reminders.fire_due()  # queued, not yet sent, when the mentee moves the meeting
    await mentee.send("/meeting")
    await mentee.click("Перенести")
    await mentee.send("27.11.2026 12:00")
    await mentee.click("Очно")
    await mentee.send("Кабинет 204")
    await h.deliver_outbox()
    stale = [m for m in h.fake.all_delivered() if MEETING in (m.text or "") and "⏰" in (m.text or "")]
    assert stale == []
    assert {r.status for r in await outbox_rows(h, "reminder:before_24h")} == {"expired"}


async def test_missed_reminders_arrive_newest_first(db_url, fake, clock):  # noqa: F811
    """A mentee in two programmes: back after downtime, the newer reminder (the second pair's day-before
    one) comes before the older question about the first pair's meeting."""
    h = (await start(db_url, fake, clock)).unpaced()
    pair_a, mentor_a, mentee = await make_pair(h)
    mentor_b_id, mentor_b_tg = await seed(h, Role.MENTOR, "Проектов Иван", mentor_answers(["math"], 2))
    async with unit_of_work(h.app.factory) as repos:
        second = await repos.programmes.create("Проектная смена", "Europe/Moscow", h.app.clock())
        mentee_id = (await repos.participants.by_telegram_id(mentee.id)).id
        await matching.create_pairing(repos, second.id, mentee_id, mentor_b_id, None, h.app.clock())
    mentor_b = h.user(mentor_b_tg, "B", "ru")
    await propose_and_confirm(h, clock, mentor_a, mentee, "24.11.2026 12:00")
    await propose_and_confirm(h, clock, mentor_b, mentee, "25.11.2026 14:00")
    seen = {mentee.id: len(fake.delivered_to(mentee.id))}
    h = await come_back(h, clock, "24.11.2026 15:00")
    try:
        got = received_since(h, seen, (mentee,))[mentee.id]
        assert got == ["reminder", "did it happen?"]
    finally:
        await h.close()


async def test_down_across_both_feedback_nudges_one_nudge_arrives(db_url, fake, clock):  # noqa: F811
    """The 1-day nudge is superseded by the 3-day one that has also fallen due: one nudge, not two."""
    h, pair, mentor, mentee, seen = await booked_then_stopped(db_url, fake, clock)
    await tick(h, clock, "25.11.2026 17:46")
    await mentor.click("Да, состоялась")
    await answer_feedback(mentor)
    seen = {mentee.id: len(fake.delivered_to(mentee.id))}
    h = await come_back(h, clock, "29.11.2026 19:00")  # down across 26.11 and 28.11
    try:
        got = [m.text or "" for m in fake.delivered_to(mentee.id)[seen[mentee.id] :]]
        assert sum("Пожалуйста, оставь отзыв о встрече" in x for x in got) == 1, (
            got
        )  # a pupil (class 8А) reads «ты»
        statuses = await reminder_status(h)
        mentee_id = next(pid for (pid, kind) in statuses if kind == "feedback_1d" and pid != pair.mentor_id)
        assert statuses[(mentee_id, "feedback_1d")] == "expired"
        assert statuses[(mentee_id, "feedback_3d")] == "sent"
    finally:
        await h.close()


# the fixture from test_meetings, so that `hc` uses the same fake clock
from tests.test_meetings import hc  # noqa: E402, F401


async def test_a_queued_proposal_of_a_meeting_cancelled_meanwhile_is_not_sent(hc, clock):  # noqa: F811
    """The sender was behind (or down) when the mentor proposed and then cancelled: the mentee is told of the
    cancellation only, not first invited to a meeting that no longer exists."""
    h = hc
    pair, mentor, mentee = await make_pair(h)
    await mentor.send("/meeting")
    await mentor.send(MEETING)
    await mentor.click("Онлайн")
    await mentor.send("https://meet.example.org/room-1")
    await mentor.send("/meeting")
    await mentor.click("Отменить встречу")
    await mentor.send("Заболел")
    await h.deliver_outbox()
    got = [m.text or "" for m in h.fake.delivered_to(mentee.id)]
    assert not any("предлагает встречу" in x for x in got), got
    assert any("Причина: Заболел" in x for x in got), got
