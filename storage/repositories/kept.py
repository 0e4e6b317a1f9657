"""Rows a unit of work has loaded stay loaded until it ends.

The session's identity map holds rows only weakly and repositories hand out DTOs, so a row read by primary key
was gone by the next read and every `session.get` was a query (a questionnaire step read its response and its
conversation state two or three times each). Kept here, a later `session.get` of the same row is answered from
the session; a row deleted meanwhile leaves the identity map and is read again."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

Row = TypeVar("Row")


def kept(session: AsyncSession, row: Row) -> Row:
    """`row` (None passes through), held by the session for as long as the session lives."""
    if row is not None:
        session.info.setdefault("kept", set()).add(row)
    return row
