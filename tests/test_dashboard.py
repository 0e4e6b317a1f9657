"""The curator's dashboard with live KPIs, the participants list and card, and the monitoring campaign."""

from __future__ import annotations

from bot.domain.entities import Role
from bot.services import matching
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import FakeClock, answer_feedback, clock, hc  # noqa: F401 — fixtures and helpers shared  # noqa: F401


async def pair_up(h, mentor_name, mentee_name):
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, mentor_name, mentor_answers(["math"], 3))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, mentee_name, mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, h.app.clock())
    return h.user(mentor_tg, "M", "ru"), h.user(mentee_tg, "S", "ru")


async def answer_survey(u):
    for _ in range(20):
        last = u.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "проверь ответы" in text or "проверьте ответы" in text:  # a pupil answers in «ты»
            await u.click("Всё верно, отправить")
            return
        options = [b for b in buttons if b not in ("« Назад", "Пропустить")]
        if "9" in options:
            await u.click("9")
        elif "Нет" in options:
            await u.click("Нет")
        elif options:
            await u.click(options[0])
        elif "Пропустить" in buttons:
            await u.click("Пропустить")
        else:
            await u.send("Всё хорошо, спасибо.")
    raise AssertionError("survey never ended")


async def test_dashboard_kpis_and_the_monitoring_campaign(hc, clock):  # noqa: F811
    h = hc
    c = await onboard_curator(h)
    mentor, mentee = await pair_up(h, "Мониторова Анна", "Ученик Олег")
    await seed(h, Role.MENTEE, "Ученица Без Пары", mentee_answers(["music"]))
    replies = await c.send("/dashboard")
    text = replies[-1].text
    assert "Наставляемые: активны: 2, анкета заполнена: 2, в паре: 1" in text
    assert "Встреча-знакомство: 1" in text and "/population" in text
    await c.send("/population 10")
    clock.set("01.12.2026 10:00")  # December: the monitoring survey opens
    await h.app.jobs.hourly_scan()
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    for u in (mentor, mentee):
        assert (
            sum("Мониторинг программы наставничества" in (m.text or "") for m in h.fake.delivered_to(u.id))
            == 1
        )
    await mentee.click("Заполнить анкету")
    await answer_survey(mentee)
    replies = await c.send("/dashboard")
    text = replies[-1].text
    assert "декабрь 2026: ответили 1 из 2 (50%)" in text
    assert "Вовлечённость в наставничество: 10%" in text  # coverage: 1 mentee in a pair of 10
    assert "Удовлетворённость наставляемых: 100%" in text  # the one answer (9 of 10) is satisfied
    # reminders to the one who has not answered, after 3 days — once
    clock.set("04.12.2026 10:00")
    await h.app.jobs.hourly_scan()
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    assert (
        sum("Напоминаем об анкете мониторинга" in (m.text or "") for m in h.fake.delivered_to(mentor.id)) == 1
    )
    assert not [m for m in h.fake.delivered_to(mentee.id) if "Напоминаем об анкете" in (m.text or "")]


async def test_participants_search_pages_card_and_actions(hc, clock):  # noqa: F811
    h = hc
    c = await onboard_curator(h)
    await pair_up(h, "Карточкина Мария", "Ученик Карточкин")
    for i in range(12):
        await seed(h, Role.MENTEE, f"Поисков Иван{i:02d}", mentee_answers(["math"]))
    replies = await c.send("/participants Поисков")
    assert "Участники: 12 (страница 1 из 2" in replies[-1].text
    await c.click("»")
    assert "страница 2 из 2" in c.last().text
    replies = await c.send("/participants Карточкин")
    await c.click("Ученик Карточкин")
    card = c.last().text
    assert "Ученик Карточкин (8А)" in card and "Анкета наставляемого" in card and "Пара №" in card
    await c.click("🔔 Напомнить")
    assert "Напоминание отправлено" in c.alerts()[-1]
    await c.click("Нет связи / связь есть")
    async with unit_of_work(h.app.factory) as repos:
        ids, _ = await repos.dashboard.search_participants("Карточкин", 0, 10)
        people = [await repos.participants.get(i) for i in ids]
    assert [p.unreachable for p in people if p.full_name == "Ученик Карточкин"] == [True]


async def test_the_search_finds_a_name_typed_without_yo_in_any_case(hc):  # noqa: F811
    """A curator types «семенова»; the register has «Семёнова Алёна» — and the other way round."""
    h = hc
    c = await onboard_curator(h)
    await seed(h, Role.MENTEE, "Семёнова Алёна", mentee_answers(["math"]))
    await seed(h, Role.MENTEE, "Семенов Пётр", mentee_answers(["math"]))
    for query, found in (
        ("семенова", ["Семёнова Алёна"]),
        ("СЕМЁНОВА", ["Семёнова Алёна"]),
        ("семёнова   алена", ["Семёнова Алёна"]),
        ("Семенов", ["Семенов Пётр", "Семёнова Алёна"]),
        ("петр", ["Семенов Пётр"]),
    ):
        replies = await c.send(f"/participants {query}")
        assert f"Участники: {len(found)} " in replies[-1].text, (query, replies[-1].text)
        shown = [b["text"] for b in replies[-1].buttons()]
        for name in found:
            assert any(name in b for b in shown), (query, shown)
