"""Completion: the final meeting's feedback finishes the pair and both members get the final survey once; a
finished mentee is invited into the mentor base with a pre-filled mentor questionnaire; the curator closes a
pair early with a reason; the case base publishes a story only when every member agrees; the honour board
ranks mentors and respects opt-outs; certificates come as PNG or PDF to members only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.i18n import Translator
from bot.services import certificate as cert
from bot.services import completion as svc
from bot.services import matching
from storage.models import CaseStory, FormResponse
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_ics_updates import calendar_files
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import FakeClock, hold_and_feedback, make_pair, propose_and_confirm

SURVEY_BUTTON = "📝 Заполнить итоговый опрос"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


# ----------------------------------------------------------------------------------------- helpers
async def seed_through_joint_work(h, pair):
    """Introduction, trial, planning and the six joint-work meetings held, with everyone's feedback."""
    now = h.app.clock()
    stages = ["introduction", "trial", "planning"] + ["joint_work"] * 6
    async with unit_of_work(h.app.factory) as repos:
        for n, stage in enumerate(stages):
            start = now - timedelta(days=30 - 2 * n)
            m = await repos.meetings.create(
                pair.id, stage, start, start + timedelta(hours=1), "online", "https://x", pair.mentor_id, now
            )
            await repos.meetings.update(m.id, now, status="held", held_at=start + timedelta(hours=1))
            for pid in (pair.mentor_id, *pair.mentee_ids):
                r = await repos.forms.create(
                    pid, "meeting_feedback", 1, now, context=f"meeting:{m.id}", answers={"rating": 5}
                )
                await repos.forms.submit(r.id, now)
        await repos.pairs.set_stage(pair.id, "final")


async def fill_form(u, text_answers: list[str], no_for: str | None = None):
    """Answer whatever the form asks (scale 9, first option, "Да" — "Нет" to a question containing no_for —,
    first tick + Done; texts in order) and stop at the summary."""
    texts = iter(text_answers)
    for _ in range(30):
        last = u.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "проверь ответы" in text or "проверьте ответы" in text:  # a pupil answers in «ты»
            return text
        if no_for and no_for in text and "Нет" in buttons:
            await u.click("Нет")
            continue
        options = [b for b in buttons if b not in ("« Назад", "Пропустить")]
        ticks = [b for b in options if b.startswith("▫️") or b.startswith("✅")]
        if ticks:
            if not any(b.startswith("✅") for b in ticks):
                await u.click(ticks[0])
            await u.click("Готово")
        elif "9" in options:
            await u.click("9")
        elif "Да" in options:
            await u.click("Да")
        elif options:
            await u.click(options[0])
        else:
            await u.send(next(texts))
    raise AssertionError("the form never reached its summary")


def survey_offers(h, u) -> int:
    return sum(any(b.get("text") == SURVEY_BUTTON for b in m.buttons()) for m in h.fake.delivered_to(u.id))


async def finished_pair(h, mentor_name: str, mentee_name: str, areas=("math",), ratings=(), mentor=None):
    """A pair closed through the service layer; ratings are the mentee's meeting ratings."""
    if mentor is None:
        mentor = await seed(h, Role.MENTOR, mentor_name, mentor_answers(list(areas), 3))
    mentee = await seed(h, Role.MENTEE, mentee_name, mentee_answers(list(areas)))
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        pair = await matching.create_pairing(repos, programme.id, mentee[0], mentor[0], None, now)
        for score in ratings:
            m = await repos.meetings.create(
                pair.id, "introduction", now, now + timedelta(hours=1), "online", None, mentor[0], now
            )
            await repos.meetings.update(m.id, now, status="held", held_at=now)
            r = await repos.forms.create(
                mentee[0], "meeting_feedback", 1, now, context=f"meeting:{m.id}", answers={"rating": score}
            )
            await repos.forms.submit(r.id, now)
        ok, _ = await svc.close_pair(repos, pair.id, "учебный год закончился", 0, now)
        assert ok
    return pair.id, mentor, mentee


