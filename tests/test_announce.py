"""The curator's announcements: compose, audience, preview, confirm; delivery through the outbox with an exact
report; a second confirm sends nothing; photos and documents by file_id; curator-only; cancel at any step."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select, update

from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import Role, Status
from bot.i18n import Translator
from bot.services import announce as svc
from bot.services.onboarding import CONSENT_VERSION
from handlers import announce
from storage.models import OutboxMessage, Participant
from storage.uow import unit_of_work
from tests.conftest import CURATOR_ID
from tests.helpers import onboard_curator, onboard_mentee

_tg = itertools.count(60_000)


@pytest.fixture
async def h(db_url: str, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Harness]:
    monkeypatch.setattr(announce, "PROGRESS_EVERY", 0.05)
    harness = await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake)
    yield harness
    for task in list(announce.progress_tasks.values()):
        task.cancel()
    await harness.close()


async def person(
    h: Harness,
    role: Role,
    name: str,
    *,
    group: str | None = None,
    parent_of: int | None = None,
    status: str = Status.ACTIVE.value,
    programme_id: int | None = None,
) -> tuple[int, int]:
    """A participant who finished onboarding; returns (participant id, Telegram id)."""
    tg = next(_tg)
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.create(tg, "ru", status, now)
        await repos.participants.update(p.id, now, full_name=name, group_name=group)
        await repos.participants.add_role(p.id, role, now, programme_id=programme_id)
        await repos.consents.record(
            telegram_id=tg,
            participant_id=p.id,
            subject_id=p.id,
            kind="self",
            version=CONSENT_VERSION,
            accepted=True,
            now=now,
        )
        if parent_of is not None:
            await repos.participants.link_parent(p.id, parent_of, now)
    return p.id, tg


async def outbox_rows(h: Harness) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


async def finish(h: Harness) -> None:
    """Deliver the queue, then let the progress watchers see it finished and report."""
    await h.deliver_outbox()
    await asyncio.wait_for(asyncio.gather(*list(announce.progress_tasks.values())), 10)


async def send_photo(c: Client, file_id: str, caption: str) -> None:
    await c.h.feed(
        {
            "message": {
                "message_id": next(c.h._msg_ids),
                "date": int(time.time()),
                "chat": {"id": c.id, "type": "private"},
                "from": c._from(),
                "photo": [
                    {"file_id": f"{file_id}-small", "file_unique_id": "s", "width": 90, "height": 90},
                    {"file_id": file_id, "file_unique_id": "b", "width": 1280, "height": 960},
                ],
                "caption": caption,
            }
        }
    )


def send_button(c: Client) -> dict:
    for msg in reversed(c.h.fake.delivered_to(c.id)):
        for b in msg.buttons():
            if b["text"].startswith("📣 Отправить"):
                return {"data": b["callback_data"], "message": msg, "text": b["text"]}
    raise AssertionError(f"no Send button; last messages: {c.texts()[-3:]}")


async def test_parents_get_it_once_and_the_report_is_exact_even_after_a_second_confirm(h, fake):
    c = await onboard_curator(h)
    kids = [await person(h, Role.MENTEE, f"Ребёнок {i}", group="7А") for i in range(6)]
    parents = [await person(h, Role.PARENT, f"Родитель {i}", parent_of=kids[i][0]) for i in range(6)]
    mentor = await person(h, Role.MENTOR, "Наставник Один")
    gone = await person(h, Role.PARENT, "Отозвал Согласие", status=Status.WITHDRAWN.value)
    no_chat, _ = await person(h, Role.PARENT, "Без Телеграма")
    async with unit_of_work(h.app.factory) as repos:
        await repos.session.execute(
            update(Participant).where(Participant.id == no_chat).values(telegram_id=None)
        )
    fake.blocked |= {parents[4][1], parents[5][1]}  # the last two blocked the bot

    assert "Напишите объявление" in (await c.send("/announce"))[-1].text
    replies = await c.send("Родительское собрание в четверг в 18:00, <актовый зал>")
    assert replies[-1].text == "Кому отправить объявление?"
    preview, summary = (await c.click("Родителям"))[-2:]
    # Sent as HTML (the curator's formatting is kept), so a typed "<" goes escaped; the fake shows it raw.
    html_text = "Родительское собрание в четверг в 18:00, &lt;актовый зал&gt;"
    assert preview.text == html_text
    assert "Кому: родители." in summary.text and "Получателей: 6." in summary.text
    button = send_button(c)
    assert button["text"] == "📣 Отправить (6)"

    await c.press(button["data"], button["message"])
    assert "Рассылка: 0 из 6" in c.last().text
    assert await outbox_rows(h) == 6
    fake.fail_next(400, method="sendMessage")  # the first parent's message is refused by Telegram
    await finish(h)

    progress = next(m for m in fake.delivered_to(c.id) if (m.text or "").startswith("📣 Рассылка"))
    assert progress.edits >= 1 and "Рассылка завершена: 6 из 6." in progress.text
    report = c.last().text
    assert "Доставлено: 3\n" in report
    assert "Недоступны (заблокировали бота): 2\n" in report
    assert report.endswith("Не доставлено из-за ошибки: 1")
    for _, tg in parents[1:4]:
        assert [m.text for m in fake.delivered_to(tg)] == [html_text]
        requests = [r for r in fake.sent("sendMessage") if int(r.params["chat_id"]) == tg]
        assert [r.params.get("parse_mode") for r in requests] == ["HTML"]
    for _, tg in (*kids, mentor, gone):
        assert fake.delivered_to(tg) == []

    delivered_before = len(fake.all_delivered())
    await c.press(button["data"], button["message"])  # the same Send button, once more
    assert "уже отправлено" in c.alerts()[-1]
    assert await outbox_rows(h) == 6
    await finish(h)
    assert len(fake.all_delivered()) == delivered_before  # no second message, no second report
    assert not announce.progress_tasks


async def test_confirm_twice_in_a_row_queues_once(h, fake):
    c = await onboard_curator(h)
    targets = [await person(h, Role.MENTOR, f"Наставник {i}") for i in range(3)]
    await c.send("/announce")
    await c.send("Методическое объединение переносится.")
    await c.click("Наставникам")
    button = send_button(c)
    await c.press(button["data"], button["message"])
    await c.press(button["data"], button["message"])
    assert "уже отправлено" in c.alerts()[-1]
    await finish(h)
    for _, tg in targets:
        assert len(fake.delivered_to(tg)) == 1
    reports = [t for t in c.texts() if t.startswith("Объявление разослано")]
    assert len(reports) == 1 and "Доставлено: 3" in reports[0]


@pytest.mark.parametrize(
    ("who", "expected"),
    [("Ученикам", {"kid_a", "kid_b"}), ("Родителям", {"par_a", "par_b"}), ("Ученикам и родителям", None)],
)
async def test_one_class(h, fake, who, expected):
    c = await onboard_curator(h)
    ids = {}
    ids["kid_a"] = await person(h, Role.MENTEE, "Ученик А", group="8А")
    ids["kid_b"] = await person(h, Role.MENTEE, "Ученик Б", group="8А")
    ids["kid_c"] = await person(h, Role.MENTEE, "Ученик В", group="10Б")
    ids["par_a"] = await person(h, Role.PARENT, "Родитель А", parent_of=ids["kid_a"][0])
    ids["par_b"] = await person(h, Role.PARENT, "Родитель Б", parent_of=ids["kid_b"][0])
    ids["par_c"] = await person(h, Role.PARENT, "Родитель В", parent_of=ids["kid_c"][0])
    ids["mentor"] = await person(h, Role.MENTOR, "Наставник 8А", group="8А")
    expected = expected or {"kid_a", "kid_b", "par_a", "par_b"}

    await c.send("/announce")
    await c.send("Экскурсия 8А в пятницу.")
    replies = await c.click("Одному классу…")
    assert [b["text"] for b in replies[-1].buttons()][:2] == ["8А", "10Б"]  # by number, not as strings
    await c.click("8А")
    await c.click(who)
    assert f"Получателей: {len(expected)}." in c.last().text
    await c.click(send_button(c)["text"])
    await finish(h)
    got = {name for name, (_, tg) in ids.items() if fake.delivered_to(tg)}
    assert got == expected
    assert f"Доставлено: {len(expected)}" in c.last().text


async def test_one_stage_reaches_the_pairs_at_that_stage(h, fake):
    c = await onboard_curator(h)
    m1, e1 = await person(h, Role.MENTOR, "Наставник Пробы"), await person(h, Role.MENTEE, "Ученик Пробы")
    m2, e2 = await person(h, Role.MENTOR, "Наставник Знакомства"), await person(h, Role.MENTEE, "Ученик З")
    e3 = await person(h, Role.MENTEE, "Ученик Распавшейся")
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        for mentor, mentees, stage in ((m1, [e1, e3], "trial"), (m2, [e2], "introduction")):
            pair = await repos.pairs.create(None, mentor[0], None, now)
            for mentee in mentees:
                await repos.pairs.add_member(pair, mentee[0], now)
            await repos.pairs.set_stage(pair, stage)
            if mentor is m1:
                await repos.pairs.remove_member(pair, e3[0], now, "переезд")

    await c.send("/announce")
    await c.send("Памятка к пробной встрече.")
    await c.click("Парам на одном этапе…")
    await c.click("Пробная встреча")
    assert "Кому: пары на этапе «Пробная встреча»." in c.last().text
    await c.click(send_button(c)["text"])
    await finish(h)
    assert [bool(fake.delivered_to(tg)) for _, tg in (m1, e1, m2, e2, e3)] == [
        True,
        True,
        False,
        False,
        False,
    ]


async def test_photo_goes_by_file_id_with_the_text_as_caption(h, fake):
    c = await onboard_curator(h)
    mentors = [await person(h, Role.MENTOR, f"Наставник {i}") for i in range(2)]
    await c.send("/announce")
    await send_photo(c, "PHOTO-BIG", "Расписание консультаций")
    await c.click("Наставникам")
    preview = fake.delivered_to(c.id)[-2]
    assert preview.method == "sendPhoto" and preview.text == "Расписание консультаций"
    await c.click(send_button(c)["text"])
    await finish(h)
    photos = [r for r in fake.sent("sendPhoto") if int(r.params["chat_id"]) in {tg for _, tg in mentors}]
    assert len(photos) == 2
    assert {r.params["photo"] for r in photos} == {"PHOTO-BIG"}  # the largest size, by file_id
    assert {r.params["caption"] for r in photos} == {"Расписание консультаций"}


async def test_document_goes_by_file_id(h, fake):
    c = await onboard_curator(h)
    _, mentee_tg = await person(h, Role.MENTEE, "Ученик Один")
    await c.send("/announce")
    await c.send_document("plan.pdf", file_id="DOC-42")
    await c.click("Наставляемым")
    await c.click(send_button(c)["text"])
    await finish(h)
    docs = [r for r in fake.sent("sendDocument") if int(r.params["chat_id"]) == mentee_tg]
    assert len(docs) == 1 and docs[0].params["document"] == "DOC-42"


async def test_an_album_is_refused_once(h, fake):
    c = await onboard_curator(h)
    await c.send("/announce")
    before = len(fake.delivered_to(c.id))
    for n in range(3):
        await c.h.feed(
            {
                "message": {
                    "message_id": next(h._msg_ids),
                    "date": int(time.time()),
                    "chat": {"id": c.id, "type": "private"},
                    "from": c._from(),
                    "media_group_id": "album-1",
                    "photo": [{"file_id": f"P{n}", "file_unique_id": f"u{n}", "width": 1, "height": 1}],
                }
            }
        )
    texts = c.texts()[before:]
    assert len(texts) == 1 and "Альбом разослать нельзя" in texts[0]
    replies = await c.send("Тогда просто текст.")
    assert replies[-1].text == "Кому отправить объявление?"


async def test_curator_only(h, fake):
    c = await onboard_curator(h)
    mentee = await onboard_mentee(h, c, 2201)
    assert "только куратору" in (await mentee.send("/announce"))[-1].text
    await mentee.send("Всем привет!")
    # Even with data forged to look like a real Send button:
    await person(h, Role.MENTOR, "Наставник")
    await c.send("/announce")
    await c.send("Настоящее объявление")
    await c.click("Наставникам")
    button = send_button(c)
    await mentee.press(button["data"])
    assert "только куратору" in mentee.alerts()[-1]
    await mentee.press("ca:aud:everyone")
    assert "только куратору" in mentee.alerts()[-1]
    assert await outbox_rows(h) == 0


async def test_cancel_while_composing_and_at_the_audience(h, fake):
    c = await onboard_curator(h)
    await person(h, Role.MENTOR, "Наставник")
    await c.send("/announce")
    assert "остановились" in (await c.send("/cancel"))[-1].text
    assert "не понял" in (await c.send("Это уже не объявление"))[-1].text

    await c.send("/announce")
    await c.send("Объявление, которое передумали слать")
    replies = await c.click("Отмена")
    assert replies[-1].text == "Объявление отменено."
    assert "не понял" in (await c.send("Ещё текст"))[-1].text
    assert await outbox_rows(h) == 0


async def test_another_audience_after_the_preview_makes_a_new_announcement(h, fake):
    c = await onboard_curator(h)
    _, mentor_tg = await person(h, Role.MENTOR, "Наставник")
    _, mentee_tg = await person(h, Role.MENTEE, "Ученик")
    await c.send("/announce")
    await c.send("Кружок робототехники")
    await c.click("Наставникам")
    old = send_button(c)
    await c.click("Другая аудитория")
    await c.click("Наставляемым")
    await c.press(old["data"], old["message"])  # the first preview's Send is no longer valid
    assert c.alerts()[-1] == "Эта кнопка уже неактуальна."
    await c.click(send_button(c)["text"])
    await finish(h)
    assert fake.delivered_to(mentee_tg) and not fake.delivered_to(mentor_tg)


async def test_audiences(h):
    """Role audiences skip withdrawn people and people without a chat; everyone counts a person once and
    leaves out the author; a programme brings its mentees' parents."""
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        main = (await repos.programmes.active())[0].id
        other = (await repos.programmes.create("Другая программа", "Europe/Moscow", now)).id
    author, _ = await person(h, Role.CURATOR, "Куратор Автор")
    kid, _ = await person(h, Role.MENTEE, "Ученик Программы", programme_id=main)
    parent, _ = await person(h, Role.PARENT, "Родитель Ученика", parent_of=kid)
    mentor, _ = await person(h, Role.MENTOR, "Наставник Программы", programme_id=main)
    stranger, _ = await person(h, Role.MENTEE, "Ученик Другой", programme_id=other)
    gone, _ = await person(h, Role.MENTOR, "Ушедший", status=Status.WITHDRAWN.value, programme_id=main)
    async with unit_of_work(h.app.factory) as repos:
        await repos.participants.add_role(mentor, Role.PARENT, now)  # a mentor who is also a parent
        await repos.participants.link_parent(mentor, stranger, now)

        async def ids(kind: str, value: str = "") -> list[int]:
            people = await svc.recipients(repos, svc.Audience(kind, value), exclude=author)
            return [p.id for p in people]

        assert await ids("mentors") == [mentor]
        assert await ids("parents") == [parent, mentor]
        assert await ids("everyone") == [kid, parent, mentor, stranger]
        assert await ids("programme", str(main)) == [kid, parent, mentor]
        assert await ids("programme", str(other)) == [mentor, stranger]  # the mentor is a parent there
        assert gone not in await ids("everyone")
        msgs = svc.messages(await svc.recipients(repos, svc.Audience("mentees")), svc.Content("x"), "ann-1")
        assert {m.dedup_key for m in msgs} == {f"ann-1:{kid}", f"ann-1:{stranger}"}
        assert {(m.batch_id, m.priority, m.method) for m in msgs} == {("ann-1", 5, "sendMessage")}


