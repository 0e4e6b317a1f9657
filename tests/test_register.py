"""Issue #18, "Register": one form of address per audience. A pupil's questionnaire says «ты», and so does
every text the bot adds around its questions (hints, errors, the summary), so no message says «ты» and «вы»
at once; a mentor and the curator read the pupil's answers in the third person (the questions' labels), not
the questions the pupil was asked."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from bot.demo.harness import Client, Harness, make_settings
from bot.domain.forms import FormError, Register, load_forms, parse_form
from bot.domain.register import register_of
from storage.models import FormResponse
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee, onboard_mentor, token_in
from tests.test_completion import SURVEY_BUTTON, finished_pair
from tests.test_meetings import FakeClock, make_pair, propose_and_confirm
from tests.test_texts import TY, VY

PUPIL = "Морозова Софья Дмитриевна"
MENTOR = "Сидорова Ольга Павловна"
NAV = ("« Назад", "Пропустить")
# What the pupil was asked, worded for the pupil: a mentor or the curator must never read these.
ASKED = ("Где ты сейчас учишься", "Чего ты хочешь добиться", "Выбери до", "Как тебе удобнее", "Когда у тебя")


def said_to(h: Harness, u: Client) -> list[str]:
    """Everything the bot told this person: messages as sent and as edited (a tick of a multiple choice
    redraws its question), and the alerts under the buttons they pressed."""
    texts = [
        str(r.params["text"])
        for r in h.fake.requests
        if r.method in ("sendMessage", "editMessageText") and str(r.params.get("chat_id")) == str(u.id)
    ]
    return texts + u.alerts()


def mixed(text: str) -> bool:
    return bool(TY.search(text) and VY.search(text))


async def walk(u: Client, *, wrong_turns: bool = False) -> str:
    """Answer the open questionnaire to its summary (the first option of each question); with `wrong_turns`,
    make each kind of mistake once on the way, so every error the engine adds is seen. Returns the summary."""
    seen: set[str] = set()
    for _ in range(40):
        last = u.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "Всё верно, отправить" in buttons:
            return text
        ticks = [b for b in buttons if b.startswith("▫️")]
        options = [b for b in buttons if b not in NAV and not b.startswith(("✅", "▫️")) and b != "Готово"]
        if ticks:
            if wrong_turns and "few" not in seen:
                seen.add("few")
                await u.click("Готово")  # nothing ticked yet
            if wrong_turns and "many" not in seen and "Выбери до трёх" in text:
                seen.add("many")
                for tick in ticks[:4]:  # the fourth is one too many
                    await u.click(tick)
                await u.click("✅ " + ticks[0][3:])
                await u.click("✅ " + ticks[1][3:])
                await u.click("✅ " + ticks[2][3:])
            await u.click(ticks[0])
            await u.click("Готово")
        elif options:
            if wrong_turns and "typed" not in seen:
                seen.add("typed")
                await u.send("не знаю")  # typed instead of pressing a button
            await u.click(options[0])
        elif m := re.search(r"от (\d+) до (\d+)", text):
            await u.send(m[2])
        elif "дату" in text:
            await u.send("30.11.2026")
        else:
            if wrong_turns and "short" not in seen:
                seen.add("short")
                await u.send("ок")  # shorter than the question allows
            await u.send("Хочу разобраться с математикой и научиться планировать время на неделю.")
    raise AssertionError("the questionnaire never reached its summary")


async def test_a_pupil_is_told_ty_and_never_vy_in_one_message_through_the_needs_questionnaire(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 4101, name=PUPIL)
    before = len(said_to(h, u))
    assert "Анкета наставляемого" in u.last().text
    await u.click(next(b["text"] for b in u.last().buttons() if b["text"] not in NAV))
    await u.send("/start")  # resumes the form where it stopped
    summary = await walk(u, wrong_turns=True)
    assert "проверь ответы" in summary and "нажми «Изменить ответы»" in summary
    await u.click("Изменить ответы")
    await u.click("« К списку ответов")
    await u.click("Всё верно, отправить")
    await u.send("/profile")

    told = said_to(h, u)
    assert not [x for x in told if mixed(x)], [x for x in told if mixed(x)]
    # The questionnaire's own texts, hints and errors address the pupil with «ты» only.
    form_texts = told[before:]
    assert not [x for x in form_texts if VY.search(x)], [x for x in form_texts if VY.search(x)]
    joined = "\n".join(form_texts)
    for ty_text in (
        "Когда закончишь, нажми «Готово»",  # the multiple choice's hint
        "Отметь ещё и нажми «Готово»",  # Done with nothing ticked
        "Сними отметку",  # one tick too many
        "выбери ответ кнопкой",  # typed instead of a button
        "Напиши чуть подробнее",  # too short
        "Продолжим анкету",  # resumed
        "подберёт тебе наставника",  # sent
    ):
        assert ty_text in joined, ty_text


async def test_an_adult_form_keeps_vy_in_its_hints(h):
    c = await onboard_curator(h)
    m = await onboard_mentor(h, c, 4201, name=MENTOR)
    assert "Анкета наставника" in m.last().text
    summary = await walk(m)
    assert "проверьте ответы" in summary and "нажмите «Изменить ответы»" in summary
    told = said_to(h, m)
    assert "Когда закончите, нажмите «Готово»" in "\n".join(told)
    assert not [x for x in told if mixed(x)]


async def test_mentor_and_curator_read_the_pupils_answers_in_the_third_person(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 4102, name=PUPIL)
    await walk(u)
    await u.click("Всё верно, отправить")
    m = await onboard_mentor(h, c, 4202, name=MENTOR)
    await walk(m)
    await m.click("Всё верно, отправить")

    await c.send("/pair")
    await c.click(PUPIL)
    offered = [b["text"] for x in h.fake.delivered_to(c.id) for b in x.buttons()]
    replies = await c.click(next(b for b in offered if b.startswith(MENTOR)))
    if any(b["text"] == "Всё равно создать пару" for b in replies[-1].buttons()):
        await c.click("Всё равно создать пару")
    await h.deliver_outbox()
    announced = next(x for x in m.texts() if "Что ей важно" in x)
    assert "Цели: Улучшить успеваемость" in announced
    assert "Формат встреч: Онлайн" in announced and "Свободное время: Будни, утро" in announced
    assert not TY.search(announced) and not any(q in announced for q in ASKED), announced

    # The curator: the /questionnaires answers view and the participant's card.
    await c.send("/questionnaires")
    view = (await c.click(f"Ответы: {PUPIL}"))[-1].text or ""
    await c.send("/participants Морозова")
    await c.click(PUPIL)
    card = c.last().text or ""
    for shown in (view, card):
        assert "• Где учится — Школа, 5–7 класс" in shown and "• Цели — Улучшить успеваемость" in shown
        assert not TY.search(shown) and not any(q in shown for q in ASKED), shown


def test_a_forms_register_and_its_questions_labels_come_from_its_yaml():
    forms = load_forms()
    assert forms["mentee_needs"].register is Register.TY and forms["selfcheck_mentee"].register is Register.TY
    assert forms["young_specialist_needs"].register is Register.VY and forms["mentor"].register is Register.VY
    # Every intake question others read has a short label that speaks of the person, not to them.
    for form_id in ("mentee_needs", "young_specialist_needs", "mentor"):
        for q in forms[form_id].questions:
            assert q.label is not None, (form_id, q.key)
            assert not TY.search(q.label.ru) and not VY.search(q.label.ru), (form_id, q.key)
    assert forms["mentee_needs"].question("goals").label_for("en") == "Goals"
    assert forms["final"].question("role").label_for("ru") == forms["final"].question("role").text.ru

    base = "id: f\nversion: 1\ntitle: {ru: Т, en: T}\naudience: mentee\n"
    question = (
        "questions:\n  - {key: a, type: text, text: {ru: Как ты, en: How are you}, label: {ru: Как он}}\n"
    )
    with pytest.raises(FormError, match="label: missing en translation"):
        parse_form(base + question, "f.yaml")
    with pytest.raises(FormError, match="unknown Register 'tu'"):
        parse_form(
            base + "register: tu\n" + question.replace("{ru: Как он}", "{ru: Как он, en: How}"), "f.yaml"
        )


# ------------------------------------------------------------- the surveys both members of a pair fill in
@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


async def answer_and_send(h: Harness, u: Client, *, wrong_turns: bool = False) -> tuple[str, list[str]]:
    """Walk the open survey to its summary (with a mistake of each kind when asked), look at the list of its
    answers and back, send it. Returns the summary and everything the person was told on the way."""
    before = len(said_to(h, u))
    summary = await walk(u, wrong_turns=wrong_turns)
    await u.click("Изменить ответы")
    await u.click("« К списку ответов")
    await u.click("Всё верно, отправить")
    return summary, said_to(h, u)[before:]


def addressed_ty_only(told: list[str]) -> None:
    assert not [x for x in told if mixed(x)], [x for x in told if mixed(x)]
    assert not [x for x in told if VY.search(x)], [x for x in told if VY.search(x)]


def addressed_vy_only(told: list[str]) -> None:
    assert not [x for x in told if TY.search(x)], [x for x in told if TY.search(x)]


async def test_a_pupil_in_a_pair_is_told_ty_in_the_meeting_feedback_and_a_mentor_vy(hc, clock):
    h = hc
    _, mentor, pupil = await make_pair(h)  # the mentee's needs questionnaire: school, grades 8–9
    await propose_and_confirm(h, clock, mentor, pupil, "25.11.2026 16:30")
    clock.set("25.11.2026 17:45")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()

    start = len(said_to(h, pupil))
    await pupil.click("Да, состоялась")
    summary, told = await answer_and_send(h, pupil, wrong_turns=True)
    told = said_to(h, pupil)[start:]
    assert "Отзыв о встрече: проверь ответы" in summary and "нажми «Изменить ответы»" in summary
    joined = "\n".join(told)
    for ty_text in (
        "Оцени от 1 до 5",  # the question's own «ты» wording
        "Коротко перечисли темы и задачи",
        "Введи дату",
        "Выбери оценку от 1 до 5",  # a typed word instead of a scale point
        "Напиши чуть подробнее",  # too short
        "Спасибо за отзыв",  # what sending it says
    ):
        assert ty_text in joined, ty_text
    # The summary names the questions as they were asked.
    assert "• Что было на встрече? Коротко перечисли темы и задачи. —" in summary
    addressed_ty_only(told)

    await mentor.click("Да, состоялась")
    summary, told = await answer_and_send(h, mentor, wrong_turns=True)
    assert "Отзыв о встрече: проверьте ответы" in summary
    joined = "\n".join(told)
    assert "Оцените от 1 до 5" in joined and "Напишите чуть подробнее" in joined and "Введите дату" in joined
    addressed_vy_only(told)


async def test_a_pupil_is_told_ty_in_the_final_survey_and_its_mentor_offer_and_the_mentor_vy(hc):
    h = hc
    _, (_, mentor_tg), (_, pupil_tg) = await finished_pair(h, "Наставникова Ольга", "Ученик Пётр")
    await h.deliver_outbox()
    pupil, mentor = h.user(pupil_tg, "Mentee", "ru"), h.user(mentor_tg, "Mentor", "ru")
    # the news that the pair finished, each in their own register
    finished = [m for m in said_to(h, pupil) if "итоговый опрос" in m]
    assert len(finished) == 1 and "Пожалуйста, заполни " in finished[0]
    addressed_ty_only(finished)
    assert any("Пожалуйста, заполните " in m for m in said_to(h, mentor))

    start = len(said_to(h, pupil))
    await pupil.click(SURVEY_BUTTON)
    summary, _ = await answer_and_send(h, pupil)
    told = said_to(h, pupil)[start:]
    assert "Итоговый опрос: проверь ответы" in summary
    assert "• Твоя роль в программе — Наставляемый" in summary
    assert "• Хочешь в будущем тоже стать наставником? — да" in summary
    joined = "\n".join(told)
    assert "Насколько тебя устроило участие" in joined
    assert "Хочешь стать наставником?" in joined  # the offer after sending it
    await pupil.click("Не сейчас")
    assert (pupil.last().text or "").startswith("Хорошо! Если передумаешь")  # "not now" answered in «ты»
    addressed_ty_only(told)

    start = len(said_to(h, mentor))
    await mentor.click(SURVEY_BUTTON)
    summary, _ = await answer_and_send(h, mentor)
    told = said_to(h, mentor)[start:]
    assert "Итоговый опрос: проверьте ответы" in summary
    assert "• В какой роли вы участвовали в программе? — Наставник" in summary
    assert "Насколько вы довольны участием" in "\n".join(told)
    addressed_vy_only(told)


async def test_the_register_stays_the_one_the_form_began_with(hc, clock):
    """Kept in the conversation: a form begun in «ты» goes on in «ты» even if what is known changes."""
    h = hc
    _, mentor, pupil = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, pupil, "25.11.2026 16:30")
    clock.set("25.11.2026 17:45")
    await h.app.reminders.fire_due()
    await h.deliver_outbox()
    await pupil.click("Да, состоялась")
    assert "Оцени от 1 до 5" in (pupil.last().text or "")
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.by_telegram_id(pupil.id)
        intake = await repos.forms.latest_submitted(me.id, "mentee_needs")
        await repos.session.execute(
            update(FormResponse)
            .where(FormResponse.id == intake.id)
            .values(answers={"study_level": "college"})
        )
    replies = await pupil.click("5")
    assert "Коротко перечисли темы и задачи" in (replies[-1].text or "")


# ------------------------------------------------------------- onboarding, once the person is known
async def test_a_mentee_under_18_is_told_ty_from_the_age_answer_on(h):
    c = await onboard_curator(h)
    kid = await onboard_mentee(h, c, 4301, adult=False, name="Смирнов Пётр")
    after_age = kid.last().text or ""
    assert "Тебе ещё нет 18 лет" in after_age and "Перешли родителю эту ссылку" in after_age
    assert not VY.search(after_age) and "Вам уже исполнилось 18 лет?" in "\n".join(kid.texts())

    parent = h.user(4302, "Parent", "ru")
    await parent.send(f"/start {token_in(after_age)}")
    await parent.click("Не даю согласия")
    await h.deliver_outbox()
    declined = kid.texts()[-1]
    assert "Твой родитель (законный представитель) не дал согласия" in declined and not VY.search(declined)

    # An adult mentee of a student group is «вы»: nothing says they are a pupil.
    adult = await onboard_mentee(h, c, 4303, name="Волкова Анна", group="ИС-21")
    # one in a school class is a pupil from the class on, whatever their age
    pupil = await onboard_mentee(h, c, 4304, name="Зайцев Илья", group="11А")
    assert any("Готово! Ты в программе наставничества" in x for x in pupil.texts())
    assert any("Готово! Вы в программе наставничества" in x for x in adult.texts())


def test_who_is_told_ty_is_decided_in_one_place():
    assert register_of(mentee=True, is_minor=True) is Register.TY
    assert register_of(mentee=True, is_minor=False, kind="pupil") is Register.TY
    assert register_of(mentee=True, is_minor=False) is Register.VY  # before the needs questionnaire
    assert register_of(mentee=True, is_minor=None, kind="student") is Register.VY
    assert register_of(mentee=True, kind="teacher") is Register.VY
    assert register_of(mentee=False, is_minor=True, kind="pupil") is Register.VY  # a mentor


def test_a_questions_ty_wording_comes_from_its_yaml():
    forms = load_forms()
    for form_id in ("meeting_feedback", "intermediate", "final"):
        form = forms[form_id]
        assert form.register is Register.VY and form.speaks_ty
        for q in form.questions:
            assert not TY.search(q.text.ru), (form_id, q.key)
            ty = q.text_for("ru", Register.TY)
            assert not VY.search(ty), (form_id, q.key)
            assert q.text_for("en", Register.TY) == q.text.en
    q = forms["meeting_feedback"].question("rating")
    assert q.text_for("ru", Register.TY) == "Как прошла встреча? Оцени от 1 до 5."
    assert q.text_for("ru", Register.VY) == q.text_for("ru") == "Как прошла встреча? Оцените от 1 до 5."

    base = "id: f\nversion: 1\ntitle: {ru: Т, en: T}\naudience: pair\nquestions:\n"
    both = parse_form(
        base + "  - {key: a, type: text, text: {ru: Как вы, en: How}, text_ty: {ru: Как ты, en: Hi}}\n", "f"
    )
    assert both.question("a").text_for("en", Register.TY) == "Hi"
    with pytest.raises(FormError, match="text_ty: missing en translation"):
        parse_form(
            base + "  - {key: a, type: text, text: {ru: Как вы, en: How}, text_ty: {ru: Как ты}}\n", "f"
        )


def test_the_profile_alone_decides_every_text_that_has_a_ty_wording() -> None:
    from bot.domain.entities import ParticipantDTO, Role
    from bot.domain.register import of_person
    from bot.i18n import Translator

    def person(role, minor, group):
        return ParticipantDTO(
            id=1,
            telegram_id=1,
            full_name="Кто-то",
            language="ru",
            status="active",
            roles=frozenset({role}),
            is_minor=minor,
            group_name=group,
        )

    assert of_person(person(Role.MENTEE, True, None)) is Register.TY  # under 18
    assert of_person(person(Role.MENTEE, False, "11 Б")) is Register.TY  # a school class
    assert of_person(person(Role.MENTEE, False, "ИС-21")) is Register.VY  # a student group
    assert of_person(person(Role.MENTOR, True, "10А")) is Register.VY  # a mentor is «вы», whatever their age
    assert of_person(person(Role.PARENT, False, None)) is Register.VY
    # the Translator of such a person picks the «ты» wording wherever one exists, and only there
    ty, vy = Translator("ru", "ty"), Translator("ru")
    assert ty("meeting.no_pair").startswith("У тебя") and vy("meeting.no_pair").startswith("У вас")
    assert ty("meetings.stage.trial") == vy("meetings.stage.trial")
