"""The curator's matching in chat: optimal proposals with reasons, approval, announcements exactly once,
hand-made pairs with warnings, /pairs and dissolution with re-matching."""

from __future__ import annotations

import itertools
import re

from bot.domain import matching as m
from bot.domain.entities import Role, Status
from bot.services import matching as svc
from bot.services.onboarding import CONSENT_VERSION
from storage.uow import unit_of_work
from tests.helpers import onboard_curator

_ids = itertools.count(50_000)

MENTEE_BASE = {
    "study_level": "school_8_9",
    "goals": ["grades"],
    "difficulties": "Трудно разобраться в теме сразу.",
    "interests": None,
}


async def seed(
    h,
    role: Role,
    name: str,
    answers: dict,
    *,
    minor: bool = False,
    parent_of: int | None = None,
    submit: bool = True,
) -> tuple[int, int]:
    """A participant who finished onboarding (consents in place) with a submitted intake questionnaire."""
    tg = next(_ids)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.create(tg, "ru", Status.ACTIVE.value, now)
        await repos.participants.update(p.id, now, full_name=name, group_name="8А", is_minor=minor)
        await repos.participants.add_role(p.id, role, now)
        await repos.consents.record(
            telegram_id=tg,
            participant_id=p.id,
            subject_id=p.id,
            kind="self",
            version=CONSENT_VERSION,
            accepted=True,
            now=now,
        )
        if role == Role.MENTOR:
            await repos.mentor_base.set_status(p.id, "approved", now, expect=("candidate",))
        if parent_of is not None:
            await repos.participants.link_parent(p.id, parent_of, now)
        form_id = {Role.MENTEE: "mentee_needs", Role.MENTOR: "mentor"}.get(role)
        if form_id and submit:
            r = await repos.forms.create(p.id, form_id, 1, now, answers=answers)
            await repos.forms.submit(r.id, now)
    return p.id, tg


def mentee_answers(areas, fmt="any", slots=("weekday_evening",)):
    return MENTEE_BASE | {"areas": list(areas), "format": fmt, "slots": list(slots)}


def mentor_answers(
    areas, capacity, fmt="any", slots=("weekday_evening",), forms=("pupil_pupil", "student_pupil")
):
    return {
        "mentor_role": "teacher",
        "mentoring_forms": list(forms),
        "areas": list(areas),
        "experience_years": 5,
        "capacity": capacity,
        "format": fmt,
        "slots": list(slots),
        "motivation": "Хочу помогать ребятам находить свой путь.",
        "about": None,
    }


async def programme_people(h):
    mentors = {
        "Математикова Анна": mentor_answers(["math", "physics"], 3),
        "Словесников Борис": mentor_answers(["russian", "literature"], 2, fmt="offline"),
        "Кодова Вера": mentor_answers(["informatics", "math"], 2, fmt="online", slots=("weekend_morning",)),
        "Хоров Глеб": mentor_answers(["music", "arts"], 1),
    }
    mentor_ids = {}
    for name, a in mentors.items():
        mentor_ids[name] = await seed(h, Role.MENTOR, name, a)
    mentees = {
        "Ученик Один": mentee_answers(["math"]),
        "Ученик Два": mentee_answers(["physics", "math"]),
        "Ученица Три": mentee_answers(["russian"], fmt="offline"),
        "Ученица Четыре": mentee_answers(["literature"]),
        "Ученик Пять": mentee_answers(["informatics"], fmt="online", slots=("weekend_morning",)),
        "Ученик Шесть": mentee_answers(["music"]),
        "Ученица Семь": mentee_answers(["math", "informatics"]),
        "Ученик Восемь": mentee_answers(["arts"]),
        "Ученица Девять": mentee_answers(["chemistry"]),
        "Ученик Десять": mentee_answers(["math"], fmt="offline"),
    }
    mentee_ids = {name: await seed(h, Role.MENTEE, name, a) for name, a in mentees.items()}
    return mentor_ids, mentee_ids


async def test_match_proposes_the_optimum_with_reasons_and_lists_the_unmatched(h):
    c = await onboard_curator(h)
    await programme_people(h)
    # one mentee without a questionnaire: listed as not ready
    await seed(h, Role.MENTEE, "Без Анкеты", {}, submit=False)
    replies = await c.send("/match")
    page, unmatched = replies[0].text, replies[-1].text
    assert "Предложения пар: " in page and "совместимость" in page and "Общие направления: " in page
    assert "Математика" in page  # area codes are shown as words
    assert "Без Анкеты — Анкета или согласия ещё не заполнены" in unmatched
    async with unit_of_work(h.app.factory) as repos:
        pool = await svc.build_pool(repos, (await repos.programmes.active())[0])
        best = m.assign(pool.mentees, pool.mentors, pool.weights)
        run = await repos.pairs.proposals(page and (await _latest_run(repos)))
    assert abs(sum(p.score for p in run) - best.total) < 1e-9
    assert len(run) == 8  # capacities 3+2+2+1 = 8 places for 10 ready mentees
    assert all(1 <= len(p.reasons) <= 3 for p in run)


