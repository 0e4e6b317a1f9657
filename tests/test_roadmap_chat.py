"""The curator's roadmap in chat: import from the seed-002 files (all rows or none), the template, /roadmap
with overdue and upcoming items on a simulated clock, done with a note, moved, items added in chat, the
digest lines and one reminder to a responsible participant before the deadline."""

from __future__ import annotations

import inspect
import itertools
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import scheduler
from bot.demo.harness import Client, Harness, make_settings
from bot.domain.entities import Role
from bot.domain.roadmap import read_roadmap_file
from bot.i18n import Translator
from bot.services import roadmap as svc
from handlers import roadmap as roadmap_handlers
from scheduler import digest as scheduler_digest
from storage.models import RoadmapItem
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import seed
from tests.test_meetings import FakeClock

FIXTURES = Path(__file__).parent / "fixtures" / "roadmaps"
MSK = ZoneInfo("Europe/Moscow")
SEED_002_ITEMS = 23
_msg_ids = itertools.count(7_000_000)


@pytest.fixture
def files(monkeypatch) -> dict[str, bytes]:
    """Telegram's file server: the bytes of a document by its file_id."""
    stored: dict[str, bytes] = {}

    async def download(bot, document):
        return stored[document.file_id]

    monkeypatch.setattr(roadmap_handlers, "download", download)
    return stored


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2022, 9, 6, 7, 0, tzinfo=UTC))  # Tuesday 6 September 2022, 10:00 in Moscow


