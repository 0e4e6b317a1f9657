"""Mentor base and methodological support: lifecycle, training, materials, scenarios, registries."""

from __future__ import annotations

import io

import openpyxl
from docx import Document

from bot.domain.entities import Role
from bot.services import matching
from bot.services.onboarding import CONSENT_VERSION
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed


async def candidate(h, name, areas=("math",), capacity=2):
    """A mentor who joined and submitted the questionnaire, not yet approved."""
    import itertools

    tg = 70_000 + next(_n)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.create(tg, "ru", "active", now)
        await repos.participants.update(p.id, now, full_name=name, position="учитель")
        await repos.participants.add_role(p.id, Role.MENTOR, now)
        await repos.consents.record(
            telegram_id=tg,
            participant_id=p.id,
            subject_id=p.id,
            kind="self",
            version=CONSENT_VERSION,
            accepted=True,
            now=now,
        )
        r = await repos.forms.create(p.id, "mentor", 1, now, answers=mentor_answers(list(areas), capacity))
        await repos.forms.submit(r.id, now)
    del itertools
    return p.id, h.user(tg, "Cand", "ru")


_n = iter(range(1, 10_000))


async def proposals_for(h):
    async with unit_of_work(h.app.factory) as repos:
        _, assignment = await matching.propose(repos, (await repos.programmes.active())[0], h.app.clock())
    return assignment


async def test_only_approved_mentors_are_matched_and_the_lifecycle_runs_in_chat(h):
    c = await onboard_curator(h)
    cand_id, cand = await candidate(h, "Кандидатова Ирина")
    mentee_id, _ = await seed(h, Role.MENTEE, "Ученик Семён", mentee_answers(["math"]))
    assert (await proposals_for(h)).proposals == []  # a candidate is not matched
    replies = await c.send("/mentors")
    assert "Кандидатова Ирина — кандидат" in replies[-1].text
    await c.click("Анкета: Кандидатова Ирина")
    assert "Ответы участника: Кандидатова Ирина" in c.last().text
    assert "• Формы наставничества — " in c.last().text  # the curator reads labels, not the questions asked
    await c.send("/mentors")
    await c.click("Собеседование")
    replies = await c.send("31.02.2026")
    assert "ДД.ММ.ГГГГ" in replies[-1].text
    await c.send("15.09.2026")
    replies = await c.send("Мотивирована, опыт 5 лет")
    assert "Собеседование записано" in replies[-1].text
    async with unit_of_work(h.app.factory) as repos:
        prof = await repos.mentor_base.profile(cand_id)
    assert prof.status == "interviewed" and prof.interview_note == "Мотивирована, опыт 5 лет"
    await c.send("/mentors")
    await c.click("✅ Одобрить")
    await h.deliver_outbox()
    assert "кандидатура в наставники одобрена" in cand.last().text
    props = (await proposals_for(h)).proposals
    assert [(p.mentee_id, p.mentor_id) for p in props] == [(mentee_id, cand_id)]
    # a pause takes the mentor out of matching; coming back brings them in again
    replies = await cand.send("/rest")
    assert "на паузе" in replies[-1].text.lower() or "Вы на паузе" in replies[-1].text
    assert (await proposals_for(h)).proposals == []
    await cand.send("/rest")
    assert len((await proposals_for(h)).proposals) == 1


async def test_decline_with_a_kind_reason(h):
    c = await onboard_curator(h)
    cand_id, cand = await candidate(h, "Отказова Вера")
    await c.send("/mentors")
    await c.click("Отклонить")
    replies = await c.send("нет")
    assert "от 5 до 300" in replies[-1].text
    await c.send("Сейчас набор наставников по этому направлению закрыт")
    await h.deliver_outbox()
    assert "Спасибо за желание стать наставником" in cand.last().text
    assert "набор наставников по этому направлению закрыт" in cand.last().text
    async with unit_of_work(h.app.factory) as repos:
        assert (await repos.mentor_base.profile(cand_id)).status == "declined"


