"""The operator hears of trouble through the outbox, once per kind and hour, without personal data: an update
that failed, an outbox that is stuck, a database that could not be written for a minute, a failed backup.

Each failure is a real one met by the production code: Telegram answering 502 to a handler's reply, the Bot
API answering 500 to every send, another connection holding SQLite's write lock, the backup folder's place
taken by a file (a folder made read-only would not stop root, who runs these tests in CI)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.demo.harness import Harness, make_settings
from bot.i18n import Translator
from bot.services.notify import notify
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee
from tests.reliability.test_db_faults import hold_write_lock, release, short_busy_timeout
from tests.test_meetings import FakeClock

OPERATOR = 777_000
CURATOR = 1000
APOLOGY = Translator("ru")("errors.apology")
# How each kind begins, in Russian (the operator is not a participant: the default language).
UPDATE_FAILED = "⚠️ Сбой в боте"
OUTBOX_STUCK = "⚠️ Очередь сообщений стоит"
DATABASE = "⚠️ База данных не принимала записи"
BACKUP_FAILED = "⚠️ Резервная копия базы данных не сделана"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 23, 7, 5, tzinfo=UTC))  # Monday 10:05 in Moscow


@pytest.fixture
async def h(db_url, fake, clock):
    settings = make_settings(db_url, curator_ids=str(CURATOR), operator_ids=str(OPERATOR))
    harness = (await Harness.start(settings, fake, clock=clock)).unpaced()
    yield harness
    await harness.close()


@pytest.fixture
def db_path(db_url: str) -> Path:
    return Path(db_url.split("///", 1)[1])


def told(h: Harness, beginning: str, chat: int = OPERATOR) -> list[str]:
    return [m.text or "" for m in h.fake.delivered_to(chat) if (m.text or "").startswith(beginning)]


async def test_an_update_that_fails_reaches_the_operator_once_an_hour(h, fake, clock):
    curator = await onboard_curator(h)
    fake.fail_next(502, method="sendMessage")  # Telegram fails the handler's reply
    replies = await curator.send("/help")
    assert [m.text for m in replies] == [APOLOGY]
    await h.deliver_outbox()
    alerts = told(h, UPDATE_FAILED)
    assert len(alerts) == 1
    assert "TelegramServerError" in alerts[0] and "10:05" in alerts[0] and "с начала часа: 1." in alerts[0]
    # Nothing about the person: no name, no id, no text they sent.
    for personal in ("Куратова", "Анна", str(CURATOR), "/help"):
        assert personal not in alerts[0]
    assert told(h, UPDATE_FAILED, CURATOR) == []  # the curator is not the operator here

    clock.advance(minutes=40)  # 10:45, the same hour
    fake.fail_next(502, method="sendMessage")
    await curator.send("/help")
    await h.deliver_outbox()
    assert len(told(h, UPDATE_FAILED)) == 1

    clock.advance(minutes=20)  # 11:05, the next hour
    fake.fail_next(502, method="sendMessage")
    await curator.send("/help")
    await h.deliver_outbox()
    alerts = told(h, UPDATE_FAILED)
    assert len(alerts) == 2 and "11:05" in alerts[1]


async def test_a_stuck_outbox_reaches_the_operator_once_an_hour(h, fake, clock):
    curator = await onboard_curator(h)
    mentee = await onboard_mentee(h, curator, 2001)
    await h.deliver_outbox()
    async with unit_of_work(h.app.factory) as repos:
        person = await repos.participants.by_telegram_id(mentee.id)
        await notify(repos, clock(), [person], "errors.apology", kind="test", dedup="stuck")
    fake.fail_next(500, method="sendMessage", times=1000)  # the Bot API keeps failing
    await h.deliver_outbox()
    operator = h.app.operator
    assert operator is not None

    clock.advance(minutes=10)
    await operator.check()  # waiting 10 minutes: not stuck yet (OUTBOX_STUCK_MINUTES=15)
    clock.advance(minutes=6)
    await operator.check()  # 16 minutes: stuck
    for _ in range(3):
        clock.advance(minutes=5)
        await operator.check()  # still stuck, the same hour: nothing more is queued
    await h.deliver_outbox()
    assert told(h, OUTBOX_STUCK) == []  # Telegram still answers 500 to everything

    fake.failures.clear()  # Telegram is back
    clock.advance(minutes=1)
    await h.deliver_outbox()
    alerts = told(h, OUTBOX_STUCK)
    assert len(alerts) == 1
    # Noticed at 10:21, past the 15 minutes (not at 10:15); the message has waited since 10:05.
    assert alerts[0].startswith(f"{OUTBOX_STUCK} (23 ноября, 10:21)")
    assert "дольше 15 мин — 1, самое старое ждёт с 23 ноября, 10:05." in alerts[0]
    assert mentee.texts()[-1] == APOLOGY  # and the message that was stuck went out
    await operator.check()
    await h.deliver_outbox()
    assert len(told(h, OUTBOX_STUCK)) == 1


async def test_a_database_that_cannot_be_written_for_a_minute_reaches_the_operator(h, clock, db_path):
    await short_busy_timeout(h, 0.3)  # a writer waits 0.3 s for the lock, not 30
    operator = h.app.operator
    assert operator is not None

    async def outage(seconds: int) -> None:
        """Another connection holds the write lock; the watch checks every half minute."""
        holder = hold_write_lock(db_path)
        try:
            for _ in range(seconds // 30 + 1):
                await operator.check()
                clock.advance(seconds=30)
        finally:
            release(holder)
        await operator.check()  # it can write again: the alert waiting for the database is queued
        await h.deliver_outbox()

    await outage(30)  # half a minute is not worth a message
    assert told(h, DATABASE) == []

    await outage(60)
    alerts = told(h, DATABASE)
    assert len(alerts) == 1
    assert "OperationalError: database is locked" in alerts[0] and "проверок подряд: 3." in alerts[0]

    clock.advance(minutes=10)
    await outage(90)  # the same hour
    assert len(told(h, DATABASE)) == 1

    clock.advance(hours=1)
    await outage(60)
    assert len(told(h, DATABASE)) == 2


async def test_a_failed_backup_reaches_the_first_curator_when_no_operator_is_set(
    db_url, fake, clock, tmp_path
):
    occupied = tmp_path / "backups"
    occupied.write_text("not a folder")  # the backup folder's place is taken
    settings = make_settings(db_url, curator_ids=f"{CURATOR},1001", backup_dir=str(occupied))
    h = (await Harness.start(settings, fake, clock=clock)).unpaced()
    try:
        await onboard_curator(h, CURATOR, lang="en")
        backups = h.app.backups
        assert backups is not None
        assert await backups.run() is False
        clock.advance(minutes=30)
        assert await backups.run() is False  # the same hour
        await h.deliver_outbox()
    finally:
        await h.close()
    alerts = told(h, "⚠️ The database backup was not made", CURATOR)
    assert len(alerts) == 1  # in the curator's own language
    assert "FileExistsError" in alerts[0] and "there is no good copy in the folder" in alerts[0]
    assert fake.delivered_to(1001) == []  # the first curator only
    assert occupied.read_text() == "not a folder"
