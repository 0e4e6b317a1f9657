"""The curator's SWOT analysis of the programme, once per monitoring period: /swot opens or resumes it for
the current programme and period, a sent one can be filled in again (the latest wins), each period is kept
apart, only curators may open it, and the monitoring campaign invites each curator of the institution
once."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.demo.harness import Harness, make_settings
from bot.domain.forms import Audience, QuestionType, load_forms
from bot.services import swot
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee, token_in
from tests.test_invitations_security import join_as_curator
from tests.test_meetings import FakeClock

SEND = "Всё верно, отправить"
ANSWERS = {
    "strengths": "Опытные наставники и поддержка администрации.",
    "weaknesses": "Мало времени на встречи у молодых педагогов.",
    "opportunities": "Партнёрство с педагогическим колледжем.",
    "threats": "Нагрузка в конце года.",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


async def programme_id(h) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return (await repos.programmes.active())[0].id


async def answer_all(c, texts: dict[str, str], scores=("4", "3", "5")) -> None:
    """Answer the four open questions in order, then the three scales, and send the summary."""
    for key in ("strengths", "weaknesses", "opportunities", "threats"):
        await c.send(texts[key])
    for score in scores:
        await c.click(score)
    assert "проверьте ответы" in c.last().text
    await c.click(SEND)


def test_the_swot_form_is_the_curators():
    form = load_forms()["swot"]
    assert form.audience is Audience.CURATOR
    assert [q.key for q in form.questions if q.type is QuestionType.TEXT] == list(swot.OPEN_KEYS)
    assert all(q.bounds() == (1, 5) for q in form.questions if q.type is QuestionType.SCALE)


@pytest.mark.parametrize(
    ("day", "period"),
    [
        (date(2026, 7, 1), "2026-12"),
        (date(2026, 12, 31), "2026-12"),
        (date(2027, 1, 1), "2027-06"),
        (date(2027, 6, 30), "2027-06"),
    ],
)
def test_a_day_belongs_to_the_december_or_june_monitoring(day, period):
    assert swot.period_of(day) == period


async def test_swot_is_kept_per_period_and_the_latest_sent_wins(hc, clock):
    h = hc
    c = await onboard_curator(h)
    pid = await programme_id(h)
    replies = await c.send("/swot")
    assert "(мониторинг: декабрь 2026)" in replies[0].text
    assert "Сильные стороны" in replies[-1].text
    await c.send(ANSWERS["strengths"])
    # Stopped half-way, /swot resumes at the next question with the answer kept.
    replies = await c.send("/swot")
    assert "Продолжим SWOT-анализ" in replies[0].text and "Слабые стороны" in replies[-1].text
    rest = {**ANSWERS, "strengths": ""}
    for key in ("weaknesses", "opportunities", "threats"):
        await c.send(rest[key])
    for score in ("4", "3", "5"):
        await c.click(score)
    await c.click(SEND)
    assert "SWOT-анализ отправлен" in c.last().text
    async with unit_of_work(h.app.factory) as repos:
        december = await swot.latest(repos, pid)
    assert december is not None and december.period == "2026-12"
    assert december.strengths == ANSWERS["strengths"] and december.threats == ANSWERS["threats"]
    assert december.scores == {"goals_reached": 4, "mentors_ready": 3, "mentees_engaged": 5}

    # Sent already: said so, and filled in again from the sent answers; the new one replaces them.
    clock.advance(days=3)
    replies = await c.send("/swot")
    assert "уже отправлен 23 ноября" in replies[-1].text
    replies = await c.click("Заполнить заново")
    assert ANSWERS["weaknesses"] in replies[-1].text  # the summary of the sent answers
    await c.click("Изменить ответы")
    changed = next(b["text"] for b in c.last().buttons() if b["text"].startswith("5. "))
    await c.click(changed)
    await c.click("2")
    await c.click(SEND)
    async with unit_of_work(h.app.factory) as repos:
        again = await swot.latest(repos, pid, "2026-12")
    assert again.scores["goals_reached"] == 2 and again.strengths == ANSWERS["strengths"]
    assert again.submitted_at > december.submitted_at
    # The monitoring opens in December: the SWOT for it is sent already, so nobody is asked for it.
    clock.set("01.12.2026 10:00")
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    assert not any("заполните SWOT-анализ" in text for text in c.texts())

    # January: the June monitoring's SWOT is a new one; December's stays as it was.
    clock.set("15.01.2027 10:00")
    replies = await c.send("/swot")
    assert "(мониторинг: июнь 2027)" in replies[0].text and "Сильные стороны" in replies[-1].text
    await answer_all(c, {**ANSWERS, "threats": "Смена администрации."}, scores=("5", "5", "4"))
    async with unit_of_work(h.app.factory) as repos:
        june = await swot.latest(repos, pid)
        kept = await swot.latest(repos, pid, "2026-12")
        every = await swot.history(repos, pid)
        nothing = await swot.latest(repos, pid, "2027-12")
    assert june.period == "2027-06" and june.threats == "Смена администрации."
    assert kept == again
    assert [r.period for r in every] == ["2026-12", "2027-06"] and every[0] == again
    assert nothing is None


async def test_a_mentee_cannot_open_the_swot(hc):
    h = hc
    c = await onboard_curator(h)
    mentee = await onboard_mentee(h, c, 2001)
    replies = await mentee.send("/swot")
    assert replies[-1].text == "Эта команда доступна только куратору программы."
    assert not any("Сильные стороны" in text for text in mentee.texts())
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(2001)
        assert await repos.forms.open_for(me.id, "swot") is None


async def test_the_campaign_invites_each_curator_once(hc, clock):
    h = hc
    c = await onboard_curator(h)
    await c.send("/invite")
    token = token_in((await c.click("куратор"))[-1].text)
    second, _ = await join_as_curator(h, token, 1101, "Второва Анна Петровна")
    mentee = await onboard_mentee(h, c, 2001)
    clock.set("01.12.2026 10:00")  # December: the monitoring opens
    await h.app.jobs.hourly_scan()
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    for curator in (c, second):
        invites = [m for m in h.fake.delivered_to(curator.id) if "заполните SWOT-анализ" in (m.text or "")]
        assert len(invites) == 1, curator.id
        assert "(декабрь 2026)" in invites[0].text
    assert not any("SWOT" in text for text in mentee.texts())
    replies = await second.click("📝 Заполнить SWOT-анализ")
    assert "(мониторинг: декабрь 2026)" in replies[0].text and "Сильные стороны" in replies[-1].text
