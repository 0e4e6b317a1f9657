"""Engine and session factory; SQLite gets WAL, foreign keys, a busy timeout, secure delete, a bounded
-wal file and a fair writer queue.

SQLite lets one writer at a time. Its own busy handler polls with growing sleeps (up to 100 ms), so in a busy
process a writer that keeps committing and starting again (a reminder burst, a bulk import) can starve the
others until their busy timeout runs out ("database is locked"). Inside one process the writers therefore
queue first-come first-served on a gate: a connection takes it at its first INSERT/UPDATE/DELETE and gives it
back when its transaction ends (commit, rollback, or the connection's return to the pool). Other processes
(a backup, a second tool) still meet the busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

from storage import search
from storage.sqlite_driver import one_trip_dbapi

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Past this size the -wal file is cut back after a checkpoint (bytes), so old page versions do not pile up.
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory SQLite)."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix):
        rest = url[len(prefix) :].split("?", 1)[0]
        if rest and rest != ":memory:":
            return Path(rest)
    return None


def _raw(conn: Any) -> Any:
    """The driver's connection behind a pool proxy (commit and rollback get the proxy, pool events not)."""
    return getattr(conn, "dbapi_connection", None) or conn


_GATES: weakref.WeakKeyDictionary[Any, WriteGate] = weakref.WeakKeyDictionary()


def write_gate(engine: AsyncEngine) -> WriteGate | None:
    return _GATES.get(engine.sync_engine)


class WriteGate:
    """A FIFO lock per event loop; the holder is a DBAPI connection, not a task."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}
        self._holders: dict[int, asyncio.Lock] = {}
        self.waited = 0.0  # seconds writers spent queueing (diagnostics)

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def holds(self, dbapi_conn: Any) -> bool:
        return id(_raw(dbapi_conn)) in self._holders

    async def acquire(self, dbapi_conn: Any) -> None:
        lock = self._lock()
        started = time.monotonic()
        try:
            await asyncio.wait_for(lock.acquire(), self.timeout)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        finally:
            self.waited += time.monotonic() - started
        self._holders[id(_raw(dbapi_conn))] = lock

    def release(self, dbapi_conn: Any) -> None:
        lock = self._holders.pop(id(_raw(dbapi_conn)), None)
        if lock is not None and lock.locked():
            lock.release()


def _install_gate(engine: AsyncEngine, gate: WriteGate) -> None:
    sync_engine = engine.sync_engine
    dialect = sync_engine.dialect

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _take(conn: Any, _cursor: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        if not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        dbapi_conn = conn.connection.dbapi_connection
        if gate.holds(dbapi_conn):
            return
        try:
            await_only(gate.acquire(dbapi_conn))
        except sqlite3.OperationalError as exc:
            raise OperationalError(statement, params, exc) from None

    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _commit(dbapi_conn: Any) -> None:
        try:
            do_commit(dbapi_conn)
        finally:
            gate.release(dbapi_conn)

    def _rollback(dbapi_conn: Any) -> None:
        try:
            do_rollback(dbapi_conn)
        finally:
            gate.release(dbapi_conn)

    # The dialect is this engine's own instance: its commit and rollback end the gate's hold.
    dialect.do_commit = _commit  # type: ignore[method-assign]
    dialect.do_rollback = _rollback  # type: ignore[method-assign]

    @event.listens_for(sync_engine, "checkin")
    def _checkin(dbapi_conn: Any, _record: Any) -> None:
        gate.release(dbapi_conn)

    @event.listens_for(sync_engine, "close")
    def _close(dbapi_conn: Any, _record: Any) -> None:
        gate.release(dbapi_conn)


def create_engine(url: str, *, lock_timeout: float = 30.0, **kwargs: Any) -> AsyncEngine:
    """``lock_timeout``: seconds a SQLite writer waits for the database (its queue and the busy timeout)."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        driver = one_trip_dbapi()
        if driver is not None:
            kwargs.setdefault("module", driver)
        engine = create_async_engine(
            url, connect_args={"timeout": lock_timeout}, hide_parameters=True, **kwargs
        )
        busy_ms = int(lock_timeout * 1000)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            # Erased rows must not linger in free pages, nor in an ever-growing -wal file.
            cur.execute("PRAGMA secure_delete=ON")
            cur.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            cur.close()
            search.register_sqlite(dbapi_conn)

        gate = WriteGate(lock_timeout)
        _install_gate(engine, gate)
        _GATES[engine.sync_engine] = gate
        return engine
    # hide_parameters: a failed statement's values (a name, an answer) stay out of exceptions and logs.
    return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def truncate_wal(engine: AsyncEngine, attempts: int = 5) -> bool:
    """After an erasure (committed): copy the -wal file into the database and cut it to zero bytes, so the
    erased rows' old page versions do not stay in it. Outside any transaction; SQLite only. A reader that
    still holds an old snapshot makes SQLite refuse; it is tried again a few times. True when truncated."""
    if not is_sqlite(engine):
        return True
    for attempt in range(attempts):
        async with engine.connect() as conn:
            busy = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).first()
        if busy is None or not busy[0]:
            return True
        await asyncio.sleep(0.05 * (attempt + 1))
    return False
