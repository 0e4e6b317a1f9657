"""Entry, half-way and exit self-assessment through the dispatcher: an approved pair's members are each
invited once; who skips the entry is asked once more before the trial meeting, who answered is not; a mentor
of two mentees and a mentee paired again are asked once; the exit comes with the final survey and pairs with
the entry in the programme's measurements; the December monitoring adds the half-way one where the programme
asks for it; an old or forged button opens nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.callbacks.selfcheck import Moment, SelfcheckCb, Side
from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.domain.forms import QuestionType, load_forms
from bot.services import completion
from bot.services import selfcheck as svc
from storage.models import FormResponse
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_completion import fill_form
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import FakeClock, hold_and_feedback, propose_and_confirm

BUTTON = "📊 Пройти самооценку"
SUBMIT = "Всё верно, отправить"
FINAL_SURVEY = "📝 Заполнить итоговый опрос"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


# ----------------------------------------------------------------------------------------- helpers
def invitations(h: Harness, tg: int) -> list:
    return [m for m in h.fake.delivered_to(tg) if BUTTON in [b["text"] for b in m.buttons()]]


async def approve_all(h: Harness, curator) -> None:
    page = (await curator.send("/match"))[0]
    button = next(b["callback_data"] for b in page.buttons() if b["text"].startswith("Утвердить все"))
    await curator.press(button, page)
    await curator.press(button, page)  # a second press announces nothing twice
    await h.deliver_outbox()


async def answer(u, score: str) -> str:
    """Answer every scale of the open self-assessment with `score` and send it; returns the summary."""
    for _ in range(12):
        text = u.last().text or ""
        if "проверь ответы" in text or "проверьте ответы" in text:  # a pupil's form says «ты»
            await u.click(SUBMIT)
            return text
        await u.click(score)
    raise AssertionError("the self-assessment never reached its summary")


async def responses(h: Harness, participant_id: int) -> list[FormResponse]:
    async with unit_of_work(h.app.factory) as repos:
        rows = await repos.session.scalars(
            select(FormResponse)
            .where(FormResponse.participant_id == participant_id, FormResponse.form_id.in_(svc.FORMS))
            .order_by(FormResponse.id)
        )
        return list(rows.all())


async def programme_id(h: Harness) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return (await repos.programmes.active())[0].id


# ----------------------------------------------------------------------------------------- the forms
def test_the_forms_are_short_scales_of_one_to_five_and_focus_names_their_skill_items():
    forms = load_forms()
    for form_id in svc.FORMS:
        form = forms[form_id]
        scales = [q for q in form.questions if q.key != svc.FOCUS]
        assert scales and all(q.type is QuestionType.SCALE and q.bounds() == (1, 5) for q in scales)
        assert len(scales) <= 8, form_id
        if svc.FOCUS in form.keys:
            # every skill the needs questionnaire can name is a focus option and shows its own item
            focus = form.question(svc.FOCUS)
            assert set(focus.option_values) == set(svc.SKILLS[form_id])
            for skill in focus.option_values:
                assert form.is_visible({svc.FOCUS: [skill]}, skill)
                assert not form.is_visible({svc.FOCUS: []}, skill)
    # young teachers are always asked about their class, their lessons and the parents
    teacher = forms[svc.TEACHER_FORM].visible({svc.FOCUS: []})
    assert {"classroom_management", "lesson_planning", "working_with_parents"} <= {q.key for q in teacher}


# ----------------------------------------------------------------------------------------- the entry
async def test_an_approved_pair_is_invited_once_each_and_the_answer_is_kept_as_the_entry(hc):
    h = hc
    c = await onboard_curator(h)
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 2))
    one_id, one_tg = await seed(h, Role.MENTEE, "Ученик Один", mentee_answers(["math"]))
    _, two_tg = await seed(h, Role.MENTEE, "Ученик Два", mentee_answers(["math", "career"]))
    await approve_all(h, c)
    await c.send("/match")  # a new round with nothing to decide asks nobody again
    await h.deliver_outbox()

    # the mentor of two mentees once; each mentee once, after the news of their mentor
    assert [len(invitations(h, tg)) for tg in (mentor_tg, one_tg, two_tg)] == [1, 1, 1]
    assert "оцените, пожалуйста, себя" in invitations(h, mentor_tg)[0].text
    one = h.user(one_tg, "One", "ru")
    texts = one.texts()
    assert "оцени, пожалуйста, себя" in invitations(h, one_tg)[0].text
    assert texts.index(invitations(h, one_tg)[0].text) > next(
        i for i, x in enumerate(texts) if "У вас есть наставник" in x
    )

    replies = await one.click(BUTTON)
    assert "Самооценка наставляемого" in replies[-1].text
    assert "Насколько уверенно ты чувствуешь себя в учёбе" in replies[-1].text
    summary = await answer(one, "2")
    # the skills of the needs questionnaire (maths, better grades), not the others
    assert "Знания по предмету" in summary and "свои знания по предмету" in summary
    assert "планировать время" in summary and "кем хочешь стать" not in summary
    assert "самооценка сохранена" in one.last().text
    pid = await programme_id(h)
    (entry,) = await responses(h, one_id)
    assert entry.status == "submitted" and entry.form_id == "selfcheck_mentee"
    assert entry.context == f"selfcheck:entry:{pid}"
    assert entry.answers["confidence"] == 2 and entry.answers["subject"] == 2
    assert entry.answers["focus"] == ["subject", "study_skills"]

    # the old button: kindly refused, no second response
    await one.press(invitations(h, one_tg)[0].buttons()[0]["callback_data"], invitations(h, one_tg)[0])
    assert "уже заполнена" in one.alerts()[-1]
    assert len(await responses(h, one_id)) == 1
    # the mentor's form is the mentor's own
    mentor = h.user(mentor_tg, "Mentor", "ru")
    replies = await mentor.click(BUTTON)
    assert "Самооценка наставника" in replies[-1].text
    assert (await responses(h, mentor_id))[0].context == f"selfcheck:entry:{pid}"


async def test_who_skipped_the_entry_is_asked_once_more_before_the_trial_meeting(hc, clock):
    h = hc
    c = await onboard_curator(h)
    _, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 1))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Пётр", mentee_answers(["math"]))
    await approve_all(h, c)
    mentor, mentee = h.user(mentor_tg, "Mentor", "ru"), h.user(mentee_tg, "Mentee", "ru")
    await mentor.click(BUTTON)
    await answer(mentor, "3")  # the mentor answers, the mentee skips it

    await propose_and_confirm(h, clock, mentor, mentee, "25.11.2026 16:30")
    await hold_and_feedback(h, clock, [mentor, mentee], "25.11.2026 17:45")  # introduction → trial
    again = invitations(h, mentee_tg)
    assert len(again) == 2 and "Скоро пробная встреча" in again[-1].text
    assert len(invitations(h, mentor_tg)) == 1  # who answered is not asked again

    # never a third time: the trial meeting, then the service asked again, send nothing
    await propose_and_confirm(h, clock, mentee, mentor, "27.11.2026 16:30")
    await hold_and_feedback(h, clock, [mentor, mentee], "27.11.2026 17:45")
    async with unit_of_work(h.app.factory) as repos:
        pair = (await repos.pairs.active())[0]
        assert pair.stage == "planning"
        assert await svc.ask_again(repos, pair, clock()) == 0
    await h.deliver_outbox()
    assert len(invitations(h, mentee_tg)) == 2

    await mentee.click(BUTTON)
    await answer(mentee, "4")
    assert [r.status for r in await responses(h, mentee_id)] == ["submitted"]


async def test_a_mentee_paired_again_and_a_mentor_with_a_second_pair_are_not_asked_again(hc):
    h = hc
    c = await onboard_curator(h)
    first_id, first_tg = await seed(h, Role.MENTOR, "Хоров Глеб", mentor_answers(["math"], 2))
    _, second_tg = await seed(h, Role.MENTOR, "Математикова Анна", mentor_answers(["math"], 1))
    _, eight_tg = await seed(h, Role.MENTEE, "Ученик Восемь", mentee_answers(["math"]))
    _, nine_tg = await seed(h, Role.MENTEE, "Ученица Девять", mentee_answers(["math"]))
    await c.send("/pair")
    await c.click("Ученик Восемь")
    await c.click("Хоров Глеб (0/2)")
    await h.deliver_outbox()
    assert len(invitations(h, eight_tg)) == 1 and len(invitations(h, first_tg)) == 1
    async with unit_of_work(h.app.factory) as repos:
        (first_pair,) = await repos.pairs.led_by(first_id)

    await c.send("/pairs")
    await c.click(next(b["text"] for b in c.last().buttons() if b["text"].startswith("Расформировать")))
    assert "расформирована" in (await c.send("Не совпали графики занятий"))[-1].text
    await c.send("/pair")
    await c.click("Ученик Восемь")
    await c.click("Математикова Анна (0/1)")
    await h.deliver_outbox()
    assert any("Математикова Анна" in t for t in h.user(eight_tg).texts())  # paired again, and told
    assert len(invitations(h, eight_tg)) == 1
    assert len(invitations(h, second_tg)) == 1
    # the first mentor leads a new pair in the same programme: not asked again either
    await c.send("/pair")
    await c.click("Ученица Девять")
    await c.click("Хоров Глеб (0/2)")
    await h.deliver_outbox()
    async with unit_of_work(h.app.factory) as repos:
        (second_pair,) = await repos.pairs.led_by(first_id)
    assert second_pair.id != first_pair.id and second_pair.programme_id == first_pair.programme_id
    assert len(invitations(h, first_tg)) == 1 and len(invitations(h, nine_tg)) == 1


async def test_a_young_specialist_gets_the_teachers_form_addressed_formally(hc):
    h = hc
    c = await onboard_curator(h)
    await seed(
        h,
        Role.MENTOR,
        "Опытная Мария",
        mentor_answers(["classroom_management"], 1, forms=("teacher_teacher",)),
    )
    ys_id, ys_tg = await seed(h, Role.MENTEE, "Молодой Педагог", {}, submit=False)
    async with unit_of_work(h.app.factory) as repos:
        now = h.app.clock()
        r = await repos.forms.create(
            ys_id,
            "young_specialist_needs",
            1,
            now,
            answers={
                "experience": "first_year",
                "position": "primary_teacher",
                "areas": ["classroom_management", "methodology"],
                "difficulties": "Трудно удержать внимание класса.",
                "format": "any",
                "slots": ["weekday_evening"],
                "expectations": "Научиться спокойно вести урок.",
            },
        )
        await repos.forms.submit(r.id, now)
    await approve_all(h, c)
    (invitation,) = invitations(h, ys_tg)
    assert "оцените, пожалуйста, себя" in invitation.text
    ys = h.user(ys_tg, "YS", "ru")
    replies = await ys.click(BUTTON)
    assert "Самооценка молодого специалиста" in replies[-1].text
    summary = await answer(ys, "3")
    assert "управляете классом" in summary and "с родителями учеников" in summary
    assert "методическую подготовку" in summary and "документация" not in summary
    assert (await responses(h, ys_id))[0].form_id == "selfcheck_teacher"


# ----------------------------------------------------------------------------------------- the exit
async def test_the_exit_comes_with_the_final_survey_and_pairs_with_the_entry(hc, clock):
    h = hc
    c = await onboard_curator(h)
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 1))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Пётр", mentee_answers(["math"]))
    await approve_all(h, c)
    mentor, mentee = h.user(mentor_tg, "Mentor", "ru"), h.user(mentee_tg, "Mentee", "ru")
    await mentee.click(BUTTON)
    await answer(mentee, "2")  # the entry; the mentor skips theirs
    async with unit_of_work(h.app.factory) as repos:
        pair = (await repos.pairs.active())[0]
        assert (await completion.close_pair(repos, pair.id, "учебный год закончился", 0, clock()))[0]
    await h.deliver_outbox()
    assert len(invitations(h, mentee_tg)) == 1  # finishing asks nothing by itself

    await mentee.click(FINAL_SURVEY)
    await fill_form(mentee, ["Научился планировать подготовку."], no_for="Хотели бы вы")
    replies = await mentee.click(SUBMIT)
    offer = next(m for m in replies if BUTTON in [b["text"] for b in m.buttons()])
    assert "оцени себя сейчас, в конце программы" in offer.text
    replies = await mentee.click(BUTTON)
    assert "Насколько уверенно ты чувствуешь себя в учёбе" in replies[-1].text
    summary = await answer(mentee, "4")
    assert "Знания по предмету" in summary  # the items of the entry, so they compare
    # the old exit button: already done
    await mentee.press(offer.buttons()[0]["callback_data"], offer)
    assert "уже заполнена" in mentee.alerts()[-1]

    # the mentor without an entry is offered the exit too, and it is recorded alone
    await mentor.click(FINAL_SURVEY)
    await fill_form(mentor, ["Было ценно видеть, как растёт уверенность ученика."])
    replies = await mentor.click(SUBMIT)
    assert any("оцените себя сейчас" in (m.text or "") for m in replies)
    await mentor.click(BUTTON)
    await answer(mentor, "5")

    pid = await programme_id(h)
    async with unit_of_work(h.app.factory) as repos:
        found = {m.participant_id: m for m in await svc.measurements(repos, pid)}
    assert set(found) == {mentor_id, mentee_id}
    pupil = found[mentee_id]
    assert pupil.role == "mentee" and pupil.form == "pupil_pupil" and pupil.pair_id == pair.id
    assert pupil.entry == {
        "confidence": 2.0,
        "motivation": 2.0,
        "belonging": 2.0,
        "subject": 2.0,
        "study_skills": 2.0,
    }
    assert pupil.exit == {k: 4.0 for k in pupil.entry}
    teacher = found[mentor_id]
    assert teacher.role == "mentor" and teacher.entry is None and teacher.exit["own_growth"] == 5.0
    contexts = {r.context for r in await responses(h, mentee_id)}
    assert contexts == {f"selfcheck:entry:{pid}", f"selfcheck:exit:{pid}"}


# ----------------------------------------------------------------------------------------- half-way
async def test_the_december_monitoring_adds_the_half_way_measurement_where_asked(hc, clock):
    h = hc
    c = await onboard_curator(h)
    _, mentor_tg = await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 1))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Пётр", mentee_answers(["math"]))
    await approve_all(h, c)
    clock.now = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    assert len(invitations(h, mentee_tg)) == 1  # a programme that does not ask: the entry only

    pid = await programme_id(h)
    async with unit_of_work(h.app.factory) as repos:
        programme = await repos.programmes.get(pid)
        await repos.programmes.update_settings(pid, {**programme.settings, "growth_mid": True})
    await h.app.jobs.hourly_scan()
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    for tg in (mentor_tg, mentee_tg):
        mid = [m for m in invitations(h, tg) if "Половина программы позади" in (m.text or "")]
        assert len(mid) == 1, tg
    mentee = h.user(mentee_tg, "Mentee", "ru")
    await mentee.click(BUTTON)
    await answer(mentee, "3")
    (response,) = await responses(h, mentee_id)
    assert response.context == f"selfcheck:mid:{pid}:2026-12" and response.status == "submitted"
    async with unit_of_work(h.app.factory) as repos:
        found = {m.participant_id: m for m in await svc.measurements(repos, pid)}
    assert found[mentee_id].mid["confidence"] == 3.0 and found[mentee_id].entry is None


# ----------------------------------------------------------------------------------------- refusals
async def test_a_button_of_someone_else_opens_nothing(hc):
    h = hc
    c = await onboard_curator(h)
    await seed(h, Role.MENTOR, "Наставникова Ольга", mentor_answers(["math"], 1))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Пётр", mentee_answers(["math"]))
    waiting_id, waiting_tg = await seed(h, Role.MENTEE, "Ученик Ждущий", mentee_answers(["chemistry"]))
    await approve_all(h, c)
    pid = await programme_id(h)
    mentee, waiting = h.user(mentee_tg, "M", "ru"), h.user(waiting_tg, "W", "ru")
    assert invitations(h, waiting_tg) == []
    # the mentee pretends to be the mentor; the one still waiting for a pair presses a mentee's button
    await mentee.press(SelfcheckCb(m=Moment.ENTRY, p=pid, r=Side.MENTOR).pack())
    assert "для участников пар" in mentee.alerts()[-1]
    await waiting.press(SelfcheckCb(m=Moment.ENTRY, p=pid, r=Side.MENTEE).pack())
    assert "для участников пар" in waiting.alerts()[-1]
    # the exit before the pair has finished, the half-way one of a programme that does not ask for it
    await mentee.press(SelfcheckCb(m=Moment.EXIT, p=pid, r=Side.MENTEE).pack())
    assert "для участников пар" in mentee.alerts()[-1]
    await mentee.press(SelfcheckCb(m=Moment.MID, p=pid, r=Side.MENTEE, d="2026-12").pack())
    assert "неактуальна" in mentee.alerts()[-1]
    assert await responses(h, mentee_id) == [] and await responses(h, waiting_id) == []
