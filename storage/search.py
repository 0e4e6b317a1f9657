"""Searching people by name or class the way a curator types: any case, «е» for «ё», spaces as they come.

SQLite's own lower() folds only ASCII, so on SQLite the folding is a function of ours, registered on every
connection (storage/db.py); on PostgreSQL it is lower() (Unicode-aware in a UTF-8 database) and translate().
Both fold a stored name exactly as fold() folds what the curator typed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, func, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

SQLITE_FUNCTION = "nastavnik_fold"


def fold(text: str) -> str:
    """What a search compares: lower case, «ё» as «е», runs of spaces as one, no spaces at the ends."""
    return " ".join(text.lower().replace("ё", "е").split())


def _fold_stored(value: str | None) -> str | None:
    # Stored names hold single spaces already; only the case and «ё» need folding, as on PostgreSQL.
    return None if value is None else value.lower().replace("ё", "е")


class folded(FunctionElement[str]):
    """A column's text folded in SQL as fold() folds the query."""

    type = String()
    name = "folded"
    inherit_cache = True


@compiles(folded)
def _folded_default(element: folded, compiler: Any, **kw: Any) -> str:
    return f"translate(lower({compiler.process(element.clauses, **kw)}), 'ё', 'е')"


@compiles(folded, "sqlite")
def _folded_sqlite(element: folded, compiler: Any, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def register_sqlite(dbapi_conn: Any) -> None:
    """On a new SQLite connection: the folding function the searches call."""
    dbapi_conn.create_function(SQLITE_FUNCTION, 1, _fold_stored, deterministic=True)


def text_matches(query: str, *columns: Any) -> ColumnElement[bool]:
    """Any of the columns holds the query, both folded alike (a NULL column reads as empty)."""
    key = fold(query)
    return or_(*(folded(func.coalesce(c, "")).contains(key, autoescape=True) for c in columns))
