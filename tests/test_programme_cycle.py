"""A programme year closes and the next cohort starts: the old programme is archived (read-only, still in
/dashboard and /export), its pairs end, the mentors the curator keeps (a finished mentee who became a mentor
among them) hold a mentor role in the new cohort, and that cohort's matching pool has them."""

from __future__ import annotations

from sqlalchemy import select

from bot.callbacks.programmes import ProgrammeCb
from bot.domain.entities import Role
from bot.i18n import Translator
from bot.services import completion, matching
from bot.services import programmes as svc
from bot.services.reports import collect
from storage.models import ProgrammeClosure
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_completion import SURVEY_BUTTON, fill_form, finished_pair
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_programmes import current_of, seed_in

OLD = "Программа наставничества"


async def mentee_becomes_mentor(h, mentee_tg: int) -> None:
    """The final survey, "yes, I'd like to mentor", and the pre-filled mentor questionnaire sent."""
    await h.deliver_outbox()
    u = h.user(mentee_tg, "Mentee", "ru")
    await u.click(SURVEY_BUTTON)
    await fill_form(u, ["Научился планировать подготовку."])
    replies = await u.click("Всё верно, отправить")
    assert "Хочешь стать наставником?" in replies[-1].text  # a pupil is told «ты»
    await u.click("🤝 Да, хочу стать наставником")
    await fill_form(u, ["1", "1", "Хочу помогать младшим так же, как помогли мне."])
    await u.click("Всё верно, отправить")


async def mentor_roles(h, programme_id: int) -> set[int]:
    async with unit_of_work(h.app.factory) as repos:
        scope = await repos.programmes.scope(programme_id)
        return {p.id for p in await repos.participants.with_role(Role.MENTOR, scope)}


async def test_close_the_year_keep_chosen_mentors_and_a_former_mentee_mentors_in_the_next(h):
    c = await onboard_curator(h)
    # Cycle 1: a finished pair whose mentee becomes a mentor, a mentor who will leave, a pair still active.
    _, (anna, _), (misha, misha_tg) = await finished_pair(h, "Учитель Анна", "Ученик Миша")
    await mentee_becomes_mentor(h, misha_tg)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        (old,) = await repos.programmes.active()
        assert (await repos.participants.get(misha)).has(Role.MENTOR)
        assert await repos.mentor_base.set_status(misha, "approved", now, expect=("candidate",))
    boris, _ = await seed(h, Role.MENTOR, "Учитель Борис", mentor_answers(["math"], 2))
    zoya, zoya_tg = await seed(h, Role.MENTEE, "Ученица Зоя", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        running = await matching.create_pairing(repos, old.id, zoya, boris, None, now)
    assert await mentor_roles(h, old.id) == {anna, misha, boris}

    await c.send("/programme")
    replies = await c.click("🗓 Закрыть учебный год")
    assert "Закрыть учебный год программы «Программа наставничества»?" in replies[-1].text
    assert "Действующие пары (1)" in replies[-1].text
    replies = await c.click("Дальше: кто из наставников остаётся")
    assert "Остаются: 3 из 3" in replies[-1].text  # everyone stays unless the curator says otherwise
    replies = await c.click("✅ Учитель Борис")
    assert "Остаются: 2 из 3" in replies[-1].text
    replies = await c.click("🗓 Закрыть год (остаётся наставников: 2)")
    text = replies[-1].text
    assert f"Учебный год программы «{OLD}» закрыт" in text and "Наставников перешло: 2" in text
    assert "завершено пар: 1" in text

    new = await current_of(h)
    assert new.id != old.id and not new.archived and new.title.startswith(f"{OLD}, 20")
    assert new.settings == old.settings and new.template == old.template
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.programmes.get(old.id)).archived
        assert await repos.programmes.successor(old.id) == new.id
        closure = await repos.session.scalar(select(ProgrammeClosure))
        assert closure.closed_by == (await repos.participants.by_telegram_id(1000)).id
        ended = await repos.pairs.get(running.id)
        assert ended.status == "finished" and ended.close_reason == "учебный год программы завершён"
        assert not await repos.pairs.active(scope=await repos.programmes.scope(new.id))
    assert await mentor_roles(h, new.id) == {anna, misha}
    await h.deliver_outbox()
    assert any(SURVEY_BUTTON in str(m.reply_markup) for m in h.fake.delivered_to(zoya_tg))

    # A second press of the last button (or an old message's): nothing closes twice.
    await c.press(ProgrammeCb(a="shut", n=old.id).pack())
    assert "уже закрыт" in c.alerts()[-1] and new.title in c.alerts()[-1]
    await c.press(ProgrammeCb(a="cl", n=old.id).pack())
    assert "уже закрыт" in c.alerts()[-1]
    async with unit_of_work(h.app.factory) as repos:
        assert len(await repos.programmes.all()) == 2

    # Cycle 2: the former mentee is in the new cohort's mentor pool; the old cohort's mentees are not.
    newcomer = await seed_in(h, Role.MENTEE, "Ученик Нового Набора", mentee_answers(["math"]), new.id)
    async with unit_of_work(h.app.factory) as repos:
        pool = await matching.build_pool(repos, new)
        assert {x.id for x in pool.mentors} == {anna, misha}
        assert all(x.approved for x in pool.mentors)
        assert {x.id for x in pool.mentees} == {newcomer}
    replies = await c.send("/match")
    assert "Ученик Нового Набора" in replies[0].text