async def test_the_report_comes_even_when_telegram_slows_the_progress_edits(h, fake):
    c = await onboard_curator(h)
    await person(h, Role.MENTOR, "Наставник")
    await c.send("/announce")
    await c.send("Совещание наставников")
    await c.click("Наставникам")
    fake.fail_next(429, method="editMessageText", retry_after=1)
    await c.click(send_button(c)["text"])
    await finish(h)
    assert [r.outcome for r in fake.requests if r.method == "editMessageText"][:1] == [429]
    assert "Доставлено: 1\n" in c.last().text


def test_report_lines_for_uncertain_and_skipped():
    t = Translator("en")
    r = svc.report({"sent": 5, "unreachable": 1, "failed": 1, "uncertain": 2, "dropped": 1})
    assert r.done and r.total == 10
    assert announce.report_text(t, r, "mentors").splitlines() == [
        "Announcement sent. To: mentors.",
        "Delivered: 5",
        "Unreachable (blocked the bot): 1",
        "Not delivered because of an error: 1",
        "Unknown whether it arrived (the bot restarted while sending): 2",
        "Not sent (consent to data processing withdrawn): 1",
    ]
    running = svc.report({"sent": 3, "pending": 6, "sending": 1})
    assert announce.progress_text(t, running) == (
        "📣 Sending: 3 of 10 (30%).\nDelivered: 3 · unreachable: 0 · errors: 0"
    )
