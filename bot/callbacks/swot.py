"""Callback data: the curator's SWOT analysis of a programme for a monitoring period."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class SwotAction(StrEnum):
    OPEN = "open"  # open or resume it; if it was sent for the period already, say so
    AGAIN = "again"  # fill it in again: the sent answers are the starting point, the new one replaces them


class SwotCb(Callback, prefix="sw"):
    a: SwotAction
    p: int  # programme
    period: str  # "2026-12"