# ----------------------------------------------------------------------------------------- the final stage
async def test_final_meeting_finishes_the_pair_and_the_mentee_is_invited_to_mentor(hc, clock):
    h = hc
    curator = await onboard_curator(h)
    pair, mentor, mentee = await make_pair(h)
    await seed_through_joint_work(h, pair)
    await propose_and_confirm(h, clock, mentor, mentee, "25.11.2026 16:30")
    await hold_and_feedback(h, clock, [mentor, mentee], "25.11.2026 17:45")
    async with unit_of_work(h.app.factory) as repos:
        done = await repos.pairs.get(pair.id)
        assert done.status == "finished"
        # pairs are finished once; a second call (e.g. from a re-delivered update) sends nothing again
        assert await svc.pair_finished(repos, pair.id, clock()) == 0
        assert (await repos.mentor_base.profile(pair.mentor_id)).status == "approved"
    await h.deliver_outbox()
    assert survey_offers(h, mentor) == 1 and survey_offers(h, mentee) == 1

    # the mentor's survey: the role is already known, the first question is satisfaction
    replies = await mentor.click(SURVEY_BUTTON)
    assert "Насколько вы довольны" in replies[-1].text
    await fill_form(mentor, ["Было ценно видеть, как растёт уверенность ученика."])
    replies = await mentor.click("Всё верно, отправить")
    assert any("Спасибо за участие" in (m.text or "") for m in replies)
    assert not any("стать наставником" in (m.text or "") for m in replies)  # already a mentor
    # the button again: already done
    await mentor.click(SURVEY_BUTTON)
    assert "уже заполнили итоговый опрос" in mentor.alerts()[-1]

    # the mentee's survey, then the invitation into the mentor base
    await mentee.click(SURVEY_BUTTON)
    summary = await fill_form(mentee, ["Научился планировать подготовку и не бояться задач."])
    # The pupil is asked in «ты» (tests/test_register.py): the summary names the questions as asked.
    assert "Хочешь в будущем тоже стать наставником? — да" in summary
    replies = await mentee.click("Всё верно, отправить")
    assert "Хочешь стать наставником?" in replies[-1].text
    replies = await mentee.click("🤝 Да, хочу стать наставником")
    assert any("уже частично заполнена" in (m.text or "") for m in replies)
    # only what we could not know is asked: experience, capacity, motivation — then the summary
    assert "Сколько лет у вас опыта" in replies[-1].text
    await mentee.send("1")
    await mentee.send("1")
    replies = await mentee.send("Хочу помогать младшим так же, как помогли мне.")
    summary = replies[-1].text
    assert "Анкета наставника: проверьте ответы" in summary
    assert "Математика" in summary and "Ученик — ученик" in summary and "Ученик старших классов" in summary
    await mentee.click("Всё верно, отправить")
    async with unit_of_work(h.app.factory) as repos:
        me = await repos.participants.get(pair.mentee_ids[0])
        assert me.has(Role.MENTOR) and me.has(Role.MENTEE)
        form = await repos.forms.latest_submitted(me.id, "mentor")
        assert form.answers["areas"] == ["math"]
        assert form.answers["slots"] == ["weekday_evening"] and form.answers["format"] == "any"
        assert form.answers["mentoring_forms"] == ["pupil_pupil"]
        assert (await repos.mentor_base.profile(me.id)).status == "candidate"
        finals = (
            await repos.session.scalars(
                select(FormResponse).where(
                    FormResponse.form_id == "final", FormResponse.status == "submitted"
                )
            )
        ).all()
        assert {r.answers["role"] for r in finals} == {"mentor", "mentee"}
        assert {r.context for r in finals} == {f"final:{pair.id}"}
    await h.deliver_outbox()
    assert any("хочет стать наставником" in t for t in curator.texts())


async def test_mentee_who_would_not_mentor_is_not_invited(hc, clock):
    h = hc
    _, _, (_, mentee_tg) = await finished_pair(h, "Наставник Н", "Ученик Н")
    await h.deliver_outbox()
    mentee = h.user(mentee_tg, "M", "ru")
    assert survey_offers(h, mentee) == 1
    await mentee.click(SURVEY_BUTTON)
    summary = await fill_form(
        mentee, ["Было полезно, спасибо наставнику за терпение."], no_for="Хочешь в будущем"
    )
    assert "Хочешь в будущем тоже стать наставником? — нет" in summary
    replies = await mentee.click("Всё верно, отправить")
    assert any("Спасибо за участие" in (m.text or "") for m in replies)
    # no offer to mentor: the only button left is the exit self-assessment's (tests/test_selfcheck.py)
    assert [b["text"] for m in replies for b in m.buttons()] == ["📊 Пройти самооценку"]