async def _latest_run(repos):
    from sqlalchemy import select

    from storage.models import MatchProposal

    return await repos.session.scalar(select(MatchProposal.run_id).order_by(MatchProposal.id.desc()).limit(1))


async def test_approve_all_announces_each_pair_exactly_once_even_when_pressed_twice(h):
    c = await onboard_curator(h)
    mentor_ids, mentee_ids = await programme_people(h)
    # a minor with a parent: the parent gets a short notice
    kid_id, kid_tg = await seed(h, Role.MENTEE, "Юный Математик", mentee_answers(["math"]), minor=True)
    _, parent_tg = await seed(h, Role.PARENT, "Родитель Юного", {}, parent_of=kid_id)
    replies = await c.send("/match")
    page_message = replies[0]  # the page; the list of the unmatched follows it
    button = next(b for b in page_message.buttons() if b["text"].startswith("Утвердить все"))
    await c.press(button["callback_data"], page_message)
    await c.press(button["callback_data"], page_message)  # a second press approves nothing new
    await h.deliver_outbox()
    async with unit_of_work(h.app.factory) as repos:
        pairs = await repos.pairs.active()
        loads = await repos.pairs.loads()
    members = [x for p in pairs for x in p.mentee_ids]
    assert len(members) == len(set(members)) == 8
    for name, (pid, _) in mentor_ids.items():
        cap = {"Математикова Анна": 3, "Словесников Борис": 2, "Кодова Вера": 2, "Хоров Глеб": 1}[name]
        assert loads.get(pid, 0) <= cap
    groups = [p for p in pairs if len(p.mentee_ids) > 1]
    assert groups, "a mentor with capacity > 1 leads a group"
    # every paired mentee: one message naming the mentor with a mention; every mentor one per mentee
    fake = h.fake
    for name, (pid, tg) in [*mentee_ids.items(), ("Юный Математик", (kid_id, kid_tg))]:
        got = [x for x in fake.delivered_to(tg) if "У вас есть наставник" in (x.text or "")]
        assert len(got) == (1 if pid in members else 0), name
        if got:
            assert 'href="tg://user?id=' in got[0].text and "встреча-знакомство" in got[0].text
    for name, (pid, tg) in mentor_ids.items():
        got = [
            x
            for x in fake.delivered_to(tg)
            if re.search("Новая наставляемая|Новый наставляемый|новая пара", x.text or "")
        ]
        assert len(got) == loads.get(pid, 0), name
        assert all(re.search("Что (ему|ей) важно|Что важно наставляемому", x.text) for x in got)
    parent_msgs = [x for x in fake.delivered_to(parent_tg) if "подобран наставник" in (x.text or "")]
    assert len(parent_msgs) == (1 if kid_id in members else 0)


async def test_reject_one_then_approve_one_and_double_press(h):
    c = await onboard_curator(h)
    await programme_people(h)
    replies = await c.send("/match")
    page = replies[0]
    approve_1 = next(b["callback_data"] for b in page.buttons() if b["text"] == "✅ 1")
    reject_2 = next(b["callback_data"] for b in page.buttons() if b["text"] == "✖️ 2")
    await c.press(reject_2, page)
    await c.press(approve_1, page)
    await c.press(approve_1, page)
    assert "уже рассмотрено" in c.alerts()[-1]
    async with unit_of_work(h.app.factory) as repos:
        run = await repos.pairs.proposals(await _latest_run(repos))
        statuses = sorted(p.status for p in run)
        pairs = await repos.pairs.active()
    assert statuses.count("approved") == 1 and statuses.count("rejected") == 1
    assert sum(len(p.mentee_ids) for p in pairs) == 1


