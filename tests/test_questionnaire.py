"""The questionnaire engine in chat: every question type, Back/Skip/Edit, stale buttons, restart, versions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from bot.domain.forms import is_valid_value, load_form
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee, onboard_mentor
from tests.test_forms_domain import complete

FIXTURE = Path(__file__).parent / "fixtures" / "forms" / "all_types.yaml"


async def me_of(h, telegram_id):
    async with unit_of_work(h.app.factory) as repos:
        return await repos.participants.by_telegram_id(telegram_id)


async def responses(h, participant_id, form_id):
    from sqlalchemy import select

    from storage.models import FormResponse

    async with unit_of_work(h.app.factory) as repos:
        rows = await repos.session.scalars(
            select(FormResponse)
            .where(FormResponse.participant_id == participant_id, FormResponse.form_id == form_id)
            .order_by(FormResponse.id)
        )
        return [(r.version, r.status, dict(r.answers), r.current_key) for r in rows]


async def start_test_form(h, user):
    """Give an onboarded participant the all-types form, as if it were their intake form."""
    engine = h.app.dp["engine"]
    engine.forms["all_types"] = load_form(FIXTURE)
    me = await me_of(h, user.id)
    async with unit_of_work(h.app.factory) as repos:
        open_r = await repos.forms.open_for(me.id)
        if open_r:
            await repos.forms.discard(open_r.id)
        await engine.begin(repos, me.id, "all_types", h.app.clock())
    return me


def assert_all_valid(form, answers):
    for key, value in answers.items():
        if value is not None:
            assert is_valid_value(form.question(key), value), (key, value)


async def test_every_question_type_with_bad_and_boundary_input(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2201)
    me = await start_test_form(h, u)
    replies = await u.send("/start")
    assert "Любимый цвет?" in replies[-1].text and "Вопрос 1 из" in replies[-1].text

    # single: a typed answer that is no option, then the button
    replies = await u.send("зелёный")
    assert "кнопкой" in replies[0].text or "Такого варианта нет" in replies[0].text
    assert "Любимый цвет?" in replies[-1].text
    old_question = u.last()
    stale_red = next(b["callback_data"] for b in old_question.buttons() if b["text"] == "Красный")
    replies = await u.click("Синий")
    assert "Предметы?" in replies[-1].text
    assert old_question.buttons() == []  # the answered question's keyboard is removed
    # a press on the old question (an old client still shows it) changes nothing
    await u.press(stale_red, old_question)
    assert "уже дан ответ" in u.alerts()[-1]
    assert (await responses(h, me.id, "all_types"))[-1][2]["colour"] == "blue"

    # multi: at most 2, at least 1
    await u.click("Готово")
    assert "хотя бы 1" in u.alerts()[-1]
    await u.click("▫️ Математика")
    await u.click("▫️ Физика")
    await u.click("▫️ Музыка")
    assert "не больше 2" in u.alerts()[-1]
    assert "✅ Математика" in [b["text"] for b in u.last().buttons()]
    replies = await u.click("Готово")
    assert "Расскажите о себе" in replies[-1].text

    # text: min 20 characters
    replies = await u.send("коротко")
    assert "минимум 20" in replies[0].text and "Расскажите о себе" in replies[-1].text
    replies = await u.send("Люблю задачи и хочу поступить на физмат.")
    assert "Сколько часов" in replies[-1].text

    # integer 1..10
    for bad, expected in (
        ("много", "целое число"),
        ("0", "от 1 до 10"),
        ("11", "от 1 до 10"),
        ("2.5", "целое"),
    ):
        replies = await u.send(bad)
        assert expected in replies[0].text, bad
    replies = await u.send("10")
    assert "Настроение?" in replies[-1].text

    # scale buttons 1..5 (typed 7 is out of range)
    replies = await u.send("7")
    assert "от 1 до 5" in replies[0].text
    replies = await u.click("5")
    assert "Когда начать?" in replies[-1].text

    # date
    replies = await u.send("31.02.2027")
    assert "25.12.2026" in replies[0].text
    replies = await u.send("25.12.2027")
    assert "Онлайн подходит?" in replies[-1].text

    # yes/no with a conditional follow-up; Back returns; "no" hides the follow-up
    replies = await u.click("Да")
    assert "Какая платформа?" in replies[-1].text
    replies = await u.click("« Назад")
    assert "Онлайн подходит?" in replies[-1].text
    replies = await u.click("Нет")
    assert "Что-то ещё?" in replies[-1].text

    # optional: Skip
    replies = await u.click("Пропустить")
    assert "проверьте ответы" in replies[-1].text
    summary = replies[-1].text
    assert "Синий" in summary and "Математика, Физика" in summary and "25.12.2027" in summary
    assert "Какая платформа?" not in summary

    # Edit one answer from the summary, come back to the summary, submit
    await u.click("Изменить ответы")
    replies = await u.click("4. Сколько часов в неделю?")
    assert "Сейчас в анкете: 10" in replies[-1].text
    replies = await u.send("3")
    assert "проверьте ответы" in replies[-1].text
    replies = await u.click("Всё верно, отправить")
    assert any("Спасибо" in (r.text or "") for r in replies)
    rows = await responses(h, me.id, "all_types")
    version, status, answers, _ = rows[-1]
    assert version == 1
    assert status == "submitted" and answers["hours"] == 3 and answers["online"] is False
    assert "platform" not in answers and answers["notes"] is None
    assert_all_valid(h.app.dp["engine"].forms["all_types"], answers)


async def test_each_answer_is_stored_at_once_and_restart_resumes(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2202)
    me = await start_test_form(h, u)
    await u.send("/start")
    await u.click("Красный")
    await u.click("▫️ Музыка")
    await u.click("Готово")
    rows = await responses(h, me.id, "all_types")
    assert rows[-1][2] == {"colour": "red", "areas": ["music"]} and rows[-1][3] == "story"
    h2 = await h.restart()
    try:
        h2.app.dp["engine"].forms["all_types"] = load_form(FIXTURE)
        u2 = h2.user(2202, "Mentee", "ru")
        replies = await u2.send("Рассказ о себе длиной больше двадцати символов")
        assert "Сколько часов" in replies[-1].text  # the state survived: this answered the same question
        replies = await u2.send("/start")
        assert any("остановились" in (r.text or "") for r in replies) and "Сколько часов" in replies[-1].text
        rows = await responses(h2, me.id, "all_types")
        assert rows[-1][2]["colour"] == "red" and rows[-1][2]["story"].startswith("Рассказ")
    finally:
        await h2.close()


async def test_cancel_pauses_and_keeps_answers(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2203)
    me = await start_test_form(h, u)
    await u.send("/start")
    await u.click("Красный")
    replies = await u.send("/cancel")
    assert "всё сохранённое на месте" in replies[-1].text
    replies = await u.send("просто текст")
    assert "/help" in replies[-1].text  # not taken as an answer
    assert (await responses(h, me.id, "all_types"))[-1][2] == {"colour": "red"}
    replies = await u.send("/start")
    assert "Предметы?" in replies[-1].text


async def intake_answers_ru(u):
    """Walk the shipped mentee needs questionnaire in Russian with a few wrong turns."""
    for _ in range(30):
        last = u.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "проверь ответы" in text:  # a pupil's form says «ты»
            return
        if "▫️ Математика" in buttons or ("Готово" in buttons and any(b.startswith("▫️") for b in buttons)):
            first = next(b for b in buttons if b.startswith("▫️"))
            await u.click(first)
            await u.click("Готово")
        elif buttons and not (
            buttons == ["« Назад"] or buttons == ["« Назад", "Пропустить"] or buttons == ["Пропустить"]
        ):
            choice = next(b for b in buttons if b not in ("« Назад", "Пропустить"))
            await u.click(choice)
        else:
            await u.send("Хочу подтянуть математику и научиться планировать время.")
    raise AssertionError("the questionnaire never reached the summary")


async def test_mentee_completes_shipped_needs_form_edits_after_submission_and_curator_sees(h):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2204)
    me = await me_of(h, 2204)
    assert "Анкета наставляемого" in u.texts()[-1]
    await intake_answers_ru(u)
    await u.click("Всё верно, отправить")
    assert "Куратор подберёт тебе наставника" in u.texts()[-1]
    replies = await u.send("/profile")
    assert "(версия 1)" in replies[-1].text
    await u.click("Изменить ответы")
    assert "проверь ответы" in u.last().text
    await u.click("Изменить ответы")
    first_q = next(b for b in u.last().buttons() if b["text"].startswith("1. "))
    await u.press(first_q["callback_data"])
    options = [b["text"] for b in u.last().buttons() if b["text"] not in ("« Назад", "Пропустить")]
    await u.click(options[-1])
    await u.click("Всё верно, отправить")
    rows = await responses(h, me.id, "mentee_needs")
    assert [(v, s) for v, s, _, _ in rows] == [(1, "superseded"), (2, "submitted")]
    assert rows[0][2]["study_level"] != rows[1][2]["study_level"]
    form = h.app.dp["engine"].forms["mentee_needs"]
    assert complete(form, rows[1][2])

    replies = await c.send("/questionnaires")
    assert "заполнили: 1" in replies[-1].text
    replies = await c.click("Ответы: Петров Иван")
    assert "Ответы участника: Петров Иван" in replies[-1].text and "Анкета наставляемого" in replies[-1].text


async def test_mentor_fills_the_mentor_form_in_english_and_curator_nudges_the_unfinished(h):
    c = await onboard_curator(h)
    m = await onboard_mentor(h, c, 3201, lang="en", name="Olga Sidorova")
    assert "Question 1 of" in m.last().text
    replies = await c.send("/questionnaires")
    assert "Olga Sidorova" in replies[-1].text and "in progress" not in replies[-1].text
    await c.click("🔔 Напомнить: Olga Sidorova")
    assert "Напоминание отправлено" in c.alerts()[-1]
    await c.click("🔔 Напомнить: Olga Sidorova")
    assert "уже напоминали" in c.alerts()[-1]
    await h.deliver_outbox()
    assert sum("A reminder from your mentoring programme's curator" in t for t in m.texts()) == 1

    # The mentor form: integer capacity with a range, then the rest.
    for _ in range(40):
        last = m.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "check your answers" in text:
            break
        if "Done" in buttons:
            await m.click(next(b for b in buttons if b.startswith("▫️")))
            await m.click("Done")
        elif "How many mentees" in text:
            replies = await m.send("9")
            assert "from 1 to" in replies[0].text
            await m.send("2")
        elif "years of experience" in text:
            replies = await m.send("many")
            assert "whole number" in replies[0].text
            await m.send("12")
        elif [b for b in buttons if b not in ("« Back", "Skip")]:
            await m.click(next(b for b in buttons if b not in ("« Back", "Skip")))
        elif "Skip" in buttons:
            await m.click("Skip")
        else:
            await m.send("I enjoy helping young teachers find their own way in the profession.")
    assert "check your answers" in m.last().text
    await m.click("All correct, submit")
    me = await me_of(h, 3201)
    rows = await responses(h, me.id, "mentor")
    assert rows[-1][1] == "submitted" and rows[-1][2]["capacity"] == 2
    assert complete(h.app.dp["engine"].forms["mentor"], rows[-1][2])


async def test_a_step_is_one_commit_and_reads_each_row_once(h):
    """Answering a question costs a few statements and one commit: who is writing (with their roles), the
    conversation state and the response are each read once (repeated reads come from the unit of work), the
    update's id is recorded in the same commit as the answer, and nothing is read before the unit opens.
    bench/forms.py measures what this buys."""
    from sqlalchemy import event

    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2207)
    assert "Анкета наставляемого" in u.texts()[-1]
    first_question = u.last().text
    statements: list[str] = []
    commits: list[int] = []

    def seen(conn, cursor, statement, params, context, executemany):
        statements.append(" ".join(statement.split()))

    def committed(conn):
        commits.append(len(statements))

    engine = h.app.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    event.listen(engine, "commit", committed)
    try:
        option = next(b for b in u.last().buttons() if b["text"] not in ("« Назад", "Пропустить"))
        await u.press(option["callback_data"])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
        event.remove(engine, "commit", committed)
    assert u.last().text != first_question  # the next question is shown

    def reads(table: str) -> list[str]:
        return [s for s in statements if s.startswith("SELECT") and f"FROM {table} " in s + " "]

    assert len(reads("fsm_states")) == 1, statements
    assert len(reads("form_responses")) == 1, statements
    assert len(reads("participants")) == 1 and not reads("participant_roles"), statements
    assert commits == [len(statements)], (commits, statements)  # one commit, after every statement
    assert any(s.startswith("INSERT INTO processed_updates") for s in statements), statements
    assert len(statements) <= 5, statements


async def test_an_answer_delivered_again_is_not_taken_for_the_next_question(h):
    """Telegram delivers an update again when its answer was late, or after a restart: the copy of a press
    that was answered and acknowledged changes nothing and says nothing (it is not taken for an answer to the
    question now asked, nor told the button is stale)."""
    import copy

    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2209)
    me = await me_of(h, u.id)
    fed: list[dict] = []
    real_feed = h.feed

    async def keep(update):
        fed.append(update)
        await real_feed(update)

    h.feed = keep
    option = next(b for b in u.last().buttons() if b["text"] not in ("« Назад", "Пропустить"))
    await u.press(option["callback_data"])
    h.feed = real_feed
    answered = await responses(h, me.id, "mentee_needs")
    requests = len(h.fake.requests)
    await h.feed(copy.deepcopy(fed[-1]))
    assert len(h.fake.requests) == requests, [r.method for r in h.fake.requests[requests:]]
    h2 = await h.restart()
    try:
        requests = len(h2.fake.requests)
        await h2.feed(copy.deepcopy(fed[-1]))
        assert len(h2.fake.requests) == requests, [r.method for r in h2.fake.requests[requests:]]
        assert await responses(h2, me.id, "mentee_needs") == answered
    finally:
        await h2.close()


async def test_bot_api_answers_are_read_without_building_their_model_again(h):
    """aiogram reads each Bot API answer as Response[<result type>], a model pydantic caches only while
    something refers to it; the bot keeps one per result type, so a collection does not make the next request
    build the model class, its schema and validator again (half a millisecond each, bench/forms.py)."""
    import gc
    import weakref

    from aiogram.methods import Response
    from aiogram.types import Message

    c = await onboard_curator(h)
    await c.send("/help")
    built = weakref.ref(Response[Message])
    gc.collect()
    assert built() is not None


async def test_a_conversation_state_set_between_two_replies_is_saved_before_the_second(h):
    """Conversation states are written once, when the update's transaction commits; a state changed after
    the first reply, with nothing else written, is still committed before the next reply leaves (what a
    person is told is saved), and clearing it deletes the row."""
    key = "bot:2210:2210:default"
    now = h.app.clock()

    async def stored():
        async with unit_of_work(h.app.factory) as other:
            return await other.fsm.get(key)

    async with unit_of_work(h.app.factory, commits_before_reply=True) as repos:
        assert await repos.fsm.get(key) == (None, {})  # read as every update reads it, at its start
        await repos.commit_before_reply()  # its first reply
        await repos.fsm.put(key, now, state="Questionnaire:answering", data={"rid": 7})
        assert await stored() == (None, {})  # not written yet
        await repos.commit_before_reply()  # the next reply
        assert await stored() == ("Questionnaire:answering", {"rid": 7})
        await repos.fsm.put(key, now, state=None, data={})
    async with unit_of_work(h.app.factory) as repos:
        rows = await repos.session.execute(text("SELECT count(*) FROM fsm_states WHERE key = :k"), {"k": key})
        assert rows.scalar_one() == 0
