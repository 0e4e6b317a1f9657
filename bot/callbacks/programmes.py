"""Callback data: the curator's /programme (switch, create from a template, close a year)."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class ProgrammeAction(StrEnum):
    LIST = "ls"  # the overview
    SWITCH = "sw"  # switch to n
    NEW = "new"  # the templates
    TEMPLATE = "tpl"  # template v chosen
    MAKE = "mk"  # create it
    CLOSE = "cl"  # close programme n: confirm
    KEEP = "keep"  # choose the mentors who stay
    TOGGLE = "tg"  # toggle mentor n
    PAGE = "pg"  # page n
    SHUT = "shut"  # close programme n now
    CANCEL = "x"


class ProgrammeCb(Callback, prefix="cg"):
    a: ProgrammeAction
    n: int = 0
    v: str = ""
