"""Database faults: an update either succeeds whole or fails cleanly — the person gets the apology, nothing of
it is saved, and the next update works.

SQLite: another connection (another process, a backup tool, a second instance) holds the write lock while
updates arrive. PostgreSQL: every connection of the bot's database is terminated mid-run, as a server restart
would (the real local server; skipped where there is none, a failure under CI=true)."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import NewMessage
from bot.i18n import Translator
from storage.models import FormResponse, OutboxMessage, Participant
from storage.uow import unit_of_work
from tests.helpers import onboard_curator, onboard_mentee

APOLOGY = Translator("ru")("errors.apology")
LEVEL = "Школа, 8–9 класс"  # the first question's answer
GOALS_QUESTION = "Чего ты хочешь добиться"  # the second question


# ----------------------------------------------------------------------------------------------- helpers
async def short_busy_timeout(h: Harness, seconds: float) -> None:
    """SQLite waits up to 30 s for a writer (storage/db.py): shorter here so that "longer than the busy
    timeout" takes a second, not half a minute. Runs after the app's own pragmas on every new connection."""

    @event.listens_for(h.app.engine.sync_engine, "connect")
    def _busy(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(seconds * 1000)}")
        cur.close()

    await h.app.engine.dispose()  # pooled connections carry the old timeout


def hold_write_lock(db: Path) -> sqlite3.Connection:
    """Another connection takes SQLite's write lock and keeps it until released."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    return conn


def release(conn: sqlite3.Connection) -> None:
    conn.execute("ROLLBACK")
    conn.close()


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Everything an answer could touch: responses, conversation state, outbox, audit log."""
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in ("form_responses", "fsm_states", "outbox", "audit_log")
        }


async def stored_answers(h: Harness, telegram_id: int) -> list[tuple[str, dict, str | None]]:
    async with unit_of_work(h.app.factory) as repos:
        rows = await repos.session.execute(
            select(FormResponse.status, FormResponse.answers, FormResponse.current_key)
            .join(Participant, Participant.id == FormResponse.participant_id)
            .where(Participant.telegram_id == telegram_id, FormResponse.form_id == "mentee_needs")
        )
        return [(s, dict(a), k) for s, a, k in rows.all()]


async def answer_level(u: Client, timeout: float = 30.0) -> list:
    return await asyncio.wait_for(u.click(LEVEL), timeout)


async def until(condition, timeout: float = 30.0) -> None:
    """Poll a condition (plain or awaitable) until it holds."""
    deadline = time.monotonic() + timeout
    for _ in itertools.count():
        held = condition()
        if asyncio.iscoroutine(held):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


@pytest.fixture
def db_path(db_url: str) -> Path:
    return Path(db_url.split("///", 1)[1])


# ----------------------------------------------------------------------------------------------- SQLite
async def test_an_update_waits_for_a_writer_that_finishes_within_the_busy_timeout(h, db_path):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2801)
    await short_busy_timeout(h, 5.0)
    holder = hold_write_lock(db_path)
    pending = asyncio.create_task(answer_level(u))
    await asyncio.sleep(1.0)
    waited = not pending.done()
    release(holder)
    replies = await pending
    print(f"\nsqlite_lock_held_s=1.0 busy_timeout_s=5.0 waited={waited} succeeded=True")
    assert waited  # it really met the lock
    assert GOALS_QUESTION in replies[-1].text and APOLOGY not in u.alerts()
    assert (await stored_answers(h, u.id))[0][1] == {"study_level": "school_8_9"}