async def test_training_materials_targeting_and_read_marks(h):
    c = await onboard_curator(h)
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Тренерова Анна", mentor_answers(["math"], 2))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученица Лиза", mentee_answers(["math"]))
    await c.send("/training")
    await c.send("10.09.2026")
    await c.send("Роль наставника и сценарии встреч")
    await c.click("▫️ Тренерова Анна")
    replies = await c.click("Готово")
    assert "Присутствовали: 1" in replies[-1].text
    # a material for mentors at the planning stage
    await c.send("/material_add")
    await c.click("Наставникам")
    await c.click("Встреча-планирование")
    await c.send("Шаблон ИПР\nЦели, сроки, ответственные.")
    mentor = h.user(mentor_tg, "M", "ru")
    replies = await mentor.send("/materials")
    titles = [b["text"] for b in replies[-1].buttons()]
    assert titles[0] == "Шаблон ИПР"  # newest first
    assert any("Памятка наставника" in x or "наставник" in x.lower() for x in titles[1:])
    mentee = h.user(mentee_tg, "S", "ru")
    replies = await mentee.send("/materials")
    assert "Шаблон ИПР" not in [b["text"] for b in replies[-1].buttons()]
    await mentor.click(titles[1])
    await mentor.click("✔️ Прочитано")
    replies = await mentor.send("/materials")
    assert [b["text"] for b in replies[-1].buttons()][1].startswith("✔️ ")
    # the registry counts the training
    replies = await c.send("/registry")
    docs = [m for m in replies if m.method == "sendDocument"]
    assert len(docs) == 4
    book = openpyxl.load_workbook(io.BytesIO(docs[0].document["data"]))
    sheet = book.active
    values = [[cell for cell in row] for row in sheet.iter_rows(values_only=True)]
    row = next(r for r in values if "Тренерова Анна" in r)
    header = values[1]
    assert row[header.index(next(hh for hh in header if hh and "бучен" in str(hh)))] == 1


async def test_confirmed_meeting_brings_the_stage_scenario(h):
    from tests.test_meetings import propose_and_confirm

    h.unpaced()
    mentor_id, mentor_tg = await seed(h, Role.MENTOR, "Сценариева Ольга", mentor_answers(["math"], 2))
    mentee_id, mentee_tg = await seed(h, Role.MENTEE, "Ученик Марк", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, h.app.clock())
    mentor, mentee = h.user(mentor_tg, "M", "ru"), h.user(mentee_tg, "S", "ru")
    from datetime import timedelta

    when = (h.app.clock() + timedelta(days=3)).astimezone(h.app.settings.tz).strftime("%d.%m.%Y") + " 16:30"
    await propose_and_confirm(h, h.app.clock, mentor, mentee, when)
    mentor_scenarios = [m.text for m in h.fake.delivered_to(mentor_tg) if "📘 Сценарий:" in (m.text or "")]
    mentee_scenarios = [m.text for m in h.fake.delivered_to(mentee_tg) if "📘 Сценарий:" in (m.text or "")]
    assert len(mentor_scenarios) == 1 and len(mentee_scenarios) == 1
    assert "Встреча-знакомство" in mentor_scenarios[0]
    assert len(mentee_scenarios[0]) < len(mentor_scenarios[0])  # the mentee gets the short version


async def test_registry_documents_open_with_the_pairs(h):
    c = await onboard_curator(h)
    mentor_id, _ = await seed(h, Role.MENTOR, "Реестрова Нина", mentor_answers(["math"], 2))
    mentee_id, _ = await seed(h, Role.MENTEE, "Ученик Глеб", mentee_answers(["math"]))
    async with unit_of_work(h.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, h.app.clock())
    replies = [m for m in await c.send("/registry") if m.method == "sendDocument"]
    names = sorted(
        m.document["filename"].rsplit("-", 3)[0] + "." + m.document["filename"].rsplit(".", 1)[1]
        for m in replies
    )
    assert names == [  # named in the curator's language (tests/test_filenames.py)
        "база-наставляемых.xlsx",
        "приказ-о-закреплении-пар.docx",
        "приказ-о-закреплении-пар.xlsx",
        "реестр-наставников.xlsx",
    ]
    order = Document(
        io.BytesIO(next(m.document["data"] for m in replies if m.document["filename"].endswith(".docx")))
    )
    text = "\n".join(p.text for p in order.paragraphs)
    cells = [cell.text for table in order.tables for row in table.rows for cell in row.cells]
    assert "ПРИКАЗ" in text and "Реестрова Нина" in cells and any("Ученик Глеб" in x for x in cells)
    mentees = openpyxl.load_workbook(
        io.BytesIO(next(m.document["data"] for m in replies if m.document["filename"].startswith("база-")))
    )
    rows = list(mentees.active.iter_rows(values_only=True))
    gleb = next(r for r in rows if "Ученик Глеб" in r)
    assert "Реестрова Нина" in gleb
