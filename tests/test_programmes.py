"""Several programmes in one bot: programmes created from the five seed templates (settings filled from the
template), each curator's current programme (switching, kept across restarts), separate matching pools,
invitations that name their programme and a second programme's role for someone already in the first."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from bot.callbacks.programmes import ProgrammeCb
from bot.domain import cohorts
from bot.domain import matching as m
from bot.domain.entities import Role, Status
from bot.domain.programme_templates import SETTINGS_FROM_TEMPLATE, load_templates, programme_settings
from bot.domain.stages import StagePlan
from bot.services import matching
from bot.services import programmes as svc
from bot.services.onboarding import CONSENT_VERSION
from storage.uow import unit_of_work
from tests.helpers import invite, onboard_curator, onboard_mentee, token_in
from tests.test_matching_flow import mentee_answers, mentor_answers

TEMPLATES = load_templates()
_ids = itertools.count(70_000)


# ----------------------------------------------------------------------------------------- helpers
async def seed_in(
    h,
    role: Role,
    name: str,
    answers: dict | None,
    programme_id: int | None,
    *,
    participant_id: int | None = None,
) -> int:
    """A participant with consent, a role in this programme and (for a new person) a submitted intake
    questionnaire; with participant_id, the role is added to someone who exists."""
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        if participant_id is None:
            tg = next(_ids)
            p = await repos.participants.create(tg, "ru", Status.ACTIVE.value, now)
            participant_id = p.id
            await repos.participants.update(p.id, now, full_name=name, group_name="8А", is_minor=False)
            await repos.consents.record(
                telegram_id=tg,
                participant_id=p.id,
                subject_id=p.id,
                kind="self",
                version=CONSENT_VERSION,
                accepted=True,
                now=now,
            )
            if answers is not None:
                form_id = "mentor" if role == Role.MENTOR else "mentee_needs"
                r = await repos.forms.create(p.id, form_id, 1, now, answers=answers)
                await repos.forms.submit(r.id, now)
        await repos.participants.add_role(participant_id, role, now, programme_id=programme_id)
        if role == Role.MENTOR:
            await repos.mentor_base.set_status(participant_id, "approved", now, expect=("candidate",))
    return participant_id


def college_mentee(areas=("math",)) -> dict:
    return mentee_answers(list(areas)) | {"study_level": "college"}


def college_mentor(areas=("math",), capacity=1) -> dict:
    return mentor_answers(list(areas), capacity, forms=("student_student",))


async def programme_ids(h) -> list[int]:
    async with unit_of_work(h.app.factory) as repos:
        return [p.id for p in await repos.programmes.all()]


async def current_of(h, telegram_id: int = 1000):
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(telegram_id)
        return await svc.current(repos, me.id)


async def create_in_chat(c, template_id: str, title: str | None = None) -> list:
    """/programme → new → the template by its Russian title → (another title) → Create."""
    await c.send("/programme")
    await c.click("➕ Новая программа по шаблону")
    replies = await c.click(TEMPLATES[template_id].title_for("ru"))
    assert "по шаблону" in replies[-1].text
    if title is not None:
        replies = await c.send(title)
        assert f"Создать программу «{title}»" in replies[-1].text
    return await c.click("✅ Создать")


# ----------------------------------------------------------------------------------------- pure parts
@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
def test_settings_from_a_template_are_exactly_what_the_bot_reads(template_id):
    template = TEMPLATES[template_id]
    settings = programme_settings(template)
    assert tuple(settings) == SETTINGS_FROM_TEMPLATE
    # Each key comes back the way its reader takes it.
    assert StagePlan.from_mapping(settings["stage_plan"]) == template.stage_plan
    assert settings["mentoring_forms"] == list(template.mentoring_forms)
    assert set(settings["mentoring_forms"]) <= set(matching.FORM_SERVES)
    assert settings["mentee_form"] == template.mentee_form
    assert [h * 3600 for h in settings["reminder_offsets_hours"]] == [
        o.total_seconds() for o in template.meeting_reminder_offsets
    ]
    assert settings["stage_deadline_lead_days"] == template.stage_deadline_lead_days
    assert settings["monitoring_months"] == list(template.monitoring_months)
    targets = {c: {int(y): v for y, v in by_year.items()} for c, by_year in settings["kpi_targets"].items()}
    assert targets == {c: dict(by_year) for c, by_year in template.kpi_targets.items()}
    m.Weights.from_mapping(settings.get("weights"))  # no weights: the defaults


def test_young_specialists_targets_are_fractions():
    settings = programme_settings(TEMPLATES["young_specialists"])
    assert settings["mentee_form"] == "young_specialist_needs"
    assert settings["kpi_targets"]["mentee_satisfaction"] == {"2022": 0.6, "2023": 0.7, "2024": 0.85}
    assert settings["monitoring_months"] == [12, 6]


@pytest.mark.parametrize(
    ("title", "closed_on", "expected"),
    [
        ("Наставничество, 2025/26", date(2026, 5, 31), "Наставничество, 2026/27"),
        ("Наставничество 2025/2026", date(2026, 5, 31), "Наставничество 2026/2027"),
        ("Наставничество 2025–26 (школа № 2)", date(2026, 5, 31), "Наставничество 2026–27 (школа № 2)"),
        ("Молодые специалисты 2024", date(2024, 12, 1), "Молодые специалисты 2025"),
        ("Наставничество, 2099/00", date(2100, 5, 31), "Наставничество, 2100/01"),
        ("Наставничество", date(2026, 5, 31), "Наставничество, 2026/27"),
    ],
)
def test_the_next_cohort_is_a_year_on(title, closed_on, expected):
    assert cohorts.next_title(title, closed_on) == expected


def test_a_new_programme_is_for_the_academic_year():
    assert cohorts.first_title("Школа", date(2026, 8, 20)) == "Школа, 2026/27"
    assert cohorts.first_title("Школа", date(2027, 3, 1)) == "Школа, 2026/27"
    assert len(cohorts.first_title("Ш" * 300, date(2026, 9, 1))) == cohorts.TITLE_MAX


# ----------------------------------------------------------------------------------------- in chat
@pytest.mark.parametrize("template_id", sorted(TEMPLATES))
async def test_create_a_programme_from_each_template(h, template_id):
    c = await onboard_curator(h)
    before = await programme_ids(h)
    replies = await create_in_chat(c, template_id)
    assert "создана и стала текущей" in replies[-1].text
    created = [pid for pid in await programme_ids(h) if pid not in before]
    assert len(created) == 1
    current = await current_of(h)
    assert current.id == created[0] and not current.archived
    assert current.template == template_id
    assert current.settings == programme_settings(TEMPLATES[template_id])
    assert current.title.startswith(TEMPLATES[template_id].title_for("ru") + ", 20")
    # The Create button again (a double press, or an old message): nothing more is created.
    await c.press(ProgrammeCb(a="mk", v=template_id).pack())
    assert "неактуальна" in c.alerts()[-1]
    assert len(await programme_ids(h)) == len(before) + 1


async def test_create_with_a_title_of_ones_own_and_switch_back_and_forth(h):
    c = await onboard_curator(h)
    (first,) = await programme_ids(h)
    assert (await current_of(h)).id == first  # unset: the only active programme
    replies = await c.send("/programme")
    assert "Текущая программа: «Программа наставничества» — действует." in replies[-1].text
    replies = await create_in_chat(c, "kindergarten", "Детский сад № 104: наставничество педагогов")
    assert "«Детский сад № 104: наставничество педагогов» создана" in replies[-1].text
    # Two stray text messages while naming: a too short title is refused, nothing is created.
    await c.send("/programme")
    await c.click("➕ Новая программа по шаблону")
    await c.click(TEMPLATES["school"].title_for("ru"))
    replies = await c.send("Аб")
    assert "от 3 до 200 знаков" in replies[-1].text
    await c.click("Отмена")
    assert len(await programme_ids(h)) == 2

    replies = await c.send("/programme")
    text = replies[-1].text
    assert "Текущая программа: «Детский сад № 104: наставничество педагогов»" in text
    assert "• «Программа наставничества» — действует" in text
    replies = await c.click("↪ Программа наставничества")
    assert "Текущая программа: «Программа наставничества»" in replies[-1].text
    assert "Программа наставничества" in c.alerts()[-1]
    assert (await current_of(h)).id == first
    # kept across a restart
    h2 = await h.restart()
    try:
        async with unit_of_work(h2.app.factory) as repos:
            me = await repos.participants.by_telegram_id(1000)
            assert (await svc.current(repos, me.id)).id == first
    finally:
        await h2.close()


async def test_default_current_programme_is_the_newest_active_one(h):
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        (first,) = await repos.programmes.all()
        second = await svc.create_from_template(repos, "college", "Колледж", now, "Europe/Moscow")
        assert (await svc.current(repos, 424242)).id == second.id  # nobody chose: the newest active
        await repos.programmes.archive(second.id, now)
        assert (await svc.current(repos, 424242)).id == first.id
        with pytest.raises(svc.UnknownTemplate):
            await svc.create_from_template(repos, "no_such", "X", now, "Europe/Moscow")


async def test_two_programmes_have_separate_pools_and_a_person_may_be_in_both(h):
    c = await onboard_curator(h)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        school = (await repos.programmes.active())[0]
    # The school's people (roles from before programmes were told apart count for the first programme).
    a_mentee = await seed_in(h, Role.MENTEE, "Школьник Андрей", mentee_answers(["math"]), None)
    a_mentor = await seed_in(h, Role.MENTOR, "Учитель Анна", mentor_answers(["math"], 2), school.id)
    both = await seed_in(h, Role.MENTEE, "Студентка Вера", college_mentee(), school.id)
    school_page = (await c.send("/match"))[0]
    assert "Школьник Андрей" in school_page.text and "Учитель Анна" in school_page.text

    await create_in_chat(c, "college", "Колледж, студенты")
    college = await current_of(h)
    b_mentee = await seed_in(h, Role.MENTEE, "Студент Борис", college_mentee(), college.id)
    b_mentor = await seed_in(h, Role.MENTOR, "Выпускник Богдан", college_mentor(), college.id)
    await seed_in(h, Role.MENTEE, "", None, college.id, participant_id=both)
    async with unit_of_work(h.app.factory) as repos:
        pool_a = await matching.build_pool(repos, school)
        pool_b = await matching.build_pool(repos, college)
        assert {x.id for x in pool_a.mentees} == {a_mentee, both}
        assert {x.id for x in pool_a.mentors} == {a_mentor}
        assert {x.id for x in pool_b.mentees} == {b_mentee, both}
        assert {x.id for x in pool_b.mentors} == {b_mentor}

    # /match works on the curator's current programme (the college): its people only.
    replies = await c.send("/match")
    text = replies[0].text
    assert "Выпускник Богдан" in text
    assert "Школьник Андрей" not in text and "Учитель Анна" not in text
    await c.click("Утвердить все (1)")
    # The school's proposal, made before, is still there to approve (another programme's run does not
    # withdraw it), and its pair is the school's whichever programme the curator is on now.
    await c.press(next(b["callback_data"] for b in school_page.buttons() if b["text"] == "✅ 1"), school_page)
    assert "Пара утверждена" in c.alerts()[-1]
    async with unit_of_work(h.app.factory) as repos:
        (in_college,) = await repos.pairs.active(scope=await repos.programmes.scope(college.id))
        assert in_college.programme_id == college.id and in_college.mentor_id == b_mentor
        (in_school,) = await repos.pairs.active(scope=await repos.programmes.scope(school.id))
        assert in_school.programme_id == school.id and in_school.mentee_ids == (a_mentee,)
        # Vera is not paired in the school, whatever happened in the college.
        assert both in {x.id for x in (await matching.build_pool(repos, school)).mentees}
        # Paired in the school, she still waits for a pair in the college (if the college did not pair her).
        await matching.create_pairing(repos, school.id, both, a_mentor, None, now)
    async with unit_of_work(h.app.factory) as repos:
        assert both not in {x.id for x in (await matching.build_pool(repos, school)).mentees}
        assert (both in {x.id for x in (await matching.build_pool(repos, college)).mentees}) == (
            both not in in_college.mentee_ids
        )
    replies = await c.send("/pairs")
    assert "Выпускник Богдан" in replies[-1].text and "Учитель Анна" not in replies[-1].text


async def test_invitations_name_their_programme_and_add_a_role_in_it(h):
    c = await onboard_curator(h)
    # Someone already in the first programme, as a mentee.
    kid = await onboard_mentee(h, c, 2201, name="Петров Иван")
    await create_in_chat(c, "college", "Колледж искусств, 2026/27")
    college = await current_of(h)
    await c.send("/invite")
    replies = await c.click("наставляемый")
    assert "Ссылка-приглашение в программу «Колледж искусств, 2026/27» для роли «наставляемый»" in (
        replies[-1].text
    )
    token = token_in(replies[-1].text)
    replies = await c.send("/invites")
    assert any("Колледж искусств, 2026/27" in (m.text or "") for m in replies)

    newcomer = h.user(2202, "New", "ru")
    replies = await newcomer.send(f"/start {token}")
    assert replies[0].text == (
        "Здравствуйте! Вас пригласили в программу наставничества «Колледж искусств, 2026/27» как: "
        "наставляемый."
    )
    # The mentee of the first programme joins the second one: not "already joined", a second role.
    token = await invite(c, "наставляемый")
    replies = await kid.send(f"/start {token}")
    assert "Колледж искусств" in replies[0].text and "уже участвуете" not in replies[0].text
    await kid.click("✅ Даю согласие")
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(kid.id)
        roles = await repos.participants.role_programmes(me.id, Role.MENTEE)
        assert len(roles) == 2 and roles[-1] == college.id
        assert [p.id for p in await svc.role_programmes(repos, me, Role.MENTEE)][-1] == college.id
    # The same link again: now they hold the role there.
    replies = await kid.send(f"/start {token}")
    assert "уже участвуете" in replies[0].text