async def test_an_update_fails_cleanly_when_the_lock_outlasts_the_busy_timeout(h, db_path):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2802)
    await short_busy_timeout(h, 1.0)
    before = snapshot(db_path)
    holder = hold_write_lock(db_path)
    started = time.monotonic()
    try:
        replies = await answer_level(u)
    finally:
        release(holder)
    failed_after = time.monotonic() - started
    print(f"\nsqlite_lock_held_s>busy_timeout_s=1.0 failed_after_s={failed_after:.1f} apology=1 half_saved=0")
    assert u.alerts()[-1] == APOLOGY  # the person is told, politely
    assert not any(GOALS_QUESTION in (m.text or "") for m in replies)  # and not asked the next question
    assert snapshot(db_path) == before  # nothing of the failed update was saved
    replies = await answer_level(u)  # the next update works
    assert GOALS_QUESTION in replies[-1].text
    assert (await stored_answers(h, u.id))[0][1] == {"study_level": "school_8_9"}


async def test_a_text_answer_fails_cleanly_under_the_lock_and_the_next_one_is_saved(h, db_path):
    c = await onboard_curator(h)
    u = await onboard_mentee(h, c, 2803)
    for button in (LEVEL, "▫️ Улучшить успеваемость", "Готово", "▫️ Математика", "Готово"):
        await u.click(button)
    assert "Что сейчас даётся тебе труднее всего" in u.last().text
    await short_busy_timeout(h, 1.0)
    before = snapshot(db_path)
    holder = hold_write_lock(db_path)
    try:
        replies = await asyncio.wait_for(u.send("Дроби и проценты"), 30)
    finally:
        release(holder)
    half_saved = snapshot(db_path) != before
    apologised = [m.text for m in replies] == [APOLOGY]
    print(f"\nsqlite_text_answer_under_lock apology={int(apologised)} half_saved={int(half_saved)}")
    assert apologised
    assert not half_saved
    replies = await u.send("Дроби и проценты")
    assert "Как тебе удобнее встречаться" in replies[-1].text
    assert (await stored_answers(h, u.id))[0][1]["difficulties"] == "Дроби и проценты"


async def test_concurrent_updates_against_a_foreign_writer_each_succeed_or_fail_whole(h, db_path):
    """Several people answer at once while another connection holds the lock: first for less than the busy
    timeout (all succeed), then for longer (each update succeeds whole or fails whole with the apology — which
    depends on its place in the queue of writers); then everyone carries on."""
    c = await onboard_curator(h)
    people = [await onboard_mentee(h, c, 2810 + i) for i in range(4)]
    await short_busy_timeout(h, 1.5)

    async def round_with_lock(held: float) -> list[list]:
        holder = hold_write_lock(db_path)
        tasks = [asyncio.create_task(answer_level(u)) for u in people]
        await asyncio.sleep(held)
        release(holder)
        return list(await asyncio.gather(*tasks))

    replies = await round_with_lock(0.5)
    assert all(GOALS_QUESTION in r[-1].text for r in replies)
    for u in people:  # back to the first question for the second round
        await u.click("« Назад")

    apologies_before = people[0].alerts().count(APOLOGY)  # alerts() holds every chat's alerts
    replies = await round_with_lock(4.0)
    succeeded = failed = 0
    for u, r in zip(people, replies, strict=True):
        stored = (await stored_answers(h, u.id))[0]
        if any(GOALS_QUESTION in (m.text or "") for m in r):
            succeeded += 1
            assert stored[2] == "goals"  # the answer and the step it advanced, together
        else:
            failed += 1
            assert stored[2] == "study_level"  # neither the step nor anything else
    apologies = people[0].alerts().count(APOLOGY) - apologies_before
    print(
        f"\nsqlite_concurrent_people={len(people)} lock_held_s=4.0 busy_timeout_s=1.5 "
        f"succeeded={succeeded} failed_cleanly={failed} apologies={apologies}"
    )
    assert failed >= 1  # the lock outlasted the timeout for at least the first writer
    assert apologies == failed  # each failed update, and only those, got the apology
    for u in people:  # everyone carries on
        if (await stored_answers(h, u.id))[0][2] == "study_level":
            await answer_level(u)
        assert (await stored_answers(h, u.id))[0][2] == "goals"


