"""Texts a person reads (issue #18, part 2), through the real dispatcher and a fake Telegram: a
questionnaire's counter tells the truth (what is pre-answered is not counted, a total never jumps as
conditional questions appear), a stage's scenario arrives once, a finishing member hears one goodbye, a
group is not called a pair, files people open are laid out for their content."""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Role
from bot.domain.stages import Stage
from bot.i18n import Translator
from bot.services import matching
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee
from tests.test_completion import SURVEY_BUTTON, finished_pair
from tests.test_meetings import FakeClock, hold_and_feedback, make_pair, propose_and_confirm

COUNTER = re.compile(r"Вопрос (\d+) из (\d+)(?:–(\d+))?")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


async def answer_all(u, texts: list[str], pick: str | None = None) -> list[tuple[int, int, int]]:
    """Answer every question as it comes (the option or tick named `pick` where offered, else the first; 9
    on a scale; texts in order) until the summary; returns each question's counter as (number, low, high)."""
    counters: list[tuple[int, int, int]] = []
    typed = iter(texts)
    for _ in range(40):
        last = u.last()
        text, buttons = last.text or "", [b["text"] for b in last.buttons()]
        if "проверь ответы" in text or "проверьте ответы" in text:  # a pupil's form says «ты»
            return counters
        m = COUNTER.search(text)
        assert m, text
        low = int(m[2])
        counters.append((int(m[1]), low, int(m[3] or low)))
        options = [b for b in buttons if b not in ("« Назад", "Пропустить")]
        ticks = [b for b in options if b.startswith(("▫️", "✅"))]
        if ticks:
            chosen = next((b for b in ticks if pick and pick in b), ticks[0])
            if not any(b.startswith("✅") for b in ticks):
                await u.click(chosen)
            await u.click("Готово")
        elif "9" in options:
            await u.click("9")
        elif options:
            await u.click(next((b for b in options if pick and pick in b), options[0]))
        else:
            await u.send(next(typed))
    raise AssertionError("the form never reached its summary")


def assert_truthful(counters: list[tuple[int, int, int]]) -> None:
    """Numbered 1, 2, 3, … and ending at the total; the total only ever narrows to what was asked."""
    asked = len(counters)
    assert [n for n, _, _ in counters] == list(range(1, asked + 1)), counters
    for (_, low, high), (_, next_low, next_high) in itertools.pairwise(counters):
        assert low <= next_low and next_high <= high, counters
    assert all(low <= asked <= high for _, low, high in counters), counters
    assert counters[-1][1:] == (asked, asked), counters


# ----------------------------------------------------------------------------------------- 1. counters
async def test_the_final_survey_starts_at_question_one_of_what_it_asks(hc):
    _, _, (_, mentee_tg) = await finished_pair(hc, "Наставник Счётов", "Ученик Счётов")
    await hc.deliver_outbox()
    mentee = hc.user(mentee_tg, "M", "ru")
    replies = await mentee.click(SURVEY_BUTTON)
    first = replies[-1].text or ""
    assert "Итоговый опрос · Вопрос 1 из" in first and "В какой роли" not in first
    assert "« Назад" not in [b["text"] for b in replies[-1].buttons()]  # the role is not offered again
    counters = await answer_all(mentee, ["Научился планировать подготовку."])
    assert_truthful(counters)
    assert first.startswith(f"Итоговый опрос · Вопрос 1 из {len(counters)}\n")


@pytest.mark.parametrize("goal", ["Подготовиться к экзаменам", "Определиться с профессией"])
async def test_a_conditional_questionnaire_never_jumps_its_total(hc, goal):
    curator = await onboard_curator(hc)
    mentee = await onboard_mentee(hc, curator, 2001)
    assert "Вопрос 1 из" in (mentee.last().text or "")
    counters = await answer_all(mentee, ["Хочу уверенно решать задачи."] * 5, pick=goal)
    assert_truthful(counters)
    # Before the goal is chosen the exam questions may or may not come: a range, not a promise.
    assert counters[0][1] < counters[0][2]


# ----------------------------------------------------------------------------------------- 2. said once
GOODBYE = re.compile(r"заверш|Спасибо за отзыв о встрече")


async def test_a_stage_scenario_comes_once_and_a_finishing_member_hears_one_goodbye(hc, clock):
    """The whole programme (ten meetings, six of them joint work) with every reminder fired: each person gets
    each stage's scenario once, the day-before reminder points to /materials, and the end is one goodbye."""
    h = hc
    pair, mentor, mentee = await make_pair(h)
    day = datetime(2026, 11, 24, tzinfo=ZoneInfo("Europe/Moscow"))
    before_end: dict[int, int] = {}
    for n in range(10):  # introduction, trial, planning, 6 × joint work, final
        date_s = (day + timedelta(days=2 * n)).strftime("%d.%m.%Y")
        proposer, other = (mentor, mentee) if n % 2 == 0 else (mentee, mentor)
        await propose_and_confirm(h, clock, proposer, other, f"{date_s} 16:30")
        for at in (f"{(day + timedelta(days=2 * n - 1)).strftime('%d.%m.%Y')} 16:31", f"{date_s} 15:31"):
            clock.set(at)
            await h.app.reminders.fire_due()
            await h.deliver_outbox()
        if n == 9:
            before_end = {u.id: len(h.fake.delivered_to(u.id)) for u in (mentor, mentee)}
        await hold_and_feedback(h, clock, [mentor, mentee], f"{date_s} 17:45")
        if n == 2:
            await mentor.send("/cancel")  # the development plan is another test's
    t = Translator("ru")
    for u in (mentor, mentee):
        texts = [m.text or "" for m in h.fake.delivered_to(u.id)]
        scenarios = [x for x in texts if x.startswith("📘 Сценарий")]
        per_stage = {s.value: sum(t(f"meetings.stage.{s.value}") in x for x in scenarios) for s in Stage}
        assert per_stage == {s.value: 1 for s in Stage}, per_stage
        assert all("/materials" in x for x in scenarios)
        day_before = [x for x in texts if x.startswith("⏰ Напоминание")]
        assert len(day_before) == 10 and all("/materials" in x for x in day_before)
        goodbyes = [x for x in texts[before_end[u.id] :] if GOODBYE.search(x)]
        assert len(goodbyes) == 1, goodbyes


