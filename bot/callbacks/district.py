"""Callback data: the coordinator's institutions and district report; a curator's choice of institution."""

from __future__ import annotations

from enum import StrEnum

from bot.callbacks import Callback


class InstitutionAction(StrEnum):
    ADD = "add"
    INVITE = "inv"  # n: institution id
    RENAME = "ren"  # n: institution id
    COORDINATOR = "coord"  # a link for another coordinator of the centre
    PAGE = "pg"  # n: page of the list


class InstitutionCb(Callback, prefix="ds"):
    a: InstitutionAction
    n: int = 0


class ReportPeriodCb(Callback, prefix="dr"):
    year: int
    month: int


class AnnounceSendCb(Callback, prefix="da"):
    ok: int  # 1: send, 0: cancel


class AnnounceToCb(Callback, prefix="dt"):
    n: int  # an institution ticked or unticked for the announcement (0: none, only turn the page)
    page: int = 0


class WorkInCb(Callback, prefix="wi"):
    n: int  # the institution a curator works in from now on
