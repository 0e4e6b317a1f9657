"""Callback data: the entry, half-way and exit self-assessment buttons."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class Moment(StrEnum):
    """When in the programme the self-assessment is taken (the response's context names it too)."""

    ENTRY = "entry"
    MID = "mid"
    EXIT = "exit"


class Side(StrEnum):
    """The person's side of their pair: a mentor and a mentee fill in different forms."""

    MENTOR = "mentor"
    MENTEE = "mentee"


class SelfcheckCb(Callback, prefix="sa"):
    m: Moment
    p: int  # the programme
    r: Side
    d: str = ""  # the half-way measurement's period, "2026-12"