async def test_an_archived_programme_refuses_changes_but_still_exports(h):
    c = await onboard_curator(h)
    await seed(h, Role.MENTOR, "Учитель Анна", mentor_answers(["math"], 2))
    await seed(h, Role.MENTEE, "Ученик Миша", mentee_answers(["math"]))
    proposals = (await c.send("/match"))[0]
    await c.send("/programme")
    await c.click("🗓 Закрыть учебный год")
    await c.click("Дальше: кто из наставников остаётся")
    await c.click("🗓 Закрыть год (остаётся наставников: 1)")
    new = await current_of(h)
    old = await _programme(h, await _old_id(h, new.id))
    # Back to the archived year: it can be looked at, not changed.
    await c.send("/programme")
    replies = await c.click(f"↪ {OLD}")
    assert f"Текущая программа: «{OLD}» — в архиве." in replies[-1].text
    assert not any(b["text"] == "🗓 Закрыть учебный год" for b in replies[-1].buttons())
    # A proposal made before the year closed can no longer be approved.
    await c.press(next(b["callback_data"] for b in proposals.buttons() if b["text"] == "✅ 1"), proposals)
    assert f"Программа «{OLD}» в архиве" in c.alerts()[-1]
    for command in ("/match", "/pair", "/invite", "/population 20", "/close_pair"):
        replies = await c.send(command)
        assert f"Программа «{OLD}» в архиве" in replies[-1].text, command
    await c.send("/roadmap")  # the roadmap shows, its changes are refused
    await c.click("➕ Добавить мероприятие")
    assert f"Программа «{OLD}» в архиве" in c.alerts()[-1]
    replies = await c.send("/dashboard")
    assert f"Текущая программа: «{OLD}» — в архиве." in replies[-1].text
    assert "Наставники: в реестре (одобрены): 1" in replies[-1].text
    await c.send("/export")
    await c.click("📊 Excel (XLSX)")
    document = next(r for r in reversed(h.fake.requests) if r.method == "sendDocument")
    assert int(document.params["chat_id"]) == c.id
    async with unit_of_work(h.app.factory) as repos:
        data = await collect(repos, h.app.dp["engine"], Translator("ru"), h.app.clock(), programme=old)
        assert {"Учитель Анна", "Ученик Миша"} <= {p.full_name for p in data.people}
    # An announcement to the archived programme is refused too (its button, pressed late).
    await c.send("/announce")
    await c.send("Собрание наставников в пятницу.")
    replies = await c.click("Участникам одной программы…")
    assert OLD not in [b["text"] for b in replies[-1].buttons()]  # only the new cohort is offered
    replies = await c.press(f"ca:prog:{await _old_id(h, new.id)}")
    assert f"Программа «{OLD}» в архиве" in replies[-1].text
    # Back on the new cohort, changes are taken again.
    await c.press(ProgrammeCb(a="sw", n=new.id).pack())
    replies = await c.send("/population 20")
    assert "Целевая численность: 20" in replies[-1].text


async def test_a_mentee_who_accepts_after_the_year_closed_joins_the_next_cohort(h):
    await onboard_curator(h)
    pair_id, _, (mentee, _) = await finished_pair(h, "Учитель Анна", "Ученик Миша")
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        (old,) = await repos.programmes.active()
        result = await svc.close_year(repos, old.id, now, [], pair_close_reason="конец года")
        assert result is not None and result.created and result.kept_mentors == ()
        assert result.old.archived and not result.new.archived
        # Closing again changes nothing and names the cohort that continues it.
        again = await svc.close_year(repos, old.id, now, [])
        assert not again.created and again.new.id == result.new.id
        me = await repos.participants.get(mentee)
        pair = await repos.pairs.get(pair_id)
        await completion.become_mentor(repos, h.app.dp["engine"], me, pair, now)
    assert await mentor_roles(h, result.new.id) == {mentee}


async def _programme(h, programme_id: int):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.programmes.get(programme_id)


async def _old_id(h, new_id: int) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return next(p.id for p in await repos.programmes.all() if p.id != new_id)
