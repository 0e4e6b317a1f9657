"""A pair that changes under a conversation (#14.9): a pupil removed from her group, or a pair that ended,
must not finish a /meeting, /goals or feedback conversation begun before. Every step looks again, and the
curator's change ends the removed members' conversations about the pair. One thank-you per feedback (#20)."""

from __future__ import annotations

from aiogram.fsm.storage.base import StorageKey

from bot.domain.entities import Role
from bot.services import matching
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import answer_feedback, clock, hc, propose_and_confirm  # noqa: F401

NOT_IN_PAIR = "Вы больше не участник этой наставнической пары"


async def make_group(h):
    """A mentor with two pupils in one group."""
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 3))
    anna_id, anna_tg = await seed(h, Role.MENTEE, "Ученица Анна", mentee_answers(["math"]))
    petr_id, petr_tg = await seed(h, Role.MENTEE, "Ученик Пётр", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        await matching.create_pairing(repos, programme.id, anna_id, mentor_id, None, h.app.clock())
        pair = await matching.create_pairing(repos, programme.id, petr_id, mentor_id, None, h.app.clock())
    assert len(pair.mentee_ids) == 2
    return (
        pair,
        h.user(mentor_tg, "Mentor", "ru"),
        h.user(anna_tg, "Anna", "ru"),
        h.user(petr_tg, "Petr", "ru"),
    )


def proposals(h, u) -> list[str]:
    return [m.text or "" for m in h.fake.delivered_to(u.id) if "предлагает встречу" in (m.text or "")]


async def state_of(h, u) -> str | None:
    key = StorageKey(bot_id=h.app.bot.id, chat_id=u.id, user_id=u.id)
    return await h.app.dp.storage.get_state(key)


async def test_a_pupil_removed_from_the_group_cannot_finish_proposing_a_meeting(hc, clock):  # noqa: F811
    h = hc
    curator = await onboard_curator(h)
    pair, mentor, anna, petr = await make_group(h)
    await anna.send("/meeting")
    await anna.send("25.11.2026 16:30")
    await anna.click("Онлайн")  # the next step asks for the place
    assert await state_of(h, anna) is not None
    # Meanwhile the curator takes Anna out of the group.
    await curator.send("/pairs")
    await curator.click(f"Расформировать №{pair.id}")
    await curator.click("Ученица Анна")
    replies = await curator.send("Перевод в другую школу")
    assert "Пара расформирована" in replies[-1].text
    await h.deliver_outbox()
    assert await state_of(h, anna) is None  # her conversation about the group is over …
    told = anna.texts()[-2:]
    assert "завершена куратором" in told[0] and "прерван" in told[1]  # … and she was told so
    replies = await anna.send("https://meet.example.org/room-1")
    await h.deliver_outbox()
    assert not any("Предложение отправлено" in (m.text or "") for m in replies)
    assert proposals(h, mentor) == [] and proposals(h, petr) == []
    async with unit_of_work(h.app.factory) as repos:
        assert await repos.meetings.for_pair(pair.id) == []


async def test_each_meeting_step_rechecks_that_the_pair_still_exists(hc, clock):  # noqa: F811
    """The pair ends another way (the mentor withdraws consent): the pupil's conversation is still there, and
    its next step refuses with a clear message instead of proposing a meeting to nobody."""
    h = hc
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 2))
    anna_id, anna_tg = await seed(h, Role.MENTEE, "Ученица Анна", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        pair = await matching.create_pairing(repos, programme.id, anna_id, mentor_id, None, h.app.clock())
    mentor, anna = h.user(mentor_tg, "Mentor", "ru"), h.user(anna_tg, "Anna", "ru")
    await anna.send("/meeting")
    await anna.send("25.11.2026 16:30")
    await anna.click("Онлайн")
    await mentor.send("/consent")
    await mentor.click("Отозвать согласие")
    await mentor.click("Да, отозвать")
    replies = await anna.send("https://meet.example.org/room-1")
    assert NOT_IN_PAIR in replies[-1].text
    await h.deliver_outbox()
    assert proposals(h, mentor) == []
    async with unit_of_work(h.app.factory) as repos:
        assert await repos.meetings.for_pair(pair.id) == []


async def test_goals_step_rechecks_the_pair(hc, clock):  # noqa: F811
    h = hc
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 2))
    anna_id, anna_tg = await seed(h, Role.MENTEE, "Ученица Анна", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        pair = await matching.create_pairing(repos, programme.id, anna_id, mentor_id, None, h.app.clock())
    mentor, anna = h.user(mentor_tg, "Mentor", "ru"), h.user(anna_tg, "Anna", "ru")
    await mentor.send("/goals")
    await anna.send("/consent")
    await anna.click("Отозвать согласие")
    await anna.click("Да, отозвать")
    replies = await mentor.send("Подготовить проект к конкурсу — 31.03.2027")
    assert NOT_IN_PAIR in replies[-1].text
    async with unit_of_work(h.app.factory) as repos:
        assert await repos.meetings.goals(pair.id) == []


async def test_after_feedback_exactly_one_thank_you(hc, clock):  # noqa: F811
    h = hc
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 2))
    anna_id, anna_tg = await seed(h, Role.MENTEE, "Ученица Анна", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        await matching.create_pairing(repos, programme.id, anna_id, mentor_id, None, h.app.clock())
    mentor, anna = h.user(mentor_tg, "Mentor", "ru"), h.user(anna_tg, "Anna", "ru")
    await propose_and_confirm(h, clock, mentor, anna, "24.11.2026 16:30")
    clock.set("24.11.2026 17:45")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    for person, last in ((mentor, False), (anna, True)):
        await person.click("Да, состоялась")
        before = len(h.fake.delivered_to(person.id))
        await answer_feedback(person)
        await h.deliver_outbox()
        after = [m.text or "" for m in h.fake.delivered_to(person.id)[before:]]
        assert sum("Спасибо" in x for x in after) == 1, after
        if last:  # the stage opens for both: its news comes as well, once
            assert sum("пройден" in x for x in after) == 1, after
        else:
            assert any("Ждём отзывы остальных" in x for x in after), after
