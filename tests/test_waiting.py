"""Nobody is left waiting unheard: a mentee whom a finished matching round leaves without a pair is told once
(and a minor's parent) that the search goes on and what help there is meanwhile; curators are reminded every
week while anyone waits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.i18n import plural_form
from bot.services import matching as svc
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import FakeClock

WAITING = "поиск продолжается"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


def told(h: Harness, tg: int, needle: str = WAITING) -> list[str]:
    return [m.text or "" for m in h.fake.delivered_to(tg) if needle in (m.text or "")]


def approve_all_button(message) -> str:
    return next(b["callback_data"] for b in message.buttons() if b["text"].startswith("Утвердить все"))


async def test_approve_all_tells_each_unpaired_mentee_and_a_minors_parent_once(hc):
    h = hc
    c = await onboard_curator(h)
    await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 1))
    _, paired_tg = await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    _, left_tg = await seed(h, Role.MENTEE, "Ученик Два", mentee_answers(["math"]))
    kid_id, kid_tg = await seed(h, Role.MENTEE, "Юная Химичка", mentee_answers(["chemistry"]), minor=True)
    _, parent_tg = await seed(h, Role.PARENT, "Родитель Химички", {}, parent_of=kid_id)
    _, unready_tg = await seed(h, Role.MENTEE, "Без Анкеты", {}, submit=False)

    replies = await c.send("/match")
    page = replies[0]
    button = approve_all_button(page)
    await c.press(button, page)
    await c.press(button, page)  # a second press tells nobody twice
    await c.send("/match")  # a new round with nothing to decide repeats nothing either
    await h.deliver_outbox()

    for tg in (left_tg, kid_tg):
        got = told(h, tg)
        assert len(got) == 1, tg
        # kind, and no internals of the optimiser (scores, reasons, constraints)
        assert "Куратова Анна Сергеевна" in got[0] and "/materials" in got[0]
        assert "совместимость" not in got[0] and "Нет подходящего наставника" not in got[0]
    parent = told(h, parent_tg)
    assert len(parent) == 1 and "Юная Химичка" in parent[0]
    assert told(h, paired_tg) == []  # paired: told about the mentor instead
    assert told(h, unready_tg) == []  # nobody searched for them yet: their questionnaire comes first
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        waiting = await repos.pairs.waiting(programme.id)
    assert len(waiting) == 2


async def test_one_by_one_the_round_ends_with_the_last_decision(hc):
    h = hc
    c = await onboard_curator(h)
    await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 2))
    people = {
        name: await seed(h, Role.MENTEE, name, mentee_answers(["math"]))
        for name in ("Ученик Один", "Ученик Два", "Ученик Три")
    }
    replies = await c.send("/match")
    page = replies[0]
    approve_1 = next(b["callback_data"] for b in page.buttons() if b["text"] == "✅ 1")
    reject_2 = next(b["callback_data"] for b in page.buttons() if b["text"] == "✖️ 2")
    await c.press(approve_1, page)
    await h.deliver_outbox()
    assert not any(told(h, tg) for _, tg in people.values())  # the round is still open
    await c.press(reject_2, page)
    await h.deliver_outbox()
    waiting = [name for name, (_, tg) in people.items() if told(h, tg)]
    assert len(waiting) == 2  # the rejected one and the one no mentor had room for


async def test_english_mentee_is_told_in_english(hc):
    h = hc
    c = await onboard_curator(h)
    await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 1))
    await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    pid, tg = await seed(h, Role.MENTEE, "Pupil Two", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        await repos.participants.update(pid, h.app.clock(), language="en")
    page = (await c.send("/match"))[0]
    await c.press(approve_all_button(page), page)
    await h.deliver_outbox()
    assert len(told(h, tg, "the search goes on")) == 1


def test_russian_plural_forms() -> None:
    forms = {n: plural_form("ru", n) for n in (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111)}
    assert forms == {
        1: "one",
        2: "few",
        4: "few",
        5: "many",
        11: "many",
        12: "many",
        14: "many",
        21: "one",
        22: "few",
        25: "many",
        101: "one",
        111: "many",
    }
    assert [plural_form("en", n) for n in (1, 2, 5)] == ["one", "many", "many"]


async def test_curators_are_reminded_weekly_while_anyone_waits(hc, clock):
    h = hc
    c = await onboard_curator(h)
    assert await h.app.jobs.waiting_reminder() == 0  # nobody waits: nothing is sent
    mentor_id, _ = await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 1))
    names = ["Ученик Один", "Ученик Два", "Ученик Три", "Ученик Четыре", "Ученик Пять", "Ученик Шесть"]
    for name in names:
        await seed(h, Role.MENTEE, name, mentee_answers(["math"]))
    page = (await c.send("/match"))[0]
    await c.press(approve_all_button(page), page)  # one pair, five wait from Monday 23.11.2026
    async with unit_of_work(h.app.factory) as repos:
        waiting = [pid for pid, _ in await repos.pairs.waiting((await repos.programmes.active())[0].id)]
    assert len(waiting) == 5

    async def week(pair: int) -> list[str]:
        async with unit_of_work(h.app.factory) as repos:
            programme = (await repos.programmes.active())[0]
            for mentee in waiting[:pair]:
                await svc.create_pairing(repos, programme.id, mentee, mentor_id, None, clock())
        del waiting[:pair]
        clock.advance(days=7)
        before = len(h.fake.delivered_to(c.id))
        await h.app.jobs.waiting_reminder()
        await h.app.jobs.waiting_reminder()  # the same week: once
        await h.deliver_outbox()
        return [m.text or "" for m in h.fake.delivered_to(c.id)[before:]]

    got = await week(0)
    assert len(got) == 1
    assert "5 наставляемых ждут наставника, дольше всех — с 23.11.2026" in got[0]
    assert "/match" in got[0] and "Ученик Шесть — с 23.11.2026" in got[0]
    got = await week(3)
    assert len(got) == 1 and "2 наставляемых ждут наставника" in got[0]
    got = await week(1)
    assert len(got) == 1 and "1 наставляемый ждёт наставника с 23.11.2026" in got[0]
    assert await week(1) == []  # the last one got a pair: nothing more to remind of


async def test_the_reminder_is_a_weekly_job_at_the_digest_hour(hc):
    job = hc.app.scheduler.get_job("waiting_reminder")
    assert job is not None
    trigger = str(job.trigger)
    assert "day_of_week='mon'" in trigger and f"hour='{hc.app.settings.digest_hour}'" in trigger
