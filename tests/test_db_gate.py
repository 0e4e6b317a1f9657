"""SQLite writers in one process queue fairly instead of starving in SQLite's busy handler."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import create_engine, create_session_factory, write_gate


@pytest.fixture
async def engine(tmp_path):
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/gate.db", lock_timeout=5.0)
    async with eng.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT, n INTEGER)"))
    yield eng
    await eng.dispose()


async def test_a_writer_waits_for_the_one_before_it_and_then_succeeds(engine) -> None:
    factory = create_session_factory(engine)
    order: list[str] = []

    async def first() -> None:
        async with factory() as s:
            await s.execute(text("INSERT INTO t (who, n) VALUES ('a', 1)"))
            await asyncio.sleep(0.3)  # holds the write lock, e.g. while a handler awaits Telegram
            order.append("a")
            await s.commit()

    async def second() -> None:
        await asyncio.sleep(0.05)
        async with factory() as s:
            await s.execute(text("INSERT INTO t (who, n) VALUES ('b', 1)"))
            order.append("b")
            await s.commit()

    await asyncio.gather(first(), second())
    assert order == ["a", "b"]
    async with factory() as s:
        assert (await s.execute(text("SELECT count(*) FROM t"))).scalar() == 2


async def test_a_writer_that_waits_too_long_fails_cleanly_and_the_next_one_works(tmp_path) -> None:
    eng = create_engine(f"sqlite+aiosqlite:///{tmp_path}/short.db", lock_timeout=0.2)
    try:
        async with eng.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
        factory = create_session_factory(eng)
        holder = factory()
        await holder.execute(text("INSERT INTO t (who) VALUES ('holder')"))
        async with factory() as s:
            await s.execute(text("SELECT 1"))  # reads never wait
            with pytest.raises(OperationalError, match="database is locked"):
                await s.execute(text("INSERT INTO t (who) VALUES ('late')"))
            await s.rollback()
        await holder.commit()
        await holder.close()
        async with factory() as s:
            await s.execute(text("INSERT INTO t (who) VALUES ('next')"))
            await s.commit()
            rows = (await s.execute(text("SELECT who FROM t ORDER BY id"))).scalars().all()
        assert rows == ["holder", "next"]  # nothing of the failed one
        gate = write_gate(eng)
        assert gate is not None and not gate.holds(object())
    finally:
        await eng.dispose()


async def test_a_busy_writer_does_not_starve_another(engine) -> None:
    """Back-to-back write transactions that each hold the lock a while (a reminder burst composing its
    batch) and a second writer: the second one's transactions get their turns in between. SQLite's own busy
    handler would poll every 100 ms and almost never hit the moment between two of the busy one's
    transactions, so it waited until the busy writer had finished."""
    factory = create_session_factory(engine)
    rounds = 60
    hog_count = 0
    victim_done = asyncio.Event()

    async def hog() -> None:
        nonlocal hog_count
        for i in range(rounds):
            if victim_done.is_set():
                return  # what is proved is decided: the rest of the rounds would only take time
            async with factory() as s:
                await s.execute(text("INSERT INTO t (who, n) VALUES ('hog', :n)"), {"n": i})
                await asyncio.sleep(0.03)
                await s.commit()
            hog_count += 1

    async def victim() -> int:
        await asyncio.sleep(0.1)
        for i in range(5):
            async with factory() as s:
                await s.execute(text("INSERT INTO t (who, n) VALUES ('victim', :n)"), {"n": i})
                await s.commit()
        victim_done.set()
        return hog_count

    _, hog_at_end = await asyncio.gather(hog(), victim())
    assert hog_at_end < rounds // 2, (
        f"the second writer waited for {hog_at_end} of the busy one's transactions"
    )
    async with factory() as s:
        assert (await s.execute(text("SELECT count(*) FROM t WHERE who = 'victim'"))).scalar() == 5


async def test_a_statement_is_one_trip_to_the_sqlite_thread_and_behaves_as_sqlalchemys(
    engine, monkeypatch
) -> None:
    """storage/sqlite_driver.py: each statement runs in aiosqlite's thread in one call (SQLAlchemy's adapter
    makes four), with the same results: rows, the affected row count, the new row's id, and errors that are
    SQLAlchemy's own."""
    import aiosqlite
    from sqlalchemy.exc import IntegrityError

    trips = 0
    real = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):
        nonlocal trips
        trips += 1
        return await real(self, fn, *args, **kwargs)

    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is open: only statements count from here
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        inserted = await conn.execute(text("INSERT INTO t (who, n) VALUES ('a', 1), ('b', 2)"))
        assert inserted.rowcount == 2 and trips == 1
        new = await conn.execute(text("INSERT INTO t (who, n) VALUES ('c', 3)"))
        assert new.lastrowid == 3 and trips == 2
        changed = await conn.execute(text("UPDATE t SET n = n + 1 WHERE n >= 2"))
        assert changed.rowcount == 2 and trips == 3
        rows = (await conn.execute(text("SELECT who, n FROM t ORDER BY id"))).all()
        assert [tuple(r) for r in rows] == [("a", 1), ("b", 3), ("c", 4)] and trips == 4
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (id, who, n) VALUES (1, 'again', 0)"))
        assert trips == 5
        await conn.rollback()
