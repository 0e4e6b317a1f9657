"""Backups that happen: the scheduler's daily job copies the SQLite database into BACKUP_DIR with `nastavnik
backup`'s own code, keeps the newest BACKUP_KEEP copies (nothing else in the folder is touched), and the
oldest copy kept restores with `nastavnik restore`'s code. The operator hears the week's result once a week;
PostgreSQL gets no backup job (pg_dump is the tool there)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from bot.cli import restore_sqlite
from bot.demo.harness import Harness, make_settings
from bot.domain.entities import Status
from scheduler.backup import backup_folder
from storage.uow import unit_of_work
from tests.test_meetings import FakeClock

OPERATOR = 777_000
PEOPLE = ["Первова Анна", "Вторая Бэлла", "Третьякова Вера", "Четвертак Галина", "Пятова Дарья"]


async def add_person(h: Harness, telegram_id: int, name: str) -> None:
    now = h.app.clock()
    async with unit_of_work(h.app.factory) as repos:
        p = await repos.participants.create(telegram_id, "ru", Status.ACTIVE.value, now)
        await repos.participants.update(p.id, now, full_name=name)


async def test_five_nightly_backups_keep_three_and_the_oldest_kept_restores(db_url, fake, tmp_path):
    clock = FakeClock(datetime(2026, 11, 19, 0, 0, tzinfo=UTC))  # Thursday 03:00 in Moscow
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "README.txt").write_text("the operator's own note")
    settings = make_settings(db_url, operator_ids=str(OPERATOR), backup_dir=str(folder), backup_keep=3)
    h = (await Harness.start(settings, fake, clock=clock)).unpaced()
    try:
        job = h.app.scheduler.get_job("backup")  # the nightly job, at BACKUP_HOUR (03:00 by default)
        assert job is not None
        trigger = {f.name: str(f) for f in job.trigger.fields}
        assert trigger["hour"] == "3" and trigger["minute"] == "0"
        for day, name in enumerate(PEOPLE):
            await add_person(h, 9000 + day, name)
            assert await job.func() is True  # what the scheduler runs each night
            clock.advance(days=1)

        copies = sorted(p.name for p in folder.glob("nastavnik-*.db"))
        assert copies == [
            "nastavnik-20261121-000000.db",
            "nastavnik-20261122-000000.db",
            "nastavnik-20261123-000000.db",
        ]
        assert (folder / "README.txt").read_text() == "the operator's own note"

        # Monday: the weekly line to the operator, once however often the job runs.
        report = h.app.scheduler.get_job("backup_report")
        assert report is not None
        await report.func()
        await report.func()
        await h.deliver_outbox()
    finally:
        await h.close()
    lines = [m.text or "" for m in fake.delivered_to(OPERATOR)]
    assert len(lines) == 1
    assert lines[0].startswith(
        "💾 Резервные копии базы данных с 19 ноября, 03:00: удачных — 5, неудачных — 0;"
    )
    assert "последняя удачная копия — 23 ноября, 03:00," in lines[0] and "Хранится копий: 3" in lines[0]
    assert not any(name.split()[0] in lines[0] for name in PEOPLE)

    # The bot is stopped; the oldest copy kept (made on the third night) is restored.
    said = await asyncio.to_thread(restore_sqlite, db_url, folder / copies[0])
    assert said.startswith("restored")
    db = Path(db_url.split("///", 1)[1])
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute("SELECT full_name FROM participants ORDER BY telegram_id")]
    assert names == PEOPLE[:3]


def test_postgresql_has_no_backup_job_and_keep_zero_turns_backups_off(tmp_path):
    pg = make_settings("postgresql+asyncpg://nastavnik@db:5432/nastavnik", backup_dir=str(tmp_path))
    assert backup_folder(pg) is None
    off = make_settings(f"sqlite+aiosqlite:///{tmp_path}/n.db", backup_keep=0)
    assert backup_folder(off) is None
    default = make_settings(f"sqlite+aiosqlite:///{tmp_path}/n.db")
    assert backup_folder(default) == tmp_path / "backups"  # beside the database file