@pytest.fixture
async def hr(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


async def send_file(client: Client, files: dict[str, bytes], name: str, caption: str | None = None) -> list:
    data = (FIXTURES / name).read_bytes() if (FIXTURES / name).exists() else files[name]
    files[name] = data
    client._snapshot()
    message = {
        "message_id": next(_msg_ids),
        "date": int(time.time()),
        "chat": {"id": client.id, "type": "private"},
        "from": client._from(),
        "document": {"file_id": name, "file_unique_id": name, "file_name": name, "file_size": len(data)},
    }
    if caption:
        message["caption"] = caption
    await client.h.feed({"message": message})
    return client._new()


async def items(h) -> list:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.roadmap.list(status=None)


async def count(h) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.session.scalar(select(func.count()).select_from(RoadmapItem)) or 0


async def imported(h, files, name="seed_002.csv") -> Client:
    c = await onboard_curator(h)
    await c.send("/roadmap")
    await c.click("📥 Загрузить файл")
    replies = await send_file(c, files, name)
    assert f"Дорожная карта загружена: мероприятий — {SEED_002_ITEMS}." in replies[-1].text
    return c


async def test_seed_002_csv_imported_through_the_chat(hr, files):
    h = hr
    c = await onboard_curator(h)
    replies = await c.send("/roadmap")
    assert "Дорожная карта пока пуста" in replies[-1].text
    replies = await c.click("📥 Загрузить файл")
    assert "CSV или Excel" in replies[-1].text
    assert "Жду файл" in (await c.send("вот"))[-1].text

    replies = await send_file(c, files, "seed_002.csv")
    assert f"мероприятий — {SEED_002_ITEMS}" in replies[-1].text
    stored = await items(h)
    assert len(stored) == SEED_002_ITEMS
    first = stored[0]
    assert (first.responsible, first.deadline_text, first.result) == (
        "Алимова Н.Е.",
        "до 30.05.2022",
        "Приказ",
    )
    assert first.section is not None and first.section.startswith("Нормативное правовое регулирование")
    by_activity = {i.activity: i for i in stored}
    pairs = by_activity["Формирование наставнических пар или групп"]
    assert (pairs.deadline_kind, pairs.due_on) == ("recurring", date(2022, 10, 30))
    assert pairs.recurrence["months"] == [10] and pairs.recurrence["until"] == 2024
    assert by_activity["Обучение наставников"].due_on is None

    # The same roadmap again, as an XLSX with the caption /roadmap and no prompt: nothing is doubled.
    replies = await send_file(c, files, "seed_002.xlsx", caption="/roadmap")
    assert "уже есть в дорожной карте" in replies[-1].text
    assert await count(h) == SEED_002_ITEMS


async def test_xlsx_with_the_caption_imports_without_a_prompt(hr, files):
    h = hr
    c = await onboard_curator(h)
    replies = await send_file(c, files, "seed_002.xlsx", caption="/roadmap")
    assert f"мероприятий — {SEED_002_ITEMS}" in replies[-1].text
    assert await count(h) == SEED_002_ITEMS


async def test_a_bad_row_is_named_and_nothing_is_stored(hr, files):
    h = hr
    c = await onboard_curator(h)
    await c.send("/roadmap")
    await c.click("📥 Загрузить файл")
    replies = await send_file(c, files, "seed_002_bad_row.csv")
    text = replies[-1].text
    assert "Дорожная карта не загружена: ошибок — 1" in text
    assert "Строка 19: В сроке «" in text and "несколько вариантов через «или»" in text
    assert await count(h) == 0
    # Still waiting for the corrected file.
    replies = await send_file(c, files, "seed_002.csv")
    assert f"мероприятий — {SEED_002_ITEMS}" in replies[-1].text


async def test_not_a_table_and_a_failed_download(hr, files, monkeypatch):
    h = hr
    c = await onboard_curator(h)
    files["notes.docx"] = b"PK\x03\x04 not really a workbook"
    replies = await send_file(c, files, "notes.docx", caption="/roadmap")
    assert "Не удалось открыть файл «notes.docx»" in replies[-1].text

    async def broken(bot, document):
        raise TimeoutError

    monkeypatch.setattr(roadmap_handlers, "download", broken)
    replies = await send_file(c, files, "seed_002.csv", caption="/roadmap")
    assert "Не удалось получить файл" in replies[-1].text
    assert await count(h) == 0


async def test_templates_are_sent_as_importable_documents(hr):
    h = hr
    c = await onboard_curator(h)
    await c.send("/roadmap")
    await c.click("⬇️ Шаблон CSV")
    await c.click("⬇️ Шаблон Excel")
    docs = [r.params["_file"] for r in h.fake.sent("sendDocument")]
    assert [d["filename"] for d in docs] == ["шаблон-дорожной-карты.csv", "шаблон-дорожной-карты.xlsx"]
    for d in docs:
        result = read_roadmap_file(d["filename"], d["data"], reference_year=2022)
        assert result.ok and len(result.items) == 2
    assert "Шаблон дорожной карты" in (c.last().text or "")


async def test_roadmap_lists_overdue_and_upcoming_items(hr, files, clock):
    h = hr
    c = await imported(h, files)
    text = (await c.send("/roadmap"))[-1].text
    assert "Дорожная карта на 6 сентября: мероприятий — 23, открыто — 23, выполнено — 0." in text
    # 30.05, 08.07, 30.05, 01.09, 01.09, 02.09, 05.09 and "август 2022" are past; 10.09 and 15.09 are near.
    assert "⚠️ Просрочено (8):" in text and "🗓 Сроки на 14 дней вперёд (2):" in text
    assert "1. Утверждение состава рабочей группы" in text
    assert "до 30.05.2022 (просрочено на 99 дней); отв.: Алимова Н.Е." in text
    # the date in words, not repeated where the curator already wrote it
    assert "с 1 по 15 сентября 2022г. (через 9 дней)" in text
    assert "август 2022 г (31 августа, просрочено на 6 дней)" in text
    assert "Без конкретной даты" in text
    buttons = [b["text"] for b in c.last().buttons()]
    assert buttons[:4] == ["✅ 1", "📅 1", "✅ 2", "📅 2"] and "✅ 10" in buttons and "✅ 11" not in buttons

    clock.set("01.10.2022 10:00")
    text = (await c.send("/roadmap"))[-1].text
    # Everything dated in September has passed, and the yearly September item (16–30 Sep) with it.
    assert "⚠️ Просрочено (11):" in text and "…и ещё" in text


async def test_done_with_a_note_and_move(hr, files, clock):
    h = hr
    c = await imported(h, files)
    await c.send("/roadmap")
    replies = await c.click("✅ 1")
    assert "Напишите короткую заметку" in replies[-1].text
    assert "от 2 до 500" in (await c.send("x"))[-1].text
    replies = await c.send("Приказ №12 от 01.06.2022, в папке «Наставничество»")
    assert "✅ Выполнено: Утверждение состава рабочей группы" in replies[-1].text
    first = (await items(h))[0]
    assert first.status == "done" and first.done_note.startswith("Приказ №12")
    assert first.done_at == clock()
    # A second press on the old button finds nothing to do.
    await c.click("✅ 1")
    assert "уже выполнено" in c.alerts()[-1]

    replies = await c.click("📅 2")
    # Two items are due on 30.05: the second one is listed next.
    assert "Новый срок для «Назначение координатора" in replies[-1].text
    assert "Не удалось прочитать срок «когда-нибудь»" in (await c.send("когда-нибудь"))[-1].text
    assert "Срок 01.09.2022 уже прошёл" in (await c.send("до 01.09.2022"))[-1].text
    replies = await c.send("до 20.09")
    assert "📅 Срок перенесён" in replies[-1].text and "(20 сентября, через 14 дней)" in replies[-1].text
    moved = next(i for i in await items(h) if i.activity.startswith("Назначение координатора"))
    assert (moved.deadline_text, moved.due_on, moved.status) == ("до 20.09", date(2022, 9, 20), "open")

    text = (await c.send("/roadmap"))[-1].text
    assert "открыто — 22, выполнено — 1" in text and "⚠️ Просрочено (6):" in text

    # Done without a note.
    await c.click("✅ 1")
    replies = await c.click("Без заметки")
    assert "✅ Выполнено" in replies[-1].text
    assert len([i for i in await items(h) if i.status == "done"]) == 2


async def test_add_an_item_in_chat_and_a_recurring_one_moves_on_when_done(hr, clock):
    h = hr
    c = await onboard_curator(h)
    await c.send("/roadmap")
    replies = await c.click("➕ Добавить мероприятие")
    assert "через «;»" in replies[-1].text
    assert "Нужно три или четыре части" in (await c.send("Собрание наставников до 15.09"))[-1].text
    assert (
        "Добавлено: Собрание — до 15.09 (15 сентября, через 9 дней)"
        in (await c.send("Собрание; ; до 15.09"))[-1].text
    )
    await c.send("/roadmap")
    await c.click("➕ Добавить мероприятие")
    assert "«до сентября» можно понять по-разному" in (await c.send("Отчёт; ; до сентября"))[-1].text
    replies = await c.send("Сбор отчётов наставников; Куратова А.С.; ежегодно до 10.09; Сводный отчёт")
    assert (
        "Добавлено: Сбор отчётов наставников — ежегодно до 10.09 (10 сентября, через 4 дня)"
        in replies[-1].text
    )
    report = next(i for i in await items(h) if i.activity == "Сбор отчётов наставников")
    async with unit_of_work(h.app.factory) as repos:
        curator = await repos.participants.by_telegram_id(c.id)
    # "Куратова А.С." is the curator who joined as "Куратова Анна Сергеевна".
    assert report.responsible_id == curator.id and report.result == "Сводный отчёт"

    await c.send("/roadmap")
    await c.click("✅ 1")  # 10.09 comes before the meeting on 15.09
    replies = await c.send("Отчёты собраны")
    assert "Следующий срок — 10 сентября 2023" in replies[-1].text
    report = next(i for i in await items(h) if i.id == report.id)
    assert (report.status, report.due_on, report.done_note) == ("open", date(2023, 9, 10), "Отчёты собраны")


async def test_digest_lines_list_overdue_items(hr, files):
    h = hr
    await imported(h, files)
    async with unit_of_work(h.app.factory) as repos:
        lines = await svc.digest_lines(repos, Translator("ru"), date(2022, 9, 6))
        english = await svc.digest_lines(repos, Translator("en"), date(2022, 9, 6), limit=3)
        none_yet = await svc.digest_lines(repos, Translator("ru"), date(2022, 5, 1))
    assert lines[0] == "Дорожная карта — просрочено мероприятий: 8"
    assert any(
        "Утверждение состава рабочей группы" in line and "просрочено на 99 дней" in line for line in lines
    )
    assert lines[-1] == "Отметить выполненным или перенести — /roadmap."
    assert english[0] == "Roadmap — overdue activities: 8" and "…and 5 more" in english
    assert none_yet == []


async def _remind(h) -> int:
    async with unit_of_work(h.app.factory) as repos:
        messages = await svc.deadline_reminders(repos, h.app.clock(), MSK)
        return await repos.outbox.enqueue(messages, h.app.clock())


async def test_a_responsible_participant_is_reminded_once_before_the_deadline(hr, files, clock):
    h = hr
    pid, tg = await seed(h, Role.MENTOR, "Алимова Наталья Евгеньевна", {}, submit=False)
    c = await onboard_curator(h)
    await c.send("/roadmap")
    await c.click("📥 Загрузить файл")
    replies = await send_file(c, files, "seed_002.csv")
    assert "ответственный — участник бота" in replies[-1].text
    linked = [i for i in await items(h) if i.responsible_id == pid]
    assert linked and all("Алимова Н.Е." in (i.responsible or "") for i in linked)

    # 6 September: "до 10.09.2022" is four days away, the overdue ones are the digest's business.
    assert await _remind(h) == 0
    clock.set("07.09.2022 10:00")
    assert await _remind(h) == 1
    assert await _remind(h) == 0  # the hourly scan again: the same reminder is not sent twice
    await h.deliver_outbox()
    clock.set("08.09.2022 10:00")
    assert await _remind(h) == 0
    await h.deliver_outbox()
    got = [m.text for m in h.fake.delivered_to(tg) if "дорожной карте" in (m.text or "")]
    assert len(got) == 1
    assert "вы указаны ответственным за «Разработка и утверждение системы мотивации" in got[0]
    assert "Срок: до 10.09.2022." in got[0]


async def test_someone_who_joins_after_the_import_is_reminded_too(hr, files, clock):
    h = hr
    await imported(h, files)
    clock.set("07.09.2022 10:00")
    assert await _remind(h) == 0
    pid, tg = await seed(h, Role.MENTOR, "Алимова Наталья Евгеньевна", {}, submit=False)
    assert await _remind(h) == 1
    async with unit_of_work(h.app.factory) as repos:
        messages = await svc.deadline_reminders(repos, h.app.clock(), MSK)
    assert [m.dedup_key for m in messages] == [
        f"roadmap:{messages[0].dedup_key.split(':')[1]}:2022-09-10:{pid}"
    ]


async def test_non_curators_are_refused(hr, files):
    h = hr
    await onboard_curator(h)
    _, tg = await seed(h, Role.MENTOR, "Наставникова Ольга", {}, submit=False)
    mentor = h.user(tg, "Mentor", "ru")
    assert "только куратору" in (await mentor.send("/roadmap"))[-1].text
    replies = await send_file(mentor, files, "seed_002.csv", caption="/roadmap")
    assert "только куратору" in replies[-1].text
    assert await count(h) == 0
    for data in ("cq:csv", "cw:done:1"):
        await mentor.press(data)
        assert "только куратору" in mentor.alerts()[-1]
    assert not h.fake.sent("sendDocument")


def _uses_roadmap(module) -> bool:
    return "roadmap" in inspect.getsource(module)


@pytest.mark.skipif(
    not _uses_roadmap(scheduler_digest), reason="scheduler/digest.py does not call the roadmap yet"
)
async def test_overdue_items_in_the_curators_daily_digest(hr, files, clock):
    h = hr
    c = await imported(h, files)
    await h.app.jobs.daily_digest()
    await h.app.jobs.daily_digest()  # twice the same day: one digest
    await h.deliver_outbox()
    digests = [m.text for m in h.fake.delivered_to(c.id) if "Дорожная карта — просрочено" in (m.text or "")]
    assert len(digests) == 1 and "Утверждение состава рабочей группы" in digests[0]


@pytest.mark.skipif(not _uses_roadmap(scheduler), reason="Jobs.hourly_scan does not call the roadmap yet")
async def test_the_hourly_scan_reminds_the_responsible_participant(hr, files, clock):
    h = hr
    _, tg = await seed(h, Role.MENTOR, "Алимова Наталья Евгеньевна", {}, submit=False)
    await imported(h, files)
    clock.set("07.09.2022 10:00")
    await h.app.jobs.hourly_scan()
    clock.set("07.09.2022 11:00")
    await h.app.jobs.hourly_scan()
    await h.deliver_outbox()
    assert len([m for m in h.fake.delivered_to(tg) if "дорожной карте" in (m.text or "")]) == 1
