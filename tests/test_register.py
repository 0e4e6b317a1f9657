"""Issue #18, "Register": one form of address per audience. A pupil's questionnaire says «ты», and so does
every text the bot adds around its questions (hints, errors, the summary), so no message says «ты» and «вы»
at once; a mentor and the curator read the pupil's answers in the third person (the questions' labels), not
the questions the pupil was asked."""

from __future__ import annotations

import re

import pytest

from bot.demo.harness import Client, Harness
from bot.domain.forms import FormError, Register, load_forms, parse_form
from tests.helpers import onboard_curator, onboard_mentee, onboard_mentor
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
