"""Files people download are named in their language: a Russian curator gets
`реестр-наставников-2026-11-23.xlsx`, an English one `mentor-registry-2026-11-23.xlsx`; the same for /export,
a meeting's .ics, /mydata, certificates, the roadmap template and the charts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.demo.harness import Harness, make_settings
from bot.demo.telegram import FakeTelegram, serve_http
from bot.domain.entities import Role
from bot.filenames import file_name
from bot.i18n import Translator
from storage.uow import unit_of_work
from tests.helpers import onboard_curator
from tests.test_matching_flow import mentee_answers, mentor_answers, seed
from tests.test_meetings import FakeClock, make_pair


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 0, tzinfo=UTC))  # Monday 23.11.2026, 10:00 in Moscow


@pytest.fixture
async def hc(db_url, fake, clock):
    h = (await Harness.start(make_settings(db_url, curator_ids="1000"), fake, clock=clock)).unpaced()
    yield h
    await h.close()


def documents(h: Harness, chat_id: int, since: int = 0) -> list[str]:
    return [
        m.document["filename"]
        for m in h.fake.delivered_to(chat_id)[since:]
        if m.method in ("sendDocument", "sendPhoto") and m.document
    ]


async def downloads(h: Harness, c, lang: str) -> list[str]:
    """The curator's registry, export (both formats), roadmap templates, charts and own /mydata."""
    await seed(h, Role.MENTOR, "Реестрова Нина", mentor_answers(["math"], 2))
    await seed(h, Role.MENTEE, "Ученик Глеб", mentee_answers(["math"]))
    await c.send("/registry")
    for fmt in ("📊 Excel (XLSX)", "📄 CSV (zip)"):
        await c.send("/export")
        await c.click(fmt)
    await c.send("/roadmap")
    if lang == "ru":
        await c.click("⬇️ Шаблон CSV")
        await c.click("⬇️ Шаблон Excel")
    else:
        await c.click("⬇️ CSV template")
        await c.click("⬇️ Excel template")
    await c.send("/report")
    await c.send("/mydata")
    return documents(h, c.id)


async def test_a_russian_curator_downloads_russian_names(hc):
    c = await onboard_curator(hc)
    names = await downloads(hc, c, "ru")
    assert names == [
        "реестр-наставников-2026-11-23.xlsx",
        "база-наставляемых-2026-11-23.xlsx",
        "приказ-о-закреплении-пар-2026-11-23.xlsx",
        "приказ-о-закреплении-пар-2026-11-23.docx",
        "выгрузка-программы-2026-11-23.xlsx",
        "выгрузка-программы-2026-11-23.zip",
        "шаблон-дорожной-карты.csv",
        "шаблон-дорожной-карты.xlsx",
        "воронка-этапов.png",
        "удовлетворённость.png",
        "показатели-программы.png",
        "рост-участников.png",
        "мои-данные-2026-11-23.json",
    ]


async def test_an_english_curator_downloads_english_names(hc):
    c = await onboard_curator(hc, lang="en")
    names = await downloads(hc, c, "en")
    assert names == [
        "mentor-registry-2026-11-23.xlsx",
        "mentee-base-2026-11-23.xlsx",
        "pairs-order-2026-11-23.xlsx",
        "pairs-order-2026-11-23.docx",
        "programme-export-2026-11-23.xlsx",
        "programme-export-2026-11-23.zip",
        "roadmap-template.csv",
        "roadmap-template.xlsx",
        "stage-funnel.png",
        "satisfaction.png",
        "programme-kpis.png",
        "participants-growth.png",
        "my-data-2026-11-23.json",
    ]


async def test_a_meetings_ics_is_named_in_each_members_language(hc, clock):
    h = hc
    await onboard_curator(h)
    pair, mentor, mentee = await make_pair(h)
    async with unit_of_work(h.app.factory) as repos:
        await repos.participants.update(pair.mentor_id, clock(), language="en")
    await mentee.send("/meeting")
    await mentee.send("25.11.2026 17:00")
    await mentee.click("Онлайн")
    await mentee.send("https://meet.example.org/room-1")
    await h.deliver_outbox()
    await mentor.click("✅ Confirm")
    await h.deliver_outbox()
    assert documents(h, mentee.id) == ["встреча-1.ics"]
    assert documents(h, mentor.id) == ["meeting-1.ics"]


async def test_a_parent_downloads_the_childs_data_under_a_russian_name(hc):
    h = hc
    await onboard_curator(h)
    kid_id, _ = await seed(h, Role.MENTEE, "Юный Ученик", mentee_answers(["math"]), minor=True)
    _, parent_tg = await seed(h, Role.PARENT, "Родитель Ученика", {}, parent_of=kid_id)
    parent = h.user(parent_tg, "Parent", "ru")
    await parent.send("/mydata")
    for b in parent.last().buttons():  # the parent chooses: oneself or the child
        if "Юный Ученик" in b["text"]:
            await parent.press(b["callback_data"], parent.last())
    assert "данные-ребёнка-2026-11-23.json" in documents(h, parent_tg)


async def test_certificates_are_named_in_the_holders_language(hc):
    from tests.test_completion import finished_pair

    h = hc
    await onboard_curator(h)
    _, (mentor_id, mentor_tg), (_, mentee_tg) = await finished_pair(h, "Наставник С", "Ученица С")
    async with unit_of_work(h.app.factory) as repos:
        await repos.participants.update(mentor_id, h.app.clock(), language="en")
    await h.user(mentee_tg, "M", "ru").send("/certificate")
    await h.user(mentor_tg, "N", "en").send("/certificate pdf")
    # the number is the certificate's own (pair–person), as printed on it
    assert documents(h, mentee_tg) == ["сертификат-1-3.png"]
    assert documents(h, mentor_tg) == ["certificate-1-2.pdf"]


def test_names_never_hold_what_a_file_system_refuses() -> None:
    t = Translator("ru")
    assert file_name(t, "meeting", "ics", number=7) == "встреча-7.ics"
    assert file_name(t, "certificate", "pdf", number='12/2026: "A"') == "сертификат-122026-A.pdf"
    assert file_name(Translator("en"), "mentor_registry", "xlsx") == "mentor-registry.xlsx"


async def test_telegram_gets_the_utf8_name_through_real_multipart(tmp_path):
    """aiogram's real HTTP session posts the Cyrillic name as it is, and it arrives intact."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import BufferedInputFile

    fake = FakeTelegram()
    runner, url = await serve_http(fake)
    session = AiohttpSession(api=TelegramAPIServer.from_base(url))
    bot = Bot(FakeTelegram.token, session=session)
    try:
        name = file_name(Translator("ru"), "mentor_registry", "xlsx")
        await bot.send_document(42, BufferedInputFile(b"data", filename=name))
    finally:
        await session.close()
        await runner.cleanup()
    assert fake.delivered_to(42)[0].document["filename"] == "реестр-наставников.xlsx"