async def test_manual_pair_warns_on_broken_constraint_and_dissolution_excludes_the_mentor(h):
    c = await onboard_curator(h)
    mentor_ids, mentee_ids = await programme_people(h)
    choir = "Хоров Глеб"
    await c.send("/pair")
    await c.click("Ученица Девять")
    await c.click(f"{choir} (0/1)")
    await c.send("/pairs")
    assert "Хоров Глеб — Ученица Девять · этап: Встреча-знакомство" in c.last().text
    # the choir mentor is full now: a second hand-made pair warns
    await c.send("/pair")
    await c.click("Ученик Восемь")
    replies = await c.click(f"{choir} (1/1)")
    assert "нарушает ограничения" in replies[-1].text and "нет свободных мест" in replies[-1].text
    replies = await c.click("Всё равно создать пару")
    assert "Пара создана" in replies[-1].text
    await h.deliver_outbox()  # a hand-made pair is announced like an approved one
    told = [x.text or "" for x in h.fake.delivered_to(mentee_ids["Ученик Восемь"][1])]
    assert any("У вас есть наставник" in x and choir in x for x in told)
    assert any("Ученик Восемь" in (x.text or "") for x in h.fake.delivered_to(mentor_ids[choir][1]))
    # dissolve one mentee of the group: a reason is required, both are told kindly
    await c.send("/pairs")
    await c.click(next(b["text"] for b in c.last().buttons() if b["text"].startswith("Расформировать")))
    await c.click("Ученик Восемь")
    replies = await c.send("ок")
    assert "от 5 до 300" in replies[0].text
    replies = await c.send("Не совпали графики занятий")
    assert "расформирована" in replies[-1].text
    await h.deliver_outbox()
    eight_tg = mentee_ids["Ученик Восемь"][1]
    assert any("Причина: Не совпали графики занятий" in (x.text or "") for x in h.fake.delivered_to(eight_tg))
    assert any("Причина: Не совпали" in (x.text or "") for x in h.fake.delivered_to(mentor_ids[choir][1]))
    # re-matching never proposes the mentor they were dissolved from
    async with unit_of_work(h.app.factory) as repos:
        pool = await svc.build_pool(repos, (await repos.programmes.active())[0])
    eight = next(x for x in pool.mentees if x.id == mentee_ids["Ученик Восемь"][0])
    assert mentor_ids[choir][0] in eight.excluded_mentors
    await c.send("/match")
    async with unit_of_work(h.app.factory) as repos:
        run = await repos.pairs.proposals(await _latest_run(repos))
    assert not any(p.mentee_id == eight.id and p.mentor_id == mentor_ids[choir][0] for p in run)


async def test_paired_mentee_can_no_longer_edit_intake(h):
    c = await onboard_curator(h)
    _, mentee_ids = await programme_people(h)
    await c.send("/pair")
    await c.click("Ученик Один")
    await c.click("Математикова Анна (0/3)")
    one = h.user(mentee_ids["Ученик Один"][1], "One", "ru")
    replies = await one.send("/profile")
    assert "Изменить ответы" not in [b["text"] for b in replies[-1].buttons()]
    # a forged edit press is refused too
    await one.press("fe:mentee_needs", replies[-1])
    assert "нельзя изменить" in one.alerts()[-1]


async def test_pairs_list_pages_searches_and_opens_a_card(h):
    c = await onboard_curator(h)
    mentor_ids, mentee_ids = await programme_people(h)
    await c.send("/match")
    await c.click(
        next(
            b["text"]
            for b in c.h.fake.delivered_to(c.id)[-2].buttons()
            if b["text"].startswith("Утвердить все")
        )
    )
    replies = await c.send("/pairs")
    assert "Страница 1 из 1" in replies[-1].text
    replies = await c.send("/pairs Хоров")
    text = replies[-1].text
    assert "Хоров Глеб" in text and "Словесников" not in text
    pair_id = int(text.split("№")[1].split(":")[0])
    replies = await c.click(f"Открыть пару №{pair_id}")
    assert f"Пара №{pair_id}: Хоров Глеб" in replies[-1].text


def test_in_a_teachers_only_programme_every_mentee_counts_as_an_educator() -> None:
    """A kindergarten's programme mentors staff only (teacher–teacher): whatever questionnaire a mentee
    filled, matching must not read them as a pupil or a student and leave them without a mentor."""
    from bot.services.matching import mentee_kind

    assert mentee_kind("mentee_needs", {"study_level": "college"}, {"teacher_teacher"}) == "teacher"
    assert mentee_kind(
        "mentee_needs", {"study_level": "college"}, {"student_student", "teacher_teacher"}
    ) == ("student")
    assert mentee_kind("young_specialist_needs", {}, {"pupil_pupil", "teacher_teacher"}) == "teacher"
    assert mentee_kind("mentee_needs", {"study_level": "school_8_9"}) == "pupil"
