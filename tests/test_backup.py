"""`nastavnik backup PATH` / `restore PATH` on SQLite (the online backup API, safe while the bot writes) and
the one-line pointer to pg_dump / pg_restore for PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import utc_now
from bot.domain.entities import Status
from storage.db import create_engine, create_session_factory
from storage.migrate import upgrade
from storage.models import Participant
from storage.uow import unit_of_work


async def cli(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,  # no stray .env is read
        capture_output=True,
        text=True,
        timeout=120,
    )


async def add_people(factory, names: list[str]) -> None:
    now = utc_now()
    async with unit_of_work(factory) as repos:
        for i, name in enumerate(names):
            p = await repos.participants.create(abs(hash(name)) % 10**9 + i, "ru", Status.ACTIVE.value, now)
            await repos.participants.update(p.id, now, full_name=name)


def assert_self_contained(backup: Path) -> None:
    assert not backup.with_name(backup.name + ".part").exists()
    assert not Path(f"{backup}-wal").exists()  # one file, nothing beside it
    with sqlite3.connect(backup) as c:
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def names_in(factory) -> list[str]:
    async with factory() as s:
        return list((await s.scalars(select(Participant.full_name).order_by(Participant.id))).all())


@pytest.mark.slow
async def test_backup_while_the_database_is_in_use_then_restore(tmp_path: Path):
    db = tmp_path / "data" / "nastavnik.db"
    url = f"sqlite+aiosqlite:///{db}"
    engine = create_engine(url)
    await upgrade(engine)
    factory = create_session_factory(engine)
    await add_people(factory, ["Первый Человек", "Второй Человек"])

    # A writer is mid-transaction while the backup runs: the copy holds what was committed, nothing else.
    async with factory() as open_session:
        open_session.add(
            Participant(
                telegram_id=1,
                language="ru",
                status="active",
                full_name="Незавершённый",
                unreachable=False,
                created_at=utc_now(),
                updated_at=utc_now(),
            )
        )
        await open_session.flush()
        backup = tmp_path / "backups" / "copy.db"
        done = await cli("backup", str(backup), url=url, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("nastavnik: backed up") and str(backup) in done.stdout
        await open_session.rollback()
    assert_self_contained(backup)

    await add_people(factory, ["Третий Человек"])
    # The bot still has the database open: restoring now is refused and changes nothing.
    refused = await cli("restore", str(backup), url=url, cwd=tmp_path)
    assert refused.returncode == 2 and "in use" in refused.stderr and "stop the bot" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert await names_in(factory) == ["Первый Человек", "Второй Человек", "Третий Человек"]
    await engine.dispose()

    restored = await cli("restore", str(backup), url=url, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    saved = sorted(db.parent.glob("nastavnik.db.bak-*"))
    assert len(saved) == 1 and str(saved[0]) in restored.stdout

    engine = create_engine(url)
    factory = create_session_factory(engine)
    assert await names_in(factory) == ["Первый Человек", "Второй Человек"]
    async with factory() as s:  # the restored database is fully usable (WAL again, migrations in place)
        assert (await s.scalar(select(func.count()).select_from(Participant))) == 2
    await upgrade(engine)
    await add_people(factory, ["После Восстановления"])
    assert (await names_in(factory))[-1] == "После Восстановления"
    await engine.dispose()
    with sqlite3.connect(saved[0]) as c:  # the database as it was before the restore
        rows = [r[0] for r in c.execute("SELECT full_name FROM participants ORDER BY id")]
    assert rows == ["Первый Человек", "Второй Человек", "Третий Человек"]


async def test_restore_refuses_what_is_not_a_backup(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path}/n.db"
    junk = tmp_path / "junk.db"
    with sqlite3.connect(junk) as c:
        c.execute("CREATE TABLE t (x)")
    # Three independent refusals, each a cold start of the process: run side by side.
    done, missing, nothing = await asyncio.gather(
        cli("restore", str(junk), url=url, cwd=tmp_path),
        cli("restore", str(tmp_path / "nope.db"), url=url, cwd=tmp_path),
        cli("backup", str(tmp_path / "b.db"), url=url, cwd=tmp_path),
    )
    assert done.returncode == 2 and "not a Nastavnik database backup" in done.stderr
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert nothing.returncode == 2 and "does not exist" in nothing.stderr
    assert not (tmp_path / "n.db").exists()


async def test_postgresql_gets_a_one_line_pointer_to_pg_dump(tmp_path: Path):
    url = "postgresql+asyncpg://nastavnik@localhost/nastavnik"
    runs = await asyncio.gather(
        *(cli(cmd, str(tmp_path / "x.dump"), url=url, cwd=tmp_path) for cmd in ("backup", "restore"))
    )
    for done in runs:
        assert done.returncode == 2 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("nastavnik: ")
        assert "pg_dump" in lines[0] and "pg_restore" in lines[0]