# ----------------------------------------------------------------------------------------- closing early
async def test_curator_closes_a_pair_early_with_a_reason(hc, clock):
    h = hc
    curator = await onboard_curator(h)
    pair, mentor, mentee = await make_pair(h)
    await propose_and_confirm(h, clock, mentor, mentee, "25.11.2026 16:30")
    replies = await curator.send("/close_pair")
    assert "Какую пару завершить досрочно?" in replies[-1].text
    label = replies[-1].buttons()[0]["text"]
    assert "Наставникова Ольга" in label and "Ученик Пётр" in label
    await curator.click(label)
    replies = await curator.send("ok")
    assert "от 3 до 500 символов" in replies[-1].text
    replies = await curator.send("Семья переезжает в другой город")
    assert "Наставничество №" in replies[-1].text and "завершено досрочно" in replies[-1].text
    async with unit_of_work(h.app.factory) as repos:
        closed = await repos.pairs.get(pair.id)
        assert closed.status == "finished" and closed.close_reason == "Семья переезжает в другой город"
        meetings = await repos.meetings.for_pair(pair.id)
        assert [m.status for m in meetings] == ["cancelled"]
        assert await repos.reminders.cancel(pair_id=pair.id) == []  # nothing pending any more
        assert (await repos.mentor_base.profile(pair.mentor_id)).status == "approved"
    await h.deliver_outbox()
    for u in (mentor, mentee):
        told = [m for m in h.fake.delivered_to(u.id) if "раньше срока" in (m.text or "")]
        assert len(told) == 1 and "Причина: Семья переезжает в другой город" in told[0].text
        assert survey_offers(h, u) == 1
        # the confirmed meeting leaves their calendars: the same UID, a higher SEQUENCE, METHOD:CANCEL
        files = calendar_files(h, u)
        assert len(files) == 2
        (_, first_cal, first), (_, cancel_cal, cancel) = files
        assert cancel_cal["METHOD"] == "CANCEL" and cancel["STATUS"] == "CANCELLED"
        assert cancel["UID"] == first["UID"] and int(cancel["SEQUENCE"]) > int(first.get("SEQUENCE", "0"))
    # the old button again: the pair is no longer active
    await curator.click(label)
    assert "неактуальна" in curator.alerts()[-1]
    # and a mentee cannot press the curator's button
    await mentee.press(f"cz:{pair.id}")
    assert "только куратору" in mentee.alerts()[-1]


