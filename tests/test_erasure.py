"""Erasure that really erases (issue #14): after /forget no identifier of the person is left anywhere in the
database files — not in another person's message (sent or not, text or keyboard), not in free pages, not in
the -wal file, also as a kill -9 leaves them; a restore erases again whoever was forgotten since the backup;
an erasure that fell due while the bot was down runs at start; conversation state goes from Redis too."""

from __future__ import annotations

import html
import json
import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, select
from sqlalchemy.pool import Pool

from bot.demo.harness import Client, Harness, make_settings
from bot.demo.telegram import FakeTelegram
from bot.domain.entities import Role
from storage.models import ErasureLedgerEntry, Participant
from storage.uow import unit_of_work
from tests.conftest import CURATOR_ID
from tests.helpers import invite, onboard_curator, token_in
from tests.test_backup import cli
from tests.test_matching_flow import mentee_answers, mentor_answers, seed

PUPIL_TG = 7_770_901
PUPIL_NAME = "Д'Арк Снежана"  # the apostrophe is escaped in HTML (&#x27;), the Cyrillic in JSON (\u0414)
PUPIL_USER = "snezhana_darc"
PARENT_TG = 7_770_902
GROUP_CHAT = -100_777_001
REDIS_URL = "redis://127.0.0.1:6379/15"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def insecure_sqlite() -> Iterator[None]:
    """SQLite as many builds ship it, without SQLITE_SECURE_DELETE (this machine's has it on): every new
    connection starts with secure_delete off, before the engine's own settings."""

    def off(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.cursor().execute("PRAGMA secure_delete=OFF")

    event.listen(Pool, "connect", off, insert=True)
    yield
    event.remove(Pool, "connect", off)


@pytest.fixture
async def h(db_url: str, fake: FakeTelegram, clock: Clock) -> AsyncIterator[Harness]:
    harness = (
        await Harness.start(make_settings(db_url, curator_ids=str(CURATOR_ID)), fake, clock=clock)
    ).unpaced()
    yield harness
    await harness.close()


def spellings(name: str, username: str, tg: int) -> list[bytes]:
    """Every way the person can be written into the database file."""
    out = {str(tg).encode(), username.encode()}
    for text in (name, html.escape(name), html.escape(name, quote=False)):
        out.add(text.encode("utf-8"))
        out.add(json.dumps(text)[1:-1].encode("ascii"))  # JSON with non-ASCII as \uXXXX
    return sorted(out)


def files_of(db: Path) -> list[Path]:
    return [p for p in (db, Path(f"{db}-wal")) if p.exists()]


def found_in(paths: list[Path], needles: list[bytes]) -> list[str]:
    return [f"{p.name}: {n!r}" for p in paths for n in needles if n in p.read_bytes()]


def db_file(h: Harness) -> Path:
    return Path(h.app.settings.database_url.split(":///", 1)[1])


async def join_pupil(h: Harness, c: Client, tg: int = PUPIL_TG) -> tuple[Client, Client]:
    """A minor pupil (with a username) and her parent, through invitations."""
    token = await invite(c, "наставляемый")
    pupil = h.user(tg, "Snezhana", "ru", username=PUPIL_USER)
    await pupil.send(f"/start {token}")
    await pupil.click("✅ Даю согласие")
    await pupil.send(PUPIL_NAME)
    await pupil.send("7Щ")
    await pupil.click("Нет")  # under 18: a parent's consent
    parent = h.user(PARENT_TG, "P", "ru")
    await parent.send(f"/start {token_in(pupil.texts()[-1])}")
    await parent.click("✅ Даю согласие")
    await parent.send("Д'Арк Марина")
    return pupil, parent


async def pid_of(h: Harness, tg: int) -> int:
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.by_telegram_id(tg)
    assert p is not None
    return p.id


async def whole_programme(h: Harness, clock: Clock) -> Client:
    """The pupil goes through every flow that mentions her: questionnaire, matching (announcements to her,
    her mentor — with a tg://user link — and her parent, all sent), a meeting and the mentor's feedback
    naming her, an announcement naming her, the overdue digest, conversation state in two chats."""
    c = await onboard_curator(h)
    pupil, _parent = await join_pupil(h, c)
    pupil_id = await pid_of(h, PUPIL_TG)
    mentor_id, _ = await seed(h, Role.MENTOR, "Наставникова Ирина", mentor_answers(["math"], 2))
    now = clock()
    async with unit_of_work(h.app.factory) as repos:
        r = await repos.forms.create(
            pupil_id, "mentee_needs", 1, now, answers=mentee_answers(["math"]) | {"difficulties": "Дроби"}
        )
        await repos.forms.submit(r.id, now)
    replies = await c.send("/match")
    approve = next(b for b in replies[0].buttons() if b["text"].startswith("Утвердить все"))
    await c.press(approve["callback_data"], replies[0])
    await h.deliver_outbox()
    async with unit_of_work(h.app.factory) as repos:
        (pair,) = await repos.pairs.active()
        meeting = await repos.meetings.create(
            pair.id,
            "introduction",
            now - timedelta(days=2),
            now - timedelta(days=2, hours=-1),
            "offline",
            f"каб. 21, спросить {PUPIL_NAME}",
            mentor_id,
            now,
        )
        fb = await repos.forms.create(
            mentor_id,
            "meeting_feedback",
            1,
            now,
            context=f"meeting:{meeting.id}",
            answers={"rating": 5, "done": f"{PUPIL_NAME} сама вывела формулу площади"},
        )
        await repos.forms.submit(fb.id, now)
    await c.send("/announce")
    await c.send(f"Поздравляем {PUPIL_NAME} с победой на олимпиаде!")
    await c.click("Наставникам")
    for msg in reversed(h.fake.delivered_to(c.id)):
        send = next((b for b in msg.buttons() if b["text"].startswith("📣 Отправить")), None)
        if send:
            await c.press(send["callback_data"], msg)
            break
    clock.now += timedelta(days=20)  # the introduction stage is overdue: the curator's digest names the pair
    await h.app.jobs.daily_digest()
    await h.deliver_outbox()
    storage, bot_id = h.app.dp.storage, h.app.bot.id
    await storage.set_data(
        StorageKey(bot_id=bot_id, chat_id=GROUP_CHAT, user_id=PUPIL_TG), {"draft": "Мой секрет"}
    )
    await storage.set_data(
        StorageKey(bot_id=bot_id, chat_id=CURATOR_ID, user_id=CURATOR_ID), {"query": PUPIL_NAME}
    )
    sent = [str(r.params.get("text") or "") for r in h.fake.requests]
    assert any(f'href="tg://user?id={PUPIL_TG}"' in t for t in sent), "the mentor was sent a mention link"
    assert any(PUPIL_NAME in t and "олимпиаде" in t for t in sent), "the announcement went out"
    assert any("Ежедневная сводка" in t and PUPIL_NAME in t for t in sent), "the digest names her"
    return pupil


async def forget(pupil: Client) -> None:
    await pupil.send("/forget")
    replies = await pupil.click("Да, удалить навсегда")
    assert "Ваши данные удалены" in replies[-1].text


async def test_forget_leaves_no_identifier_in_the_database_files(insecure_sqlite, h, clock, tmp_path):
    pupil = await whole_programme(h, clock)
    db = db_file(h)
    needles = spellings(PUPIL_NAME, PUPIL_USER, PUPIL_TG)
    assert found_in(files_of(db), needles), "the seeding wrote her into the files"

    await forget(pupil)

    # The files as they are now — what a kill -9 at this moment would leave on disk.
    assert found_in(files_of(db), needles) == []
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for p in db.parent.glob(f"{db.name}*"):
        shutil.copy(p, crashed / p.name)
    assert found_in(files_of(crashed / db.name), needles) == []
    # the crashed copy opens, and she is anonymous there
    with closing(sqlite3.connect(crashed / db.name)) as conn:
        row = conn.execute(
            "SELECT full_name, telegram_id, username FROM participants WHERE id = ?",
            (await pid_of_erased(h),),
        ).fetchone()
    assert row == (None, None, None)
    # the mentor's copy of the pairing announcement (sent) still reads, without her
    async with unit_of_work(h.app.factory) as repos:
        ledger = (await repos.session.scalars(select(ErasureLedgerEntry))).all()
    assert [e.participant_id for e in ledger] == [await pid_of_erased(h)]
    assert ledger[0].anon_key and str(PUPIL_TG) not in ledger[0].anon_key


async def pid_of_erased(h: Harness) -> int:
    async with unit_of_work(h.app.factory) as repos:
        return await repos.session.scalar(
            select(Participant.id).where(Participant.group_name.is_(None), Participant.is_minor.is_(True))
        )


async def test_restore_erases_again_whoever_was_forgotten_since_the_backup(
    insecure_sqlite, h, clock, tmp_path
):
    pupil = await whole_programme(h, clock)
    db = db_file(h)
    url = h.app.settings.database_url
    backup = tmp_path / "backups" / "before.db"
    done = await cli("backup", str(backup), url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    await forget(pupil)
    await h.close()

    restored = await cli("restore", str(backup), url=url, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    needles = spellings(PUPIL_NAME, PUPIL_USER, PUPIL_TG)
    assert found_in(files_of(db), needles) == []
    assert "erased again: 1" in restored.stdout
    # Closed at once: an open connection would keep the next restore from taking the database.
    with closing(sqlite3.connect(db)) as conn:
        names = [r[0] for r in conn.execute("SELECT full_name FROM participants ORDER BY id")]
        statuses = dict(
            conn.execute("SELECT full_name, status FROM participants WHERE full_name IS NOT NULL")
        )
    assert PUPIL_NAME not in names and "Наставникова Ирина" in names  # the others are back as they were
    assert statuses["Наставникова Ирина"] == "active"
    # a second restore of the same backup erases her again (the ledger came through the first restore)
    again = await cli("restore", str(backup), url=url, cwd=tmp_path)
    assert again.returncode == 0 and "erased again: 1" in again.stdout
    assert found_in(files_of(db), needles) == []


async def test_erasure_due_while_the_bot_was_down_runs_at_start(h, clock):
    c = await onboard_curator(h)
    pupil, _ = await join_pupil(h, c)
    await pupil.send("/consent")
    await pupil.click("Отозвать согласие")
    await pupil.click("Да, отозвать")
    async with unit_of_work(h.app.factory) as repos:
        row = await repos.participants.by_telegram_id(PUPIL_TG)
    assert row is not None and row.full_name == PUPIL_NAME  # not yet: the hourly job has not run
    clock.now += timedelta(minutes=5)  # past the deadline (participants.deletion_due_at)
    h2 = await h.restart()
    h.app = h2.app  # the fixture closes the new one
    async with unit_of_work(h2.app.factory) as repos:
        assert await repos.participants.by_telegram_id(PUPIL_TG) is None
        names = (await repos.session.scalars(select(Participant.full_name))).all()
    assert PUPIL_NAME not in names
    assert found_in(files_of(db_file(h2)), spellings(PUPIL_NAME, PUPIL_USER, PUPIL_TG)) == []


# -- Redis ----------------------------------------------------------------------------------------------


@pytest.fixture
async def redis_ok() -> None:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable at {REDIS_URL} under CI ({exc.__class__.__name__})")
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({exc.__class__.__name__})")
    finally:
        await client.aclose()


async def redis_keys(h: Harness, tg: int) -> list[str]:
    keys = await h.app.dp.storage.redis.keys(f"fsm:*:{tg}:*")
    return sorted(k.decode() if isinstance(k, bytes) else k for k in keys)


@pytest.mark.parametrize("how", ["forget", "purge"])
async def test_conversation_state_in_redis_goes_with_the_erasure(redis_ok, tmp_path, fake, clock, how):
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/r.db", curator_ids=str(CURATOR_ID), redis_url=REDIS_URL
    )
    h = (await Harness.start(settings, fake, clock=clock)).unpaced()
    tg = 7_000_000 + uuid.uuid4().int % 1_000_000  # a database shared with other runs: own keys only
    try:
        c = await onboard_curator(h)
        pupil, _ = await join_pupil(h, c, tg)
        storage, bot_id = h.app.dp.storage, h.app.bot.id
        for chat in (tg, GROUP_CHAT):
            await storage.set_state(StorageKey(bot_id=bot_id, chat_id=chat, user_id=tg), "Form:answer")
            await storage.set_data(
                StorageKey(bot_id=bot_id, chat_id=chat, user_id=tg), {"answer": "Боюсь контрольных"}
            )
        assert len(await redis_keys(h, tg)) >= 4
        if how == "forget":
            await forget(pupil)
        else:
            await pupil.send("/consent")
            await pupil.click("Отозвать согласие")
            await pupil.click("Да, отозвать")
            # the withdrawal itself leaves the state; the erasure (here: at the next start) removes it
            await storage.set_data(StorageKey(bot_id=bot_id, chat_id=GROUP_CHAT, user_id=tg), {"a": "b"})
            clock.now += timedelta(minutes=5)
            h = await h.restart()
        assert await redis_keys(h, tg) == []
    finally:
        keys = await redis_keys(h, tg) + await redis_keys(h, PARENT_TG)
        if keys:
            await h.app.dp.storage.redis.delete(*keys)
        await h.close()