# -------------------------------------------------------------------------------------------- PostgreSQL
async def terminate_backends(conn, db: str) -> int:
    """What a server restart does to the bot: every connection to its database dies."""
    return len(
        await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            db,
        )
    )


async def test_postgres_connections_killed_mid_run(pg_url):
    import asyncpg

    db = pg_url.rsplit("/", 1)[1]
    fake = FakeTelegram()
    h = await Harness.start(make_settings(pg_url, curator_ids="1000"), fake)
    admin = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}")
    sender = asyncio.create_task(h.app.sender.run())
    try:
        c = await onboard_curator(h)
        a, b = await onboard_mentee(h, c, 2901), await onboard_mentee(h, c, 2902)
        chats = [7_000_000 + i for i in range(60)]
        async with unit_of_work(h.app.factory) as repos:
            await repos.outbox.enqueue(
                [NewMessage(chat_id=ch, text=f"news {ch}", kind="announcement") for ch in chats],
                h.app.clock(),
            )
        h.app.sender.notify()
        await until(lambda: sum(1 for ch in chats if fake.delivered_to(ch)) >= 10)

        # 1. Between updates, while the outbox sends: the pool's idle connections die; the next update works.
        killed_idle = await terminate_backends(admin, db)
        assert GOALS_QUESTION in (await answer_level(a))[-1].text

        # 2. Mid-update: b's answer waits on a row lock when the connections die. That update fails whole.
        async with unit_of_work(h.app.factory) as repos:
            me = await repos.participants.by_telegram_id(b.id)
        tx = admin.transaction()
        await tx.start()
        await admin.execute("SELECT 1 FROM form_responses WHERE participant_id = $1 FOR UPDATE", me.id)
        in_flight = asyncio.create_task(answer_level(b))
        waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'"
        await until(lambda: admin.fetchval(waiting, db))
        killed_busy = await terminate_backends(admin, db)
        await tx.rollback()
        replies = await in_flight
        assert b.alerts()[-1] == APOLOGY
        assert not any(GOALS_QUESTION in (m.text or "") for m in replies)
        assert (await stored_answers(h, b.id))[0][2] == "study_level"  # nothing of it saved

        # The next updates succeed.
        assert GOALS_QUESTION in (await answer_level(b))[-1].text
        await a.click("▫️ Улучшить успеваемость")
        assert (await stored_answers(h, b.id))[0][1] == {"study_level": "school_8_9"}

        # The outbox: nothing pending is left behind, nothing went out twice, nothing was lost.
        deadline = time.monotonic() + 60
        while True:
            async with unit_of_work(h.app.factory) as repos:
                statuses = dict(
                    (
                        await repos.session.execute(
                            select(OutboxMessage.chat_id, OutboxMessage.status).where(
                                OutboxMessage.chat_id.in_(chats)
                            )
                        )
                    ).all()
                )
            if all(s != "pending" for s in statuses.values()) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        apologies = a.alerts().count(APOLOGY)  # every chat's alerts: only b's one failed update
        delivered = {ch: len(fake.delivered_to(ch)) for ch in chats}
        unrecorded = [ch for ch, s in statuses.items() if s == "sending"]
        print(
            f"\npg_terminated_idle={killed_idle} pg_terminated_busy={killed_busy} updates_failed={apologies} "
            f"outbox_n={len(chats)} delivered={sum(1 for n in delivered.values() if n == 1)} "
            f"duplicated={sum(1 for n in delivered.values() if n > 1)} "
            f"lost={sum(1 for n in delivered.values() if n == 0)} sent_but_unrecorded={len(unrecorded)}"
        )
        assert apologies == 1
        assert all(s in ("sent", "sending") for s in statuses.values()), statuses
        assert all(n == 1 for n in delivered.values()), delivered  # each exactly once
    finally:
        await h.app.sender.stop()
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        await admin.close()
        await h.close()