# ----------------------------------------------------------------------------------------- the case base
async def test_a_case_is_published_only_when_every_member_agrees(hc, clock):
    h = hc
    curator = await onboard_curator(h)
    pair1, (m1, m1_tg), (e1, e1_tg) = await finished_pair(h, "Наставник Один", "Ученица Одна")
    pair2, (m2, m2_tg), (e2, e2_tg) = await finished_pair(h, "Наставник Два", "Ученица Две")
    mentor1, mentee1 = h.user(m1_tg, "A", "ru"), h.user(e1_tg, "B", "ru")
    mentor2, mentee2 = h.user(m2_tg, "C", "ru"), h.user(e2_tg, "D", "ru")
    story = "Пришли с тройкой по алгебре, за полгода разобрали темы и подготовили проект на конференцию."

    replies = await curator.send("/cases")
    assert "пока нет историй" in replies[0].text
    await curator.click("➕ Отметить лучшую практику")
    choice = curator.last()
    labels = [b["text"] for b in choice.buttons()]
    assert len(labels) == 2
    await curator.click(next(x for x in labels if "Наставник Один" in x))
    replies = await curator.send("Коротко.")
    assert "от 30 до" in replies[-1].text
    replies = await curator.send(story)
    assert "Спросили согласие у участников (2)" in replies[-1].text
    await h.deliver_outbox()
    assert story in mentor1.last().text

    case_id = (await _case_ids(h))[0]

    # the mentor agrees: still waiting for the mentee; pressing again changes nothing
    replies = await mentor1.click("✅ Да, можно")
    assert "когда согласятся все" in replies[-1].text
    await mentor1.press(f"sp:{case_id}:n")
    assert "уже ответили" in mentor1.alerts()[-1]
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.session.scalars(select(CaseStory.status))).all() == ["proposed"]
    replies = await curator.send("/cases")
    assert any("согласились 1 из 2" in (m.text or "") for m in replies)
    # someone outside the pair cannot answer for it
    await mentor2.press(f"sp:{case_id}:y")
    assert "уже принято" in mentor2.alerts()[-1]
    # the mentee agrees: published
    await mentee1.click("✅ Да, можно")
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.session.scalars(select(CaseStory.status))).all() == ["published"]
    await h.deliver_outbox()
    assert "опубликована" in curator.last().text
    replies = await mentee2.send("/cases")
    assert "База успешных практик наставничества: 1" in replies[0].text
    assert story in replies[1].text and "Наставник Один → Ученица Одна" in replies[1].text

    # the second pair: the mentee says no — declined, and a later yes changes nothing
    await curator.send("/cases")
    await curator.click("➕ Отметить лучшую практику")
    labels = [b["text"] for b in curator.last().buttons()]
    assert len(labels) == 1 and "Наставник Два" in labels[0]  # the published pair is not offered again
    await curator.click(labels[0])
    await curator.send(story.replace("алгебре", "геометрии"))
    await h.deliver_outbox()
    await mentee2.click("❌ Нет")
    await mentor2.click("✅ Да, можно")
    assert "уже принято" in mentor2.alerts()[-1]
    async with unit_of_work(h.app.factory) as repos:
        statuses = (await repos.session.scalars(select(CaseStory.status).order_by(CaseStory.id))).all()
        assert statuses == ["published", "declined"]
        published = await svc.published_cases(repos)
        header, rows = svc.case_sheet(published, Translator("ru"), "Europe/Moscow")
        exported = list(rows())
    assert header[0] == "№ истории" and len(exported) == 1 and exported[0][7] == story
    await h.deliver_outbox()
    assert "не будет опубликована" in curator.last().text
    replies = await curator.send("/cases")
    assert "База успешных практик наставничества: 1" in replies[0].text
    # a mentee cannot open the curator's case buttons
    await mentee2.press("cv:new:0")
    assert "только куратору" in mentee2.alerts()[-1]


async def _case_ids(h) -> list[int]:
    async with unit_of_work(h.app.factory) as repos:
        return list((await repos.session.scalars(select(CaseStory.id).order_by(CaseStory.id))).all())


