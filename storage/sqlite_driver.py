"""aiosqlite for SQLAlchemy with one trip to the driver's thread per statement instead of four.

aiosqlite runs the sqlite3 connection in a thread of its own; every call is a trip there and back (a queue
put, the thread's wake-up, a wake-up of the event loop through its self-pipe: about 60 µs). SQLAlchemy's
adapter makes four per statement (open a cursor, execute, fetch the rows, close the cursor), so a primary-key
read that SQLite answers in 4 µs costs 250 µs of trips. Here the cursor's ``execute`` does the four steps in
one function run in that thread (aiosqlite's own ``_execute``, the call every aiosqlite method goes through).
Everything else (``executemany``, server-side cursors, commit, rollback) is SQLAlchemy's adapter unchanged.

Passed to ``create_async_engine(..., module=...)`` (SQLAlchemy's documented way to give a dialect another
DBAPI module); the URL stays ``sqlite+aiosqlite``."""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)


def _run(conn: sqlite3.Connection, operation: str, parameters: Any) -> tuple[Any, list[Any] | None, Any, int]:
    """In aiosqlite's thread: the whole statement, as SQLAlchemy's adapter does it in four trips."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        if description:
            return description, cursor.fetchall(), -1, -1
        return None, None, cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        if self.server_side:
            return super().execute(operation, parameters)
        driver = self._connection
        try:
            description, rows, lastrowid, rowcount = self.await_(
                driver._execute(_run, driver._conn, operation, parameters)
            )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description = description
        self.lastrowid, self.rowcount = lastrowid, rowcount
        self._rows = deque(rows) if rows is not None else deque()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return OneTripCursor(self)


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        if type(adapted) is AsyncAdapt_aiosqlite_connection:  # not the sync fallback (tests' run_sync tools)
            adapted.__class__ = OneTripConnection
        return adapted


def one_trip_dbapi() -> OneTripDBAPI | None:
    """The module for ``create_async_engine(module=...)``, or None when this aiosqlite lacks the per-call
    entry point (then SQLAlchemy's own adapter is used, four trips a statement)."""
    if not callable(getattr(aiosqlite.Connection, "_execute", None)):
        return None
    return OneTripDBAPI(aiosqlite, sqlite3)