# ----------------------------------------------------------------------------------------- 3. says what it is
async def test_a_group_is_called_a_group_and_a_card_without_meetings_says_so(hc):
    from tests.test_pair_changes import make_group

    curator = await onboard_curator(hc)
    group, *_ = await make_group(hc)
    replies = await curator.send("/pairs")
    buttons = [b["text"] for b in replies[-1].buttons()]
    assert f"Открыть группу №{group.id}" in buttons and f"🔔 Напомнить группе №{group.id}" in buttons
    assert not any(b.startswith("Открыть пару") for b in buttons)
    card = (await curator.click(f"Открыть группу №{group.id}"))[-1].text or ""
    assert card.startswith(f"Группа №{group.id}: ") and "Пара №" not in card
    assert card.endswith("Встречи:\nвстреч ещё не было")
    await curator.send("/participants Ученица Анна")
    await curator.click("Ученица Анна")  # her card names her group as a group too
    assert f"Группа №{group.id}: этап" in (curator.last().text or "")


async def test_the_parents_consent_says_all_the_participants_does(hc):
    from tests.test_consent_minors import minor_with_parent_link

    curator = await onboard_curator(hc)
    _, token = await minor_with_parent_link(hc, curator)
    parent = hc.user(4101, "Parent", "ru")
    text = (await parent.send(f"/start {token}"))[-1].text or ""
    assert "родителя (законного представителя)" in text
    own = Translator("ru")("consent.text_self", version=1)
    for heading in ("Что мы храним", "Зачем:", "Кто видит:", "Сколько храним:", "/consent", "152-ФЗ"):
        assert heading in own and heading in text, heading
    assert "до окончания программы или до отзыва согласия" in text


# --------------------------------------------------------------------------------------- 4. files people open
def shown(value) -> int:
    """Characters a cell takes as the workbook shows it (a date-time "05.12.2026 16:30" is 16)."""
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    return max((len(line) for line in str(value).splitlines()), default=0)


async def test_export_columns_are_as_wide_as_their_dates_and_names(hc):
    from tests.test_export import programme

    curator = await onboard_curator(hc)
    await programme(hc)
    await curator.send("/export")
    await curator.click("📊 Excel (XLSX)")
    blob = hc.fake.delivered_to(curator.id)[-1].document["data"]
    wb = openpyxl.load_workbook(io.BytesIO(blob))
    checked = {"date": 0, "name": 0}
    for ws in wb.worksheets:
        for column in ws.iter_cols():
            width = ws.column_dimensions[get_column_letter(column[0].column)].width
            for cell in column:
                if cell.value is None:
                    continue
                assert width >= min(shown(cell.value), 58), (ws.title, cell.coordinate, cell.value, width)
                checked["date"] += isinstance(cell.value, datetime)
                checked["name"] += cell.value == "Ученик Пётр"
    assert checked["date"] and checked["name"], checked


async def test_the_orders_table_grid_matches_its_cells(hc):
    from tests.test_matching_flow import mentee_answers, mentor_answers, seed

    curator = await onboard_curator(hc)
    mentor_id, _ = await seed(hc, Role.MENTOR, "Константинопольская Александра", mentor_answers(["math"], 2))
    mentee_id, _ = await seed(hc, Role.MENTEE, "Преображенский Святослав", mentee_answers(["math"]))
    async with unit_of_work(hc.app.factory) as repos:
        programme = (await repos.programmes.active())[0]
        await matching.create_pairing(repos, programme.id, mentee_id, mentor_id, None, hc.app.clock())
    replies = [m for m in await curator.send("/registry") if m.method == "sendDocument"]
    order = next(m.document["data"] for m in replies if m.document["filename"].endswith(".docx"))
    xml = zipfile.ZipFile(io.BytesIO(order)).read("word/document.xml").decode()
    table = xml[xml.index("<w:tbl>") : xml.index("</w:tbl>")]
    grid = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"', table)]
    rows = re.findall(r"<w:tr[ >].*?</w:tr>", table, re.S)
    assert len(grid) == 5 and len(rows) == 2
    for row in rows:
        assert [int(w) for w in re.findall(r'<w:tcW w:type="dxa" w:w="(\d+)"', row)] == grid
    assert '<w:tblLayout w:type="fixed"/>' in table