# ----------------------------------------------------------------------------------------- the honour board
async def test_honour_board_ranks_mentors_and_respects_opt_outs(hc, clock):
    h = hc
    await onboard_curator(h)
    _, anna, _ = await finished_pair(h, "Анна Многопарная", "Ученик А1", ratings=(4,))
    await finished_pair(h, "", "Ученик А2", mentor=anna, ratings=(3,))
    _, boris, _ = await finished_pair(h, "Борис Отличный", "Ученик Б", ratings=(5, 5))
    await finished_pair(h, "Вера Хорошая", "Ученик В", ratings=(3,))
    await finished_pair(h, "Глеб Безоценок", "Ученик Г")
    # an active pair counts for nothing
    active_mentor = await seed(h, Role.MENTOR, "Дарья Активная", mentor_answers(["math"], 2))
    kid = await seed(h, Role.MENTEE, "Ученик Д", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        await matching.create_pairing(repos, None, kid[0], active_mentor[0], None, clock())

    viewer = h.user(kid[1], "K", "ru")
    text = (await viewer.send("/honour"))[-1].text
    order = [line.split(". ", 1)[1].split(" — ")[0] for line in text.splitlines() if line[:1].isdigit()]
    assert order == ["Анна Многопарная", "Борис Отличный", "Вера Хорошая", "Глеб Безоценок"]
    assert "Анна Многопарная — завершённых пар: 2 · оценка наставляемых 3.5 из 5 (2)" in text
    assert "Глеб Безоценок — завершённых пар: 1 · оценок пока нет" in text
    assert "/honour_optout" not in text  # a mentee is not told how to hide

    b = h.user(boris[1], "B", "ru")
    assert "/honour_optout" in (await b.send("/honour"))[-1].text
    assert "скрыты" in (await b.send("/honour_optout"))[-1].text
    text = (await viewer.send("/honour"))[-1].text
    assert "Борис" not in text and "2. Вера Хорошая" in text
    assert "снова на доске" in (await b.send("/honour_optout"))[-1].text
    assert "2. Борис Отличный" in (await viewer.send("/honour"))[-1].text


# ----------------------------------------------------------------------------------------- certificates
async def test_certificate_png_and_pdf_for_members_only(hc, clock):
    h = hc
    await onboard_curator(h)
    pair_id, (mentor_id, mentor_tg), (mentee_id, mentee_tg) = await finished_pair(
        h, "Наставник С", "Ученица С"
    )
    _, _, (other_id, other_tg) = await finished_pair(h, "Наставник Т", "Ученик Т")
    mentee, mentor, other = (
        h.user(mentee_tg, "M", "ru"),
        h.user(mentor_tg, "N", "ru"),
        h.user(other_tg, "O", "ru"),
    )

    replies = await mentee.send("/certificate")
    doc = replies[-1]
    assert doc.method == "sendDocument" and doc.document["data"].startswith(b"\x89PNG")
    assert doc.document["filename"].endswith(".png") and "Сертификат участника" in doc.text
    replies = await mentor.send("/certificate pdf")
    assert replies[-1].document["data"].startswith(b"%PDF")
    replies = await mentee.send("/certificate docx")
    assert "/certificate pdf" in replies[-1].text

    # someone from another pair cannot get this pair's certificate by forging the button
    replies = await other.press(f"gc:{pair_id}:png")
    assert "только участникам этой пары" in other.alerts()[-1]
    assert not [m for m in replies if m.method == "sendDocument"]
    # a mentee without a finished pair gets an explanation
    waiting = await seed(h, Role.MENTEE, "Ученик Ждущий", mentee_answers(["math"]))
    replies = await h.user(waiting[1], "W", "ru").send("/certificate")
    assert "Пока завершённых пар у вас нет" in replies[-1].text


def test_certificate_renders_the_same_bytes_for_the_same_data():
    from datetime import date

    data = cert.CertificateData(
        name="Иванова Мария Петровна",
        programme="Наставничество в общеобразовательной школе",
        role="mentee",
        date_from=date(2026, 9, 1),
        date_to=date(2027, 5, 25),
        others=("Петров Пётр Петрович",),
        issued_on=date(2027, 5, 26),
        number="7-12",
    )
    for lang in ("ru", "en"):
        t = Translator(lang)
        png = cert.render(data, t, "png")
        assert png.startswith(b"\x89PNG") and png == cert.render(data, t, "png")
        pdf = cert.render(data, t, "pdf")
        assert pdf.startswith(b"%PDF") and pdf == cert.render(data, t, "pdf")
    with pytest.raises(ValueError):
        cert.render(data, Translator("ru"), "gif")


def test_mentor_prefill_keeps_only_what_the_mentor_form_accepts():
    from bot.domain.forms import load_forms

    forms = load_forms()
    got = svc.mentor_prefill(
        forms["mentor"],
        "mentee_needs",
        {"study_level": "college", "areas": ["math", "geography"], "format": "online", "slots": ["x"]},
        None,
    )
    assert got == {
        "mentor_role": "student",
        "mentoring_forms": ["student_student", "student_pupil"],
        "areas": ["math"],
        "format": "online",
    }
    teacher = svc.mentor_prefill(
        forms["mentor"],
        "young_specialist_needs",
        {
            "experience": "second_year",
            "areas": ["methodology"],
            "format": "any",
            "slots": ["weekday_morning"],
        },
        ["teacher_teacher"],
    )
    assert teacher["mentoring_forms"] == ["teacher_teacher"] and teacher["experience_years"] == 1
    assert svc.mentor_prefill(forms["mentor"], "mentee_needs", {}, ["teacher_teacher"]) == {
        "mentor_role": "pupil"
    }
